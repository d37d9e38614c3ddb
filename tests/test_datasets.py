"""Reading, writing and caching PhysioNet/CinC Challenge 2020 records."""

import re
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch
import wfdb
from scipy.signal import find_peaks

from sk3kg.augment import ThreeKGAugment
from sk3kg.datasets import (
    CHALLENGE_LEADS,
    get_data_home,
    load_physionet2020,
    write_physionet2020,
)
from sk3kg.datasets._challenge import _reader

from .conftest import assert_target_follows_headers

SHARED = Path(__file__).parents[2] / "shared" / "data"
SAMPLE = SHARED / "cinc2021-torch_ecg-sample" / "records"
REWRITTEN = SHARED / "cinc2021-headers-rewritten"
needs_sample = pytest.mark.skipif(not SAMPLE.is_dir(), reason="shared sample records absent")
FLAT_RECORDS = {"JS20004", "JS20008"}  # V2, V4 and V6 are all zeros in the real files

pytestmark = pytest.mark.usefixtures("isolated_data_home")


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    if not SAMPLE.is_dir():
        pytest.skip("shared sample records absent")
    home = tmp_path_factory.mktemp("home")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is skipped
        return load_physionet2020(SAMPLE, data_home=home, classes="scored"), home


# --- the real records -----------------------------------------------------------------


@needs_sample
def test_sample_loads_all_50_records_and_marks_v2_v4_v6_flat_in_two(sample):
    ecg, _ = sample
    assert ecg.data.shape == (50, 12, 5000) and ecg.data.dtype == np.float32
    assert ecg.skipped == []
    assert ecg.leads == CHALLENGE_LEADS
    assert list(np.unique(ecg.sources)) == ["georgia", "ptb-xl", "unknown"]
    flat_rows = {ecg.record_ids[i] for i in np.flatnonzero(ecg.flat_leads.any(axis=1))}
    assert flat_rows == FLAT_RECORDS
    v2_v4_v6 = [CHALLENGE_LEADS.index(lead) for lead in ("V2", "V4", "V6")]
    for record in FLAT_RECORDS:
        i = list(ecg.record_ids).index(record)
        assert list(np.flatnonzero(ecg.flat_leads[i])) == v2_v4_v6
        assert (ecg.data[i, v2_v4_v6] == 0).all() and (ecg.data[i, :7] != 0).any(axis=1).all()
    assert ":Flat leads: 2 records have one or more (V2 2, V4 2, V6 2;" in ecg.DESCR
    assert ":Skipped: 0 bad records, 0 records with flat leads" in ecg.DESCR


@needs_sample
def test_sample_with_skip_flat_loads_48_and_names_the_two_left_out(tmp_path):
    with pytest.warns(UserWarning, match="Skipped 2 of 50 records") as record:
        ecg = load_physionet2020(SAMPLE, skip_flat=True, on_error="raise", data_home=tmp_path)
    assert ecg.data.shape == (48, 12, 5000) and not ecg.flat_leads.any()
    assert {record_id for record_id, _ in ecg.skipped} == FLAT_RECORDS
    assert all("flat leads V2, V4, V6" in reason for _, reason in ecg.skipped)
    message = str(record[0].message)
    assert "JS20004" in message and "JS20008" in message and "skip_flat=False" in message
    assert "on_error" not in message  # nothing bad was skipped
    assert ":Skipped: 0 bad records, 2 records with flat leads" in ecg.DESCR


@needs_sample
def test_flat_precordial_leads_get_signal_in_3kg_views(sample):
    # The inverse Dower matrix reads the flat V2, V4, V6 as 0 mV; projected back, the
    # view has signal there (docs/datasets.rst quotes the median RMS of 1000 views).
    ecg, _ = sample
    i = list(ecg.record_ids).index("JS20004")
    x = torch.as_tensor(np.repeat(ecg.data[i : i + 1], 64, axis=0))
    views = ThreeKGAugment(mask_ratio=0.0)(x, generator=torch.Generator().manual_seed(0))
    rms = views.square().mean(dim=2).sqrt().median(dim=0).values
    v2, v4, v6 = (CHALLENGE_LEADS.index(lead) for lead in ("V2", "V4", "V6"))
    assert (rms[[v2, v4, v6]] > 0.1).all()  # mV, where the record holds exactly 0


