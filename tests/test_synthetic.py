"""The ECG simulator: labels checked by measuring the signals with detectors written here.

The detectors know nothing of the simulator: R peaks from the band-passed spatial
velocity of the 12 leads, a median beat around them, QRS onset and offset where the
VCG magnitude (inverse Dower) crosses 5 % of its peak, the frontal axis from the net
QRS area in I and aVF, and the largest peak-to-peak QRS amplitude of the limb leads.
"""

from functools import cache

import numpy as np
import pytest
from joblib import parallel_config
from scipy.signal import butter, find_peaks, medfilt, sosfiltfilt

from sk3kg.datasets import class_prevalence, get_class_set, load_physionet2020, make_synthetic_ecgs
from sk3kg.vcg import STANDARD_LEADS, ecg_to_vcg

FS = 500
LEAD = {name: i for i, name in enumerate(STANDARD_LEADS)}
LIMB = slice(0, 6)
SINUS = ("NSR", "SB", "STach", "SA")


# --- detectors ------------------------------------------------------------------------


@cache
def band_pass(fs: float) -> np.ndarray:
    return butter(2, [5, 25], btype="band", fs=fs, output="sos")


def r_peaks(ecg: np.ndarray, fs: float = FS) -> np.ndarray:
    """QRS complexes: peaks of the smoothed 5-25 Hz spatial velocity of the 12 leads.

    A 10 ms median filter first removes pacemaker spikes. Candidates are at least
    200 ms apart; those above half the 85th percentile of the candidates are kept
    (P and T waves fall below), each moved to the centroid of the velocity within
    100 ms, which is stable on notched complexes.
    """
    despiked = medfilt(ecg, (1, 2 * int(0.005 * fs) + 1))
    band = sosfiltfilt(band_pass(fs), despiked, axis=-1)
    velocity = np.sqrt((np.diff(band, axis=-1) ** 2).sum(axis=0))
    width = int(0.1 * fs)
    energy = np.convolve(velocity, np.ones(width) / width, mode="same")
    peaks = find_peaks(energy, distance=int(0.2 * fs))[0]
    heights = energy[peaks]
    peaks = peaks[heights > 0.5 * np.percentile(heights, 85)]
    reach = int(0.1 * fs)
    centroids = []
    for peak in peaks:
        lo, hi = max(peak - reach, 0), min(peak + reach, len(energy))
        centroids.append(lo + np.average(np.arange(hi - lo), weights=energy[lo:hi]))
    return np.round(centroids).astype(int)


def rr_intervals(ecg: np.ndarray, fs: float = FS) -> np.ndarray:
    return np.diff(r_peaks(ecg, fs)) / fs


def median_beat(ecg: np.ndarray, peaks: np.ndarray, fs: float = FS) -> np.ndarray:
    """The median over beats of the 12 leads from 250 ms before to 450 ms after each R."""
    before, after = int(0.25 * fs), int(0.45 * fs)
    peaks = [p for p in peaks if before <= p < ecg.shape[-1] - after]
    return np.median([ecg[:, p - before : p + after] for p in peaks], axis=0)


def qrs_window(beat: np.ndarray, fs: float = FS) -> tuple[int, int]:
    """QRS onset and offset: where the VCG magnitude stays below 5 % of its peak for 16 ms."""
    magnitude = np.linalg.norm(ecg_to_vcg(beat), axis=0)
    centre = int(0.25 * fs)
    reach = int(0.1 * fs)
    peak = centre - reach + np.argmax(magnitude[centre - reach : centre + reach])
    quiet = magnitude < 0.05 * magnitude[peak]
    run = int(0.016 * fs)
    runs = np.convolve(quiet, np.ones(run, dtype=int), mode="valid") == run  # quiet[i:i+run]
    before, after = np.flatnonzero(runs[: peak - run + 1]), np.flatnonzero(runs[peak:])
    onset = before[-1] + run if len(before) else 0  # no quiet stretch: the window's edges
    offset = peak + after[0] if len(after) else len(magnitude)
    return onset, offset


