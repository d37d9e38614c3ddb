"""load_wfdb_folder on generated folders of WFDB records: layout, leads, bad records, memory."""

import tracemalloc

import numpy as np
import pytest
import wfdb

from sk3kg.datasets import load_wfdb_folder
from sk3kg.vcg import STANDARD_LEADS

LEADS = list(STANDARD_LEADS)


def write(folder, name, signal, fs=100, leads=LEADS, comments=None):
    """Write ``signal`` (leads, samples) in mV as a WFDB record ``folder/name``."""
    folder.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(name, fs=fs, units=["mV"] * len(leads), sig_name=list(leads),
                p_signal=np.asarray(signal, float).T, fmt=["16"] * len(leads),
                adc_gain=[1000.0] * len(leads), baseline=[0] * len(leads),
                comments=comments or [], write_dir=str(folder))  # fmt: skip


@pytest.fixture
def signals(rng):
    return np.round(rng.normal(size=(6, 12, 1000)), 3)


@pytest.fixture
def folder(tmp_path, signals):
    """Six records in nested folders, in the MIMIC-IV-ECG way: files/pXXXX/pXXXXXXXX/sX/."""
    root = tmp_path / "ecgs"
    for i, signal in enumerate(signals):
        write(root / "files" / f"p100{i // 3}" / f"s{i}", f"{40000 + i}", signal,
              comments=[f"report: record {i}"])  # fmt: skip
    return root


def test_records_are_found_in_nested_folders_and_read_in_mv(folder, signals, isolated_data_home):
    bunch = load_wfdb_folder(folder)
    assert bunch.data.shape == (6, 12, 1000) and bunch.fs == 100.0
    assert bunch.record_ids[0] == "files/p1000/s0/40000"
    np.testing.assert_allclose(bunch.data, signals, atol=1e-3)
    assert bunch.comments[2] == "report: record 2" and not bunch.skipped


def test_lead_names_in_any_order_and_case_are_mapped(tmp_path, signals, isolated_data_home):
    order = np.random.default_rng(1).permutation(12)
    write(tmp_path / "r", "shuffled", signals[0][order], leads=[LEADS[i].lower() for i in order])
    write(tmp_path / "r", "standard", signals[0])
    bunch = load_wfdb_folder(tmp_path / "r", leads=["V1", "I", "AVR"])
    assert bunch.leads == ("V1", "I", "aVR")
    np.testing.assert_array_equal(bunch.data[0], bunch.data[1])
    np.testing.assert_allclose(bunch.data[0], signals[0][[6, 0, 3]], atol=1e-3)


def test_a_corrupt_record_is_skipped_and_named(folder, isolated_data_home):
    damaged = next(folder.rglob("40004.hea"))
    damaged.write_text("this is no header\n")
    with pytest.warns(UserWarning, match=r"(?s)Skipped 1 of 6 records.*40004: cannot be read"):
        bunch = load_wfdb_folder(folder)
    assert len(bunch.data) == 5 and "files/p1001/s4/40004" not in bunch.record_ids
    assert bunch.skipped[0][0] == "files/p1001/s4/40004"
    with pytest.raises(ValueError, match="40004.*on_error='skip'"):
        load_wfdb_folder(folder, on_error="raise", cache=False)


def test_a_record_at_another_rate_is_reported_or_resampled(folder, signals, isolated_data_home):
    write(folder / "other", "fast", np.repeat(signals[0], 5, axis=1), fs=500)
    with pytest.warns(UserWarning, match=r"fast: recorded at 500 Hz, not the folder's 100 Hz"):
        assert len(load_wfdb_folder(folder).data) == 6
    resampled = load_wfdb_folder(folder, fs=100)
    assert len(resampled.data) == 7 and resampled.data.shape[2] == 1000


def test_a_record_without_an_asked_lead_is_skipped_naming_it(tmp_path, signals, isolated_data_home):
    write(tmp_path / "r", "full", signals[0])
    write(tmp_path / "r", "limb", signals[0][:6], leads=LEADS[:6])
    with pytest.warns(UserWarning, match="limb: lacks lead\\(s\\) V1, V2, V3, V4, V5, V6"):
        bunch = load_wfdb_folder(tmp_path / "r")
    assert bunch.record_ids.tolist() == ["full"]
    assert load_wfdb_folder(tmp_path / "r", leads=["I", "II"]).data.shape == (2, 2, 1000)


def test_flat_leads_are_flagged(tmp_path, signals, isolated_data_home):
    flat = signals[0].copy()
    flat[7] = 0.0
    write(tmp_path / "r", "flat", flat)
    assert load_wfdb_folder(tmp_path / "r").flat_leads[0].tolist() == [i == 7 for i in range(12)]


def test_a_second_load_is_a_memory_map_of_the_same_arrays(folder, isolated_data_home):
    first = load_wfdb_folder(folder)
    again = load_wfdb_folder(folder)
    assert isinstance(again.data, np.memmap)
    np.testing.assert_array_equal(first.data, again.data)


def test_duration_crops_or_pads_and_pattern_filters(folder, signals, isolated_data_home):
    bunch = load_wfdb_folder(folder, duration=12.0, pattern="files/p1001/*")
    assert bunch.data.shape == (3, 12, 1200) and (bunch.data[:, :, 1000:] == 0).all()
    np.testing.assert_allclose(bunch.data[:, :, :1000], signals[3:], atol=1e-3)


def test_a_folder_larger_than_the_memory_cap_streams_into_the_cache(tmp_path, rng):
    """120 records of 12 x 5000 (29 MB as float32): reading keeps a few batches in memory."""
    root = tmp_path / "big"
    for i in range(120):
        write(root, f"r{i:03d}", np.round(rng.normal(size=(12, 5000)), 2), fs=500)
    tracemalloc.start()
    bunch = load_wfdb_folder(root, data_home=tmp_path / "home", n_jobs=1)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert bunch.data.shape == (120, 12, 5000)
    assert peak < bunch.data.nbytes / 3, f"peak {peak / 2**20:.1f} MiB"


def test_bad_arguments_name_the_fix(tmp_path):
    with pytest.raises(OSError, match="is not a folder"):
        load_wfdb_folder(tmp_path / "missing")
    with pytest.raises(OSError, match="No WFDB headers matching"):
        load_wfdb_folder(tmp_path)
    with pytest.raises(ValueError, match="crop must be one of"):
        load_wfdb_folder(tmp_path, crop="end")


def test_a_rewritten_record_is_read_again(folder, signals, isolated_data_home):
    first = load_wfdb_folder(folder)
    target = next(folder.rglob("40001.hea"))
    write(target.parent, "40001", -signals[1])
    again = load_wfdb_folder(folder)
    np.testing.assert_allclose(again.data[1], -first.data[1], atol=1e-3)


def test_records_asked_for_but_missing_are_named_and_keyed(folder, isolated_data_home):
    with pytest.warns(UserWarning, match="files/p1000/s9/missing"):
        bunch = load_wfdb_folder(folder, records=["files/p1000/s0/40000", "files/p1000/s9/missing"])
    assert bunch.record_ids.tolist() == ["files/p1000/s0/40000"]
    other = load_wfdb_folder(folder, records=["files/p1000/s0/40000"])  # another cache entry
    assert other.skipped == []
