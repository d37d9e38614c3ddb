"""One simulated patient and one simulated record: physiology, beats, dipole, leads, noise."""

from typing import NamedTuple

import numpy as np

from ...vcg import DOWER, STANDARD_LEADS
from ...vcg._leads import lead_synthesis_matrix
from . import _rhythm as rhythm
from ._heart import build_shapes
from ._labels import (
    SINUS_RHYTHMS,
    PatientFindings,
    draw_patient_findings,
    draw_record_findings,
    record_codes,
)
from ._noise import ELECTRODE_TO_LEADS, NoiseLevels, draw_noise_levels, electrode_noise
from ._waves import Kernels, concat, rotation_xyz, rotation_z

# Leads of the 12-lead ECG from I, II, V1-V6 (Einthoven and Goldberger for the limb leads).
_SYNTHESIS = lead_synthesis_matrix(STANDARD_LEADS)
_HEART_RATES = {"NSR": (63, 97), "SB": (42, 56), "STach": (104, 150), "SA": (62, 92)}


class Patient(NamedTuple):
    """A patient's anatomy, structural findings and resting physiology."""

    findings: PatientFindings
    rotation: np.ndarray  # heart orientation: angles (rad) about X, Y, Z
    scale: float  # heart size and tissue conductivity, as a voltage factor
    leads: np.ndarray  # (8, 3) Dower rows for I, II, V1-V6 with this electrode placement
    heart_rate: float  # resting sinus rate, bpm
    pr: float  # s
    qrs: float  # s, with normal conduction
    qtc: float  # s, Bazett
    seed: int  # of the details of the patient's wave shapes


class Physiology(NamedTuple):
    """The state of a record: rates, intervals and breathing."""

    heart_rate: float  # bpm (ventricular, nominal)
    pr: float  # s
    p_duration: float  # s
    qrs: float  # s
    pvc_qrs: float  # s
    qtc: float  # s
    resp_rate: float  # Hz
    resp_phase: float  # rad


def _electrode_placement(rng) -> np.ndarray:
    """Dower rows with precordial electrodes shifted along the chest and jittered, and
    the chest wall's effect on their voltage: log-normal, SD 0.15 shared by the six
    and 0.08 each (thickness and distance from the heart vary between patients)."""
    leads = DOWER.copy()
    position = np.clip(np.arange(6) + rng.normal(0, 0.25) + rng.normal(0, 0.1, 6), 0, 5)
    precordial = DOWER[2:]
    for axis in range(3):
        leads[2:, axis] = np.interp(position, np.arange(6), precordial[:, axis])
    leads[2:] += rng.normal(0, 0.04, (6, 3))
    leads[2:] *= np.exp(0.15 * rng.normal() + 0.08 * rng.normal(size=(6, 1)))
    return leads


def qrs_duration(rng, findings: PatientFindings) -> float:
    """QRS duration (s) of a conduction pattern, clear of the 110 and 120 ms thresholds."""
    if findings.paced:
        return rng.uniform(0.14, 0.18)
    if findings.conduction is not None:
        low, high = {
            "RBBB": (0.13, 0.16),
            "IRBBB": (0.104, 0.113),
            "LBBB": (0.135, 0.17),
            "NSIVCB": (0.116, 0.14),
        }[findings.conduction]
        return rng.uniform(low, high)
    if findings.fascicular_block:
        return rng.uniform(0.096, 0.112)
    return float(np.clip(rng.normal(0.088, 0.007), 0.074, 0.1))


def draw_patient(rng) -> Patient:
    """A patient: findings, heart orientation and size, electrode placement, physiology."""
    findings = draw_patient_findings(rng)
    return Patient(
        findings,
        rotation=np.radians(rng.normal(0, [8.0, 15.0, 12.0])),
        scale=float(np.exp(rng.normal(0, 0.3))),
        leads=_electrode_placement(rng),
        heart_rate=float(np.clip(rng.normal(74, 9), 63, 97)),
        pr=float(np.clip(rng.normal(0.155, 0.018), 0.125, 0.19)),
        qrs=qrs_duration(rng, findings),
        qtc=float(np.clip(rng.normal(0.41, 0.012), 0.38, 0.44)),
        seed=int(rng.integers(2**63)),
    )


