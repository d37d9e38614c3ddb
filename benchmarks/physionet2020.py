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
from sk3kg.datasets import (
    code_to_index,
    fetch_physionet2020,
    get_class_set,
    get_data_home,
    load_physionet2020,
)
from sk3kg.metrics import paired_bootstrap_auc

QUICK = ("3kg", "simclr", "cmsc", "random", "supervised", "3kg-finetune", "minirocket")
FULL = ("3kg", "3kg-spatial", "3kg-temporal", "3kg-shared", "simclr", "cmsc", "random",
        "supervised", "3kg-finetune", "minirocket")  # fmt: skip
# The PhysioNet/CinC 2020 training set: 43,101 records. At its size, 1 % of the training
# split is 345 labelled records, as in the paper.
PHYSIONET2020_RECORDS = 43_101
BASE = {
    "fs": 100, "duration": 10.0, "n_records": PHYSIONET2020_RECORDS, "methods": QUICK,
    "seeds": (0, 1, 2), "fractions": (0.01, 0.1, 1.0), "pretrain_records": 24_000,
    "label_budget": 12_000, "label_epochs": 30, "patience": 5, "lp_epochs": 3,
    "network_seeds": 1, "stop_records": 1000,
    "batch_size": 128, "lr": 1e-3, "width": 16, "depth": 2, "temperature": 0.1,
    "n_segments": 1, "scale_range": False, "minirocket_kernels": 1000, "callbacks": None,
    "validation_fraction": None, "data": "auto", "precision": "auto",
}  # fmt: skip
# Quick: the data regime of the paper (43,101 records, >= 300 labelled at 1 %) in under
# 20 minutes on 2 cores. Every budget is in training samples (records), chosen by
# measurement (benchmarks/_plan.py prices them): pretraining sees 24,000 records per
# method, each network fit up to 12,000 samples, early-stopped on 1,000 validation
# records, and the networks (supervised, 3kg-finetune) are trained on the first seed's
# labelled subsets only.
PRESETS = {
    "smoke": {"n_records": 240, "duration": 5.0, "seeds": (0,), "fractions": (0.1, 1.0),
              "pretrain_records": 384, "label_budget": 400, "label_epochs": 3, "lp_epochs": 1,
              "network_seeds": 1, "stop_records": None,
              "batch_size": 64, "width": 8, "depth": 1, "minirocket_kernels": 168},
    "quick": {},
    # The former quick preset: 2,000 records, every seed for every method; for a demo.
    "small": {"n_records": 2000, "pretrain_records": 56_000, "label_budget": 40_000,
              "label_epochs": 100, "patience": 10, "lp_epochs": 10, "network_seeds": 3,
              "stop_records": None},
    "full": {"methods": FULL, "n_records": 10000, "fs": 250, "seeds": (0, 1, 2, 3, 4),
             "pretrain_records": 100 * 8000, "label_budget": 400_000, "label_epochs": 300,
             "patience": 10, "lp_epochs": 10, "network_seeds": 5, "stop_records": None,
             "width": 32},
    # The 3KG authors' settings (their public training code), for a GPU and the real data:
    # 250 epochs over the training split.
    "paper": {"data": "physionet2020", "fs": 500, "duration": 10.0, "n_segments": 2,
              "scale_range": True, "batch_size": 512,
              "pretrain_records": 250 * round(0.8 * PHYSIONET2020_RECORDS),
              "label_budget": 10**7, "label_epochs": 250, "patience": 30, "lp_epochs": 30,
              "network_seeds": 5, "stop_records": None, "width": 32, "seeds": (0, 1, 2, 3, 4),
              "minirocket_kernels": 10000, "validation_fraction": 1 / 9,
              "callbacks": lambda: [EarlyStopping(patience=30)]},
}  # fmt: skip


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=PRESETS, default="quick")
    parser.add_argument("--data", choices=("auto", "synthetic", "physionet2020"), default=None)
    parser.add_argument("--data-home", default=None, help="default: $SK3KG_DATA or ~/sk3kg_data")
    parser.add_argument("--download", action="store_true", help="fetch PhysioNet 2020 if missing")
    parser.add_argument("--n-records", type=int, help="synthetic records")
    parser.add_argument("--fs", type=float)
    parser.add_argument("--duration", type=float)
    parser.add_argument("--classes", choices=("3kg", "merged", "scored"), default="3kg")
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
        "precision": args.precision,
        "methods": args.methods and tuple(args.methods.split(",")),
        "fractions": args.fractions and tuple(map(float, args.fractions.split(","))),
        "seeds": args.seeds and tuple(map(int, args.seeds.split(","))),
    }  # fmt: skip
    config.update({k: v for k, v in overrides.items() if v is not None})
    unknown = set(config["methods"]) - set(_methods.ALL_METHODS)
    if unknown:
        raise SystemExit(f"Unknown method(s) {sorted(unknown)}; choose from {_methods.ALL_METHODS}")
    return config


