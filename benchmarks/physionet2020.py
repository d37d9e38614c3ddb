"""The label-efficiency study of 3KG, in one command.

Pretrain each method once on the unlabelled training split, then fit a linear
probe (standardised features, one-vs-rest logistic regression, C chosen on the
validation split) on 1 %, 10 % and 100 % of the training labels, and score the
test split: macro AUC, per-class and per-subgroup AUC, the challenge metric.

    python benchmarks/physionet2020.py                       # quick preset, auto data
    python benchmarks/physionet2020.py --preset smoke        # under 2 minutes
    python benchmarks/physionet2020.py --data physionet2020 --download --preset paper

Data ``auto`` uses the PhysioNet/CinC 2020 training data when it is under the
data home, otherwise the embedded simulator (``sk3kg.datasets.make_synthetic_ecgs``).
"""

import argparse
import hashlib
import json
import platform
import shlex
import sys
import time
from pathlib import Path

import _data
import _methods
import _plan
import _progress
import _protocol
import _report
import joblib
import numpy as np
import sklearn
import torch
from joblib import Parallel, delayed
from skorch.callbacks import EarlyStopping
from tqdm.auto import tqdm

import sk3kg
from sk3kg import ThreeKGEmbedder
from sk3kg.datasets import PTBXL_TASKS, get_class_set
from sk3kg.metrics import bootstrap_macro_auc, paired_bootstrap_auc

QUICK = ("3kg", "simclr", "cmsc", "random", "supervised", "3kg-finetune", "minirocket")
FULL = ("3kg", "3kg-spatial", "3kg-temporal", "3kg-shared", "simclr", "cmsc", "random",
        "supervised", "3kg-finetune", "minirocket")  # fmt: skip
