"""Labelled 12-lead ECGs from a physiological simulator, with the challenge's diagnoses."""

import hashlib
import json
import os
from numbers import Integral, Real
from pathlib import Path

import joblib
import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from tqdm.auto import tqdm

from ...vcg import STANDARD_LEADS
from .._base import atomic_path, get_data_home
from .._challenge._format import write_physionet2020
from .._challenge._tables import code_to_index, get_class_set
from ._record import draw_patient, simulate_record

DESCR = """\
Synthetic 12-lead ECGs with PhysioNet/CinC Challenge 2020 diagnoses
-------------------------------------------------------------------

{n_records} records of {duration:g} s at {fs:g} Hz from {n_patients} simulated patients;
{n_classes} classes (class set "{classes}"); noise: {noise}.

**Model.** The heart is a 3D dipole. Each beat's P, QRS and T waves are Gaussian
kernels in time with vector amplitudes along the Frank axes (the 3D extension of
ECGSYN, McSharry et al. 2003; Sameni et al. 2007), two small fast kernels adding the
notching of real QRS complexes; the dipole is projected to I, II and V1-V6 with the
Dower matrix, and III, aVR, aVL and aVF follow exactly from I and II. Respiration
modulates the rate, the amplitude and the frontal orientation beat by beat; the QT
follows the preceding RR (Bazett), lengthened by half a wide QRS's excess over 100 ms.

**Patients.** Heart orientation (rotations about X, Y, Z of SD 8, 15 and 12 degrees),
size and conductivity (a log-normal voltage factor), precordial electrode placement
and the chest wall's effect on the precordial voltages, the patient's own QRS loop
(the timing, width, size and direction of its activation fronts), the details of the
other wave shapes, resting rate and intervals, and the structural
findings (pacing, bundle-branch and fascicular blocks, QRS axis, scar, low voltage)
belong to a patient; a patient's records share them and differ in rhythm,
premature beats, PR, QT and T waves.

**Rhythms.** Sinus RR with respiratory and Mayer-wave variability; atrial
fibrillation with independent log-normal RR (coefficient of variation 0.18-0.32)
and 4-9 Hz fibrillatory waves; flutter waves at 260-340/min with 2:1, 3:1, 4:1 or
variable conduction; junctional escape with no or retrograde P; pacing at 60-80 bpm
with spikes, 60 % dual-chamber. Premature atrial beats reset the sinus node,
premature ventricular beats (wide, from one focus per patient) leave a full
compensatory pause; at most one beat in four is premature.

**Diagnoses.** Drawn with the training-set prevalences of the challenge, the base
rhythms renormalised so that every record has exactly one (sinus rhythm, sinus
bradycardia or tachycardia, sinus arrhythmia, junctional bradycardia, atrial
fibrillation or flutter, pacing); no P-wave findings without P waves, at most one
ventricular conduction pattern, none when paced, no Q-wave finding with LBBB or
pacing, left axis deviation with every left anterior fascicular block. Labels with
a threshold hold with a margin. Rate: sinus rhythm 63-97 bpm, SB 42-56, STach
104-150. QRS duration (from where the QRS vector first exceeds 5 % of its peak to
where it last does): 74-100 ms normally, LAnFB 96-112, IRBBB 104-113, NSIVCB
116-140, RBBB 130-160, LBBB 135-170, paced 140-180. Frontal axis (net QRS area in I
and aVF): -20 to 82 degrees normally, LAD -36 to -60, LAnFB -50 to -80, RAD 98 to
150, a scar's shift kept 8 degrees from -30 and 90 and out of -90 to -180. Low QRS
voltage: below 0.42 mV peak-to-peak in every limb lead, otherwise at least 0.6 mV
in one. PR > 220 ms for IAVB/LPR; QTc > 470 ms for LQT, otherwise at most 445 ms.
Of each equivalent pair (CRBBB/RBBB, PAC/SVPB, PVC/VPB, IAVB/LPR) a record carries
one code, in the proportion of the training data.

**Noise.** At the nine electrodes: baseline wander with respiration (larger at the
chest electrodes), muscle noise (larger at the limb electrodes), a broadband
amplifier floor, 50 or 60 Hz interference (absent in 40 % of records, as after a
notch filter) and, in 15 % of records, electrode-motion bursts; sizes are log-normal
around typical resting-ECG values. The spectrum and a two-sample test against real
records are in benchmarks/simulator_realism.py.
"""


