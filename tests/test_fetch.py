"""fetch_physionet2020 and fetch_physionet2021 against a real HTTP server on the loopback
interface (the ``serve_folder`` fixture of conftest.py), in each year's folder layout."""

import re
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from sk3kg.datasets import fetch_physionet2020, fetch_physionet2021, write_physionet2020

RECORDS = {"ptb-xl": ["HR00001", "HR00002"], "georgia": ["E00001"], "cpsc_2018": ["A0001"]}
# Version 1.0.3 of the 2021 data adds two sources, in the same layout (training/<source>/g1/).
RECORDS_2021 = {**RECORDS, "chapman_shaoxing": ["JS00001"], "ningbo": ["JS10647", "JS10648"]}


class Release(NamedTuple):
    year: int
    fetch: Callable
    folder: str  # below the data home
    records: dict[str, list[str]]
    n_classes: int  # of the loader's default class set

    @property
    def n_records(self) -> int:
        return sum(map(len, self.records.values()))


RELEASES = [
    Release(2020, fetch_physionet2020, "physionet2020/1.0.2", RECORDS, 23),
    Release(2021, fetch_physionet2021, "physionet2021/1.0.3", RECORDS_2021, 26),
]


@pytest.fixture(params=RELEASES, ids=lambda r: str(r.year))
def release(request):
    return request.param


@pytest.fixture
def mirror(tmp_path, serve_folder, release):
    root = tmp_path / "mirror"
    rng = np.random.default_rng(0)
    for source, ids in release.records.items():
        signals = rng.normal(scale=0.3, size=(len(ids), 12, 500))
        write_physionet2020(root / "training" / source / "g1", signals, 500,
                            dx_codes=["426783006"] * len(ids), record_ids=ids)  # fmt: skip
    (root / "training" / "RECORDS").write_text("not a record\n")
    return serve_folder(root)


def fetch(release, home, url, **kwargs):
    return release.fetch(data_home=home, base_url=url, duration=1.0, n_jobs=3, **kwargs)


def downloaded(release, home):
    root = Path(home) / release.folder / "training"
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_full_fetch_downloads_every_record_and_loads_them(tmp_path, mirror, release):
    handler, url = mirror
    ecg = fetch(release, tmp_path / "home", url)
    assert sorted(ecg.record_ids) == sorted(sum(release.records.values(), []))
    # every record's .hea and .mat, in the mirror's layout; not the RECORDS index
    assert len(downloaded(release, tmp_path / "home")) == 2 * release.n_records
    assert ecg.data.shape == (release.n_records, 12, 500)
    assert set(ecg.sources) == set(release.records)  # told apart by their folders
    assert ecg.target.shape[1] == release.n_classes and not ecg.flat_leads.any()


def test_second_fetch_makes_no_request(tmp_path, mirror, release):
    handler, url = mirror
    fetch(release, tmp_path / "home", url)
    n_requests = len(handler.log)
    again = fetch(release, tmp_path / "home", url)
    assert len(handler.log) == n_requests and len(again.record_ids) == release.n_records


def test_fetching_a_subset_downloads_only_those_sources(tmp_path, mirror, release):
    handler, url = mirror
    ecg = fetch(release, tmp_path / "home", url, sources=["ptb-xl"])
    assert set(ecg.sources) == {"ptb-xl"}
    assert downloaded(release, tmp_path / "home") == [
        f"ptb-xl/g1/{r}{ext}" for r in RECORDS["ptb-xl"] for ext in (".hea", ".mat")
    ]
    assert not any("georgia" in name for name, _ in handler.log)


def test_transfer_cut_half_way_resumes_with_a_range_request(tmp_path, mirror, release):
    handler, url = mirror
    name = "training/georgia/g1/E00001.mat"
    size = (handler.root / name).stat().st_size
    handler.cut_once.add(name)
    ecg = fetch(release, tmp_path / "home", url)
    requests = [rng for n, rng in handler.log if n == name]
    assert requests == [None, f"bytes={size // 2}-"]
    assert "E00001" in ecg.record_ids
    assert not list((tmp_path / "home").rglob("*.part"))


