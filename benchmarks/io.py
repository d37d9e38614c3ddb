"""Benchmark of reading PhysioNet/CinC 2020 records: parse + resample + cache, and reload.

Measures, for the real sample records (when ``../shared/data`` is present) and for
``--n-records`` generated records in the challenge's format:

- records per second of a first :func:`sk3kg.datasets.load_physionet2020` call, which
  parses, resamples and writes the cache;
- seconds of a second call, which returns the cached memory map;
- peak resident memory while caching, of the loading process and of it together with
  its worker processes (sampled every 20 ms from ``/proc``, Linux only).

Each load runs in a fresh process so that its peak memory is its own. Usage::

    python benchmarks/io.py --n-records 10000 --fs 500 250 --n-jobs 1 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

SAMPLE = Path(__file__).resolve().parents[2] / "shared/data/cinc2021-torch_ecg-sample/records"
CHUNK = 100  # records generated and written at a time, to keep the generator small


def generate(folder: Path, n_records: int, seed: int = 0) -> None:
    """Write ``n_records`` 10 s, 500 Hz records of a crude ECG-like waveform plus noise."""
    from sk3kg.datasets import write_physionet2020

    rng = np.random.default_rng(seed)
    t = np.arange(5000) / 500
    for start in range(0, n_records, CHUNK):
        n = min(CHUNK, n_records - start)
        rate = rng.uniform(0.8, 2.0, size=(n, 1, 1))
        beats = np.exp(-(((t * rate) % 1 - 0.3) ** 2) / 2e-4)
        gains = rng.uniform(0.3, 1.5, size=(n, 12, 1))
        signals = gains * beats + rng.normal(scale=0.03, size=(n, 12, t.size))
        ids = [f"HR{start + i:05d}" for i in range(n)]
        write_physionet2020(folder, signals, 500, dx_codes=[["426783006"]] * n, record_ids=ids)


def _children(pid: int) -> list[int]:
    kids = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text().split() if (task / "children").exists() else []
        kids += [int(k) for k in text]
    return kids


def _rss_bytes(pid: int | str, field: str = "VmRSS") -> int:
    """Resident memory (``VmRSS``) or its peak (``VmHWM``) of a process, in bytes.

    Not ``getrusage``: Linux keeps ``ru_maxrss`` across ``exec``, so a child started
    by a big parent would report the parent's peak.
    """
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    return 0


def _tree_rss(pid: int) -> int:
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            total += _rss_bytes(current)
            stack += _children(current)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def _run_load(folder: Path, fs: float, n_jobs: int, home: Path) -> dict:
    """Run one cold and one cached load in a child process; watch its memory from here."""
    command = [sys.executable, __file__, "--load", str(folder), "--fs", str(fs),
               "--n-jobs", str(n_jobs), "--data-home", str(home)]  # fmt: skip
    child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    peak = 0

    def watch() -> None:
        nonlocal peak
        while child.poll() is None:
            peak = max(peak, _tree_rss(child.pid))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    out, _ = child.communicate()
    watcher.join()
    if child.returncode:
        raise RuntimeError(f"load of {folder} failed with code {child.returncode}")
    return {**json.loads(out.strip().splitlines()[-1]), "peak_tree_rss": peak}


def _load_child(folder: str, fs: float, n_jobs: int, home: str) -> None:
    import warnings

    from sk3kg.datasets import load_physionet2020

    warnings.simplefilter("ignore")  # the real sample has two records with flat leads
    before = _rss_bytes("self", "VmHWM")
    start = time.perf_counter()
    cold = load_physionet2020(folder, fs=fs, n_jobs=n_jobs, data_home=home)
    cold_seconds = time.perf_counter() - start
    peak = _rss_bytes("self", "VmHWM")
    start = time.perf_counter()
    warm = load_physionet2020(folder, fs=fs, n_jobs=n_jobs, data_home=home)
    reload_seconds = time.perf_counter() - start
    assert isinstance(warm.data, np.memmap) and warm.data.shape == cold.data.shape
    print(json.dumps({"n": len(cold.record_ids), "shape": list(cold.data.shape),
                      "cold_seconds": cold_seconds, "reload_seconds": reload_seconds,
                      "import_rss": before, "peak_main_rss": peak}))  # fmt: skip


def _report(name: str, fs: float, r: dict) -> None:
    gib = 1024**3
    print(
        f"{name:>20} @ {fs:>4g} Hz: {r['n']:>6} records, {r['shape']}: "
        f"{r['n'] / r['cold_seconds']:7.0f} rec/s parse+resample+cache "
        f"({r['cold_seconds']:.1f} s); cached reload {r['reload_seconds']:.3f} s; "
        f"peak RSS {r['peak_main_rss'] / gib:.2f} GiB (after imports "
        f"{r['import_rss'] / gib:.2f}), with workers {r['peak_tree_rss'] / gib:.2f} GiB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-records", type=int, default=10_000)
    parser.add_argument("--fs", type=float, nargs="+", default=[500.0])
    parser.add_argument("--n-jobs", type=int, nargs="+", default=[1])
    parser.add_argument("--load", help=argparse.SUPPRESS)
    parser.add_argument("--data-home", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        return _load_child(args.load, args.fs[0], args.n_jobs[0], args.data_home)
    with tempfile.TemporaryDirectory(prefix="sk3kg-bench-") as tmp:
        tmp = Path(tmp)
        datasets = {"sample": SAMPLE} if SAMPLE.is_dir() else {}
        start = time.perf_counter()
        generate(tmp / "generated", args.n_records)
        print(f"wrote {args.n_records} records in {time.perf_counter() - start:.1f} s")
        datasets["generated"] = tmp / "generated"
        for name, folder in datasets.items():
            for fs in args.fs:
                for n_jobs in args.n_jobs:
                    home = tmp / f"home-{name}-{fs:g}-{n_jobs}"
                    _report(f"{name}, n_jobs={n_jobs}", fs, _run_load(folder, fs, n_jobs, home))


if __name__ == "__main__":
    main()
