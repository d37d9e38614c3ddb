"""Speed of sk3kg's core, each figure against a baseline measured in the same run.

1. 3KG augmentation (batched torch) against a per-sample numpy reference written
   the way existing 3KG implementations do it (scipy ``Rotation`` and one matrix
   product per ECG, then a mask per lead), as ECG/s and a ratio;
2. encoder training (two views, forward and backward) and inference, samples/s, in
   float32 and in bfloat16 (and float16 on CUDA) as ratios to float32, at the default size
   and at ``width=32``;
3. ``ThreeKGEmbedder.fit`` against a bare torch loop over the same module, loss,
   optimizer, augmentation and batches, as a time ratio (skorch's overhead);
4. pretraining throughput (records/s of ``ThreeKGEmbedder.fit``) on crops of half and a
   quarter of the record (5 s and 2.5 s of the quick preset's 10-s records) against whole
   records, as ratios.

Usage::

    python benchmarks/speed.py            # the figures quoted in the docs
    python benchmarks/speed.py --smoke    # seconds, to check the script runs
    python benchmarks/speed.py --device cuda   # the same table on a GPU, float16 included
"""

import argparse
import math
import platform
import time

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from sk3kg import ThreeKGEmbedder
from sk3kg._precision import cpu_has_native_bf16
from sk3kg.augment import ThreeKGAugment
from sk3kg.nn import ContrastiveModel, NTXentLoss, build_encoder
from sk3kg.vcg import DOWER, INVERSE_DOWER, STANDARD_LEADS

LIMB = {"III": (-1, 1), "aVR": (-0.5, -0.5), "aVL": (1, -0.5), "aVF": (-0.5, 1)}