def _physionet_root(data_home) -> Path:
    return Path(get_data_home(data_home)) / "physionet2020" / "1.0.2"


def class_sets_for(classes: str) -> list[str]:
    """The primary class set, plus the challenge's 24 merged classes beside 3KG's 23."""
    return [classes, "merged"] if classes == "3kg" else [classes]


def convert_target(target: np.ndarray, source: str, destination: str) -> np.ndarray:
    """Re-express a multilabel target of one class set in a coarser one."""
    index = code_to_index(destination)
    codes = get_class_set(source).codes
    out = np.zeros((len(target), len(get_class_set(destination).codes)), dtype=target.dtype)
    for j, code in enumerate(codes):
        out[:, index[code]] |= target[:, j]
    return out


def load_data(args, config) -> dict:
    """Records, targets per class set, patient ids and a description of the data."""
    choice = config["data"]
    if choice == "auto":
        choice = "physionet2020" if _physionet_root(args.data_home).is_dir() else "synthetic"
    finest = "scored" if args.classes == "scored" else "merged"
    if choice == "synthetic":
        from sk3kg.datasets import make_synthetic_ecgs

        # Simulated once, then read from a memory map under the data home.
        bunch = make_synthetic_ecgs(
            config["n_records"], fs=config["fs"], duration=config["duration"], classes=finest,
            n_patients=config["n_records"] // 2, random_state=0, cache=True, n_jobs=-1,
            data_home=args.data_home,
        )  # fmt: skip
        patients = np.asarray(bunch.patient_ids)
        what = (
            f"embedded synthetic data (sk3kg.datasets.make_synthetic_ecgs): "
            f"{len(bunch.data)} records of {len(np.unique(patients))} simulated patients"
        )
    else:
        kwargs = {"fs": config["fs"], "duration": config["duration"], "classes": finest}
        if args.download:
            bunch = fetch_physionet2020(data_home=args.data_home, **kwargs)
        else:
            bunch = load_physionet2020(_physionet_root(args.data_home), **kwargs)
        # The challenge publishes no patient ids; each record is its own group.
        patients = np.asarray(bunch.record_ids)
        what = f"PhysioNet/CinC 2020 training data: {len(bunch.data)} records"
    X = np.asarray(bunch.data, dtype=np.float32)
    if config["scale_range"]:
        span = X.max(axis=(1, 2), keepdims=True) - X.min(axis=(1, 2), keepdims=True)
        X = X / np.where(span > 0, span, 1.0)
    target = np.asarray(bunch.target, dtype=np.int64)
    targets = {s: convert_target(target, finest, s) for s in class_sets_for(args.classes)}
    return {
        "X": X,
        "targets": targets,
        "patients": patients,
        "name": choice,
        "description": f"Data: {what}, {config['fs']:g} Hz, {config['duration']:g} s.",
    }


