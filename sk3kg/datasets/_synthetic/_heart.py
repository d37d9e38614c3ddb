"""One record's beat shapes: the patient's heart, its conduction, axis and voltage.

The dominant QRS is built from the patient's conduction pattern, slowed to its
duration (measured, as a reader would, where the QRS vector exceeds 5 % of its peak),
turned by the patient's heart orientation, then turned in the frontal plane until
its net area in leads I and aVF gives the patient's QRS axis, and finally scaled
to the patient's voltage. The T wave follows the QRS axis part of the way, or turns
against the abnormal forces of a block; P waves keep the atria's own direction.
The details of every shape are drawn from the patient's own seed, so a patient's
records share their morphology.
"""

from typing import NamedTuple

import numpy as np

from . import _waves as waves
from ._rhythm import P_ECTOPIC, P_PACED, P_RETROGRADE, P_SINUS, PACED, VENTRICULAR

# Share of the QRS's frontal turn that the T wave follows (a QRS-T angle that widens
# with axis deviation, as in left axis deviation with a normal T axis).
_T_FOLLOWS_QRS = 0.3
_LIMB_ROWS = slice(0, 6)


class Shapes(NamedTuple):
    """The kernels of each kind of wave of a record, in the body frame, in mV."""

    qrs: dict  # beat kind -> Kernels relative to the QRS onset
    t: dict  # beat kind -> Kernels in QT units
    p: dict  # P kind -> Kernels relative to the P onset
    axis: float  # frontal QRS axis of the dominant beat, degrees
    qrs_rotation: float  # frontal turn of the QRS away from the heart's orientation, degrees
    scale: float  # voltage factor of every wave (size and conductivity, or low voltage)


def sample(wave: waves.Kernels, t: np.ndarray) -> np.ndarray:
    """The dipole ``(3, len(t))`` of a few kernels at arbitrary times."""
    x = t[None, :] - wave.center[:, None]
    sd = np.where(x < 0, wave.width[:, :1], wave.width[:, 1:])
    return wave.amplitude.T @ np.exp(-0.5 * (x / sd) ** 2)


def qrs_extent(wave: waves.Kernels, fraction: float = 0.05) -> tuple[float, float]:
    """Onset and offset (s) where the QRS vector magnitude crosses ``fraction`` of its peak."""
    t = np.arange(-0.05, wave.center.max() + 0.1, 0.0005)
    magnitude = np.linalg.norm(sample(wave, t), axis=0)
    above = np.flatnonzero(magnitude >= fraction * magnitude.max())
    return t[above[0]], t[above[-1]]


def with_duration(wave: waves.Kernels, duration: float) -> waves.Kernels:
    """Stretch a QRS to the measured ``duration`` and move its measured onset to 0."""
    onset, offset = qrs_extent(wave)
    wave = waves.stretch(wave, duration / (offset - onset))
    return wave._replace(center=wave.center - qrs_extent(wave)[0])


def frontal_axis(area: np.ndarray, leads: np.ndarray) -> np.ndarray:
    """Frontal axis (degrees) of net areas ``(..., 3)`` from leads I and aVF."""
    return np.degrees(np.arctan2(area @ leads[5], area @ leads[0]))


def turn_to_axis(turning, fixed, target: float, leads: np.ndarray) -> float:
    """Frontal rotation (rad) of ``turning`` that puts the axis of ``turning + fixed`` at target.

    A grid search over a quarter-degree grid: the axis is a monotone but
    non-linear function of the rotation once the Dower matrix weighs I and aVF.
    """
    angles = np.radians(np.arange(-180, 180, 0.25))
    area = waves.net_area(turning)
    c, s = np.cos(angles), np.sin(angles)
    turned = np.stack([c * area[0] - s * area[1], s * area[0] + c * area[1]], axis=1)
    turned = np.column_stack([turned, np.full(len(angles), area[2])]) + waves.net_area(fixed)
    error = np.mod(frontal_axis(turned, leads) - target + 180, 360) - 180
    return angles[np.argmin(np.abs(error))]


def axis_definition(wave: waves.Kernels, leads: np.ndarray) -> float:
    """How well the net area defines the axis: |sum| / sum of |.| of the kernels' areas in I, aVF.

    Near 0, opposing forces cancel and the axis measured on a real recording
    (a finite window, overlapping waves) is at the mercy of small errors.
    """
    area = (waves.net_area_per_kernel(wave)) @ leads[[0, 5]].T
    return float(np.linalg.norm(area.sum(axis=0)) / np.linalg.norm(area, axis=1).sum())


