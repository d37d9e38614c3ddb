"""The heart's dipole during one beat, as Gaussian kernels, and how diagnoses reshape it.

Each wave is a sum of kernels ``a * exp(-(t - c)**2 / (2 * s**2))`` with a vector
amplitude ``a`` in mV along the Frank axes X (left), Y (feet) and Z (back), and a
width ``s`` that may differ before and after the centre (for the asymmetric T wave).
This is the 3D form of ECGSYN (McSharry et al. 2003) proposed by Sameni et al.
(2007), with a shared time course for the three axes of a kernel: a kernel is one
activation front, a vector that grows and fades, and successive kernels with turning
directions trace the QRS, P and T loops.

Times are relative to the P-wave onset (P), the QRS onset (QRS) or, for T, given as
fractions of the QT interval so that repolarisation follows the heart rate.
"""

from typing import NamedTuple

import numpy as np

_SQRT_2PI = np.sqrt(2 * np.pi)

# Body-frame unit vectors of the regions a finding can affect (Frank: X left, Y feet, Z back).
REGIONS = {
    "inferior": np.array([0.0, 1.0, 0.0]),
    "anterior": np.array([0.0, 0.0, -1.0]),
    "lateral": np.array([1.0, 0.0, 0.0]),
}


class Kernels(NamedTuple):
    """Gaussian kernels of one wave."""

    center: np.ndarray  # (k,) s, or fraction of the QT for T
    width: np.ndarray  # (k, 2) SD before and after the centre, same unit
    amplitude: np.ndarray  # (k, 3) mV along X, Y, Z


def kernels(rows) -> Kernels:
    """Kernels from rows ``(centre, width, x, y, z)`` or ``(centre, left, right, x, y, z)``."""
    rows = np.atleast_2d(np.asarray(rows, dtype=float))
    if rows.shape[1] == 5:
        rows = np.insert(rows, 2, rows[:, 1], axis=1)
    return Kernels(rows[:, 0], rows[:, 1:3], rows[:, 3:6])


def stretch(wave: Kernels, factor: float) -> Kernels:
    """Slow a wave down by ``factor``: centres and widths scale together."""
    return wave._replace(center=wave.center * factor, width=wave.width * factor)


def rotate(wave: Kernels, matrix: np.ndarray) -> Kernels:
    """Rotate (or otherwise map) every kernel's amplitude vector by ``matrix``."""
    return wave._replace(amplitude=wave.amplitude @ matrix.T)


def select(wave: Kernels, mask) -> Kernels:
    return Kernels(*(part[mask] for part in wave))


def concat(*waves: Kernels) -> Kernels:
    return Kernels(*(np.concatenate(parts) for parts in zip(*waves, strict=True)))


def net_area_per_kernel(wave: Kernels) -> np.ndarray:
    """Time integral of each kernel, ``(k, 3)`` in mV s."""
    return (_SQRT_2PI * wave.width.mean(axis=1))[:, None] * wave.amplitude


def net_area(wave: Kernels) -> np.ndarray:
    """Time integral of the wave's dipole, ``(3,)`` in mV s."""
    return net_area_per_kernel(wave).sum(axis=0)


def rotation_z(angle: float) -> np.ndarray:
    """Rotation in the frontal plane by ``angle`` radians, from X (left) towards Y (feet)."""
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def rotation_xyz(angles) -> np.ndarray:
    """``Rz @ Ry @ Rx`` for angles (radians) about X, Y and Z."""
    ax, ay, az = angles
    rx = np.array([[1, 0, 0], [0, np.cos(ax), -np.sin(ax)], [0, np.sin(ax), np.cos(ax)]])
    ry = np.array([[np.cos(ay), 0, np.sin(ay)], [0, 1, 0], [-np.sin(ay), 0, np.cos(ay)]])
    return rotation_z(az) @ ry @ rx


# A normal QRS of 90 ms: septal (right-anterior), apical (left-anterior-inferior),
# free wall (left-inferior-posterior), basal (posterior) and terminal (right-superior)
# forces, the loop of Frank-lead vectorcardiography textbooks. Widths and sizes are
# set so that, with each patient's variation (``normal_qrs``), the mean spectrum of
# the records matches real ones in 15-40 Hz (benchmarks/simulator_realism.py).
_NORMAL_QRS = kernels(
    [
        (0.014, 0.0045, -0.11, 0.04, -0.16),
        (0.031, 0.0059, 0.37, 0.26, -0.47),
        (0.046, 0.0065, 0.99, 0.58, 0.31),
        (0.062, 0.0065, 0.21, -0.06, 0.63),
        (0.076, 0.0050, -0.12, -0.12, 0.12),
    ]
)