def measure(ecg: np.ndarray, fs: float = FS) -> dict:
    """Heart rate (bpm), RR irregularity (RMSSD / mean RR), QRS duration (ms), frontal
    axis (degrees, from the net QRS area in I and aVF) and limb-lead QRS voltage (mV)."""
    peaks = r_peaks(ecg, fs)
    rr = np.diff(peaks) / fs
    beat = median_beat(ecg, peaks, fs)
    onset, offset = qrs_window(beat, fs)
    qrs = beat[:, onset:offset]
    return {
        "heart_rate": 60 / rr.mean(),
        "irregularity": np.sqrt(np.mean(np.diff(rr) ** 2)) / rr.mean(),
        "qrs": 1000 * (offset - onset) / fs,
        "axis": np.degrees(np.arctan2(qrs[LEAD["aVF"]].sum(), qrs[LEAD["I"]].sum())),
        "voltage": np.ptp(qrs[LIMB], axis=1).max(),
    }


def measure_all(ecgs) -> dict:
    values = [measure(ecg, ecgs.fs) for ecg in ecgs.data]
    return {key: np.array([v[key] for v in values]) for key in values[0]}


# --- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed():
    return 0


@pytest.fixture(scope="module")
def clean(seed):
    return make_synthetic_ecgs(800, duration=8.0, noise=None, random_state=seed)


@pytest.fixture(scope="module")
def noisy(seed):
    return make_synthetic_ecgs(300, duration=8.0, random_state=seed + 1)


@pytest.fixture(scope="module")
def measured(clean):
    return measure_all(clean)


def carrying(ecgs, *names: str, without: tuple = ()) -> np.ndarray:
    """Indices of the records with any of ``names`` and none of ``without``."""
    column = {name: i for i, name in enumerate(ecgs.target_names)}
    has = ecgs.target[:, [column[n] for n in names]].any(axis=1)
    if without:
        has &= ~ecgs.target[:, [column[n] for n in without]].any(axis=1)
    return np.flatnonzero(has)


# --- the dataset ----------------------------------------------------------------------


@pytest.mark.parametrize("classes", ["3kg", "merged", "scored"])
def test_bunch_has_the_shapes_and_classes_of_the_physionet_reader(classes, seed):
    ecgs = make_synthetic_ecgs(6, fs=250, duration=4.0, classes=classes, random_state=seed)
    class_set = get_class_set(classes)
    assert ecgs.data.shape == (6, 12, 1000) and ecgs.data.dtype == np.float32
    assert ecgs.target.shape == (6, len(class_set.codes)) and ecgs.target.dtype == np.uint8
    assert ecgs.target_codes == class_set.codes
    assert ecgs.target_names == class_set.abbreviations
    assert ecgs.leads == list(STANDARD_LEADS) and ecgs.fs == 250.0
    assert list(ecgs.record_ids) == [f"SYN{i:05d}" for i in range(6)]
    assert all(len(values) == 6 for values in ecgs.params.values())
    assert "ECGSYN" in ecgs.DESCR


def test_same_random_state_gives_the_same_records_whatever_n_jobs(seed):
    first = make_synthetic_ecgs(5, duration=3.0, n_patients=3, random_state=seed, n_jobs=1)
    with parallel_config(backend="threading"):  # the seeds, not the backend, decide the data
        second = make_synthetic_ecgs(5, duration=3.0, n_patients=3, random_state=seed, n_jobs=2)
    np.testing.assert_array_equal(first.data, second.data)
    np.testing.assert_array_equal(first.target, second.target)
    np.testing.assert_array_equal(first.patient_ids, second.patient_ids)
    other = make_synthetic_ecgs(5, duration=3.0, n_patients=3, random_state=seed + 1)
    assert not np.array_equal(first.data, other.data)


def test_noise_leaves_the_heart_and_labels_unchanged(seed):
    clean = make_synthetic_ecgs(4, duration=3.0, noise=None, random_state=seed)
    noisy = make_synthetic_ecgs(4, duration=3.0, noise="realistic", random_state=seed)
    np.testing.assert_array_equal(clean.target, noisy.target)
    np.testing.assert_array_equal(clean.params["axis"], noisy.params["axis"])
    residual = noisy.data - clean.data
    assert 0.005 < residual.std() < 0.5  # mV: present, and smaller than the ECG