def test_checksum_mismatch_raises_and_leaves_no_complete_looking_file(tmp_path, mirror, release):
    handler, url = mirror
    sums = handler.root / "SHA256SUMS.txt"
    sums.write_text(re.sub(r"^\w+ (training/cpsc_2018/g1/A0001.mat)", "0" * 64 + r" \1",
                           sums.read_text(), flags=re.M))  # fmt: skip
    with pytest.raises(OSError, match=r"Checksum mismatch for .*A0001\.mat"):
        fetch(release, tmp_path / "home", url)
    files = downloaded(release, tmp_path / "home")
    assert "cpsc_2018/g1/A0001.mat" not in files and "cpsc_2018/g1/A0001.hea" in files
    assert not list((tmp_path / "home").rglob("*.part"))


def test_damaged_local_file_is_downloaded_again(tmp_path, mirror, release):
    handler, url = mirror
    fetch(release, tmp_path / "home", url)
    target = tmp_path / "home" / release.folder / "training/ptb-xl/g1/HR00001.mat"
    target.write_bytes(target.read_bytes()[:100])
    n_requests = len(handler.log)
    fetch(release, tmp_path / "home", url)
    assert [n for n, _ in handler.log[n_requests:]] == ["training/ptb-xl/g1/HR00001.mat"]


def test_no_download_on_an_empty_data_home_says_how_to_get_the_data(tmp_path, mirror, release):
    handler, url = mirror
    with pytest.raises(OSError, match="download_if_missing=True") as error:
        fetch(release, tmp_path / "home", url, download_if_missing=False)
    message = str(error.value)
    assert f"fetch_physionet{release.year}(" in message
    assert f"load_physionet{release.year}('<that folder>/training')" in message
    assert f"https://physionet.org/files/challenge-{release.year}/" in message
    assert handler.log == []


def test_no_download_with_a_missing_file_names_it(tmp_path, mirror, release):
    handler, url = mirror
    fetch(release, tmp_path / "home", url)
    (tmp_path / "home" / release.folder / "training/georgia/g1/E00001.hea").unlink()
    with pytest.raises(OSError, match="1 files are missing .* training/georgia/g1/E00001.hea"):
        fetch(release, tmp_path / "home", url, download_if_missing=False)


def test_unknown_source_is_rejected_before_any_request(tmp_path, mirror, release):
    handler, url = mirror
    with pytest.raises(ValueError, match="sources must be"):
        fetch(release, tmp_path / "home", url, sources=["chapman"])
    assert handler.log == []


@pytest.mark.parametrize("release", RELEASES[1:], ids=["2021"], indirect=True)
def test_fetching_the_two_2021_sources_downloads_nothing_else(tmp_path, mirror, release):
    handler, url = mirror
    ecg = fetch(release, tmp_path / "home", url, sources=["chapman_shaoxing", "ningbo"])
    assert dict(zip(ecg.record_ids, ecg.sources, strict=True)) == {
        "JS00001": "chapman_shaoxing", "JS10647": "ningbo", "JS10648": "ningbo"}  # fmt: skip
    requested = {name for name, _ in handler.log} - {"SHA256SUMS.txt"}
    wanted = [(s, r) for s in ("chapman_shaoxing", "ningbo") for r in RECORDS_2021[s]]
    assert requested == {f"training/{s}/g1/{r}{ext}" for s, r in wanted for ext in (".hea", ".mat")}


@pytest.mark.parametrize("release", RELEASES[:1], ids=["2020"], indirect=True)
def test_the_2020_fetcher_refuses_the_2021_sources(tmp_path, mirror, release):
    handler, url = mirror
    with pytest.raises(ValueError, match="sources must be a non-empty list of .*'georgia'"):
        fetch(release, tmp_path / "home", url, sources=["ningbo"])
    assert handler.log == []