# The septal and terminal forces keep their time and their size (they only turn a
# little), so they usually still mark the QRS's ends.
_INNER = np.array([0.0, 1.0, 1.0, 1.0, 0.0])[:, None]


def normal_qrs(duration: float, rng) -> Kernels:
    """The normal QRS of one patient, at about ``duration``.

    Each patient's inner kernels move in time (SD 4.5 ms) and grow or shrink
    (log-normal, SD 0.3); every kernel widens or narrows (log-normal, SD 0.12)
    and turns (a random vector of SD 0.05 mV added). No two hearts share the
    textbook loop, and the evenly spaced kernels no longer leave a comb in the
    spectrum (a dip near 32 Hz). The inner kernels may swap places (about 2 % of
    patients) or, rarely (0.1 %), pass an end kernel; the septal force's small
    size can turn enough to lose the septal q in I and V6 (about 1 %).
    """
    k = len(_NORMAL_QRS.center)
    wave = Kernels(
        _NORMAL_QRS.center + _INNER[:, 0] * rng.normal(0, 0.0045, k),
        _NORMAL_QRS.width * np.exp(rng.normal(0, 0.12, (k, 1))),
        _NORMAL_QRS.amplitude * np.exp(_INNER * rng.normal(0, 0.3, (k, 1)))
        + rng.normal(0, 0.05, (k, 3)),
    )
    return stretch(wave, duration / 0.09)


def right_bundle_block(duration: float, complete: bool, rng, left=None) -> Kernels:
    """RBBB: left-ventricular activation (``left``, normal by default), then slow
    right-anterior forces.

    The late right-ventricular kernel gives the terminal R' in V1 and the broad S in
    I and V6; in the incomplete form it is smaller and earlier.
    """
    if left is None:  # the normal QRS without its terminal right-superior forces
        left = Kernels(*(part[:4] for part in stretch(_NORMAL_QRS, 0.085 / 0.09)))
    late_width = rng.uniform(0.018, 0.024) if complete else rng.uniform(0.01, 0.013)
    size = rng.uniform(0.7, 1.1) if complete else rng.uniform(0.35, 0.55)
    late = kernels([(duration - 2.2 * late_width, late_width, -0.25 * size, 0.05, -0.8 * size)])
    return concat(left, late)


def left_bundle_block(duration: float, rng) -> Kernels:
    """LBBB: no septal q, broad notched leftward-posterior forces (R in I, V6; QS in V1)."""
    d = duration
    size = rng.uniform(0.8, 1.2)
    rows = [
        (0.15 * d, 0.06 * d, 0.35 * size, 0.05, 0.25 * size),
        (0.35 * d, 0.08 * d, 0.70 * size, 0.10, 0.80 * size),
        (0.56 * d, 0.07 * d, 0.60 * size, 0.15, 0.90 * size),
        (0.76 * d, 0.07 * d, 0.75 * size, -0.05, 0.50 * size),
    ]
    return kernels(rows)


def anterior_fascicular_block(duration: float) -> Kernels:
    """LAnFB: small initial inferior-right forces, then leftward-superior ones (qR in aVL)."""
    d = duration
    rows = [
        (0.16 * d, 0.06 * d, -0.10, 0.20, -0.15),
        (0.36 * d, 0.08 * d, 0.45, -0.20, -0.45),
        (0.52 * d, 0.09 * d, 0.95, -0.85, 0.35),
        (0.76 * d, 0.07 * d, 0.15, -0.30, 0.55),
    ]
    return kernels(rows)


def paced_qrs(duration: float) -> Kernels:
    """Right-ventricular apical pacing: wide, LBBB-like, spreading up from the apex."""
    d = duration
    rows = [
        (0.20 * d, 0.07 * d, 0.30, -0.35, 0.35),
        (0.42 * d, 0.08 * d, 0.60, -0.80, 0.60),
        (0.62 * d, 0.08 * d, 0.55, -0.70, 0.60),
        (0.80 * d, 0.06 * d, 0.25, -0.25, 0.30),
    ]
    return kernels(rows)