def _seed_sequence(random_state) -> np.random.SeedSequence:
    """A SeedSequence from None, an int or a RandomState (scikit-learn's ``random_state``)."""
    if isinstance(random_state, np.random.RandomState):
        return np.random.SeedSequence(random_state.randint(np.iinfo(np.int32).max, size=4))
    return np.random.SeedSequence(random_state)


def _noise_factor(noise) -> float:
    if noise is None:
        return 0.0
    return 1.0 if isinstance(noise, str) else float(noise)


def _simulate_chunk(seeds, patients, fs, n_samples, noise):
    return [
        simulate_record(seed, patient, fs, n_samples, noise)
        for seed, patient in zip(seeds, patients, strict=True)
    ]


_CHUNK = 500  # records per parallel task, at most


def _simulate(seeds, patients, fs, n_samples, noise, n_jobs):
    """Records in chunks, one chunk per task; each record has its own seed.

    Chunks of at most ``_CHUNK`` records keep the progress bar moving on large sets.
    """
    n_chunks = max(min(len(seeds), 4 * effective_n_jobs(n_jobs)), -(-len(seeds) // _CHUNK))
    bounds = np.linspace(0, len(seeds), n_chunks + 1).astype(int)
    chunks = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_simulate_chunk)(seeds[a:b], patients[a:b], fs, n_samples, noise)
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    )
    records = []
    with tqdm(total=len(seeds), unit="rec", desc="Simulating ECGs", disable=None) as bar:
        for chunk in chunks:
            records += chunk
            bar.update(len(chunk))
    return records


def _targets(codes: list, classes: str) -> np.ndarray:
    index = code_to_index(classes)
    target = np.zeros((len(codes), len(get_class_set(classes).codes)), dtype=np.uint8)
    for row, record_codes in enumerate(codes):
        target[row, [index[code] for code in record_codes]] = 1
    return target


# Bump when the simulator's output for given settings changes, to invalidate caches.
_CACHE_VERSION = 2


def _simulate_set(n_records, fs, duration, n_patients, noise, random_state, n_jobs):
    """Signals, codes, parameters and patient ids of a simulated set."""
    patient_seeds, record_seeds, assignment = _seed_sequence(random_state).spawn(3)
    patients = [draw_patient(np.random.default_rng(s)) for s in patient_seeds.spawn(n_patients)]
    patient_ids = np.random.default_rng(assignment).permutation(n_records) % n_patients
    records = _simulate(
        record_seeds.spawn(n_records),
        [patients[p] for p in patient_ids],
        fs,
        round(fs * duration),
        _noise_factor(noise),
        n_jobs,
    )
    data = np.stack([record[0] for record in records])
    codes = [record[1] for record in records]
    params = {key: np.array([r[2][key] for r in records]) for key in records[0][2]}
    return data, codes, params, patient_ids


def _cached(settings: tuple, data_home) -> tuple:
    """:func:`_simulate_set` through a cache under the data home, keyed by the settings.

    The signals are a memory-mapped ``.npy``; the metadata file is written last, so
    its presence means the set is complete. ``n_jobs`` does not change the data and
    is left out of the key.
    """
    *key_settings, random_state, n_jobs = settings
    if not isinstance(random_state, Integral):
        raise ValueError(
            "cache=True needs an integer random_state: a set drawn from "
            f"random_state={random_state!r} cannot be found again."
        )
    key = json.dumps([*key_settings, int(random_state), _CACHE_VERSION], default=str)
    folder = (
        Path(get_data_home(data_home)) / "synthetic" / hashlib.sha256(key.encode()).hexdigest()[:16]
    )
    if not (folder / "meta.joblib").exists():
        data, codes, params, patient_ids = _simulate_set(*settings)
        with atomic_path(folder / "data.npy") as tmp, open(tmp, "wb") as f:
            np.save(f, data)
        with atomic_path(folder / "meta.joblib") as tmp:
            joblib.dump({"codes": codes, "params": params, "patient_ids": patient_ids}, tmp)
    meta = joblib.load(folder / "meta.joblib")
    data = np.load(folder / "data.npy", mmap_mode="r")
    return data, meta["codes"], meta["params"], meta["patient_ids"]


