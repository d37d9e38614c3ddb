"""Benchmark of reading ECG records: parse + resample + cache, and reload.

Measures, for the real sample records (when ``../shared/data`` is present), for
``--n-records`` generated records in the PhysioNet/CinC challenge's format and for
``--ptbxl-records`` generated records in PTB-XL's layout (WFDB format 16, both copies,
read at 100 Hz from ``records100/`` and at 500 Hz from ``records500/``):

- records per second of a first :func:`sk3kg.datasets.load_physionet2020` or
  :func:`sk3kg.datasets.load_ptbxl` call, which parses, resamples and writes the cache;
- seconds of a second call, which returns the cached memory map;
- peak resident memory while caching, of the loading process and of it together with
  its worker processes (sampled every 20 ms from ``/proc``, Linux only);
- with ``--layout folder``, :func:`sk3kg.datasets.load_wfdb_folder` on the PTB-XL-layout
  records at 500 Hz, against :func:`wfdb.rdrecord` called in a plain loop over the same
  records in the same process (the baseline a user would write), as a ratio.

Each load runs in a fresh process so that its peak memory is its own. Usage::

    python benchmarks/io.py --n-records 10000 --fs 500 250 --n-jobs 1 2
    python benchmarks/io.py --layout ptbxl --ptbxl-records 21799
    python benchmarks/io.py --layout folder --ptbxl-records 2000 --n-jobs 1 2
    python benchmarks/io.py --quick  # both layouts, 200 records each, in under a minute
"""

from __future__ import annotations

import argparse
import csv
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
PTBXL_DISTINCT = 50  # PTB-XL-layout records written with wfdb.wrsamp; the rest are copies
PTBXL_LEADS = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]


def _waveforms(rng: np.random.Generator, n: int, fs: int) -> np.ndarray:
    """``n`` 10 s records of a crude ECG-like waveform plus noise, (n, 12, 10 * fs) in mV."""
    t = np.arange(10 * fs) / fs
    rate = rng.uniform(0.8, 2.0, size=(n, 1, 1))
    beats = np.exp(-(((t * rate) % 1 - 0.3) ** 2) / 2e-4)
    gains = rng.uniform(0.3, 1.5, size=(n, 12, 1))
    return gains * beats + rng.normal(scale=0.03, size=(n, 12, t.size))


def generate(folder: Path, n_records: int, seed: int = 0) -> None:
    """Write ``n_records`` 10 s, 500 Hz records in the challenge's format."""
    from sk3kg.datasets import write_physionet2020

    rng = np.random.default_rng(seed)
    for start in range(0, n_records, CHUNK):
        n = min(CHUNK, n_records - start)
        ids = [f"HR{start + i:05d}" for i in range(n)]
        write_physionet2020(folder, _waveforms(rng, n, 500), 500,
                            dx_codes=[["426783006"]] * n, record_ids=ids)  # fmt: skip


def _write_ptbxl_record(folder: Path, name: str, signal: np.ndarray, fs: int) -> None:
    """One record as PTB-XL stores it: WFDB format 16 at 1000 adu/mV."""
    import wfdb

    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(path.name, fs=fs, units=["mV"] * 12, sig_name=PTBXL_LEADS, p_signal=signal.T,
                fmt=["16"] * 12, adc_gain=[1000.0] * 12, baseline=[0] * 12,
                write_dir=str(path.parent))  # fmt: skip


def _copy_ptbxl_record(folder: Path, template: str, name: str) -> None:
    """A copy of a written record under another name (wfdb.wrsamp takes 50 ms a record)."""
    path, source = folder / name, folder / template
    path.parent.mkdir(parents=True, exist_ok=True)
    path.with_suffix(".dat").write_bytes(source.with_suffix(".dat").read_bytes())
    header = source.with_suffix(".hea").read_text()
    path.with_suffix(".hea").write_text(header.replace(Path(template).name, path.name))