def course(wave: waves.Kernels, after: float) -> np.ndarray:
    """The dipole ``(3, n)`` every millisecond, from 20 ms before the wave's onset to
    ``after`` seconds past its last kernel's centre."""
    return sample(wave, np.arange(-0.02, wave.center.max() + after, 0.001))


def peak(wave: waves.Kernels) -> float:
    """Largest magnitude (mV) of a wave's dipole (a PVC is sized against the QRS's)."""
    return float(np.linalg.norm(course(wave, 0.05), axis=0).max())


def limb_voltage(wave: waves.Kernels, leads: np.ndarray) -> float:
    """Largest peak-to-peak QRS amplitude (mV) over the six limb leads."""
    limb = leads[_LIMB_ROWS] @ course(wave, 0.08)
    return float(np.ptp(limb, axis=1).max())


def dominant_qrs(rng, findings, duration: float) -> tuple[waves.Kernels, waves.Kernels]:
    """The QRS of the patient's conduction pattern, at its measured ``duration``.

    Returns the forces that turn with the QRS axis and those fixed to the anatomy
    (the late right-ventricular forces of a right bundle-branch block).
    """
    late = False
    if findings.paced:
        wave = waves.paced_qrs(duration)
    elif findings.conduction in ("RBBB", "IRBBB"):
        left = waves.anterior_fascicular_block(0.085) if findings.fascicular_block else None
        wave = waves.right_bundle_block(duration, findings.conduction == "RBBB", rng, left)
        late = True
    elif findings.conduction == "LBBB":
        wave = waves.left_bundle_block(duration, rng)
    elif findings.fascicular_block:
        wave = waves.anterior_fascicular_block(duration)
    else:
        wave = waves.normal_qrs(duration, rng)
    fixed = np.arange(len(wave.center)) == (len(wave.center) - 1 if late else -1)
    notches = waves.notches(duration, rng)
    wave = with_duration(waves.concat(wave, notches), duration)
    fixed = np.concatenate([fixed, np.zeros(len(notches.center), dtype=bool)])
    return waves.select(wave, ~fixed), waves.select(wave, fixed)


def clear_of_thresholds(qrs: waves.Kernels, leads, margin: float = 8.0) -> waves.Kernels:
    """Turn the whole QRS, if needed, so that its axis is ``margin`` degrees from -30 and 90
    and out of the extreme quadrant (-180 to -90 degrees), which no scored class covers."""
    axis = float(frontal_axis(waves.net_area(qrs), leads))
    target = axis
    for threshold in (-30.0, 90.0):
        if abs(axis - threshold) < margin:
            target = threshold + np.copysign(margin, axis - threshold)
    if axis < -90 + margin:
        target = 180 - margin if axis < -135 else -90 + margin
    if target == axis:
        return qrs
    empty = waves.select(qrs, np.zeros(len(qrs.center), dtype=bool))
    return waves.rotate(qrs, waves.rotation_z(turn_to_axis(qrs, empty, target, leads)))


def _t_wave(anatomy, rng, findings, record, qrs, turn: float) -> waves.Kernels:
    """Primary T (turned part of the QRS's way), secondary T after a block, then T findings."""
    t_wave = waves.rotate(waves.normal_t(anatomy), waves.rotation_z(_T_FOLLOWS_QRS * turn))
    if findings.paced or findings.conduction == "LBBB":
        t_wave = waves.secondary_t(t_wave, waves.net_area(qrs), anatomy)
    elif findings.conduction == "RBBB":  # against the slow, widest, right-ventricular kernel
        late = qrs.amplitude[np.argmax(qrs.width.mean(axis=1))]
        t_wave = waves.secondary_t(t_wave, late, anatomy)
    if record.t_inversion is not None or record.t_flat:
        t_wave = waves.abnormal_t(t_wave, record.t_inversion, record.t_flat, rng)
    return t_wave


def _voltage_scale(rng, findings, qrs: waves.Kernels, leads, size: float):
    """Voltage factors of all waves and, on top, of the ventricular waves.

    Low voltage (every limb lead < 0.5 mV peak-to-peak) is a small heart signal
    overall: all waves shrink to put the largest limb lead at 0.22-0.42 mV. Otherwise
    the patient's size sets all waves, and a QRS whose orientation leaves every
    limb lead small gets more ventricular voltage, up to 0.6-0.75 mV.
    """
    voltage = limb_voltage(qrs, leads)
    if findings.low_voltage:
        return rng.uniform(0.22, 0.42) / voltage, 1.0
    return size, max(1.0, rng.uniform(0.6, 0.75) / (size * voltage))