# The PhysioNet/CinC 2020 training set: 43,101 records. At its size, 1 % of the training
# split is 345 labelled records, as in the paper.
PHYSIONET2020_RECORDS = 43_101
BASE = {
    "fs": 100, "duration": 10.0, "n_records": PHYSIONET2020_RECORDS, "methods": QUICK,
    "seeds": (0, 1, 2), "fractions": (0.01, 0.1, 1.0), "pretrain_records": 96_000,
    "label_epochs": {0.01: 80, 0.1: 35, 1.0: 2}, "patience": 10,
    "network_seeds": 3, "stop_records": 500, "merged_classes": False,
    "batch_size": 128, "lr": 1e-3, "lead_mode": "channels", "width": 16, "depth": 2,
    "temperature": 0.1, "crop": 5.0, "crop_placement": "random", "scale_range": False,
    "minirocket_kernels": 500, "callbacks": None,
    "validation_fraction": None, "data": "auto", "pretrain_data": None, "precision": "auto",
}  # fmt: skip
# Quick: the data regime of the paper (43,101 records, 345 labelled at 1 %) in under 25
# minutes on 2 cores. Each self-supervised method pretrains for 3 epochs over the training
# split (96,000 records asked, 103,443 seen), each view a 5-s window of its own (the 3KG
# authors' crops; CMSC: the two adjacent halves): on the validation split the 3KG probe
# rose with every doubling of that budget from 12,000 records on, and fell from 24,000 on
# with both views on the whole record or on one window (benchmarks/pretrain_budget.py,
# docs/benchmark.rst "How long to pretrain"). The networks trained on
# labels (supervised from random weights; 3kg-finetune from the exact 3KG probe, LP-FT)
# train on every seed's subset at 1 % and 10 %, for at most 80 and 35 epochs, and once at
# 100 % for 2 epochs (what fits in the time); the epoch with the best macro AUC on 500
# validation records is kept (epoch 0 included), stopping after 10 epochs without a better
# one. With ECGClassifier's recipe the best epochs came late on the validation split
# (benchmarks/finetune_recipe.py), and a run with 80/40/5 epochs on 1,000 validation
# records took 28.4 minutes, hence these budgets. MiniRocket has 500 kernels (420
# features), as its probe's cost grows with them. It scores 3KG's 23 classes; the other
# presets also score the challenge's 24.
PRESETS = {
    "smoke": {"n_records": 240, "duration": 5.0, "seeds": (0,), "fractions": (0.1, 1.0),
              "pretrain_records": 384, "label_epochs": 3, "network_seeds": 1,
              "stop_records": None, "merged_classes": True,
              "batch_size": 64, "width": 8, "depth": 1, "minirocket_kernels": 168,
              "crop": 2.5},
    "quick": {},
    # The former quick preset: 2,000 records, every seed for every method; for a demo.
    "small": {"merged_classes": True, "n_records": 2000, "pretrain_records": 56_000,
              "label_epochs": 100, "patience": 10, "stop_records": None,
              "minirocket_kernels": 1000},
    "full": {"merged_classes": True, "methods": FULL, "n_records": 10000, "fs": 250,
             "seeds": (0, 1, 2, 3, 4),
             "pretrain_records": 100 * 8000, "label_epochs": 300,
             "patience": 10, "network_seeds": 5, "stop_records": None,
             "minirocket_kernels": 1000,
             "width": 32},
    # The 3KG authors' published settings where sk3kg has them (their simclr_viewmaker
    # training code), for GPUs and the real data: the per-lead ResNet-18 (one encoder
    # applied to every lead, width 64, 512-d embeddings), 5-s crops at 500 Hz whose two
    # windows of a record are positives, batch 512, 250 epochs over the training split.
    # Not copied: their SupCon loss over every crop of a record in the batch (here the
    # two crops of a record, NT-Xent, which is SupCon with two views); their optimizer,
    # learning rate and temperature (sk3kg's AdamW, 1e-3, 0.1); their downstream
    # protocol, which sk3kg's label-efficiency protocol replaces.
    "paper": {"merged_classes": True, "data": "physionet2020", "fs": 500, "duration": 10.0,
              "lead_mode": "shared", "width": 64, "depth": 2, "crop": 5.0,
              "scale_range": True, "batch_size": 512,
              "pretrain_records": 250 * round(0.8 * PHYSIONET2020_RECORDS),
              "label_epochs": 250, "patience": 30,
              "network_seeds": 5, "stop_records": None, "seeds": (0, 1, 2, 3, 4),
              "minirocket_kernels": 10000, "validation_fraction": 1 / 9,
              "callbacks": lambda: [EarlyStopping(patience=30)]},
}  # fmt: skip


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=PRESETS, default="quick")
    parser.add_argument(
        "--data",
        choices=("auto", *_data.DATASETS),
        default=None,
        help="the records methods are evaluated on (default: auto)",
    )
    parser.add_argument(
        "--pretrain-data",
        choices=_data.POOLS,
        default=None,
        help="pretrain on this dataset instead (default: --data's training split); "
        "mimic-iv-ecg: its first --pretrain-records records",
    )
    parser.add_argument("--data-home", default=None, help="default: $SK3KG_DATA or ~/sk3kg_data")
    parser.add_argument("--download", action="store_true", help="fetch the real data if missing")
    parser.add_argument("--n-records", type=int, help="synthetic records")
    parser.add_argument("--fs", type=float)
    parser.add_argument("--duration", type=float)
    parser.add_argument("--classes", choices=("3kg", "merged", "scored", *PTBXL_TASKS),
                        help="challenge class set (default 3kg) or PTB-XL task "
                             "(default superdiagnostic)")  # fmt: skip
    parser.add_argument("--methods", help="comma-separated subset of " + ",".join(FULL))
    parser.add_argument("--fractions", help="comma-separated, e.g. 0.01,0.1,1.0")
    parser.add_argument("--seeds", help="comma-separated seeds of the labelled subsets")
    parser.add_argument(
        "--pretrain-records", type=int, help="pretraining budget: training records seen per method"
    )
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", choices=("auto", "32", "bf16", "16"),
                        help="of every network's training and inference")  # fmt: skip
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="default: benchmarks/results/<data>-<preset> (not tracked by git)",
    )
    parser.add_argument(
        "--plan",
        action="store_true",
        help="print what the run would do and its estimated time, then exit",
    )
    parser.add_argument("--json", action="store_true", help="with --plan: print it as JSON")
    parser.add_argument("--verbose", type=int, default=0)
    return parser.parse_args(argv)