def _cache_key(method: str, config: dict, data: dict, split: dict) -> str:
    # Settings of the probe and of the supervised reference do not change pretraining.
    unrelated = {"seeds", "fractions", "verbose", "methods", "callbacks", "label_budget",
                 "label_epochs", "patience", "lp_epochs", "network_seeds",
                 "stop_records"}  # fmt: skip
    relevant = {k: v for k, v in config.items() if k not in unrelated}
    text = json.dumps([method, relevant, data["description"], split["train"].tolist()[:50],
                       len(split["train"]), sk3kg.__version__], default=str)  # fmt: skip
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
    X = {name: data["X"][index] for name, index in split.items()}
    start = time.perf_counter()
    if method == "minirocket":
        features = _methods.minirocket_features(config, X["train"], X)
    else:
        embedder, features = _methods.pretrain_and_embed(method, config, X["train"], X, device)
        # The progress bar and early stopping belong to this run, not to the saved model.
        embedder.set_params(callbacks=None).save_pretrained(encoder)
        if len(embedder.history_):
            losses = embedder.history_[:, "train_loss"]
            print(f"[{method}] contrastive loss {losses[0]:.3f} -> {losses[-1]:.3f} "
                  f"over {len(losses)} epochs")  # fmt: skip
    features["seconds"] = time.perf_counter() - start
    cache.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(features, cache)
    return features


def _score_one(method, config, data, split, features, y, subset, seed, device, lp_choices):
    """Test scores of one method on one labelled subset, and what validation chose.

    ``features`` are a probed method's features, or the pretrained embedder
    that ``3kg-finetune`` starts from; ``lp_choices`` the LP-FT epochs that
    validation chose for the fraction (None: choose now).
    """
    labelled = {"train": y["train"][subset], "valid": y["valid"]}
    if method in _methods.TRAINED_ON_LABELS:
        X = {name: data["X"][index] for name, index in split.items()}
        X["train"] = X["train"][subset]
        scores, _, lp_epochs = _methods.classifier_scores(
            config, X, labelled, seed, device, embedder=features, lp_choices=lp_choices
        )
        return scores, {"lp_epochs": lp_epochs}
    F = {"train": features["train"][subset], "valid": features["valid"], "test": features["test"]}
    scores, _, c = _protocol.fit_probe(F, labelled, seed)
    return scores, {"probe_C": c}


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


def _runs(method: str, data: dict, config: dict):
    """The (class set, fraction, seeds) a method is scored on.

    The 100 % subset is the same for every seed, so every method is fitted on it
    once (seed 0). Networks trained on the labels (``supervised``, ``3kg-finetune``)
    cost minutes per fit: they are trained on the primary class set only, and on
    the first ``network_seeds`` seeds' subsets.
    """
    class_sets = list(data["targets"])
    trained = method in _methods.TRAINED_ON_LABELS
    for class_set in class_sets[:1] if trained else class_sets:
        for fraction in config["fractions"]:
            seeds = config["seeds"][: config["network_seeds"]] if trained else config["seeds"]
            yield class_set, fraction, seeds[:1] if fraction == 1.0 else seeds


def run_method(method, config, data, split, out, device) -> tuple[list[dict], dict, float]:
    """Every (class set, fraction, seed) row of one method, its test scores, its wall time.

    The scores, ``{(class set, fraction): {seed: scores}}``, stay in memory for the
    paired comparisons (``compare_with_3kg``); results.json does not hold them.
    """
    start, rows, test_scores = time.perf_counter(), [], {}
    features = _method_input(method, config, data, split, out, device)
    runs = list(_runs(method, data, config))
    bar = _progress.bar(sum(len(seeds) for *_, seeds in runs), f"[{method}] labelled subsets",
                        "subset")  # fmt: skip
    for class_set, fraction, seeds in runs:
        klass = get_class_set(class_set)
        y = {name: data["targets"][class_set][index] for name, index in split.items()}
        lp_choices = None  # LP-FT or not: chosen on the first seed's validation, then kept
        for seed in seeds:
            subset = _protocol.labelled_subset(y["train"], fraction, seed)
            scores, chosen = _score_one(method, config, data, split, features, y, subset,
                                        seed, device, lp_choices)  # fmt: skip
            lp_choices = chosen.get("lp_epochs")
            test_scores.setdefault((class_set, fraction), {})[seed] = scores
            row = _protocol.evaluate(y["test"], scores, klass.codes, klass.abbreviations)
            row.update(method=method, class_set=class_set, fraction=fraction, seed=seed,
                       n_labelled=len(subset), **chosen)  # fmt: skip
            rows.append(row)
            _progress.update(bar)
        auc = np.mean([r["macro_auc"] for r in rows[-len(seeds) :]])
        tqdm.write(f"[{method}] {class_set} classes, {fraction:g} of labels: macro AUC {auc:.3f}")
    bar.close()
    return rows, test_scores, time.perf_counter() - start