def _p_waves(rng, duration: float, orientation: np.ndarray) -> dict:
    p = {
        P_SINUS: waves.sinus_p(duration, rng),
        P_ECTOPIC: waves.ectopic_p(duration, rng),
        P_RETROGRADE: waves.retrograde_p(duration, rng),
    }
    p[P_PACED] = waves.stretch(p[P_SINUS], 1.2)
    return {kind: waves.rotate(wave, orientation) for kind, wave in p.items()}


def axis_set_qrs(anatomy, rng, patient, physiology, leads: np.ndarray):
    """The dominant QRS turned to the patient's axis (and scarred); the frontal turn (rad).

    When the forces nearly cancel in the frontal plane, they are reweighted until
    the net area defines the axis: with forces fixed to the anatomy (a right
    bundle-branch block), the left-ventricular forces grow and the right-ventricular
    ones shrink; otherwise the forces along the net area grow and those against it
    shrink (a patient's own QRS loop can be nearly balanced).
    """
    findings = patient.findings
    orientation = waves.rotation_xyz(patient.rotation)
    turning, fixed = dominant_qrs(anatomy, findings, physiology.qrs)
    turning, fixed = waves.rotate(turning, orientation), waves.rotate(fixed, orientation)
    target = findings.axis + rng.normal(0, 1.0)
    for _ in range(6):
        turn = turn_to_axis(turning, fixed, target, leads)
        qrs = waves.concat(waves.rotate(turning, waves.rotation_z(turn)), fixed)
        if axis_definition(qrs, leads) > 0.4:
            break
        if len(fixed.center):
            turning, fixed = (
                waves.rotate(turning, 1.1 * np.eye(3)),
                waves.rotate(fixed, 0.9 * np.eye(3)),
            )
        else:  # the forces along the net frontal area grow, those against it shrink
            area = waves.net_area_per_kernel(qrs) @ leads[[0, 5]].T
            along = np.where(area @ area.sum(axis=0) > 0, 1.1, 0.9)
            turning = turning._replace(amplitude=along[:, None] * turning.amplitude)
    if findings.infarct is not None:  # a scar shifts the axis as it does in a real heart
        qrs = clear_of_thresholds(waves.infarct_q(qrs, findings.infarct, anatomy), leads)
    return with_duration(qrs, physiology.qrs), turn  # the changes above moved its ends


def build_shapes(rng, patient, record, physiology, leads: np.ndarray) -> Shapes:
    """Every wave shape of one record, oriented, axis-set and scaled.

    The shapes' details come from the patient's own seed, so that a patient's
    records share their morphology; ``rng`` draws what belongs to the record.
    """
    anatomy = np.random.default_rng(patient.seed)
    qrs, turn = axis_set_qrs(anatomy, rng, patient, physiology, leads)
    t_wave = _t_wave(anatomy, rng, patient.findings, record, qrs, turn)
    orientation = waves.rotation_xyz(patient.rotation)
    pvc = waves.ventricular_ectopic_qrs(physiology.pvc_qrs, anatomy)
    pvc = waves.rotate(with_duration(pvc, physiology.pvc_qrs), orientation)
    # At least 1.6 times the QRS's peak, before a QRS with small limb voltages is enlarged.
    pvc = waves.rotate(pvc, max(1.0, 1.6 * peak(qrs) / peak(pvc)) * np.eye(3))
    pvc_t = waves.secondary_t(waves.normal_t(anatomy), waves.net_area(pvc), anatomy)
    p_by_kind = _p_waves(anatomy, physiology.p_duration, orientation)
    scale, ventricular = _voltage_scale(anatomy, patient.findings, qrs, leads, patient.scale)
    qrs = waves.rotate(qrs, ventricular * np.eye(3))
    t_wave = waves.rotate(t_wave, np.sqrt(ventricular) * np.eye(3))
    qrs_by_kind = {0: qrs, VENTRICULAR: pvc, PACED: qrs}
    t_by_kind = {0: t_wave, VENTRICULAR: pvc_t, PACED: t_wave}

    def scaled(shapes: dict) -> dict:
        return {k: w._replace(amplitude=scale * w.amplitude) for k, w in shapes.items()}

    axis = float(frontal_axis(waves.net_area(qrs), leads))
    return Shapes(scaled(qrs_by_kind), scaled(t_by_kind), scaled(p_by_kind), axis,
                  float(np.degrees(turn)), float(scale))  # fmt: skip
