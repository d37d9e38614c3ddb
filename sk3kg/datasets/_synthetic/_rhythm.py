"""Beat timing of the simulated rhythms and the continuous atrial activity of AF and flutter.

A rhythm is a sequence of beats, each with a QRS onset time, the kind of ventricular
activation (conducted, premature ventricular, paced), and the P wave in front of it if
any. Times are in seconds from the start of the record; the first beat lies before 0 so
that the record opens mid-cycle, and the last after the end.
"""

from typing import NamedTuple

import numpy as np

# Ventricular activation of a beat.
CONDUCTED, VENTRICULAR, PACED = 0, 1, 2
# Atrial activation in front of a beat (P_NONE: no P wave).
P_NONE, P_SINUS, P_ECTOPIC, P_RETROGRADE, P_PACED = -1, 0, 1, 2, 3


class Beats(NamedTuple):
    """The beats of a record, one entry each."""

    qrs: np.ndarray  # QRS onset, s
    kind: np.ndarray  # CONDUCTED, VENTRICULAR or PACED
    p_kind: np.ndarray  # P_NONE, P_SINUS, P_ECTOPIC, P_RETROGRADE or P_PACED
    p_onset: np.ndarray  # P onset, s (NaN without a P wave)
    rr: np.ndarray  # the interval from the previous beat, s (it sets the QT)


class Autonomic(NamedTuple):
    """Heart-rate variability: respiratory (RSA) and Mayer-wave (LF) modulation, white jitter."""

    resp_rate: float  # Hz
    resp_phase: float  # rad
    rsa: float  # relative RR modulation at the respiratory rate
    lf: float  # relative RR modulation near 0.1 Hz
    jitter: float  # SD of the beat-to-beat white RR noise, s


def _n_beats(duration: float, rr_min: float) -> int:
    return int(np.ceil((duration + 2.0) / rr_min)) + 2


def modulated_rr(rng, rr_mean: float, duration: float, autonomic: Autonomic) -> np.ndarray:
    """RR intervals of a sinus node under respiratory and Mayer-wave modulation.

    The modulation is evaluated at each beat's nominal time, the integral pulse
    frequency idea of ECGSYN (McSharry et al. 2003) reduced to beat resolution.
    """
    n = _n_beats(duration, 0.6 * rr_mean)
    t = np.arange(n) * rr_mean - rr_mean
    lf_rate, lf_phase = rng.uniform(0.08, 0.12), rng.uniform(0, 2 * np.pi)
    modulation = autonomic.rsa * np.sin(
        2 * np.pi * autonomic.resp_rate * t + autonomic.resp_phase
    ) + autonomic.lf * np.sin(2 * np.pi * lf_rate * t + lf_phase)
    return rr_mean * (1 + modulation) + autonomic.jitter * rng.standard_normal(n)


def _regular_beats(rr: np.ndarray, start: float, pr: float | None, p_kind: int) -> Beats:
    qrs = start + np.cumsum(rr)
    kind = np.zeros(len(rr), dtype=np.int8)
    p_kinds = np.full(len(rr), P_NONE if pr is None else p_kind, dtype=np.int8)
    p_onset = qrs - (np.nan if pr is None else pr)
    return Beats(qrs, kind, p_kinds, p_onset, rr)


def sinus_beats(rng, rr: np.ndarray, pr: float, duration: float) -> Beats:
    """Sinus beats, each conducted after a P wave with the given PR interval."""
    start = -rng.uniform(0.2, 1.0) * rr[0] - rr[0]
    return _clip(_regular_beats(rr, start, pr, P_SINUS), duration)


def junctional_beats(rng, rr: np.ndarray, duration: float) -> Beats:
    """Junctional escape: no P wave, or a retrograde one shortly before the QRS."""
    start = -rng.uniform(0.2, 1.0) * rr[0] - rr[0]
    retrograde = rng.random() < 0.5
    pr = rng.uniform(0.06, 0.10) if retrograde else None
    return _clip(_regular_beats(rr, start, pr, P_RETROGRADE), duration)


def fibrillation_beats(rng, rr_mean: float, cv: float, duration: float) -> Beats:
    """Atrial fibrillation: irregularly irregular RR (log-normal, independent), no P."""
    n = _n_beats(duration, 0.3)
    sigma = np.sqrt(np.log1p(cv**2))
    rr = rr_mean * np.exp(sigma * rng.standard_normal(n) - sigma**2 / 2)
    rr = np.maximum(rr, 0.27)
    start = -rng.uniform(0.2, 1.0) * rr[0] - rr[0]
    return _clip(_regular_beats(rr, start, None, P_NONE), duration)


def flutter_beats(rng, cycle: float, ratios: np.ndarray, delay: float, duration: float):
    """Atrial flutter with ``ratios[k]``:1 AV conduction; QRS ``delay`` after its flutter wave.

    Returns the beats and the onset of the first flutter cycle, to which the
    sawtooth is aligned.
    """
    rr = ratios * cycle + rng.normal(0, 0.002, len(ratios))
    start = -rng.uniform(0.2, 1.0) * rr[0] - rr[0]
    beats = _clip(_regular_beats(rr, start, None, P_NONE), duration)
    return beats, beats.qrs[0] - delay