def compare_with_3kg(test_scores: dict, data: dict, split: dict, n_resamples=1000) -> list[dict]:
    """Every other method against 3KG, per class set and fraction: paired bootstrap.

    ``test_scores`` is ``{method: {(class set, fraction): {seed: scores}}}``. Seeds are
    paired by labelled subset; a method scored on fewer seeds than 3KG (the networks
    trained once at 100 %) is paired on the seeds it shares. Every comparison draws the
    same resamples of the test records (one ``random_state``). Comparisons run on every
    core (numpy releases the GIL in the bootstrap's array work).
    """
    pairs = []
    for (class_set, fraction), baseline in test_scores.get("3kg", {}).items():
        for method, cells in test_scores.items():
            runs = cells.get((class_set, fraction), {})
            seeds = [seed for seed in baseline if seed in runs]
            if method != "3kg" and seeds:
                pairs.append((class_set, fraction, method, seeds, baseline, runs))
    y_test = {c: data["targets"][c][split["test"]] for c in data["targets"]}
    bar = _progress.bar(len(pairs), "[comparisons] paired bootstrap", "comparison")

    def compare(class_set, fraction, method, seeds, baseline, runs):
        result = paired_bootstrap_auc(
            y_test[class_set], [baseline[s] for s in seeds], [runs[s] for s in seeds],
            n_resamples=n_resamples, random_state=0,
        )  # fmt: skip
        return {
            "class_set": class_set, "fraction": fraction, "method": method,
            "baseline": "3kg", "delta": result.delta, "ci95": list(result.interval),
            "n_resamples": result.n_resamples, "seeds": seeds,
        }  # fmt: skip

    comparisons = []
    for comparison in Parallel(n_jobs=-1, prefer="threads", return_as="generator")(
        delayed(compare)(*pair) for pair in pairs
    ):
        comparisons.append(comparison)
        _progress.update(bar)
    bar.close()
    return comparisons


PROTOCOL = (
    "Protocol: patient-grouped 8/1/1 split of a 10-fold StratifiedGroupKFold (stratified on "
    "each record's rarest class). Each method is pretrained once on the unlabelled training "
    "split. For each label fraction and seed, the labelled subset is one random positive "
    "record of every class present in the training split plus uniformly drawn records up "
    "to the fraction; a linear probe (standardised features, one-vs-rest logistic "
    "regression, C in {0.01, 0.1, 1} chosen by validation macro AUC) is scored on "
    "the test split. Macro AUC averages the classes with both labels in the test split; "
    "a class absent from the labelled subset scores its prevalence (chance). The challenge "
    "score thresholds probabilities at 0.5. `supervised` trains the same encoder from "
    "random weights end to end on the labelled subset (sk3kg.ECGClassifier; up to "
    "`label_budget` training samples, at most `label_epochs` epochs, early stopping on the "
    "validation loss); `3kg-finetune` fine-tunes the pretrained 3KG encoder the same way, "
    "directly or after `lp_epochs` epochs of training the head alone (LP-FT), whichever "
    "scores the higher validation macro AUC on the first seed of each fraction. These two "
    "are trained on the primary class set only, and once at 100 % of labels (the subset is "
    "the same for every seed). Each method is compared with 3KG on the same test records "
    "by a paired bootstrap (sk3kg.metrics.paired_bootstrap_auc, 1,000 resamples of the "
    "test records, the same for every comparison): macro AUC of the method minus 3KG's, "
    "averaged over the labelled-subset seeds both share, with a 95 % percentile interval; "
    "an interval above zero reads better, below zero worse, across zero no detectable "
    "difference."
)


