"""Peak memory of ``ThreeKGEmbedder`` on a memory-mapped array larger than a third of RAM.

Writes an 8 GiB float32 ``.npy`` file of generated 12-lead ECGs (12 x 1000,
about 179,000 records), opens it with ``np.load(mmap_mode="r")`` as the dataset
cache does, and then, streaming through DataLoader workers:

1. ``fit`` for one epoch whose training is cut after ``--steps`` batches by a
   skorch callback (a full epoch is ~700 batches, about 10 minutes on 2 CPU
   cores): the batches are a random sample of the whole file, since the sampler
   shuffles all of its indices;
2. ``transform`` over every record (a full pass over the 8 GiB).

It reports the wall time of each phase, the peak resident memory (RSS) of this
process and of its largest DataLoader worker, and the peak of their summed
proportional set size (PSS, which counts the pages workers share with the main
process once); the goal is under 2 GiB. The file is deleted afterwards unless
``--keep``.

Usage::

    python benchmarks/memory.py                     # the figure quoted in the docs
    python benchmarks/memory.py --gigabytes 0.2 --steps 5   # a quick check
"""

import argparse
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from skorch.callbacks import Callback

from sk3kg import ThreeKGEmbedder
from sk3kg.vcg import vcg_to_ecg

GIB = 2**30


def generated_ecgs(n_records, length, rng, bank_size=256, fs=250.0):
    """``(n_records, 12, length)`` float32 dipolar ECGs, drawn from a bank and rescaled."""
    t = np.arange(length) / fs
    harmonics = np.arange(1, 6)[:, None]
    amplitude = rng.normal(size=(bank_size, 3, 5, 1)) / harmonics
    phase = rng.uniform(0, 2 * np.pi, size=(bank_size, 3, 5, 1))
    rate = rng.uniform(0.8, 1.6, size=(bank_size, 1, 1, 1))
    bank = vcg_to_ecg((amplitude * np.sin(2 * np.pi * rate * harmonics * t + phase)).sum(2))
    picks = rng.integers(bank_size, size=n_records)
    gains = rng.uniform(0.5, 2.0, size=(n_records, 1, 1))
    return (bank[picks] * gains).astype(np.float32)


def write_npy(path, n_records, length, seed=0, chunk=2048):
    """Write the ``.npy`` file with plain writes, so no page of it is mapped here."""
    rng = np.random.default_rng(seed)
    header = {"descr": "<f4", "fortran_order": False, "shape": (n_records, 12, length)}
    with open(path, "wb") as file:
        np.lib.format.write_array_header_2_0(file, header)
        for start in range(0, n_records, chunk):
            generated_ecgs(min(chunk, n_records - start), length, rng).tofile(file)


class StopAfter(Callback):
    """End training after ``steps`` batches, as skorch's EarlyStopping ends it."""

    def __init__(self, steps):
        self.steps = steps

    def on_batch_end(self, net, training=False, **kwargs):
        if training and len(net.history[-1, "batches"]) >= self.steps:
            raise KeyboardInterrupt


class PeakTreePSS(threading.Thread):
    """Sample the summed proportional set size (PSS) of this process and its children.

    Forked DataLoader workers share most of their pages with the main process;
    RSS counts a shared page in every process, PSS splits it among them, so
    the sum of PSS is the memory the process tree really holds (Linux, psutil).
    """

    def __init__(self, interval=0.2):
        super().__init__(daemon=True)
        self.interval, self.peak, self.running = interval, 0, True
        import psutil

        self.process = psutil.Process()

    def run(self):
        while self.running:
            tree = [self.process, *self.process.children(recursive=True)]
            total = 0
            for process in tree:
                try:
                    total += process.memory_full_info().pss
                except Exception:  # noqa: BLE001 - a worker may exit between two calls
                    pass
            self.peak = max(self.peak, total)
            time.sleep(self.interval)


def peak_rss():
    """Peak RSS in bytes of this process and of its largest finished child (Linux: KiB)."""
    scale = 1 if sys.platform == "darwin" else 1024
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale
    return own, child


def run(X, steps, batch_size, num_workers):
    embedder = ThreeKGEmbedder(
        max_epochs=1,
        batch_size=batch_size,
        num_workers=num_workers,
        callbacks=[StopAfter(steps)],
        random_state=0,
    )
    start = time.perf_counter()
    embedder.fit(X)
    fitted = time.perf_counter()
    embeddings = embedder.transform(X)
    done = time.perf_counter()
    assert np.isfinite(embeddings).all() and len(embeddings) == len(X)
    return fitted - start, done - fitted, len(embedder.history_[-1, "batches"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--path", type=Path, default=None, help="where to write the array")
    parser.add_argument("--gigabytes", type=float, default=8.0, help="array size in GiB")
    parser.add_argument("--length", type=int, default=1000, help="time steps per lead")
    parser.add_argument("--steps", type=int, default=100, help="training batches")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--num-workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    args = parser.parse_args(argv)
    path = args.path or Path(tempfile.gettempdir()) / "sk3kg-memory-benchmark.npy"
    n_records = int(args.gigabytes * GIB) // (12 * args.length * 4)
    try:
        start = time.perf_counter()
        write_npy(path, n_records, args.length)
        print(f"wrote {path}: {path.stat().st_size / GIB:.2f} GiB, {n_records} records "
              f"of 12 x {args.length} in {time.perf_counter() - start:.0f} s")  # fmt: skip
        X = np.load(path, mmap_mode="r")
        sampler = PeakTreePSS() if _has_psutil() and sys.platform == "linux" else None
        if sampler:
            sampler.start()
        fit_time, transform_time, steps = run(X, args.steps, args.batch_size, args.num_workers)
        if sampler:
            sampler.running = False
            sampler.join()
    finally:
        if not args.keep:
            path.unlink(missing_ok=True)
    report(fit_time, transform_time, steps, args, n_records, sampler)


def report(fit_time, transform_time, steps, args, n_records, sampler):
    own, child = peak_rss()
    print(f"fit: {steps} batches of {args.batch_size} in {fit_time:.0f} s "
          f"({steps * args.batch_size / fit_time:.0f} samples/s)")  # fmt: skip
    print(f"transform: all {n_records} records in {transform_time:.0f} s "
          f"({n_records / transform_time:.0f} samples/s)")  # fmt: skip
    print(f"peak RSS: main process {own / GIB:.2f} GiB, largest DataLoader worker "
          f"{child / GIB:.2f} GiB ({args.num_workers} workers)")  # fmt: skip
    if sampler is not None:
        print(f"peak PSS of main process + workers (sampled every 0.2 s): "
              f"{sampler.peak / GIB:.2f} GiB")  # fmt: skip
    worst = max(own, sampler.peak if sampler is not None else own + args.num_workers * child)
    verdict = "PASS" if worst < 2 * GIB else "FAIL"
    print(f"{verdict}: peak memory {worst / GIB:.2f} GiB with a {args.gigabytes:g} GiB array "
          "(goal: under 2 GiB)")  # fmt: skip


def _has_psutil():
    try:
        import psutil  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