def test_noise_sits_where_real_recordings_have_it(seed):
    """Breathing moves the chest electrodes (wander larger in V1-V6 than in I), the limbs
    carry the muscle (EMG larger in I, between two limb electrodes, than in V3)."""
    clean = make_synthetic_ecgs(60, duration=8.0, noise=None, random_state=seed).data
    noise = make_synthetic_ecgs(60, duration=8.0, random_state=seed).data - clean
    low = sosfiltfilt(butter(2, 0.5, btype="low", fs=500, output="sos"), noise, axis=-1)
    high = sosfiltfilt(butter(2, [20, 45], btype="band", fs=500, output="sos"), noise, axis=-1)
    wander, muscle = np.median(low.std(axis=-1), axis=0), np.median(high.std(axis=-1), axis=0)
    # Equal sites would give V leads 0.8 times lead I's wander (I: two electrodes, V: one and
    # a third of three); chest sites 2.5 times the limb ones give 1.8 in expectation.
    assert np.median(wander[[LEAD[f"V{i}"] for i in range(1, 7)]]) > 1.3 * wander[LEAD["I"]]
    assert muscle[LEAD["I"]] > 1.5 * muscle[LEAD["V3"]]


def test_each_patient_has_a_qrs_loop_of_their_own():
    """The inner activation fronts move, every front changes width and direction; the
    septal and terminal fronts keep their times, which mark the QRS's ends."""
    from sk3kg.datasets._synthetic._waves import normal_qrs

    first, again, other = (normal_qrs(0.09, np.random.default_rng(s)) for s in (1, 1, 2))
    np.testing.assert_array_equal(first.amplitude, again.amplitude)
    assert not np.allclose(first.center[1:4], other.center[1:4], atol=1e-4)
    assert not np.allclose(first.width, other.width, rtol=1e-3)
    assert not np.allclose(first.amplitude, other.amplitude, atol=1e-3)
    np.testing.assert_array_equal(first.center[[0, -1]], other.center[[0, -1]])


@pytest.mark.parametrize("noise", [None, "realistic"])
def test_limb_leads_obey_einthoven_and_goldberger_exactly(noise, seed):
    ecg = make_synthetic_ecgs(3, duration=3.0, noise=noise, random_state=seed).data
    lead_1, lead_2 = ecg[:, LEAD["I"]], ecg[:, LEAD["II"]]
    for name, expected in {
        "III": lead_2 - lead_1,
        "aVR": -(lead_1 + lead_2) / 2,
        "aVL": lead_1 - lead_2 / 2,
        "aVF": lead_2 - lead_1 / 2,
    }.items():
        np.testing.assert_allclose(ecg[:, LEAD[name]], expected, atol=1e-5)


def test_records_of_a_patient_share_the_heart_orientation(seed):
    ecgs = make_synthetic_ecgs(12, duration=2.0, n_patients=4, random_state=seed)
    assert sorted(set(ecgs.patient_ids)) == [0, 1, 2, 3]
    for patient in range(4):
        mine = ecgs.patient_ids == patient
        for angle in ("rotation_x", "rotation_y", "rotation_z"):
            assert np.ptp(ecgs.params[angle][mine]) == 0
    assert np.ptp(ecgs.params["rotation_y"]) > 0


def test_more_patients_than_records_is_an_error():
    with pytest.raises(ValueError, match="n_patients=5 exceeds n_records=3"):
        make_synthetic_ecgs(3, n_patients=5)


def test_written_records_read_back_with_load_physionet2020(tmp_path, seed):
    ecgs = make_synthetic_ecgs(4, duration=4.0, random_state=seed, write=tmp_path / "syn")
    loaded = load_physionet2020(tmp_path / "syn", duration=4.0, cache=False)
    assert list(loaded.record_ids) == list(ecgs.record_ids)
    np.testing.assert_array_equal(loaded.target, ecgs.target)
    np.testing.assert_allclose(loaded.data, ecgs.data, atol=6e-4)  # 1 uV quantisation


# --- labels against the prevalences and the physiology ------------------------------


def test_every_record_has_exactly_one_base_rhythm(clean):
    column = {name: i for i, name in enumerate(clean.target_names)}
    base = clean.target[:, [column[n] for n in (*SINUS, "Brady", "AF", "AFL", "PR")]]
    assert (base.sum(axis=1) == 1).all()


