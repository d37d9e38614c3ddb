"""Recording noise, generated at the nine electrodes and seen through the leads.

Noise enters at the electrodes (RA, LA, LL, V1-V6), so every lead gets the
combination its electrodes make: Einthoven's and Goldberger's laws hold for the
noisy ECG as for the clean one, and noise shared by the electrodes cancels as in
a real amplifier. The components follow the MIT-BIH Noise Stress Test Database and
Clifford et al. (2006) and Sameni et al. (2007): baseline wander from respiration and
electrode drift, muscle (EMG) noise, powerline interference, an amplifier floor and
occasional electrode-motion bursts; their sizes and where they enter were then set
against the spectra of real records (benchmarks/simulator_realism.py).
"""

from functools import cache
from typing import NamedTuple

import numpy as np
from scipy.signal import butter, lfilter

ELECTRODES = ("RA", "LA", "LL", "V1", "V2", "V3", "V4", "V5", "V6")


def _electrode_to_leads() -> np.ndarray:
    """Matrix ``(8, 9)``: leads I, II, V1-V6 from the electrode potentials."""
    matrix = np.zeros((8, 9))
    matrix[0, :2] = (-1, 1)  # I = LA - RA
    matrix[1, [0, 2]] = (-1, 1)  # II = LL - RA
    matrix[2:, 3:] = np.eye(6)  # Vi = Ei - Wilson's central terminal
    matrix[2:, :3] = -1 / 3
    return matrix


ELECTRODE_TO_LEADS = _electrode_to_leads()
# Breathing moves the chest electrodes more than the limb ones; the limbs carry more
# muscle than the chest wall. Relative sizes of wander and muscle noise per electrode.
_WANDER_AT = np.array([0.4] * 3 + [1.0] * 6)[:, None]
_MUSCLE_AT = np.array([1.0] * 3 + [0.4] * 6)[:, None]
_AMPLIFIER = 0.0035  # mV RMS of the broadband floor (amplifier and quantisation)


class NoiseLevels(NamedTuple):
    """Sizes of the noise components of one record, in mV."""

    baseline: float  # amplitude of the baseline wander at each electrode
    muscle: float  # RMS of the EMG noise at each electrode
    powerline: float  # amplitude of the mains interference (0 when notch-filtered)
    mains: float  # 50 or 60 Hz
    motion: float  # peak amplitude of electrode-motion bursts (0 for none)


def draw_noise_levels(rng, factor: float) -> NoiseLevels:
    """Realistic noise sizes (log-normal around typical resting-ECG values) times ``factor``."""
    baseline = np.exp(rng.normal(np.log(0.035), 0.7))
    muscle = np.exp(rng.normal(np.log(0.006), 0.6))
    powerline = 0.0 if rng.random() < 0.4 else np.exp(rng.normal(np.log(0.01), 1.0))
    mains = 50.0 if rng.random() < 0.5 else 60.0
    motion = rng.uniform(0.1, 0.5) if rng.random() < 0.15 else 0.0
    sizes = factor * np.array([baseline, muscle, powerline, motion])
    return NoiseLevels(*sizes[:3], mains, sizes[3])


def electrode_noise(rng, levels: NoiseLevels, fs: float, n_samples: int, resp) -> np.ndarray:
    """Noise at the nine electrodes, ``(9, n_samples)`` in mV.

    ``resp`` is ``(rate in Hz, phase in rad)`` of the respiration, which also
    drives the baseline wander.
    """
    t = np.arange(n_samples) / fs
    rates = np.concatenate([[resp[0]], rng.uniform(0.03, 0.6, 3)])
    phases = np.concatenate([[resp[1]], rng.uniform(0, 2 * np.pi, 3)])
    wander = np.sin(2 * np.pi * rates[:, None] * t + phases[:, None])
    noise = (_WANDER_AT * levels.baseline * rng.normal(0, 0.6, (9, 4))) @ wander
    white = rng.standard_normal((9, n_samples), dtype=np.float32)
    muscle = lfilter(*_muscle_band(fs), white, axis=1)
    muscle /= np.sqrt(np.mean(muscle**2, axis=1, keepdims=True))
    noise += (_MUSCLE_AT * levels.muscle * rng.uniform(0.5, 1.5, (9, 1))) * muscle
    noise += _AMPLIFIER * white
    if levels.powerline > 0:
        noise += _powerline(rng, levels, t)
    if levels.motion > 0:
        noise += _motion_bursts(rng, levels.motion, t)
    return noise


@cache
def _muscle_band(fs: float):
    """Surface EMG as band-limited noise, 15-150 Hz (below Nyquist)."""
    return butter(2, [15, min(150, 0.4 * fs)], btype="band", fs=fs)


def _powerline(rng, levels: NoiseLevels, t: np.ndarray) -> np.ndarray:
    """Mains interference and its second and third harmonics, differing per electrode."""
    c1, s1 = np.cos(2 * np.pi * levels.mains * t), np.sin(2 * np.pi * levels.mains * t)
    c2, s2 = 2 * c1 * c1 - 1, 2 * s1 * c1  # the harmonics by the angle-sum formulas
    c3, s3 = c2 * c1 - s2 * s1, s2 * c1 + c2 * s1
    harmonics = np.array([1.0, *rng.uniform(0, 0.3, 2)] * 2)[:, None]
    waves = harmonics * np.stack([c1, c2, c3, s1, s2, s3])
    return (levels.powerline * rng.normal(0, 0.7, (9, 6))) @ waves


def _motion_bursts(rng, size: float, t: np.ndarray) -> np.ndarray:
    """One or two electrode-motion artefacts: 0.3-1.5 s of 1-6 Hz swings at one electrode."""
    out = np.zeros((9, len(t)))
    for _ in range(rng.integers(1, 3)):
        centre, length = rng.uniform(0, t[-1]), rng.uniform(0.3, 1.5)
        inside = np.abs(t - centre) < length / 2
        window = np.cos(np.pi * (t[inside] - centre) / length) ** 2
        rates, phases = rng.uniform(1, 6, 2), rng.uniform(0, 2 * np.pi, 2)
        swing = np.sin(2 * np.pi * rates[:, None] * t[inside] + phases[:, None]).sum(axis=0)
        out[rng.integers(9), inside] += size / 2 * window * swing
    return out