@validate_params(
    {
        "n_records": [Interval(Integral, 1, None, closed="left")],
        "fs": [Interval(Real, 100, None, closed="left")],
        "duration": [Interval(Real, 2, None, closed="left")],
        "classes": [StrOptions({"3kg", "merged", "scored"})],
        "n_patients": [Interval(Integral, 1, None, closed="left"), None],
        "noise": [StrOptions({"realistic"}), Interval(Real, 0, None, closed="left"), None],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
        "write": [str, os.PathLike, None],
        "cache": ["boolean"],
        "data_home": [str, os.PathLike, None],
    },
    prefer_skip_nested_validation=True,
)
def make_synthetic_ecgs(
    n_records=1000,
    *,
    fs=500,
    duration=10.0,
    classes="3kg",
    n_patients=None,
    noise="realistic",
    random_state=None,
    n_jobs=None,
    write=None,
    cache=False,
    data_home=None,
):
    """Simulate labelled 12-lead ECGs with the diagnoses of the PhysioNet 2020 challenge.

    The heart's electrical activity is a 3D dipole whose P, QRS and T waves are
    Gaussian kernels in time with vector amplitudes, the 3D extension of ECGSYN [1]_
    [2]_, projected onto the 12 leads with the Dower matrix [3]_. Each simulated
    patient has a heart orientation, size and electrode placement of their own, the
    variability that 3KG's rotation and scaling augmentations are built around. Each
    diagnosis of the challenge is produced by its electrophysiological signature
    (irregular RR and fibrillatory waves for atrial fibrillation, a late
    right-anterior QRS vector for right bundle-branch block, a superior axis for left
    anterior fascicular block, ...), drawn with the training-set prevalences under
    physiological exclusivity; a label with a threshold (rate, QRS width, axis,
    voltage, PR, QT) holds in the signal with a margin. ``DESCR`` lists the details.

    Parameters
    ----------
    n_records : int, default=1000
        Number of records.
    fs : float, default=500
        Sampling rate in Hz, at least 100.
    duration : float, default=10.0
        Length of each record in seconds, at least 2.
    classes : {"3kg", "merged", "scored"}, default="3kg"
        Class set of ``target``, as for the PhysioNet reader: the 23 classes of 3KG,
        the 24 classes of the challenge metric or the 27 scored codes.
    n_patients : int, default=None
        Number of patients, at most ``n_records``; each patient has at least one
        record, and a patient's records share their anatomy and structural findings.
        None gives one patient per record.
    noise : "realistic", float or None, default="realistic"
        Baseline wander, muscle, powerline and electrode-motion noise at typical
        resting-ECG levels; a float scales those levels; None (or 0) gives clean
        signals. The heart, labels and parameters do not depend on ``noise``.
    random_state : int, RandomState instance or None, default=None
        Seeds the simulation; a given seed gives the same records whatever ``n_jobs``.
    n_jobs : int, default=None
        Number of joblib workers; None means 1 unless in a joblib context.
    write : str or path-like, default=None
        If given, also write the records to this folder in the challenge's format
        (``.hea`` + ``.mat``, with every record's SNOMED CT codes), readable with
        :func:`~sk3kg.datasets.load_physionet2020`.
    cache : bool, default=False
        Keep the simulated set under the data home, keyed by ``n_records``, ``fs``,
        ``duration``, ``n_patients``, ``noise`` and ``random_state`` (which must then
        be an integer), and return it from there, memory-mapped, on later calls.
    data_home : str or path-like, default=None
        Where the cache lives; see :func:`~sk3kg.datasets.get_data_home`.

    Returns
    -------
    dataset : :class:`~sklearn.utils.Bunch`
        Dictionary-like object, with the following attributes.

        data : ndarray of shape (n_records, 12, round(fs * duration))
            The signals in mV, float32, leads in the order of ``leads``.
        target : ndarray of shape (n_records, n_classes)
            The labels, uint8.
        target_names : list of str
            Abbreviations of the classes.
        target_codes : list of str
            SNOMED CT codes of the classes.
        patient_ids : ndarray of int of shape (n_records,)
            Patient of each record.
        record_ids : ndarray of str of shape (n_records,)
            Record names.
        fs : float
            Sampling rate, in Hz.
        leads : list of str
            Lead order.
        params : dict of str to ndarray of shape (n_records,)
            The simulation's per-record parameters: ``heart_rate`` (bpm,
            measured from the beats), ``pr``, ``qrs``, ``qt``, ``qtc`` (ms;
            ``pr`` NaN without sinus P waves), ``axis`` (frontal QRS axis,
            degrees), ``rotation_x``, ``rotation_y``, ``rotation_z`` (heart
            orientation, degrees), ``qrs_rotation`` (further frontal turn of the
            QRS, degrees), ``scale`` (voltage factor) and the noise sizes
            ``baseline_noise``, ``muscle_noise``, ``powerline_noise``,
            ``motion_noise`` (mV).
        DESCR : str
            Description of the simulation.

    See Also
    --------
    load_physionet2020 : The real records, in the same form.

    References
    ----------
    .. [1] P. E. McSharry, G. D. Clifford, L. Tarassenko and L. A. Smith, "A dynamical
       model for generating synthetic electrocardiogram signals", IEEE Trans. Biomed.
       Eng. 50(3), 289-294, 2003.
    .. [2] R. Sameni, G. D. Clifford, C. Jutten and M. B. Shamsollahi, "Multichannel
       ECG and noise modeling: application to maternal and fetal ECG signals",
       EURASIP J. Adv. Signal Process. 2007, 043407, 2007.
    .. [3] G. E. Dower et al., "On deriving the electrocardiogram from
       vectorcardiographic leads", Clin. Cardiol. 3(2), 87-95, 1980.

    Examples
    --------
    >>> from sk3kg.datasets import make_synthetic_ecgs
    >>> ecgs = make_synthetic_ecgs(8, duration=5.0, random_state=0)
    >>> ecgs.data.shape, ecgs.target.shape
    ((8, 12, 2500), (8, 23))
    >>> ecgs.target_names[:4]
    ['IAVB', 'AF', 'AFL', 'Brady']
    """
    n_patients = n_records if n_patients is None else n_patients
    if n_patients > n_records:
        raise ValueError(f"n_patients={n_patients} exceeds n_records={n_records}.")
    settings = (n_records, fs, duration, n_patients, noise, random_state, n_jobs)
    if cache:
        data, codes, params, patient_ids = _cached(settings, data_home)
    else:
        data, codes, params, patient_ids = _simulate_set(*settings)
    record_ids = np.array([f"SYN{i:05d}" for i in range(n_records)])
    if write is not None:
        write_physionet2020(write, data, fs, dx_codes=codes, record_ids=record_ids)
    class_set = get_class_set(classes)
    text = DESCR.format(n_records=n_records, duration=duration, fs=fs, n_patients=n_patients,
                        n_classes=len(class_set.codes), classes=classes, noise=noise)  # fmt: skip
    return Bunch(
        data=data,
        target=_targets(codes, classes),
        target_names=list(class_set.abbreviations),
        target_codes=list(class_set.codes),
        patient_ids=patient_ids,
        record_ids=record_ids,
        fs=float(fs),
        leads=list(STANDARD_LEADS),
        params=params,
        DESCR=text,
    )