@pytest.mark.parametrize(
    ("finding", "excluded"),
    [
        ("AF", ("PAC", "IAVB", "AFL", "PR")),
        ("AFL", ("PAC", "IAVB", "PR")),
        ("LBBB", ("CRBBB", "IRBBB", "NSIVCB", "LAnFB", "PR")),
        ("CRBBB", ("IRBBB", "NSIVCB", "PR")),
        ("PR", ("CRBBB", "IRBBB", "LBBB", "NSIVCB", "PVC", "PAC")),
    ],
)
def test_findings_exclude_what_physiology_excludes(clean, finding, excluded):
    assert len(carrying(clean, finding)) > 0
    assert len(np.intersect1d(carrying(clean, finding), carrying(clean, *excluded))) == 0


def test_fascicular_block_brings_left_axis_deviation(clean):
    assert np.isin(carrying(clean, "LAnFB"), carrying(clean, "LAD")).all()


def test_findings_follow_the_challenge_prevalences(clean):
    expected = class_prevalence("3kg")
    observed = clean.target.mean(axis=0)
    rhythm = np.isin(clean.target_names, [*SINUS, "Brady", "AF", "AFL", "PR"])
    common = (expected > 0.03) & ~rhythm
    np.testing.assert_allclose(observed[common], expected[common], rtol=0.5)
    # One rhythm per record: the rhythms keep their proportions to one another.
    share = expected[rhythm] / expected[rhythm].sum()
    common = share > 0.05
    np.testing.assert_allclose(observed[rhythm][common], share[common], rtol=0.5)


def delineated(ecgs, measured, *names: str, without: tuple = ()) -> np.ndarray:
    """Records with ``names`` whose QRS the detector can delineate.

    Not in flutter, whose waves run through the QRS; not in junctional rhythm, whose
    retrograde P can touch it; and with a QRS window under 200 ms: where a fast rate
    runs the T wave into the QRS, the VCG never falls quiet and no QRS end is found.
    """
    records = carrying(ecgs, *names, without=(*without, "AFL", "Brady"))
    return records[measured["qrs"][records] < 200]


def test_detector_delineates_nearly_every_qrs(measured):
    assert np.mean(measured["qrs"] < 200) > 0.95


# --- labels against independent measurements ----------------------------------------


@pytest.mark.parametrize(
    ("dataset", "rhythm", "low", "high"),
    [
        ("noisy", "SB", 30, 60),
        ("noisy", "STach", 100, 200),
        ("noisy", "NSR", 60, 100),
        ("clean", "Brady", 30, 60),
        ("clean", "SB", 30, 60),
        ("clean", "STach", 100, 200),
    ],
)
def test_heart_rate_measured_matches_the_rhythm(request, dataset, rhythm, low, high):
    ecgs = request.getfixturevalue(dataset)
    records = carrying(ecgs, rhythm, without=("PAC", "PVC"))
    assert len(records) > 0
    rates = np.array([60 / rr_intervals(ecgs.data[i], ecgs.fs).mean() for i in records])
    assert ((rates > low) & (rates < high)).all(), rates


def test_atrial_fibrillation_is_more_irregular_than_any_sinus_rhythm(clean, measured):
    fibrillation = measured["irregularity"][carrying(clean, "AF", without=("PVC",))]
    sinus = measured["irregularity"][carrying(clean, "NSR", "SB", "STach", without=("PAC", "PVC"))]
    assert fibrillation.min() > sinus.max()
    assert np.median(fibrillation) > 4 * np.median(sinus)


def test_sinus_arrhythmia_is_more_irregular_than_regular_sinus_rhythm(clean, measured):
    arrhythmia = measured["irregularity"][carrying(clean, "SA", without=("PAC", "PVC"))]
    regular = measured["irregularity"][carrying(clean, "NSR", without=("PAC", "PVC"))]
    assert np.median(arrhythmia) > 2 * np.median(regular)


