"""Shared fixtures: seeded randomness, generated ECGs, the shared sample data and a local
PhysioNet mirror (for the fetchers of both challenges and of PTB-XL)."""

import hashlib
import os
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import settings

from sk3kg.datasets import _download, code_to_index
from sk3kg.vcg import vcg_to_ecg

# CI runs the same examples every time (HYPOTHESIS_PROFILE=ci); local runs explore new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def generator():
    return torch.Generator().manual_seed(0)


def smooth_vcg(rng: np.random.Generator, n: int, length: int, fs: float = 250.0) -> np.ndarray:
    """Random heart-vector loops ``(n, 3, length)``: a few harmonics of a ~1 Hz beat."""
    t = np.arange(length) / fs
    harmonics = np.arange(1, 6)[:, None]
    amplitude = rng.normal(size=(n, 3, 5, 1)) / harmonics
    phase = rng.uniform(0, 2 * np.pi, size=(n, 3, 5, 1))
    rate = rng.uniform(0.8, 1.6, size=(n, 1, 1, 1))
    waves = np.sin(2 * np.pi * rate * harmonics * t + phase)
    return (amplitude * waves).sum(axis=2)


@pytest.fixture
def dipolar_ecg(rng):
    """12-lead ECGs ``(16, 12, 500)`` float32 that are exactly a Dower projection."""
    return vcg_to_ecg(smooth_vcg(rng, 16, 500)).astype(np.float32)


@pytest.fixture
def isolated_data_home(tmp_path, monkeypatch):
    """A data home of the test's own (``SK3KG_DATA``), so caches never leak between tests."""
    monkeypatch.setenv("SK3KG_DATA", str(tmp_path / "data_home"))


def header_dx(path) -> list[str]:
    """The codes of a header's ``#Dx:`` line, read independently of sk3kg's parser."""
    for line in Path(path).read_text().splitlines():
        if line.replace(" ", "").startswith("#Dx:"):
            return [c.strip() for c in line.split(":", 1)[1].split(",") if c.strip()]
    return []


def assert_target_follows_headers(ecg, folder: Path, classes: str) -> None:
    """Each row of ``ecg.target`` holds exactly the classes of its header's scored codes."""
    index = code_to_index(classes)
    for i, record in enumerate(ecg.record_ids):
        codes = [c for c in header_dx(folder / f"{record}.hea") if c in index]
        assert sorted(np.flatnonzero(ecg.target[i])) == sorted({index[c] for c in codes})


@pytest.fixture
def shared_data():
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is absent (it exists only beside a developer checkout)")
    return SHARED_DATA


# --- a PhysioNet mirror on the loopback interface, for the fetchers -----------------------


class PhysioNetMirror(BaseHTTPRequestHandler):
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


def write_checksums(root: Path) -> None:
    """``SHA256SUMS.txt`` of every file below ``root``, as PhysioNet publishes it."""
    sums = [f"{hashlib.sha256(p.read_bytes()).hexdigest()} {p.relative_to(root).as_posix()}"
            for p in sorted(root.rglob("*")) if p.is_file()]  # fmt: skip
    (root / "SHA256SUMS.txt").write_text("\n".join(sums) + "\n")


@pytest.fixture
def serve_folder(monkeypatch):
    """``serve_folder(root)`` writes the folder's checksum list and serves it on 127.0.0.1;
    it returns the handler class (``log`` of requests, ``cut_once`` names) and the URL."""
    monkeypatch.setattr(_download, "_BACKOFF", 0.01)
    running = []

    def serve(root: Path):
        write_checksums(root)
        handler = type("Mirror", (PhysioNetMirror,), {"root": root, "log": [], "cut_once": set()})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        running.append((server, thread))
        return handler, f"http://127.0.0.1:{server.server_address[1]}/"

    yield serve
    for server, thread in running:
        server.shutdown()
        server.server_close()
        thread.join()