def _heart_rate(rng, patient: Patient, rhythm_name: str) -> float:
    """Ventricular rate (bpm) of a rhythm; for flutter, the atrial rate."""
    if rhythm_name in ("NSR", "SA"):
        low, high = _HEART_RATES[rhythm_name]
        return float(np.clip(patient.heart_rate + rng.normal(0, 5), low, high))
    if rhythm_name in _HEART_RATES:
        return rng.uniform(*_HEART_RATES[rhythm_name])
    return {
        "Brady": lambda: rng.uniform(38, 55),
        "AF": lambda: np.clip(rng.normal(95, 20), 60, 150),
        "AFL": lambda: rng.uniform(260, 340),  # atrial rate
        "PR": lambda: rng.uniform(60, 80),
    }[rhythm_name]()


def draw_physiology(rng, patient: Patient, record) -> Physiology:
    """A record's rates and intervals: the patient's, moved by the record's findings."""
    p_duration = rng.uniform(0.085, 0.11)
    pr = rng.uniform(0.22, 0.32) if record.long_pr else patient.pr + rng.normal(0, 0.005)
    qtc = (
        rng.uniform(0.47, 0.53)
        if record.long_qt
        else min(patient.qtc + rng.normal(0, 0.005), 0.445)
    )
    return Physiology(
        heart_rate=_heart_rate(rng, patient, record.rhythm),
        pr=float(np.clip(pr, max(0.12, p_duration + 0.02), 0.32)),
        p_duration=p_duration,
        qrs=patient.qrs * rng.uniform(0.99, 1.01),
        pvc_qrs=rng.uniform(0.13, 0.17),
        qtc=float(qtc),
        resp_rate=rng.uniform(0.15, 0.33),
        resp_phase=rng.uniform(0, 2 * np.pi),
    )


def _autonomic(rng, rhythm_name: str, physiology: Physiology) -> rhythm.Autonomic:
    """Heart-rate variability: small in a regular rhythm, a large RSA in sinus arrhythmia."""
    rsa = rng.uniform(0.005, 0.03)
    if rhythm_name == "SA":  # peak-to-peak RR swing of at least 0.16 s and 16 %
        low = max(0.08, 0.08 * physiology.heart_rate / 60)
        rsa = rng.uniform(low, low + 0.06)
    return rhythm.Autonomic(
        physiology.resp_rate,
        physiology.resp_phase,
        rsa,
        lf=rng.uniform(0.005, 0.02),
        jitter=rng.uniform(0.003, 0.012),
    )


def _flutter(rng, physiology: Physiology, duration: float):
    """Flutter beats with fixed 2:1, 3:1 or 4:1 conduction, or variable 2:1/4:1."""
    cycle = 60 / physiology.heart_rate
    n = int((duration + 3) / (2 * cycle)) + 2
    mode = rng.choice(4, p=[0.5, 0.1, 0.25, 0.15])
    ratios = rng.choice([2, 4], n) if mode == 3 else np.full(n, (2, 3, 4)[mode])
    return rhythm.flutter_beats(rng, cycle, ratios, rng.uniform(0.15, 0.3), duration), cycle


def make_beats(rng, record, physiology: Physiology, fs: float, n_samples: int):
    """The beats of a record and its continuous atrial activity ``(3, n)`` (or None)."""
    duration, atrial = n_samples / fs, None
    name, rr_mean = record.rhythm, 60 / physiology.heart_rate
    if name in SINUS_RHYTHMS or name == "Brady":
        rr = rhythm.modulated_rr(rng, rr_mean, duration, _autonomic(rng, name, physiology))
        if name == "Brady":
            beats = rhythm.junctional_beats(rng, rr, duration)
        else:
            beats = rhythm.sinus_beats(rng, rr, physiology.pr, duration)
    elif name == "AF":
        beats = rhythm.fibrillation_beats(rng, rr_mean, rng.uniform(0.18, 0.32), duration)
        atrial = rhythm.fibrillatory_waves(rng, fs, n_samples)
    elif name == "AFL":
        (beats, start), cycle = _flutter(rng, physiology, duration)
        atrial = rhythm.flutter_waves(rng, fs, n_samples, start, cycle)
    else:
        av_delay = rng.uniform(0.12, 0.2) if rng.random() < 0.6 else None
        beats = rhythm.paced_beats(rng, rr_mean, av_delay, duration)
    beats = rhythm.insert_premature(rng, beats, rhythm.CONDUCTED, record.n_pac, duration)
    beats = rhythm.insert_premature(rng, beats, rhythm.VENTRICULAR, record.n_pvc, duration)
    return beats, atrial