def ventricular_ectopic_qrs(duration: float, rng) -> Kernels:
    """A PVC: wide, large, from a random ventricular focus (a unit vector + jitter)."""
    focus = rng.normal(0, 1, 3) + np.array([0.3, 0.3, 0.0])
    focus /= np.linalg.norm(focus)
    turn = rng.normal(0, 0.35, 3)
    size = rng.uniform(1.5, 2.5)
    d = duration
    rows = [
        (0.25 * d, 0.06 * d, *(0.5 * size * focus)),
        (0.50 * d, 0.07 * d, *(size * (focus + 0.5 * turn))),
        (0.74 * d, 0.06 * d, *(0.8 * size * (focus + turn))),
    ]
    return kernels(rows)


def notches(duration: float, rng) -> Kernels:
    """Two small fast deflections inside the QRS: the notching and slurring of real
    complexes, which carry their 15-40 Hz power."""
    width = rng.uniform(0.0025, 0.004, 2)
    return Kernels(
        rng.uniform(0.25, 0.75, 2) * duration,
        np.column_stack([width, width]),
        rng.normal(0, 0.12, (2, 3)),
    )


def infarct_q(wave: Kernels, region: str, rng) -> Kernels:
    """Pathological Q waves: early forces towards the scar lost, initial ones away from it.

    The added Q-wave kernel lasts at least 40 ms (4 SD).
    """
    u = REGIONS[region]
    towards = np.clip(wave.amplitude @ u, 0, None) * (wave.center < 0.05)
    kept = wave.amplitude - rng.uniform(0.4, 0.7) * towards[:, None] * u
    width = rng.uniform(0.011, 0.014)
    q = kernels([(2.4 * width, width, *(-rng.uniform(0.3, 0.5) * u))])
    return concat(q, wave._replace(amplitude=kept))


def sinus_p(duration: float, rng) -> Kernels:
    """Right- then left-atrial activation: upright in II, biphasic in V1."""
    d = duration
    size = rng.uniform(0.7, 1.3)
    rows = [
        (0.37 * d, 0.16 * d, 0.02 * size, 0.11 * size, -0.06 * size),
        (0.63 * d, 0.16 * d, 0.07 * size, 0.05 * size, 0.05 * size),
    ]
    return kernels(rows)


def ectopic_p(duration: float, rng) -> Kernels:
    """An atrial ectopic focus: a single P vector pointing away from the sinus direction."""
    direction = rng.normal(0, 1, 3) + np.array([0.0, -1.0, 0.0])
    direction *= rng.uniform(0.08, 0.14) / np.linalg.norm(direction)
    return kernels([(0.5 * duration, 0.2 * duration, *direction)])


def retrograde_p(duration: float, rng) -> Kernels:
    """Retrograde atrial activation from the AV junction: inverted in II, III, aVF."""
    size = rng.uniform(0.07, 0.12)
    return kernels([(0.5 * duration, 0.2 * duration, 0.2 * size, -size, 0.3 * size)])


def normal_t(rng) -> Kernels:
    """The T wave, in QT units: slow rise, faster fall, ending at 1 (the end of the QT).

    Its direction is set so that the median T amplitude per lead is near the real
    records' (benchmarks/simulator_realism.py): the textbook vector gave T waves twice
    as large as the real ones in II, III, aVF and V3-V4.
    """
    right = rng.uniform(0.075, 0.095)
    left = rng.uniform(0.12, 0.15)
    direction = np.array([0.24, 0.12, -0.13]) * rng.uniform(0.75, 1.25)
    return kernels([(1 - 2.3 * right, left, right, *direction)])


def secondary_t(t_wave: Kernels, against: np.ndarray, rng) -> Kernels:
    """Repolarisation after abnormal depolarisation: T turned against ``against``."""
    unit = against / np.linalg.norm(against)
    size = np.linalg.norm(t_wave.amplitude[0]) * rng.uniform(0.6, 1.0)
    amplitude = 0.3 * t_wave.amplitude[0] - size * unit
    return t_wave._replace(amplitude=amplitude[None, :])


def abnormal_t(t_wave: Kernels, region: str | None, flat: bool, rng) -> Kernels:
    """T-wave inversion over ``region`` and/or flattening of the rest of the T vector."""
    amplitude = t_wave.amplitude[0]
    if region is not None:
        u = REGIONS[region]
        rest = amplitude - (amplitude @ u) * u
        inverted = -rng.uniform(0.12, 0.3) * u
    else:
        rest, inverted = amplitude, 0.0
    if flat:
        rest = rest * rng.uniform(0.05, 0.25)
    return t_wave._replace(amplitude=(rest + inverted)[None, :])