def paced_beats(rng, rr_mean: float, av_delay: float | None, duration: float) -> Beats:
    """Ventricular pacing at a fixed rate; with ``av_delay``, an atrial spike and P before."""
    n = _n_beats(duration, rr_mean)
    rr = rr_mean + rng.normal(0, 0.002, n)
    start = -rng.uniform(0.2, 1.0) * rr[0] - rr[0]
    beats = _regular_beats(rr, start, av_delay, P_PACED)
    return _clip(beats._replace(kind=np.full(n, PACED, dtype=np.int8)), duration)


def insert_premature(rng, beats: Beats, kind: int, n_premature: int, duration: float) -> Beats:
    """Replace ``n_premature`` beats by early ones: PACs reset the sinus node, PVCs do not.

    A premature atrial beat comes at 55-80 % of the RR with an ectopic P wave and
    a normal QRS; the sinus node restarts from it (non-compensatory pause). A
    premature ventricular beat comes at 45-70 % of the RR without a P wave; the
    next sinus beat keeps its time (full compensatory pause).
    """
    # Early beats inside the record, with the beats before and after them inside too.
    inside = np.flatnonzero(beats.kind == CONDUCTED)
    inside = inside[(inside > 0) & (inside + 1 < len(beats.qrs))]
    inside = inside[(beats.qrs[inside - 1] > 0.25) & (beats.qrs[inside + 1] < duration - 0.25)]
    if len(inside) == 0 or n_premature == 0:
        return beats
    n_premature = min(n_premature, max(len(inside) // 4, 1))  # at most one beat in four
    chosen = np.sort(rng.choice(inside, size=n_premature, replace=False))
    chosen = chosen[np.diff(chosen, prepend=-2) > 1]  # single early beats, not runs
    qrs, rr, kinds = beats.qrs.copy(), beats.rr.copy(), beats.kind.copy()
    p_kind, p_onset = beats.p_kind.copy(), beats.p_onset.copy()
    pr = beats.qrs - beats.p_onset
    for k in chosen:
        coupling = rng.uniform(0.55, 0.8) if kind == CONDUCTED else rng.uniform(0.45, 0.7)
        early = qrs[k - 1] + coupling * beats.rr[k]  # a fraction of the sinus cycle
        if kind == CONDUCTED:  # the sinus node resets: later beats move with the PAC
            shift = early - qrs[k] + rng.uniform(0.02, 0.10) * rr[k]
            qrs[k + 1 :] += shift
            p_onset[k + 1 :] += shift
            p_kind[k], p_onset[k] = P_ECTOPIC, early - pr[k] * rng.uniform(0.9, 1.1)
        else:
            kinds[k], p_kind[k], p_onset[k] = VENTRICULAR, P_NONE, np.nan
        qrs[k] = early
        rr = np.diff(qrs, prepend=qrs[0] - rr[0])
    return Beats(qrs, kinds, p_kind, p_onset, rr)


def _clip(beats: Beats, duration: float) -> Beats:
    """Keep the beats from the last one before -1 s to the second one after the end + 0.5 s."""
    first = max(np.searchsorted(beats.qrs, -1.0) - 1, 0)
    last = np.searchsorted(beats.qrs, duration + 0.5) + 2
    return Beats(*(field[first:last] for field in beats))


def _smooth_walk(rng, n_samples: int, fs: float, step: float) -> np.ndarray:
    """A random walk sampled at 10 Hz, linearly interpolated to ``fs``."""
    n_knots = int(n_samples / fs * 10) + 2
    knots = np.cumsum(rng.normal(0, step, n_knots))
    return np.interp(np.arange(n_samples) / fs * 10, np.arange(n_knots), knots)


def fibrillatory_waves(rng, fs: float, n_samples: int) -> np.ndarray:
    """Atrial f waves ``(3, n_samples)``: two 4-9 Hz oscillators of drifting rate and size.

    Their rate (350-540/min), amplitude (20-120 uV) and mainly right-anterior
    orientation (largest in V1) follow Stridh and Soernmo's AF signal model.
    """
    out = np.zeros((3, n_samples))
    for _ in range(2):
        rate = rng.uniform(5.5, 8.0) + _smooth_walk(rng, n_samples, fs, 0.08)
        rate = np.clip(rate, 4.0, 9.0)
        phase = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.cumsum(rate) / fs
        size = rng.uniform(0.01, 0.06) * np.exp(_smooth_walk(rng, n_samples, fs, 0.05))
        wave = np.sin(phase) + 0.3 * np.sin(2 * phase + rng.uniform(0, 2 * np.pi))
        direction = np.array([-0.4, 0.3, -0.9]) + rng.normal(0, 0.3, 3)
        out += (direction / np.linalg.norm(direction))[:, None] * (size * wave)
    return out


def flutter_waves(rng, fs: float, n_samples: int, start: float, cycle: float) -> np.ndarray:
    """Sawtooth flutter waves ``(3, n_samples)``: slow descent, fast return, period ``cycle``.

    The vector points up and forward (typical counter-clockwise flutter: negative
    sawtooth in II, III and aVF, positive flutter waves in V1).
    """
    phase = np.mod((np.arange(n_samples) / fs - start) / cycle, 1.0)
    fall = rng.uniform(0.65, 0.8)
    wave = np.where(phase < fall, 1 - 2 * phase / fall, -1 + 2 * (phase - fall) / (1 - fall))
    direction = np.array([0.1, -1.0, -0.5]) + rng.normal(0, 0.15, 3)
    size = rng.uniform(0.08, 0.18)
    return (size * direction / np.linalg.norm(direction))[:, None] * wave