def make_config(args: argparse.Namespace) -> dict:
    config = {**BASE, **PRESETS[args.preset], "verbose": args.verbose}
    overrides = {
        "data": args.data, "n_records": args.n_records, "fs": args.fs,
        "duration": args.duration, "pretrain_records": args.pretrain_records,
        "precision": args.precision, "pretrain_data": args.pretrain_data,
        "methods": args.methods and tuple(args.methods.split(",")),
        "fractions": args.fractions and tuple(map(float, args.fractions.split(","))),
        "seeds": args.seeds and tuple(map(int, args.seeds.split(","))),
    }  # fmt: skip
    config.update({k: v for k, v in overrides.items() if v is not None})
    unknown = set(config["methods"]) - set(_methods.ALL_METHODS)
    if unknown:
        raise SystemExit(f"Unknown method(s) {sorted(unknown)}; choose from {_methods.ALL_METHODS}")
    return config


def study_data(argv: list[str]) -> tuple[dict, dict, dict]:
    """The config, records and patient split of a run with these arguments, for the studies
    that choose its settings on the validation split: ``data["split_X"]`` holds each
    split's records in memory, ``data["split_y"]`` their 3KG-class targets."""
    args = parse_args(argv)
    config = make_config(args)
    data = _data.load_data(args, config)
    split = _protocol.split_by_patient(data["targets"]["3kg"], data["patients"], 0)
    data["split_X"] = {part: _data.signals(data["X"][i], config) for part, i in split.items()}
    data["split_y"] = {part: data["targets"]["3kg"][i] for part, i in split.items()}
    return config, data, split