def _place(wave: Kernels, onsets, gain, turn, unit=None) -> Kernels:
    """Copies of ``wave`` at ``onsets``, each scaled by ``gain`` and turned by ``turn``.

    With ``unit`` (T waves), centres and widths are in multiples of ``unit``.
    """
    unit = np.ones(len(onsets)) if unit is None else unit
    center = onsets[:, None] + unit[:, None] * wave.center
    width = unit[:, None, None] * wave.width
    amplitude = gain[:, None, None] * np.einsum("nij,kj->nki", turn, wave.amplitude)
    return Kernels(center.ravel(), width.reshape(-1, 2), amplitude.reshape(-1, 3))


def _premature_shown(record, beats: rhythm.Beats, duration: float):
    """The record's findings with the premature beats that the record actually shows."""
    shown = (beats.qrs >= 0) & (beats.qrs < duration)
    n_pac = int(np.sum(shown & (beats.p_kind == rhythm.P_ECTOPIC)))
    n_pvc = int(np.sum(shown & (beats.kind == rhythm.VENTRICULAR)))
    return record._replace(n_pac=n_pac, n_pvc=n_pvc)


def _qt(physiology: Physiology, rr):
    """QT (s) after an RR interval: Bazett's QTc, plus half the QRS's excess over 100 ms
    (a wide QRS lengthens the QT by about half its widening; Bogossian et al. 2014)."""
    widening = 0.5 * max(physiology.qrs - 0.1, 0.0)
    return physiology.qtc * np.sqrt(np.clip(rr, 0.3, 1.8)) + widening


def beat_kernels(rng, beats: rhythm.Beats, shapes, physiology: Physiology) -> Kernels:
    """All kernels of all beats, with respiratory and beat-to-beat variation."""
    n = len(beats.qrs)
    breath = np.sin(2 * np.pi * physiology.resp_rate * beats.qrs + physiology.resp_phase)
    gain = 1 + rng.uniform(0.02, 0.06) * breath + rng.normal(0, 0.02, n)
    angle = np.radians(rng.uniform(1, 4)) * breath + np.radians(rng.normal(0, 0.5, n))
    turn = np.stack([rotation_z(a) for a in angle]) if n else np.zeros((0, 3, 3))
    qt = _qt(physiology, beats.rr)
    parts = []
    for kind, wave in shapes.qrs.items():
        s = beats.kind == kind
        parts.append(_place(wave, beats.qrs[s], gain[s], turn[s]))
        t_unit = qt[s] + (0.04 if kind == rhythm.VENTRICULAR else 0.0)
        parts.append(_place(shapes.t[kind], beats.qrs[s], gain[s], turn[s], t_unit))
    for kind, wave in shapes.p.items():
        s = beats.p_kind == kind
        parts.append(_place(wave, beats.p_onset[s], gain[s], turn[s]))
    return concat(*parts)


def render(wave: Kernels, fs: float, n_samples: int) -> np.ndarray:
    """Sum the kernels on the sampling grid, each over +-4 SD: ``(3, n_samples)``."""
    lo = np.ceil((wave.center - 4 * wave.width[:, 0]) * fs).astype(np.int64)
    hi = np.floor((wave.center + 4 * wave.width[:, 1]) * fs).astype(np.int64) + 1
    lo, hi = np.clip(lo, 0, n_samples), np.clip(hi, 0, n_samples)
    length = np.maximum(hi - lo, 0)
    which = np.repeat(np.arange(len(length)), length)
    index = np.arange(length.sum()) - np.repeat(np.cumsum(length) - length - lo, length)
    x = index / fs - wave.center[which]
    sd = np.where(x < 0, wave.width[which, 0], wave.width[which, 1])
    g = np.exp(-0.5 * (x / sd) ** 2)
    weights = g[:, None] * wave.amplitude[which]
    return np.stack([np.bincount(index, weights[:, i], minlength=n_samples) for i in range(3)])