@needs_sample
def test_sample_signals_use_each_headers_gain(sample):
    ecg, _ = sample
    for i, record in enumerate(ecg.record_ids):
        val = scipy.io.loadmat(SAMPLE / f"{record}.mat")["val"]
        gains = [float(line.split()[2].split("/")[0]) for line in
                 (SAMPLE / f"{record}.hea").read_text().splitlines()[1:13]]  # fmt: skip
        np.testing.assert_allclose(ecg.data[i], val / np.array(gains)[:, None], atol=1e-6)


@needs_sample
def test_sample_signals_agree_with_wfdb_where_wfdb_reads_the_header(sample):
    ecg, _ = sample
    for i, record in enumerate(ecg.record_ids):
        if record.startswith("E"):  # wfdb 4.3 rejects the Georgia record line
            continue
        expected = wfdb.rdrecord(str(SAMPLE / record)).p_signal.T
        np.testing.assert_allclose(ecg.data[i], expected, atol=1e-6)


@needs_sample
def test_sample_labels_age_and_sex_agree_with_headers(sample):
    ecg, _ = sample
    assert_target_follows_headers(ecg, SAMPLE, "scored")
    first = list(ecg.record_ids).index("E07500")
    assert (ecg.age[first], ecg.sex[first]) == (78, "male")
    assert ecg.target[:, ecg.target_codes.index("426783006")].sum() == 5 + 10 + 0


