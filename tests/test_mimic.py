"""MIMIC-IV-ECG: a generated copy of its layout, loaded from disk and fetched on 127.0.0.1."""

import re

import numpy as np
import pytest

from sk3kg.datasets import fetch_mimic_iv_ecg, load_mimic_iv_ecg

from .test_folder import write

# (subject, study) of the generated records, in path order.
STUDIES = [(10000032, 40689238), (10000032, 44458630), (10000117, 45090959),
           (10000560, 40030473), (10000560, 48446569)]  # fmt: skip


def record(subject: int, study: int) -> str:
    return f"files/p{str(subject)[:4]}/p{subject}/s{study}/{study}"


@pytest.fixture
def mimic(tmp_path, rng):
    """The layout of MIMIC-IV-ECG 1.0 with five 500 Hz records and its two tables."""
    root = tmp_path / "mimic-iv-ecg"
    signals = {}
    for subject, study in STUDIES:
        path = root / record(subject, study)
        signals[study] = np.round(rng.normal(size=(12, 5000)), 3)
        write(path.parent, path.name, signals[study], fs=500)
    (root / "record_list.csv").write_text(
        "subject_id,study_id,file_name,ecg_time,path\n"
        + "".join(f"{s},{t},{t},2180-07-23 08:44:00,{record(s, t)}\n" for s, t in STUDIES)
    )
    reports = ",".join(f"report_{i}" for i in range(18))
    rows = [f"{s},{t},{'Sinus rhythm,Normal ECG' if i % 2 else 'Atrial fibrillation,'}"
            + "," * 16 for i, (s, t) in enumerate(STUDIES)]  # fmt: skip
    (root / "machine_measurements.csv").write_text(
        f"subject_id,study_id,{reports}\n" + "\n".join(rows) + "\n"
    )
    return root, signals


def test_load_keeps_subjects_studies_and_machine_reports(mimic, isolated_data_home):
    root, signals = mimic
    bunch = load_mimic_iv_ecg(root)
    assert bunch.data.shape == (5, 12, 5000) and bunch.fs == 500.0
    assert bunch.subject_id.tolist() == [s for s, _ in STUDIES]
    assert bunch.study_id.tolist() == [t for _, t in STUDIES]
    assert bunch.reports[0] == "Atrial fibrillation"
    assert bunch.reports[1] == "Sinus rhythm\nNormal ECG"
    np.testing.assert_allclose(bunch.data[2], signals[45090959], atol=1e-3)
    assert "800,035 records" in bunch.DESCR


def test_a_record_limit_or_a_subject_subset_reads_only_those(mimic, isolated_data_home):
    root, _ = mimic
    assert load_mimic_iv_ecg(root, n_records=2).study_id.tolist() == [40689238, 44458630]
    chosen = load_mimic_iv_ecg(root, subjects=[10000560], fs=100)
    assert chosen.study_id.tolist() == [40030473, 48446569] and chosen.data.shape[2] == 1000


@pytest.fixture
def mirror(mimic, serve_folder):
    return serve_folder(mimic[0])


def downloaded(home):
    root = home / "mimic-iv-ecg" / "1.0"
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and not p.name.startswith("."))  # fmt: skip


def test_fetch_downloads_only_the_chosen_records_and_the_tables(tmp_path, mirror):
    handler, url = mirror
    bunch = fetch_mimic_iv_ecg(data_home=tmp_path / "home", n_records=3, base_url=url, n_jobs=2)
    assert bunch.study_id.tolist() == [t for _, t in STUDIES[:3]]
    files = [f"{record(s, t)}{ext}" for s, t in STUDIES[:3] for ext in (".dat", ".hea")]
    tables = ["SHA256SUMS.txt", "machine_measurements.csv", "record_list.csv"]
    assert downloaded(tmp_path / "home") == sorted(files + tables)
    more = fetch_mimic_iv_ecg(data_home=tmp_path / "home", base_url=url)  # only the rest
    assert len(more.data) == 5
    assert sum(name.endswith(".dat") for name, _ in handler.log) == 5


def test_a_cut_transfer_resumes_with_a_range_request(tmp_path, mirror):
    handler, url = mirror
    name = f"{record(*STUDIES[1])}.dat"
    size = (handler.root / name).stat().st_size
    handler.cut_once.add(name)
    fetch_mimic_iv_ecg(data_home=tmp_path / "home", base_url=url)
    assert [r for n, r in handler.log if n == name] == [None, f"bytes={size // 2}-"]
    assert not list((tmp_path / "home").rglob("*.part"))


def test_a_corrupt_file_is_refused_and_nothing_half_written_remains(tmp_path, mirror):
    handler, url = mirror
    name = f"{record(*STUDIES[3])}.dat"
    (handler.root / name).write_bytes(b"\0" * 100)
    with pytest.raises(OSError, match=rf"Checksum mismatch for .*{re.escape(name)}"):
        fetch_mimic_iv_ecg(data_home=tmp_path / "home", base_url=url)
    assert name not in downloaded(tmp_path / "home")
    assert not list((tmp_path / "home").rglob("*.part"))


def test_no_download_says_how_to_get_the_data(tmp_path, mirror):
    handler, url = mirror
    with pytest.raises(OSError, match="fetch_mimic_iv_ecg\\(download_if_missing=True\\)"):
        fetch_mimic_iv_ecg(data_home=tmp_path / "home", base_url=url, download_if_missing=False)
    assert handler.log == []