def _pacing_spikes(rng, beats: rhythm.Beats, fs: float, n_samples: int) -> np.ndarray:
    """Pacemaker stimuli ``(3, n)``: a one-sample spike and its smaller recharge."""
    out = np.zeros((3, n_samples))
    stimuli = [
        (beats.qrs[beats.kind == rhythm.PACED], [0.3, 0.9, -0.3], rng.uniform(0.8, 2.5)),
        (beats.p_onset[beats.p_kind == rhythm.P_PACED], [-0.2, 0.6, -0.3], rng.uniform(0.4, 1.2)),
    ]
    for times, direction, size in stimuli:
        index = np.round((times - 0.002) * fs).astype(np.int64)
        index = index[(index >= 0) & (index < n_samples - 1)]
        vector = size * np.asarray(direction) / np.linalg.norm(direction)
        out[:, index] += vector[:, None]
        out[:, index + 1] -= 0.25 * vector[:, None]
    return out


def _params(patient, physiology, shapes, beats, levels: NoiseLevels, duration) -> dict:
    """The record's parameters, in the units of ``make_synthetic_ecgs``'s ``params``."""
    inside = beats.qrs[(beats.qrs >= 0) & (beats.qrs < duration)]
    rr = np.diff(inside)
    heart_rate = 60 / rr.mean() if len(rr) else np.nan
    has_p = bool(np.any(beats.p_kind[(beats.qrs >= 0) & (beats.qrs < duration)] == 0))
    rr_mean = rr.mean() if len(rr) else 60 / physiology.heart_rate
    return {
        "heart_rate": heart_rate,
        "pr": 1000 * physiology.pr if has_p else np.nan,
        "qrs": 1000 * physiology.qrs,
        "qt": 1000 * _qt(physiology, rr_mean),
        "qtc": 1000 * physiology.qtc,
        "axis": shapes.axis,
        "rotation_x": np.degrees(patient.rotation[0]),
        "rotation_y": np.degrees(patient.rotation[1]),
        "rotation_z": np.degrees(patient.rotation[2]),
        "qrs_rotation": shapes.qrs_rotation,
        "scale": shapes.scale,
        "baseline_noise": levels.baseline,
        "muscle_noise": levels.muscle,
        "powerline_noise": levels.powerline,
        "motion_noise": levels.motion,
    }


def simulate_record(seed, patient: Patient, fs: float, n_samples: int, noise: float):
    """One record: its 12-lead ECG ``(12, n)`` float32 in mV, codes and parameters."""
    rng = np.random.default_rng(seed)
    record = draw_record_findings(rng, patient.findings)
    physiology = draw_physiology(rng, patient, record)
    leads = _SYNTHESIS @ patient.leads
    shapes = build_shapes(rng, patient, record, physiology, leads)
    beats, atrial = make_beats(rng, record, physiology, fs, n_samples)
    record = _premature_shown(record, beats, n_samples / fs)
    vcg = render(beat_kernels(rng, beats, shapes, physiology), fs, n_samples)
    if atrial is not None:
        vcg += shapes.scale * rotation_xyz(patient.rotation) @ atrial
    vcg += _pacing_spikes(rng, beats, fs, n_samples)
    independent = patient.leads @ vcg
    codes = record_codes(rng, patient.findings, record, shapes.axis)
    # Drawn last, so that a record with and without noise shows the same heart.
    levels = draw_noise_levels(rng, noise)
    if noise > 0:
        resp = (physiology.resp_rate, physiology.resp_phase)
        independent += ELECTRODE_TO_LEADS @ electrode_noise(rng, levels, fs, n_samples, resp)
    params = _params(patient, physiology, shapes, beats, levels, n_samples / fs)
    return (_SYNTHESIS @ independent).astype(np.float32), codes, params