RESULTS = Path(__file__).parent / "results"  # every run's output; not tracked by git
REFERENCE = Path(__file__).parent / "reference"  # the runs the README and docs quote


def _print_plan(args, config) -> int:
    """``--plan``: what the run would do, without loading or simulating anything."""
    choice = config["data"]
    if choice == "auto":
        choice = "physionet2020" if _physionet_root(args.data_home).is_dir() else "synthetic"
    n = config["n_records"] if choice == "synthetic" else PHYSIONET2020_RECORDS
    what = ("simulated" if choice == "synthetic" else "PhysioNet/CinC 2020") + " records"
    size = f"{config['fs']:g} Hz x {config['duration']:g} s"
    data = {"name": choice, "n_records": n, "description": f"{n:,} {what}, {size}"}
    plan = _plan.build(config, _plan.expected_split(n), data, class_sets_for(args.classes))
    print(json.dumps(plan, indent=1, default=str) if args.json else _plan.describe(plan))
    return 0


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
    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else args.device
    device = "cpu" if device == "auto" else device
    class_sets = class_sets_for(args.classes)
    n_classes = len(get_class_set(args.classes).codes)
    expected = _plan.expected_split(config["n_records"])
    planned = _plan.estimate(config, expected, n_classes, len(class_sets))
    _progress.CLOCK = _progress.RunClock(planned)
    _progress.CLOCK.begin("data")
    data = load_data(args, config)
    print(data["description"])
    name = f"{data['name']}-{args.preset}"
    out = args.out or RESULTS / name
    out.mkdir(parents=True, exist_ok=True)
    primary = data["targets"][args.classes]
    split = _protocol.split_by_patient(primary, data["patients"], args.split_seed)
    np.savez(out / "split.npz", **split, patients=data["patients"])
    sizes = {k: len(v) for k, v in split.items()}
    _progress.CLOCK.planned.update(_plan.estimate(config, sizes, n_classes, len(class_sets)))
    times = {"data": _progress.CLOCK.end()}
    methods = [m for m in config["methods"] if m != "minirocket" or _methods.has_minirocket()]
    if len(methods) < len(config["methods"]):
        print("minirocket skipped: install the bench extra (pip install -e '.[bench]')")
    rows, test_scores, method_times = _run_methods(methods, config, data, split, out, device)
    times.update(method_times)
    _progress.CLOCK.begin("comparisons")
    comparisons = compare_with_3kg(test_scores, data, split)
    times["comparisons"] = _progress.CLOCK.end()
    times["total"] = _progress.CLOCK.elapsed()
    summary = {
        "data": data["name"], "preset": args.preset, "seeds": list(config["seeds"]),
        "command": "python " + shlex.join(["benchmarks/physionet2020.py", *sys.argv[1:]]),
        "data_description": data["description"], "protocol": PROTOCOL,
        "class_sets": class_sets, "times": times,
    }  # fmt: skip
    write_outputs(out, rows, comparisons, summary, config, split)
    reference = REFERENCE / name / "results.json"
    if reference.exists() and reference.resolve() != (out / "results.json").resolve():
        print(_report.versus_reference(rows, json.loads(reference.read_text()), args.classes))
    return 0


def write_outputs(out: Path, rows: list[dict], comparisons: list[dict], summary: dict,
                  config: dict, split: dict) -> None:  # fmt: skip
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
        names = get_class_set(primary).abbreviations
        _report.plot_per_class(out / "per_class_auc.png", rows, primary, names)
    except ImportError:
        print("plots skipped: matplotlib is not installed (pip install -e '.[bench]')")
    print(text)
    print(f"Results in {out}")


if __name__ == "__main__":
    sys.exit(main())