@needs_sample
def test_sample_resampled_to_250_hz_keeps_r_peak_amplitudes_within_5_percent(sample):
    ecg, home = sample
    low = load_physionet2020(SAMPLE, fs=250, data_home=home)
    assert low.data.shape == (50, 12, 2500) and list(low.lengths) == [2500] * 50
    for full, half in zip(ecg.data[:, 1], low.data[:, 1], strict=True):
        x, y = full - np.median(full), half - np.median(half)
        sign = np.sign(x[np.argmax(np.abs(x))])
        peaks, _ = find_peaks(sign * x, height=0.5 * np.abs(x).max(), distance=150)
        before = sign * x[peaks]
        after = np.array([(sign * y)[max(p // 2 - 2, 0) : p // 2 + 3].max() for p in peaks])
        assert np.median(np.abs(after - before) / before) < 0.05


@needs_sample
def test_sample_cached_and_uncached_loads_are_identical(sample):
    ecg, home = sample
    fresh = load_physionet2020(SAMPLE, data_home=home, classes="scored", cache=False)
    assert isinstance(ecg.data, np.memmap) and not isinstance(fresh.data, np.memmap)
    np.testing.assert_array_equal(ecg.data, fresh.data)
    np.testing.assert_array_equal(ecg.target, fresh.target)
    np.testing.assert_array_equal(ecg.record_ids, fresh.record_ids)
    np.testing.assert_array_equal(ecg.flat_leads, fresh.flat_leads)


@needs_sample
@pytest.mark.skipif(not REWRITTEN.is_dir(), reason="rewritten headers absent")
def test_original_and_wfdb_style_headers_give_identical_records(tmp_path, sample):
    ecg, _ = sample
    for header in sorted(REWRITTEN.glob("E075*.hea")):
        shutil.copy(header, tmp_path)
        shutil.copy(SAMPLE / f"{header.stem}.mat", tmp_path)
    rewritten = load_physionet2020(tmp_path, classes="scored", cache=False)
    rows = [list(ecg.record_ids).index(r) for r in rewritten.record_ids]
    assert len(rows) == 20
    np.testing.assert_array_equal(rewritten.data, ecg.data[rows])
    np.testing.assert_array_equal(rewritten.target, ecg.target[rows])
    np.testing.assert_array_equal(rewritten.age, ecg.age[rows])


@needs_sample
def test_written_mat_file_has_the_same_layout_as_a_challenge_file(tmp_path):
    val = scipy.io.loadmat(SAMPLE / "E07500.mat")["val"]
    write_physionet2020(tmp_path, val[None] / 1000, 500, dx_codes=["426177001"], record_ids=["X"])
    assert (tmp_path / "X.mat").read_bytes() == (SAMPLE / "E07500.mat").read_bytes()
    ours = (tmp_path / "X.hea").read_text().splitlines()
    theirs = (SAMPLE / "E07500.hea").read_text().splitlines()
    assert ours[0] == "X 12 500 5000"
    assert [line.replace("X.mat", "E07500.mat") for line in ours[1:13]] == theirs[1:13]
    assert ours[13:16] == ["#Age: NaN", "#Sex: Unknown", "#Dx: 426177001"]


# --- records the tests write ----------------------------------------------------------


def write_records(folder, rng, n=4, n_samples=1000, fs=500, **kwargs):
    signals = rng.normal(scale=0.5, size=(n, 12, n_samples))
    dx = kwargs.pop("dx_codes", [["426783006"], ["59118001", "164889003"], [], ["251238007"]][:n])
    ids = write_physionet2020(folder, signals, fs, dx_codes=dx, **kwargs)
    return signals, ids


def test_write_then_load_round_trips_up_to_one_microvolt(tmp_path, rng):
    signals, ids = write_records(tmp_path / "recs", rng, age=[61, None, 40.5, 7],
                                 sex=["Female", "Male", None, "Male"])  # fmt: skip
    ecg = load_physionet2020(tmp_path / "recs", duration=2.0, classes="merged")
    assert list(ecg.record_ids) == ids
    np.testing.assert_allclose(ecg.data, signals, atol=0.5e-3 + 1e-6)
    np.testing.assert_array_equal(ecg.data, np.round(signals * 1000).astype(np.float32) / 1000)
    np.testing.assert_array_equal(ecg.age, [61, np.nan, 40.5, 7])
    assert list(ecg.sex) == ["female", "male", "unknown", "male"]
    rbbb, af, nsr = (ecg.target_codes.index(c) for c in ("713427006", "164889003", "426783006"))
    assert ecg.target[0, nsr] == 1 and ecg.target[1, [rbbb, af]].tolist() == [1, 1]
    assert ecg.target.sum() == 3 and ecg.n_unlabelled == 2


def test_written_records_are_read_by_wfdb_with_the_same_values(tmp_path, rng):
    signals, ids = write_records(tmp_path, rng, n=2)
    record = wfdb.rdrecord(str(tmp_path / ids[1]))
    assert record.fs == 500 and record.sig_name == list(CHALLENGE_LEADS)
    assert record.comments[2] == "Dx: 59118001,164889003"
    np.testing.assert_allclose(record.p_signal.T, signals[1], atol=0.5e-3 + 1e-9)


def test_writer_rejects_signals_beyond_the_int16_range_naming_the_record(tmp_path):
    with pytest.raises(ValueError, match="BIG: .*exceeds 32.767 mV"):
        write_physionet2020(tmp_path, np.full((1, 12, 10), 40.0), 500, dx_codes=[""],
                            record_ids=["BIG"])  # fmt: skip


@pytest.mark.parametrize(
    ("crop", "expected_start"), [("start", 0), ("center", 250)]
)  # fmt: skip
def test_longer_records_are_cropped_and_shorter_zero_padded(tmp_path, crop, expected_start):
    ramp = np.arange(1500) / 1000 + 0.001
    short = np.ones((12, 300))
    write_physionet2020(tmp_path, [ramp * np.ones((12, 1)), short], 500, dx_codes=["", ""])
    ecg = load_physionet2020(tmp_path, duration=2.0, crop=crop, cache=False)
    assert list(ecg.lengths) == [1500, 300]
    np.testing.assert_allclose(ecg.data[0, 0, :1000], ramp[expected_start : expected_start + 1000])
    assert (ecg.data[1, :, :300] == 1).all() and (ecg.data[1, :, 300:] == 0).all()


def test_incart_rate_257_hz_is_resampled_to_500_hz(tmp_path):
    t = np.arange(257 * 4) / 257
    write_physionet2020(tmp_path, [np.sin(2 * np.pi * 1.0 * t) * np.ones((12, 1))], 257,
                        dx_codes=[""], record_ids=["I0001"])  # fmt: skip
    ecg = load_physionet2020(tmp_path, fs=500, duration=4.0, cache=False)
    assert ecg.data.shape == (1, 12, 2000) and ecg.lengths[0] == 2000
    assert list(ecg.sources) == ["st_petersburg_incart"]
    assert not (tmp_path / "data_home" / "physionet2020").exists()  # cache=False keeps nothing
    expected = np.sin(2 * np.pi * np.arange(2000) / 500)
    np.testing.assert_allclose(ecg.data[0, 0, 100:-100], expected[100:-100], atol=1e-2)


def test_sources_are_told_by_folder_name_and_can_be_selected(tmp_path, rng):
    write_records(tmp_path / "training" / "ptb-xl" / "g1", rng, n=2, record_ids=["HR1", "HR2"])
    write_records(tmp_path / "training" / "georgia" / "g2", rng, n=1, record_ids=["X9"])
    everything = load_physionet2020(tmp_path, cache=False)
    assert sorted(everything.sources) == ["georgia", "ptb-xl", "ptb-xl"]
    georgia = load_physionet2020(tmp_path, sources=["georgia"], cache=False)
    assert list(georgia.record_ids) == ["X9"]


# --- bad records ----------------------------------------------------------------------


def truncate_mat(folder):
    path = folder / "SYN00001.mat"
    path.write_bytes(path.read_bytes()[:5000])


def nan_mat(folder):
    val = np.full((12, 1000), 0.1)
    val[3, 10] = np.nan
    scipy.io.savemat(folder / "SYN00001.mat", {"val": val}, format="4")


def sentinel_mat(folder):
    val = scipy.io.loadmat(folder / "SYN00001.mat")["val"]
    val[7, 500] = -32768
    scipy.io.savemat(folder / "SYN00001.mat", {"val": val}, format="4")


def flip_bytes(folder):
    raw = bytearray((folder / "SYN00001.mat").read_bytes())
    raw[1000:1010] = bytes(10)
    (folder / "SYN00001.mat").write_bytes(bytes(raw))


def eleven_leads(folder):
    lines = (folder / "SYN00001.hea").read_text().splitlines()
    lines[0] = lines[0].replace(" 12 ", " 11 ")
    (folder / "SYN00001.hea").write_text("\n".join(lines[:12] + lines[13:]) + "\n")
    val = scipy.io.loadmat(folder / "SYN00001.mat")["val"][:11]
    scipy.io.savemat(folder / "SYN00001.mat", {"val": val}, format="4")


DAMAGE = {
    "truncated": (truncate_mat, "cannot read signal file"),
    "missing_signal": (lambda f: (f / "SYN00001.mat").unlink(), "signal file .* is missing"),
    "missing_header": (lambda f: (f / "SYN00001.hea").unlink(), "header file .* is missing"),
    "nan": (nan_mat, "NaN or infinite samples in leads aVR"),
    "sentinel": (sentinel_mat, "missing-sample value -32768 in leads V2"),
    "corrupt_bytes": (flip_bytes, "checksum of leads .* disagrees with the header"),
    "wrong_leads": (eleven_leads, "expected the 12 standard leads"),
    "garbage_header": (
        lambda f: (f / "SYN00001.hea").write_text("\x00\x01 junk\n"),
        "header record line",
    ),
}


def damaged_folder(folder, rng, kind):
    signals = rng.normal(scale=0.5, size=(3, 12, 1000))
    write_physionet2020(folder, signals, 500, dx_codes=["", "", ""])
    damage, message = DAMAGE[kind]
    damage(folder)
    return message


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_bad_record_is_skipped_with_one_warning_naming_it(tmp_path, rng, kind):
    message = damaged_folder(tmp_path, rng, kind)
    with pytest.warns(UserWarning, match="Skipped 1 of 3 records") as record:
        ecg = load_physionet2020(tmp_path, duration=2.0)
    assert len(record) == 1 and "SYN00001" in str(record[0].message)
    assert list(ecg.record_ids) == ["SYN00000", "SYN00002"]
    assert ecg.skipped[0][0] == "SYN00001" and re.search(message, ecg.skipped[0][1])
    assert np.isfinite(ecg.data).all()


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_bad_record_raises_naming_it_when_asked(tmp_path, rng, kind):
    message = damaged_folder(tmp_path, rng, kind)
    with pytest.raises(ValueError, match=f"SYN00001: .*{message}.*on_error='skip'"):
        load_physionet2020(tmp_path, duration=2.0, on_error="raise")
    cache = Path(get_data_home()) / "physionet2020" / "cache"
    assert not list(cache.rglob("meta.npz")) and not list(cache.rglob("*.tmp"))


# --- flat leads -----------------------------------------------------------------------


def flat_folder(folder, rng, value=0.0):
    """Three records; in the second, lead V1 holds ``value`` mV throughout."""
    signals = rng.normal(scale=0.5, size=(3, 12, 1000))
    signals[1, CHALLENGE_LEADS.index("V1")] = value
    write_physionet2020(folder, signals, 500, dx_codes=["", "426783006", ""])


@pytest.mark.parametrize("value", [0.0, -0.25])
def test_record_with_a_constant_lead_is_loaded_and_the_lead_marked_flat(tmp_path, rng, value):
    flat_folder(tmp_path, rng, value)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ecg = load_physionet2020(tmp_path, duration=2.0)
    assert list(ecg.record_ids) == ["SYN00000", "SYN00001", "SYN00002"] and ecg.skipped == []
    expected = np.zeros((3, 12), dtype=bool)
    expected[1, CHALLENGE_LEADS.index("V1")] = True
    np.testing.assert_array_equal(ecg.flat_leads, expected)
    assert (ecg.data[1, CHALLENGE_LEADS.index("V1")] == np.float32(value)).all()
    assert ":Flat leads: 1 records have one or more (V1 1;" in ecg.DESCR


def test_a_lead_that_moves_by_one_microvolt_once_is_not_flat(tmp_path, rng):
    signals = rng.normal(scale=0.5, size=(1, 12, 1000))
    signals[0, 6] = 0.0
    signals[0, 6, 500] = 0.001
    write_physionet2020(tmp_path, signals, 500, dx_codes=[""])
    assert not load_physionet2020(tmp_path, duration=2.0, cache=False).flat_leads.any()


def test_flat_leads_survive_the_cache(tmp_path, rng):
    flat_folder(tmp_path, rng)
    first = load_physionet2020(tmp_path, duration=2.0)
    second = load_physionet2020(tmp_path, duration=2.0)
    assert isinstance(second.data, np.memmap)
    np.testing.assert_array_equal(second.flat_leads, first.flat_leads)
    assert second.flat_leads.sum() == 1 and second.flat_leads[1, CHALLENGE_LEADS.index("V1")]


def test_skip_flat_leaves_them_out_with_a_warning_and_never_raises(tmp_path, rng):
    flat_folder(tmp_path, rng)
    with pytest.warns(UserWarning, match="Skipped 1 of 3 records") as record:
        ecg = load_physionet2020(tmp_path, duration=2.0, skip_flat=True, on_error="raise")
    assert len(record) == 1
    message = str(record[0].message)
    assert "SYN00001: flat leads V1 (every sample equal)" in message
    assert "Pass skip_flat=False to keep" in message and "on_error" not in message
    assert list(ecg.record_ids) == ["SYN00000", "SYN00002"] and not ecg.flat_leads.any()
    assert [record_id for record_id, _ in ecg.skipped] == ["SYN00001"]
    assert ecg.target.sum() == 0  # the sinus-rhythm record was the flat one
    cache = Path(get_data_home()) / "physionet2020" / "cache"
    assert len(load_physionet2020(tmp_path, duration=2.0).record_ids) == 3
    assert len(list(cache.iterdir())) == 2  # skip_flat is part of the cache key


def test_bad_and_flat_records_are_reported_together_with_what_to_do(tmp_path, rng):
    flat_folder(tmp_path, rng)
    path = tmp_path / "SYN00002.mat"
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.warns(UserWarning, match="Skipped 2 of 3 records") as record:
        ecg = load_physionet2020(tmp_path, duration=2.0, skip_flat=True)
    message = str(record[0].message)
    assert "SYN00002: cannot read signal file" in message and "SYN00001: flat leads V1" in message
    assert "on_error='raise'" in message and "skip_flat=False" in message
    assert [record_id for record_id, _ in ecg.skipped] == ["SYN00002", "SYN00001"]
    assert ":Skipped: 1 bad records, 1 records with flat leads" in ecg.DESCR


# --- the cache ------------------------------------------------------------------------


def test_second_load_is_a_memory_map_returned_in_under_a_second(tmp_path, rng):
    write_records(tmp_path / "recs", rng)
    first = load_physionet2020(tmp_path / "recs", duration=2.0)
    start = time.perf_counter()
    second = load_physionet2020(tmp_path / "recs", duration=2.0)
    assert time.perf_counter() - start < 1.0
    assert isinstance(second.data, np.memmap)
    np.testing.assert_array_equal(first.data, second.data)
    cache = Path(get_data_home()) / "physionet2020" / "cache"
    assert len(list(cache.iterdir())) == 1 and not list(cache.rglob("*.tmp"))


def test_changing_a_file_or_a_parameter_misses_the_cache_but_classes_do_not(tmp_path, rng):
    signals, _ = write_records(tmp_path / "recs", rng)
    load_physionet2020(tmp_path / "recs", duration=2.0)
    load_physionet2020(tmp_path / "recs", duration=2.0, classes="scored")
    cache = Path(get_data_home()) / "physionet2020" / "cache"
    assert len(list(cache.iterdir())) == 1
    load_physionet2020(tmp_path / "recs", duration=1.0)
    assert len(list(cache.iterdir())) == 2
    write_physionet2020(tmp_path / "recs", -signals[:1], 500, dx_codes=[""])
    changed = load_physionet2020(tmp_path / "recs", duration=2.0)
    np.testing.assert_allclose(changed.data[0], -signals[0], atol=0.5e-3 + 1e-6)


def test_parallel_and_sequential_reads_agree(tmp_path, rng, monkeypatch):
    monkeypatch.setattr(_reader, "_BATCH", 1)  # one task per record
    write_records(tmp_path, rng, n=3)
    sequential = load_physionet2020(tmp_path, duration=2.0, cache=False)
    parallel = load_physionet2020(tmp_path, duration=2.0, cache=False, n_jobs=2)
    np.testing.assert_array_equal(sequential.data, parallel.data)


def test_return_x_y_gives_data_and_target(tmp_path, rng):
    write_records(tmp_path, rng, n=2)
    X, y = load_physionet2020(tmp_path, duration=2.0, return_X_y=True, cache=False)
    assert X.shape == (2, 12, 1000) and y.shape == (2, 23)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"classes": "all"}, "classes must be one of"), ({"crop": "random"}, "crop must be"),
     ({"on_error": "ignore"}, "on_error must be"), ({"fs": 0}, "must be positive"),
     ({"sources": ["mit-bih"]}, "sources must be a list")],
)  # fmt: skip
def test_bad_parameters_raise_clear_errors(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_physionet2020(tmp_path, **kwargs)


def test_folder_without_records_raises_oserror(tmp_path):
    with pytest.raises(OSError, match="No challenge records"):
        load_physionet2020(tmp_path)
    with pytest.raises(OSError, match="is not a folder"):
        load_physionet2020(tmp_path / "nowhere")


def test_data_home_honours_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("SK3KG_DATA", str(tmp_path / "elsewhere"))
    assert get_data_home() == str(tmp_path / "elsewhere")
    assert (tmp_path / "elsewhere").is_dir()


def test_plain_wfdb_records_with_dat_signal_files_are_read_through_wfdb(tmp_path, rng):
    signal = np.round(rng.normal(scale=0.5, size=(1000, 12)), 3)
    wfdb.wrsamp("W1", fs=500, units=["mV"] * 12, sig_name=list(CHALLENGE_LEADS), p_signal=signal,
                fmt=["16"] * 12, adc_gain=[1000.0] * 12, baseline=[0] * 12,
                comments=["Dx: 164889003"], write_dir=str(tmp_path))  # fmt: skip
    ecg = load_physionet2020(tmp_path, duration=2.0, cache=False)
    np.testing.assert_allclose(ecg.data[0], signal.T, atol=1e-6)
    assert ecg.target[0, ecg.target_codes.index("164889003")] == 1