def reference_augment(ecgs, rng, angle=45.0, scale=1.5, mask_ratio=0.5):
    """Per-sample numpy 3KG, as in existing implementations: a Python loop over ECGs."""
    out = np.empty_like(ecgs)
    independent = [STANDARD_LEADS.index(n) for n in ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")]
    length = ecgs.shape[-1]
    width = math.floor(mask_ratio * length)
    for i, ecg in enumerate(ecgs):
        order = "".join(rng.permutation(list("xyz")))
        rotation = Rotation.from_euler(order, rng.uniform(-angle, angle, 3), degrees=True)
        factors = rng.uniform(1, scale, 3)
        factors = np.where(rng.random(3) < 0.5, 1 / factors, factors)
        operator = DOWER @ np.diag(factors) @ rotation.as_matrix() @ INVERSE_DOWER
        eight = (operator @ ecg[independent]).astype(ecgs.dtype)
        view = out[i]
        view[independent] = eight
        for name, (a, b) in LIMB.items():
            view[STANDARD_LEADS.index(name)] = a * eight[0] + b * eight[1]
        for lead in view:
            start = rng.integers(length)
            lead[start : start + width] = 0
            lead[: max(0, start + width - length)] = 0
    return out


def best_of(repeats, fn):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_augmentation(batch, length, repeats):
    x = torch.randn(batch, 12, length)
    augment, generator = ThreeKGAugment(), torch.Generator().manual_seed(0)
    augment(x, generator)  # warm-up
    torch_time = best_of(repeats, lambda: augment(x, generator))
    rng = np.random.default_rng(0)
    numpy_time = best_of(repeats, lambda: reference_augment(x.numpy(), rng))
    return batch / torch_time, batch / numpy_time


def make_model(width, depth):
    return ContrastiveModel(build_encoder(12, width=width, depth=depth))


def autocast(precision, device):
    """The autocast the estimators' nets use for ``precision`` (see sk3kg._precision)."""
    dtype = {"bf16": torch.bfloat16, "16": torch.float16}.get(precision)
    return torch.autocast(torch.device(device).type, dtype=dtype, enabled=dtype is not None)


def synchronized(fn, device):
    def run():
        fn()
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize()

    return run


def bench_encoder(batch, length, steps, width, depth, precision="32", device="cpu"):
    """Training (two views, forward and backward, optimizer step) and inference samples/s."""
    torch.manual_seed(0)
    model = make_model(width, depth).to(device)
    loss_fn, augment = NTXentLoss(), ThreeKGAugment().to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    scaler = torch.amp.GradScaler("cuda") if precision == "16" else None
    x = torch.randn(batch, 12, length, device=device)
    generator = torch.Generator(device).manual_seed(0)

    def train_step():
        views = torch.cat([augment(x, generator), augment(x, generator)])
        with autocast(precision, device):
            projections = model(views).float()
        loss = loss_fn(projections)
        optimizer.zero_grad()
        if scaler is None:
            loss.backward()
            optimizer.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()

    train_step()
    train = best_of(3, synchronized(lambda: [train_step() for _ in range(steps)], device)) / steps
    model.eval()
    with torch.inference_mode(), autocast(precision, device):
        model.encoder(x)
        infer = best_of(3, synchronized(lambda: model.encoder(x).float(), device))
    return batch / train, batch / infer


def bench_precisions(batch, length, steps, sizes, precisions, device):
    """Training and inference samples/s of each precision, each size, measured in one run."""
    rows = []
    for width, depth in sizes:
        figures = {
            p: bench_encoder(batch, length, steps, width, depth, p, device) for p in precisions
        }
        rows.append((width, depth, figures))
    return rows


def bare_loop(X, epochs, batch_size, seed, width, depth):
    """What ThreeKGEmbedder.fit does, written as a plain torch loop."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = make_model(width, depth)
    augment, loss_fn = ThreeKGAugment(), NTXentLoss()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    generator = torch.Generator().manual_seed(seed + 1)
    dataset = torch.utils.data.TensorDataset(torch.from_numpy(X), torch.arange(len(X)))
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=True, generator=torch.Generator().manual_seed(3)
    )
    model.train()
    for _ in range(epochs):
        for xb, groups in loader:
            views = torch.cat([augment(xb, generator), augment(xb, generator)])
            loss = loss_fn(model(views), groups)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def bench_overhead(n, length, epochs, batch_size, width, depth, repeats):
    X = np.random.default_rng(0).normal(size=(n, 12, length)).astype(np.float32)
    embedder = ThreeKGEmbedder(
        width=width, depth=depth, max_epochs=epochs, batch_size=batch_size, random_state=0
    )
    skorch_times, bare_times = [], []
    for _ in range(repeats):  # interleaved, so drifts in machine load hit both
        skorch_times.append(best_of(1, lambda: embedder.fit(X)))
        bare_times.append(best_of(1, lambda: bare_loop(X, epochs, batch_size, 0, width, depth)))
    return min(skorch_times), min(bare_times)


def bench_crops(n, length, epochs, batch_size, width, depth, repeats, crops):
    """Records per second of fit on whole records and on each crop length, interleaved."""
    X = np.random.default_rng(0).normal(size=(n, 12, length)).astype(np.float32)
    times = {crop: [] for crop in (None, *crops)}
    for _ in range(repeats):
        for crop in times:
            embedder = ThreeKGEmbedder(width=width, depth=depth, max_epochs=epochs, crop=crop,
                                       batch_size=batch_size, random_state=0)  # fmt: skip
            times[crop].append(best_of(1, lambda e=embedder: e.fit(X)))
    return {crop: n * epochs / min(seconds) for crop, seconds in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to check it runs")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (adds float16 precision)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.smoke:
        sizes = dict(aug=(16, 500, 1), enc=(8, 500, 1), fit=(32, 500, 1, 16, 1))
    else:
        sizes = dict(aug=(256, 2500, 20), enc=(256, 1000, 3), fit=(2048, 1000, 2, 256, 3))
    width, depth = 16, 2
    print(
        f"# sk3kg speed: torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{platform.processor() or platform.machine()}"
    )

    batch, length, repeats = sizes["aug"]
    ours, reference = bench_augmentation(batch, length, repeats)
    print(f"augmentation, B={batch}, 12 x {length} float32:")
    print(f"  batched torch      {ours:10.0f} ECG/s")
    print(f"  per-sample numpy   {reference:10.0f} ECG/s")
    print(f"  ratio              {ours / reference:10.1f} x")

    batch, length, steps = sizes["enc"]
    precisions = (
        ("32", "bf16", "16") if torch.device(args.device).type == "cuda" else ("32", "bf16")
    )
    rows = bench_precisions(
        batch, length, steps, [(width, depth), (32, depth)], precisions, args.device
    )
    print(f"encoder on {args.device}, B={batch}, 12 x {length}, samples/s (ratio to float32):")
    print("  width depth  precision  training (2 views, fwd + bwd)  inference")
    for size_width, size_depth, figures in rows:
        base_train, base_infer = figures["32"]
        for precision, (train, infer) in figures.items():
            print(
                f"  {size_width:5d} {size_depth:5d}  {precision:>9}  {train:9.0f} "
                f"({train / base_train:4.2f} x)          {infer:7.0f} ({infer / base_infer:4.2f} x)"
            )

    if torch.device(args.device).type == "cpu" and not cpu_has_native_bf16():
        print("  this CPU has no native bfloat16 (AVX-512 BF16, AMX, Arm BF16): the bf16 rows "
              'are emulated; precision="auto" trains in float32 here')  # fmt: skip

    n, length, epochs, batch_size, repeats = sizes["fit"]
    fit_time, bare_time = bench_overhead(n, length, epochs, batch_size, width, depth, repeats)
    print(
        f"ThreeKGEmbedder.fit vs bare torch loop, {n} x 12 x {length}, {epochs} epochs, "
        f"B={batch_size}:"
    )
    print(f"  ThreeKGEmbedder.fit {fit_time:8.2f} s ({n * epochs / fit_time:.0f} samples/s)")
    print(f"  bare torch loop     {bare_time:8.2f} s ({n * epochs / bare_time:.0f} samples/s)")
    print(f"  overhead            {100 * (fit_time / bare_time - 1):+8.1f} %")

    crops = (length // 2, length // 4)
    speeds = bench_crops(n, length, epochs, batch_size, width, depth, repeats, crops)
    print(f"ThreeKGEmbedder.fit on crops, {n} x 12 x {length}, records/s (ratio to whole):")
    for crop, speed in speeds.items():
        name = "whole records" if crop is None else f"crop={crop}"
        print(f"  {name:18} {speed:8.0f} ({speed / speeds[None]:4.2f} x)")


if __name__ == "__main__":
    main()
