"""Does bfloat16 pretraining cost accuracy? 3KG pretrained in float32 and in bfloat16, probed.

On the small preset's data and split (``physionet2020.py --preset small``), pretrain 3KG with
each precision from several pretraining seeds, fit the benchmark's linear probe
on 1 % and 10 % of the labels (labelled-subset seeds 0-2) and compare test macro
AUC, paired by pretraining seed and labelled subset:

    python benchmarks/precision_quality.py                # seeds 0-2, about 8 minutes
    python benchmarks/precision_quality.py --seeds 0 --fractions 0.1 --n-records 300

Reported: each precision's pretraining wall time, the mean AUC per precision, and
the bfloat16 - float32 difference with a 95 % t-interval over pretraining seeds
(each seed's difference averaged over the labelled subsets first).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import _methods
import _protocol
import numpy as np
import physionet2020
from scipy import stats
from tqdm import tqdm

from sk3kg.metrics import macro_auc


def probe_aucs(features, y, fractions, subset_seeds):
    """Test macro AUC of the linear probe, per (fraction, labelled-subset seed)."""
    aucs = {}
    for fraction in fractions:
        for seed in subset_seeds:
            subset = _protocol.labelled_subset(y["train"], fraction, seed)
            F = {**features, "train": features["train"][subset]}
            labelled = {"train": y["train"][subset], "valid": y["valid"]}
            scores, _, _ = _protocol.fit_probe(F, labelled, seed)
            aucs[fraction, seed] = macro_auc(y["test"], scores)
    return aucs


def interval(differences):
    """Mean and 95 % t-interval of per-seed differences (the mean alone for one seed)."""
    d = np.asarray(differences)
    if len(d) < 2:
        return d.mean(), (np.nan, np.nan)
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return d.mean(), (d.mean() - half, d.mean() + half)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="0,1,2", help="pretraining seeds")
    parser.add_argument("--fractions", default="0.01,0.1")
    parser.add_argument("--n-records", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON")
    args = parser.parse_args(argv)
    bench_args = ["--data", "synthetic", "--preset", "small"]
    bench_args += ["--n-records", str(args.n_records)] if args.n_records else []
    config, data, _ = physionet2020.study_data(bench_args)
    X, y = data["split_X"], data["split_y"]
    epochs = args.epochs or _methods.sample_schedule(config["pretrain_records"], len(X["train"]))[0]
    seeds = [int(s) for s in args.seeds.split(",")]
    fractions = [float(f) for f in args.fractions.split(",")]
    print(data["description"])
    runs = [(precision, seed) for seed in seeds for precision in ("32", "bf16")]
    aucs, seconds = {}, {"32": [], "bf16": []}
    for precision, seed in tqdm(runs, desc="pretraining", unit="run"):
        settings = {**config, "precision": precision}
        embedder = _methods.embedder_for("3kg", settings, "cpu", epochs, X["train"].shape[2])
        start = time.perf_counter()
        embedder.set_params(random_state=seed).fit(X["train"])
        seconds[precision].append(time.perf_counter() - start)
        features = {name: embedder.transform(X[name]) for name in X}
        aucs[precision, seed] = probe_aucs(features, y, fractions, (0, 1, 2))
    report = {"config": {k: v for k, v in config.items() if k != "callbacks"}, "seeds": seeds,
              "pretraining_seconds": seconds, "fractions": {}}  # fmt: skip
    print(f"pretraining, mean s: float32 {np.mean(seconds['32']):.0f}, "
          f"bfloat16 {np.mean(seconds['bf16']):.0f} "
          f"({np.mean(seconds['32']) / np.mean(seconds['bf16']):.2f}x)")  # fmt: skip
    for fraction in fractions:
        per_seed = {
            p: [np.mean([aucs[p, s][fraction, k] for k in (0, 1, 2)]) for s in seeds]
            for p in ("32", "bf16")
        }
        diffs = np.subtract(per_seed["bf16"], per_seed["32"])
        mean, (low, high) = interval(diffs)
        report["fractions"][str(fraction)] = {"float32": per_seed["32"],
            "bfloat16": per_seed["bf16"], "delta": mean, "ci95": [low, high]}  # fmt: skip
        print(f"{fraction:g} of labels: float32 {np.mean(per_seed['32']):.3f}, bfloat16 "
              f"{np.mean(per_seed['bf16']):.3f}; bf16 - fp32 {mean:+.4f}, 95 % CI "
              f"[{low:+.4f}, {high:+.4f}] over {len(seeds)} pretraining seed(s)")  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps(report, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