def _cache_key(method: str, config: dict, data: dict, split: dict) -> str:
    """What a method's cached features depend on: its settings, the split and the records.

    The records enter by a digest of their shape and of about eight training records
    spread over the set (and the same of the records kept for pretraining only), so a
    change of the data behind the same description and split (a new version of the
    simulator, a re-downloaded dataset) is not served stale features.
    """
    # Settings of the probe and of the supervised reference do not change pretraining.
    unrelated = {"seeds", "fractions", "verbose", "methods", "callbacks", "label_epochs",
                 "patience", "network_seeds", "stop_records"}  # fmt: skip
    relevant = {k: v for k, v in config.items() if k not in unrelated}
    fingerprint = hashlib.sha256()
    for records in (data["split_X"]["train"], data.get("pool_X")):  # pool: pretraining only
        if records is not None:
            fingerprint.update(f"{records.shape} {records.dtype}".encode())
            spread = records[:: max(1, len(records) // 8)]
            fingerprint.update(np.ascontiguousarray(spread).tobytes())
    text = json.dumps([method, relevant, data["description"], split["train"].tolist()[:50],
                       len(split["train"]), fingerprint.hexdigest(), sk3kg.__version__],
                      default=str)  # fmt: skip
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _cached(method, config, data, split, out: Path) -> tuple[Path, Path]:
    """Where one method's features and pretrained encoder are cached."""
    stem = out / "features" / f"{method}-{_cache_key(method, config, data, split)}"
    return stem.with_suffix(".joblib"), stem.with_name(stem.name + "-encoder")


def method_features(method, config, data, split, out: Path, device) -> dict:
    """Features of every split for one method, pretrained once and cached in ``out``.

    The pretrained encoder is saved beside them (``save_pretrained``), for the
    methods that fine-tune it.
    """
    cache, encoder = _cached(method, config, data, split, out)
    if cache.exists() and (method == "minirocket" or encoder.exists()):
        print(f"[{method}] reusing {cache}")
        return joblib.load(cache)
    X = data["split_X"]
    start = time.perf_counter()
    if method == "minirocket":
        features = _methods.minirocket_features(config, X["train"], X)
    else:
        pool = data.get("pool_X", X["train"])
        embedder, features = _methods.pretrain_and_embed(method, config, pool, X, device)
        # The progress bar and early stopping belong to this run, not to the saved model.
        embedder.set_params(callbacks=None).save_pretrained(encoder)
        if len(embedder.history_):
            losses = embedder.history_[:, "train_loss"]
            trend = (
                f"{losses[0]:.3f} -> {losses[-1]:.3f}" if len(losses) > 1 else f"{losses[0]:.3f}"
            )
            print(f"[{method}] contrastive loss {trend} (mean of epoch), {len(losses)} epoch(s)")
    features["seconds"] = time.perf_counter() - start
    cache.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(features, cache)
    return features


def _score_one(method, config, data, features, y, subset, seed, fraction, device):
    """Test and validation scores of one method on one labelled subset, and what it chose.

    ``features`` are a probed method's features, or the pretrained embedder that
    ``3kg-finetune`` starts from.
    """
    labelled = {"train": y["train"][subset], "valid": y["valid"]}
    if method in _methods.TRAINED_ON_LABELS:
        X = {**data["split_X"], "train": data["split_X"]["train"][subset]}
        return _methods.classifier_scores(
            config, X, labelled, seed, device, fraction, embedder=features
        )
    F = {"train": features["train"][subset], "valid": features["valid"], "test": features["test"]}
    scores, valid, c = _protocol.fit_probe(F, labelled, seed)
    return scores, valid, {"probe_C": c}


def _method_input(method, config, data, split, out, device):
    """What a method's rows start from: features, a pretrained embedder, or nothing."""
    if method == "supervised":
        return None
    if method == "3kg-finetune":
        encoder = _cached("3kg", config, data, split, out)[1]
        if not encoder.exists():
            method_features("3kg", config, data, split, out, device)
        return ThreeKGEmbedder.from_pretrained(encoder)
    return method_features(method, config, data, split, out, device)


def run_method(method, config, data, split, out, device) -> tuple[list[dict], dict, float]:
    """Every (class set, fraction, seed) row of one method, its test scores, its wall time.

    The scores, ``{(class set, fraction): {seed: scores}}``, stay in memory for the
    paired comparisons (``compare_methods``); results.json does not hold them.
    """
    start, rows, test_scores = time.perf_counter(), [], {}
    features = _method_input(method, config, data, split, out, device)
    runs = list(_protocol.runs(method, list(data["targets"]), config))
    bar = _progress.bar(sum(len(seeds) for *_, seeds in runs), f"[{method}] labelled subsets",
                        "subset")  # fmt: skip
    for class_set, fraction, seeds in runs:
        labels = data["labels"][class_set]
        y = {name: data["targets"][class_set][index] for name, index in split.items()}
        for seed in seeds:
            subset = _protocol.labelled_subset(y["train"], fraction, seed)
            scores, valid, chosen = _score_one(method, config, data, features, y, subset,
                                               seed, fraction, device)  # fmt: skip
            test_scores.setdefault((class_set, fraction), {})[seed] = scores
            row = _protocol.evaluate(y["test"], scores, labels["codes"], labels["names"],
                                     valid=(y["valid"], valid))  # fmt: skip
            row.update(method=method, class_set=class_set, fraction=fraction, seed=seed,
                       n_labelled=len(subset), **chosen)  # fmt: skip
            rows.append(row)
            _progress.update(bar)
        auc = np.mean([r["macro_auc"] for r in rows[-len(seeds) :]])
        tqdm.write(f"[{method}] {class_set} classes, {_report.percent(fraction)} of labels: "
                   f"macro AUC {auc:.3f}")  # fmt: skip
    bar.close()
    return rows, test_scores, time.perf_counter() - start


def compare_methods(test_scores, data, split, baseline="3kg", methods=None, n_resamples=1000):
    """Methods against a baseline, per class set and fraction: paired bootstrap.

    ``test_scores`` is ``{method: {(class set, fraction): {seed: scores}}}``; ``methods``
    the ones compared (default: every other). Seeds are paired by labelled subset; a
    method scored on fewer seeds than the baseline is paired on the seeds it shares.
    Every comparison draws the same resamples of the test records (one
    ``random_state``), so each of the baseline's runs is bootstrapped once
    (``bootstrap_macro_auc``) and reused by every method it shares seeds with.
    Comparisons run on every core (numpy releases the GIL in the bootstrap's array work).
    """
    pairs = []
    for (class_set, fraction), reference_runs in test_scores.get(baseline, {}).items():
        for method, cells in test_scores.items():
            runs = cells.get((class_set, fraction), {})
            seeds = tuple(seed for seed in reference_runs if seed in runs)
            chosen = method != baseline and (methods is None or method in methods)
            if chosen and seeds:
                pairs.append((class_set, fraction, method, seeds, runs))
    y_test = {c: data["targets"][c][split["test"]] for c in data["targets"]}
    settings = {"n_resamples": n_resamples, "random_state": 0}
    seed_sets = {(c, f, seeds) for c, f, _, seeds, *_ in pairs}
    bar = _progress.bar(len(seed_sets) + len(pairs), f"[comparisons] paired bootstrap against "
                        f"{baseline}", "run")  # fmt: skip

    def bootstrap(class_set, fraction, seeds):
        scores = [test_scores[baseline][class_set, fraction][s] for s in seeds]
        return (class_set, fraction, seeds), bootstrap_macro_auc(y_test[class_set], scores,
                                                                 **settings)  # fmt: skip

    def compare(class_set, fraction, method, seeds, runs):
        result = paired_bootstrap_auc(
            y_test[class_set], reference[class_set, fraction, seeds], [runs[s] for s in seeds],
            **settings,
        )  # fmt: skip
        return {
            "class_set": class_set, "fraction": fraction, "method": method,
            "baseline": baseline, "delta": result.delta, "ci95": list(result.interval),
            "n_resamples": result.n_resamples, "seeds": list(seeds),
        }  # fmt: skip

    parallel = Parallel(n_jobs=-1, prefer="threads", return_as="generator")
    reference = {}
    for key, result in parallel(delayed(bootstrap)(*key) for key in sorted(seed_sets)):
        reference[key] = result
        _progress.update(bar)
    comparisons = []
    for comparison in parallel(delayed(compare)(*pair) for pair in pairs):
        comparisons.append(comparison)
        _progress.update(bar)
    bar.close()
    return comparisons


PROTOCOL = (
    "Protocol: patient-grouped 8/1/1 split of a 10-fold StratifiedGroupKFold (stratified on "
    "each record's rarest class; PTB-XL: its folds 1-8 / 9 / 10). Each method is pretrained "
    "once on the unlabelled training split, for a budget of `pretrain_records` samples, each "
    "view from its own random window of `crop` seconds (CMSC: the two adjacent halves of a "
    "record), a record's features the mean over its non-overlapping windows. For "
    "each label fraction and seed, the labelled subset is one random positive record of every "
    "class present in the training split plus uniformly drawn records up to the fraction (at "
    "100 % one subset, fitted once); a linear probe (standardised features, one-vs-rest "
    "logistic regression, C in {0.01, 0.1, 1} chosen by validation macro AUC) is scored on the "
    "test split. Macro AUC averages the classes with both labels in the test split; a class "
    "absent from the labelled subset scores its prevalence (chance). The challenge score "
    "thresholds each class where F1 is highest on the validation split "
    "(sk3kg.metrics.f1_thresholds), for every method. `supervised` trains the same encoder from"
    " random weights end to end on the labelled subset (sk3kg.ECGClassifier, random head); "
    "`3kg-finetune` fine-tunes the pretrained 3KG encoder from its exact linear probe (LP-FT: "
    "the head starts at that probe, C chosen on `stop_records` validation records). Both use "
    "ECGClassifier's default recipe (AdamW, constant learning rate 3e-3, chosen on the "
    "validation split by benchmarks/finetune_recipe.py) and train at most `label_epochs` epochs"
    " (per fraction), score `stop_records` validation records after every epoch and keep the "
    "epoch with the best macro AUC there, epoch 0 (the probe, or the untrained network) "
    "included, stopping after `patience` epochs without a better one. These two are trained on "
    "the primary class set only, on the first `network_seeds` seeds. Each method is compared "
    "with 3KG on the same test records by a paired bootstrap "
    "(sk3kg.metrics.paired_bootstrap_auc, 1,000 resamples of the test records, the same for "
    "every comparison): macro AUC of the method minus 3KG's, averaged over the labelled-subset "
    "seeds both share, with a 95 % percentile interval; an interval above zero reads better, "
    "below zero worse, across zero no detectable difference."
)


RESULTS = Path(__file__).parent / "results"  # every run's output; not tracked by git
REFERENCE = Path(__file__).parent / "reference"  # the runs the README and docs quote


def _classes(args, config, name: str) -> tuple[str, list[str], int]:
    """The primary label set, every label set scored, and the primary's number of classes."""
    if name == "ptbxl":
        task = args.classes or "superdiagnostic"
        return task, [task], _data.PTBXL_TASK_SIZES.get(task, 0)
    classes = args.classes or "3kg"
    class_sets = _data.class_sets_for(classes, config["merged_classes"])
    return classes, class_sets, len(get_class_set(classes).codes)


def _plan_data(args, config) -> dict:
    """The datasets a run involves and their sizes, known before anything is loaded."""
    name = _data.resolve(config["data"], args.data_home)
    n = config["n_records"] if name == "synthetic" else _data.SIZES[name]
    size = f"{config['fs']:g} Hz x {config['duration']:g} s"
    data = {"name": name, "n_records": n, "description": f"{name}: {n:,} records, {size}"}
    pool = config["pretrain_data"]
    if pool and pool != name:
        m = config["n_records"] if pool == "synthetic" else _data.SIZES[pool]
        if pool == "mimic-iv-ecg":
            m = min(m, config["pretrain_records"])
            held_out = ("none of its patients is in the evaluation's data (another hospital), "
                        "so no record is left out")  # fmt: skip
        else:
            held_out = "less any in the evaluation's validation or test split"
        data["pretrain_data"] = {"name": pool, "n_records": m}
        data["description"] += f"; pretraining on {pool}: {m:,} records ({held_out})"
    return data


def _cpu_name() -> str:
    """The CPU's model name (Linux), for the report: speeds differ by CPU."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _device(args) -> str:
    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else args.device
    return "cpu" if device == "auto" else device


def _print_plan(args, config) -> int:
    """``--plan``: what the run would do, without loading or simulating anything."""
    data = _plan_data(args, config)
    _, class_sets, n_classes = _classes(args, config, data["name"])
    sizes = _plan.expected_split(data["n_records"])
    speed = _plan.machine_speed(config, _device(args))
    plan = _plan.build(config, sizes, data, class_sets, n_classes, speed)
    print(json.dumps(plan, indent=1, default=str) if args.json else _plan.describe(plan))
    return 0


def _attach_pool(args, config, data, split) -> None:
    """Pretraining records from another dataset, without the evaluation's held-out records."""
    pool = config["pretrain_data"]
    if pool and pool != data["name"]:
        held_out = data["keys"][np.concatenate([split["valid"], split["test"]])]
        data["pool_X"], what = _data.load_pool(pool, args, config, held_out)
        data["description"] += " " + what
        print(what)


def _run_methods(methods, config, data, split, out, device) -> tuple[list, dict, dict]:
    rows, test_scores, times = [], {}, {}
    for method in methods:
        _progress.CLOCK.begin(method)
        method_rows, test_scores[method], _ = run_method(method, config, data, split, out, device)
        times[method] = _progress.CLOCK.end()
        rows += method_rows
    return rows, test_scores, times


def main(argv=None) -> int:
    args = parse_args(argv)
    config = make_config(args)
    if args.plan:
        return _print_plan(args, config)
    device = _device(args)
    name = _data.resolve(config["data"], args.data_home)
    primary, class_sets, n_classes = _classes(args, config, name)
    expected = _plan.expected_split(_plan_data(args, config)["n_records"])
    speed = _plan.machine_speed(config, device)
    planned = _plan.estimate(config, expected, n_classes, class_sets, speed)
    _progress.CLOCK = _progress.RunClock(planned)
    _progress.CLOCK.begin("data")
    data = _data.load_data(args, config)
    print(data["description"])
    run_name = f"{data['name']}-{args.preset}"
    out = args.out or RESULTS / run_name
    out.mkdir(parents=True, exist_ok=True)
    split = data.get("split") or _protocol.split_by_patient(
        data["targets"][primary], data["patients"], args.split_seed
    )
    np.savez(out / "split.npz", **split, patients=data["patients"])
    _attach_pool(args, config, data, split)
    X = data.pop("X")
    data["split_X"] = {part: _data.signals(X[index], config) for part, index in split.items()}
    del X
    sizes = {k: len(v) for k, v in split.items()}
    _progress.CLOCK.planned.update(_plan.estimate(config, sizes, n_classes, class_sets, speed))
    times = {"data": _progress.CLOCK.end()}
    methods = [m for m in config["methods"] if m != "minirocket" or _methods.has_minirocket()]
    if len(methods) < len(config["methods"]):
        print("minirocket skipped: install the bench extra (pip install -e '.[bench]')")
    rows, test_scores, method_times = _run_methods(methods, config, data, split, out, device)
    times.update(method_times)
    _progress.CLOCK.begin("comparisons")
    comparisons = [comparison for baseline, methods in _protocol.COMPARISONS
                   for comparison in compare_methods(test_scores, data, split, baseline,
                                                     methods)]  # fmt: skip
    times["comparisons"] = _progress.CLOCK.end()
    times["total"] = _progress.CLOCK.elapsed()
    summary = {
        "data": data["name"], "preset": args.preset, "seeds": list(config["seeds"]),
        "command": "python " + shlex.join(["benchmarks/physionet2020.py", *sys.argv[1:]]),
        "data_description": data["description"], "protocol": PROTOCOL,
        "class_sets": class_sets, "times": times, "machine_speed": speed,
        "planned": dict(_progress.CLOCK.planned),
        "planned_reference_machine": _plan.estimate(config, sizes, n_classes, class_sets),
        "cpu": _cpu_name(), "torch_threads": torch.get_num_threads(),
    }  # fmt: skip
    write_outputs(out, rows, comparisons, summary, config, split, data["labels"])
    reference = REFERENCE / run_name / "results.json"
    if reference.exists() and reference.resolve() != (out / "results.json").resolve():
        print(_report.versus_reference(rows, json.loads(reference.read_text()), primary))
    return 0


def write_outputs(out: Path, rows: list[dict], comparisons: list[dict], summary: dict,
                  config: dict, split: dict, labels: dict) -> None:  # fmt: skip
    versions = {"sk3kg": sk3kg.__version__, "torch": torch.__version__,
                "scikit-learn": sklearn.__version__, "numpy": np.__version__,
                "python": platform.python_version(), "machine": platform.machine()}  # fmt: skip
    payload = {**summary, "config": {k: v for k, v in config.items() if k != "callbacks"},
               "versions": versions, "split_sizes": {k: len(v) for k, v in split.items()},
               "results": rows, "comparisons": comparisons}  # fmt: skip
    (out / "results.json").write_text(json.dumps(payload, indent=1, default=str))
    text = _report.write_markdown(out / "results.md", rows, summary, comparisons)
    _report.write_per_class(out / "per_class.csv", rows)
    try:
        primary = summary["class_sets"][0]
        _report.plot_auc_vs_fraction(out / "auc_vs_fraction.png", rows, primary)
        _report.plot_per_class(out / "per_class_auc.png", rows, primary, labels[primary]["names"])
    except ImportError:
        print("plots skipped: matplotlib is not installed (pip install -e '.[bench]')")
    print(text)
    print(f"Results in {out}")


if __name__ == "__main__":
    sys.exit(main())