def generate_ptbxl(folder: Path, n_records: int, seed: int = 0) -> None:
    """Write ``n_records`` records in PTB-XL's layout: both copies and the two tables.

    The first ``PTBXL_DISTINCT`` records are written with :func:`wfdb.wrsamp`; the others
    are copies of them, which read as fast.
    """
    rng = np.random.default_rng(seed)
    rows = [["ecg_id", "patient_id", "age", "sex", "scp_codes", "strat_fold",
             "filename_lr", "filename_hr"]]  # fmt: skip
    for ecg_id in range(1, n_records + 1):
        names = {fs: f"records{fs}/{ecg_id // 1000 * 1000:05d}/{ecg_id:05d}_{suffix}"
                 for fs, suffix in ((100, "lr"), (500, "hr"))}  # fmt: skip
        if ecg_id <= PTBXL_DISTINCT:
            signal = _waveforms(rng, 1, 500)[0]
            _write_ptbxl_record(folder, names[100], signal[:, ::5], 100)
            _write_ptbxl_record(folder, names[500], signal, 500)
        else:
            for name, template in zip(names.values(), rows[1 + ecg_id % PTBXL_DISTINCT][-2:],
                                      strict=True):  # fmt: skip
                _copy_ptbxl_record(folder, template, name)
        codes = "{'NORM': 100.0, 'SR': 0.0}"
        rows.append([ecg_id, f"{ecg_id}.0", "60.0", ecg_id % 2, codes, ecg_id % 10 + 1,
                     names[100], names[500]])  # fmt: skip
    with open(folder / "ptbxl_database.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    with open(folder / "scp_statements.csv", "w", newline="") as f:
        csv.writer(f).writerows([
            ["", "diagnostic", "form", "rhythm", "diagnostic_class", "diagnostic_subclass"],
            ["NORM", "1.0", "", "", "NORM", "NORM"], ["SR", "", "", "1.0", "", ""],
        ])  # fmt: skip


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


def _run_load(layout: str, folder: Path, fs: float, n_jobs: int, home: Path) -> dict:
    """Run one cold and one cached load in a child process; watch its memory from here."""
    command = [sys.executable, __file__, "--load", str(folder), "--layout", layout,
               "--fs", str(fs), "--n-jobs", str(n_jobs), "--data-home", str(home)]  # fmt: skip
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


def _rdrecord_loop(folder: str) -> float:
    """Records per second of wfdb.rdrecord in a plain loop over every header below folder."""
    import wfdb

    headers = sorted(Path(folder).rglob("*.hea"))
    start = time.perf_counter()
    for header in headers:
        wfdb.rdrecord(str(header.with_suffix("")))
    return len(headers) / (time.perf_counter() - start)


def _load_child(layout: str, folder: str, fs: float, n_jobs: int, home: str) -> None:
    import warnings

    from sk3kg.datasets import load_physionet2020, load_ptbxl, load_wfdb_folder

    load = {"ptbxl": load_ptbxl, "challenge": load_physionet2020,
            "folder": load_wfdb_folder}[layout]  # fmt: skip
    baseline = _rdrecord_loop(folder) if layout == "folder" else None
    warnings.simplefilter("ignore")  # the real sample has two records with flat leads
    before = _rss_bytes("self", "VmHWM")
    start = time.perf_counter()
    cold = load(folder, fs=fs, n_jobs=n_jobs, data_home=home)
    cold_seconds = time.perf_counter() - start
    peak = _rss_bytes("self", "VmHWM")
    start = time.perf_counter()
    warm = load(folder, fs=fs, n_jobs=n_jobs, data_home=home)
    reload_seconds = time.perf_counter() - start
    assert isinstance(warm.data, np.memmap) and warm.data.shape == cold.data.shape
    print(json.dumps({"n": len(cold.record_ids), "shape": list(cold.data.shape),
                      "cold_seconds": cold_seconds, "reload_seconds": reload_seconds,
                      "import_rss": before, "peak_main_rss": peak,
                      "rdrecord_per_second": baseline}))  # fmt: skip


def _report(name: str, fs: float, r: dict) -> None:
    gib = 1024**3
    print(
        f"{name:>26} @ {fs:>4g} Hz: {r['n']:>6} records, {r['shape']}: "
        f"{r['n'] / r['cold_seconds']:7.0f} rec/s parse+resample+cache "
        f"({r['cold_seconds']:.1f} s); cached reload {r['reload_seconds']:.3f} s; "
        f"peak RSS {r['peak_main_rss'] / gib:.2f} GiB (after imports "
        f"{r['import_rss'] / gib:.2f}), with workers {r['peak_tree_rss'] / gib:.2f} GiB"
    )
    if r.get("rdrecord_per_second"):
        rate = r["n"] / r["cold_seconds"]
        print(
            f"{'':>26}   wfdb.rdrecord loop {r['rdrecord_per_second']:7.0f} rec/s; "
            f"load_wfdb_folder / loop: {rate / r['rdrecord_per_second']:.2f} x"
        )


def _datasets(tmp: Path, args: argparse.Namespace) -> list[tuple[str, str, Path, list]]:
    """(name, layout, folder, rates) of each data set to read, generated into ``tmp``."""
    datasets = []
    if args.layout in ("challenge", "both"):
        if SAMPLE.is_dir():
            datasets.append(("sample", "challenge", SAMPLE, args.fs))
        start = time.perf_counter()
        generate(tmp / "generated", args.n_records)
        print(f"wrote {args.n_records} challenge records in {time.perf_counter() - start:.1f} s")
        datasets.append(("generated", "challenge", tmp / "generated", args.fs))
    if args.layout in ("ptbxl", "both", "folder"):
        start = time.perf_counter()
        generate_ptbxl(tmp / "ptbxl", args.ptbxl_records)
        print(f"wrote {args.ptbxl_records} PTB-XL records (100 and 500 Hz) in "
              f"{time.perf_counter() - start:.1f} s")  # fmt: skip
    if args.layout in ("ptbxl", "both"):
        datasets.append(("PTB-XL layout", "ptbxl", tmp / "ptbxl", [100.0, 500.0]))
    if args.layout == "folder":
        datasets.append(("WFDB folder", "folder", tmp / "ptbxl" / "records500", [500.0]))
    return datasets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layout", choices=["challenge", "ptbxl", "both", "folder"],
                        default="both")  # fmt: skip
    parser.add_argument("--n-records", type=int, default=10_000)
    parser.add_argument("--ptbxl-records", type=int, default=2_000,
                        help="each read at 100 Hz (records100/) and 500 Hz")  # fmt: skip
    parser.add_argument("--fs", type=float, nargs="+", default=[500.0],
                        help="rates of the challenge records' loads")  # fmt: skip
    parser.add_argument("--n-jobs", type=int, nargs="+", default=[1])
    parser.add_argument("--quick", action="store_true", help="200 records of each layout")
    parser.add_argument("--load", help=argparse.SUPPRESS)
    parser.add_argument("--data-home", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load:
        return _load_child(args.layout, args.load, args.fs[0], args.n_jobs[0], args.data_home)
    if args.quick:
        args.n_records = args.ptbxl_records = 200
    with tempfile.TemporaryDirectory(prefix="sk3kg-bench-") as tmp:
        tmp = Path(tmp)
        for name, layout, folder, rates in _datasets(tmp, args):
            for fs in rates:
                for n_jobs in args.n_jobs:
                    home = tmp / f"home-{layout}-{name}-{fs:g}-{n_jobs}"
                    result = _run_load(layout, folder, fs, n_jobs, home)
                    _report(f"{name}, n_jobs={n_jobs}", fs, result)


if __name__ == "__main__":
    main()