@pytest.mark.parametrize(
    ("finding", "low", "high"),
    [("CRBBB", 120, np.inf), ("LBBB", 120, np.inf), ("NSIVCB", 110, np.inf),
     ("PR", 120, np.inf), ("IRBBB", 100, 120)],
)  # fmt: skip
def test_qrs_duration_meets_the_conduction_criteria(clean, measured, finding, low, high):
    # Fibrillatory waves also blur the QRS ends: sinus and paced rhythms only.
    durations = measured["qrs"][delineated(clean, measured, finding, without=("AF",))]
    assert len(durations) > 0
    assert ((durations >= low) & (durations < high)).all(), durations


def test_qrs_stays_narrow_without_a_conduction_finding(clean, measured):
    conduction = ("CRBBB", "IRBBB", "LBBB", "NSIVCB", "LAnFB", "PR")
    durations = measured["qrs"][delineated(clean, measured, *SINUS, without=conduction)]
    assert durations.max() < 110


@pytest.mark.parametrize(
    ("finding", "low", "high"),
    [("LAD", -90, -30), ("LAnFB", -90, -45), ("RAD", 90, 180)],
)
def test_frontal_axis_meets_the_axis_criteria(clean, measured, finding, low, high):
    axes = measured["axis"][delineated(clean, measured, finding)]
    assert len(axes) > 0
    assert ((axes >= low) & (axes <= high)).all(), axes


def test_frontal_axis_is_normal_without_an_axis_finding(clean, measured):
    records = delineated(clean, measured, *clean.target_names, without=("LAD", "RAD"))
    axes = measured["axis"][records]
    assert ((axes > -30) & (axes < 90)).all()


def test_low_voltage_is_below_half_a_millivolt_in_every_limb_lead(clean, measured):
    low = delineated(clean, measured, "LQRSV")
    others = delineated(clean, measured, *clean.target_names, without=("LQRSV",))
    assert len(low) > 0
    assert measured["voltage"][low].max() < 0.5
    assert measured["voltage"][others].min() >= 0.5


def test_premature_ventricular_beats_come_early_with_a_compensatory_pause(clean):
    records = carrying(clean, "PVC", without=("PAC", "AF", "AFL", "SA", "PR"))
    assert len(records) > 0
    for record in records:
        rr = rr_intervals(clean.data[record], clean.fs)
        early = np.flatnonzero(rr[:-1] < 0.8 * np.median(rr))
        assert len(early) > 0
        sinus = np.median(np.delete(rr, np.union1d(early, early + 1)))
        # The sinus beat the PVC hides keeps the sinus node's time: early + pause = 2 cycles.
        np.testing.assert_allclose(rr[early] + rr[early + 1], 2 * sinus, rtol=0.1)


def test_paced_records_carry_pacemaker_spikes(clean):
    sharpest = np.abs(np.diff(clean.data, n=2, axis=-1)).max(axis=(1, 2))  # mV per sample^2
    paced = carrying(clean, "PR")
    assert len(paced) > 0
    assert sharpest[paced].min() > sharpest[np.setdiff1d(np.arange(len(sharpest)), paced)].max()


def test_a_cached_set_is_returned_memory_mapped_and_equal(tmp_path):
    settings = {"duration": 3.0, "n_patients": 3, "random_state": 4, "data_home": tmp_path}
    first = make_synthetic_ecgs(5, cache=True, **settings)
    again = make_synthetic_ecgs(5, cache=True, classes="merged", **settings)
    fresh = make_synthetic_ecgs(5, duration=3.0, n_patients=3, random_state=4)
    assert isinstance(again.data, np.memmap)
    np.testing.assert_array_equal(again.data, fresh.data)
    np.testing.assert_array_equal(first.target, fresh.target)
    np.testing.assert_array_equal(again.patient_ids, fresh.patient_ids)
    assert again.target.shape == (5, 24)
    assert len(list((tmp_path / "synthetic").iterdir())) == 1


def test_other_settings_get_their_own_cache_entry(tmp_path):
    make_synthetic_ecgs(3, duration=3.0, random_state=0, cache=True, data_home=tmp_path)
    make_synthetic_ecgs(3, duration=3.0, random_state=1, cache=True, data_home=tmp_path)
    assert len(list((tmp_path / "synthetic").iterdir())) == 2


def test_caching_needs_an_integer_random_state(tmp_path):
    with pytest.raises(ValueError, match="cache=True needs an integer random_state"):
        make_synthetic_ecgs(3, duration=3.0, cache=True, data_home=tmp_path)
