"""fetch_physionet2020 against a real HTTP server on the loopback interface."""

import hashlib
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from sk3kg.datasets import _download, fetch_physionet2020, write_physionet2020

RECORDS = {"ptb-xl": ["HR00001", "HR00002"], "georgia": ["E00001"], "cpsc_2018": ["A0001"]}


class ChallengeMirror(BaseHTTPRequestHandler):
    """Serves a folder with HTTP Range support; can cut one transfer half-way."""

    root: Path
    log: list
    cut_once: set

    def do_GET(self):  # noqa: N802 - the name http.server dispatches to
        name = self.path.lstrip("/")
        self.log.append((name, self.headers.get("Range")))
        path = self.root / name
        if not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        start = int(re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "bytes=0-")[1])
        if start >= len(body) and start:
            self.send_error(416)
            return
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if name in self.cut_once:
            self.cut_once.discard(name)
            self.wfile.write(body[start : len(body) // 2])
            return  # HTTP/1.0: the connection closes, short of Content-Length
        self.wfile.write(body[start:])

    def log_message(self, *args):
        pass


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    monkeypatch.setattr(_download, "_BACKOFF", 0.01)
    root = tmp_path / "mirror"
    rng = np.random.default_rng(0)
    for source, ids in RECORDS.items():
        signals = rng.normal(scale=0.3, size=(len(ids), 12, 500))
        write_physionet2020(root / "training" / source / "g1", signals, 500,
                            dx_codes=["426783006"] * len(ids), record_ids=ids)  # fmt: skip
    (root / "training" / "RECORDS").write_text("not a record\n")
    sums = [f"{hashlib.sha256(p.read_bytes()).hexdigest()} {p.relative_to(root).as_posix()}"
            for p in sorted(root.rglob("*")) if p.is_file()]  # fmt: skip
    (root / "SHA256SUMS.txt").write_text("\n".join(sums) + "\n")
    handler = type("Mirror", (ChallengeMirror,), {"root": root, "log": [], "cut_once": set()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join()


def fetch(home, url, **kwargs):
    return fetch_physionet2020(data_home=home, base_url=url, duration=1.0, n_jobs=3, **kwargs)


def downloaded(home):
    root = Path(home) / "physionet2020" / "1.0.2" / "training"
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_full_fetch_downloads_every_record_and_loads_them(tmp_path, mirror):
    handler, url = mirror
    ecg = fetch(tmp_path / "home", url)
    assert sorted(ecg.record_ids) == sorted(sum(RECORDS.values(), []))
    assert len(downloaded(tmp_path / "home")) == 8  # 4 records x (.hea + .mat), no RECORDS
    assert ecg.data.shape == (4, 12, 500)


def test_second_fetch_makes_no_request(tmp_path, mirror):
    handler, url = mirror
    fetch(tmp_path / "home", url)
    n_requests = len(handler.log)
    again = fetch(tmp_path / "home", url)
    assert len(handler.log) == n_requests and len(again.record_ids) == 4


def test_fetching_a_subset_downloads_only_those_sources(tmp_path, mirror):
    handler, url = mirror
    ecg = fetch(tmp_path / "home", url, sources=["ptb-xl"])
    assert set(ecg.sources) == {"ptb-xl"}
    assert downloaded(tmp_path / "home") == [
        f"ptb-xl/g1/{r}{ext}" for r in RECORDS["ptb-xl"] for ext in (".hea", ".mat")
    ]
    assert not any("georgia" in name for name, _ in handler.log)


def test_transfer_cut_half_way_resumes_with_a_range_request(tmp_path, mirror):
    handler, url = mirror
    name = "training/georgia/g1/E00001.mat"
    size = (handler.root / name).stat().st_size
    handler.cut_once.add(name)
    ecg = fetch(tmp_path / "home", url)
    requests = [rng for n, rng in handler.log if n == name]
    assert requests == [None, f"bytes={size // 2}-"]
    assert "E00001" in ecg.record_ids
    assert not list((tmp_path / "home").rglob("*.part"))


def test_checksum_mismatch_raises_and_leaves_no_complete_looking_file(tmp_path, mirror):
    handler, url = mirror
    sums = handler.root / "SHA256SUMS.txt"
    sums.write_text(re.sub(r"^\w+ (training/cpsc_2018/g1/A0001.mat)", "0" * 64 + r" \1",
                           sums.read_text(), flags=re.M))  # fmt: skip
    with pytest.raises(OSError, match=r"Checksum mismatch for .*A0001\.mat"):
        fetch(tmp_path / "home", url)
    files = downloaded(tmp_path / "home")
    assert "cpsc_2018/g1/A0001.mat" not in files and "cpsc_2018/g1/A0001.hea" in files
    assert not list((tmp_path / "home").rglob("*.part"))


def test_damaged_local_file_is_downloaded_again(tmp_path, mirror):
    handler, url = mirror
    fetch(tmp_path / "home", url)
    target = tmp_path / "home" / "physionet2020" / "1.0.2" / "training/ptb-xl/g1/HR00001.mat"
    target.write_bytes(target.read_bytes()[:100])
    n_requests = len(handler.log)
    fetch(tmp_path / "home", url)
    assert [n for n, _ in handler.log[n_requests:]] == ["training/ptb-xl/g1/HR00001.mat"]


def test_no_download_on_an_empty_data_home_says_how_to_get_the_data(tmp_path, mirror):
    handler, url = mirror
    with pytest.raises(OSError, match="download_if_missing=True") as error:
        fetch(tmp_path / "home", url, download_if_missing=False)
    assert "load_physionet2020" in str(error.value) and "physionet.org" in str(error.value)
    assert handler.log == []


def test_no_download_with_a_missing_file_names_it(tmp_path, mirror):
    handler, url = mirror
    fetch(tmp_path / "home", url)
    (tmp_path / "home" / "physionet2020" / "1.0.2" / "training/georgia/g1/E00001.hea").unlink()
    with pytest.raises(OSError, match="1 files are missing .* training/georgia/g1/E00001.hea"):
        fetch(tmp_path / "home", url, download_if_missing=False)


def test_unknown_source_is_rejected_before_any_request(tmp_path, mirror):
    handler, url = mirror
    with pytest.raises(ValueError, match="sources must be"):
        fetch(tmp_path / "home", url, sources=["chapman"])
    assert handler.log == []
