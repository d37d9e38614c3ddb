"""What a run of the label-efficiency study will do and how long it will take.

``estimate`` prices each stage of a run from its configuration and split sizes, with
the rates below, measured on the machine the presets are sized for; ``describe``
prints the plan (``physionet2020.py --plan``). The run's progress bars use the same
estimate for the whole run's time left (``_progress.RunClock``).
"""

import numpy as np
from _methods import (
    SELF_SUPERVISED,
    TRAINED_ON_LABELS,
    crop_settings,
    label_epochs,
    sample_schedule,
)
from _protocol import COMPARISONS, runs

from sk3kg import ECGClassifier, ThreeKGEmbedder
from sk3kg.datasets import class_prevalence, get_class_set
from sk3kg.nn import build_encoder

# Throughputs on the reference machine: 2 cores (AMD EPYC, AVX2, no native bfloat16),
# float32, nothing else running; measured by a quick-preset run (stage times in its
# results.json). A "kilosample record" is a record of 1,000 samples per lead. The network
# rates (NETWORK) are scaled by this machine's measured training speed against "fit"
# (``machine_speed``): CPUs differ by several times, and bfloat16 where it is native.
RATES = {
    "generate": 300.0,  # simulated records/s (make_synthetic_ecgs, both cores)
    "pretrain": 170.0,  # contrastive training, kilosample records/s (two views each)
    "embed": 1130.0,  # encoder inference, kilosample records/s
    "fit": 360.0,  # supervised training, kilosample records/s
    "minirocket": 375.0,  # MiniRocket transform with 1,000 kernels, kilosample records/s
    "probe": 7e8,  # Newton-Cholesky: (records x features^2 x classes)/s, for the three C
    "probe_lbfgs": 3.1e6,  # L-BFGS (MiniRocket's features): (records x features x classes)/s
    "bootstrap": 1.0e8,  # (test records x classes x resamples) per second, per run
}


NETWORK = ("pretrain", "embed", "fit")


def machine_speed(config: dict, device: str = "cpu") -> float:
    """This machine's network training speed as a multiple of the reference machine's.

    Times a short ``ECGClassifier`` fit (the run's encoder size, record length, batch
    and precision; 256 random records, 2 epochs) and divides its rate by ``RATES["fit"]``.
    Takes a few seconds.
    """
    length = round(config["fs"] * config["duration"])
    X = np.random.default_rng(0).normal(size=(256, 12, length)).astype(np.float32)
    y = np.eye(2, dtype=int)[np.arange(256) % 2]
    size = {k: config[k] for k in ("width", "depth")}
    clf = ECGClassifier(ThreeKGEmbedder(max_epochs=0, **size), max_epochs=2,
                        batch_size=config["batch_size"], validation_fraction=None,
                        device=device, precision=config["precision"], random_state=0)  # fmt: skip
    clf.fit(X, y)
    rate = len(X) * _kilo(config) / clf.history_[-1, "dur"]
    return rate / RATES["fit"]


def expected_split(n_records: int) -> dict:
    """Approximate split sizes of ``n_records`` (8/1/1 folds) before the data exist."""
    valid = test = round(n_records / 10)
    return {"train": n_records - valid - test, "valid": valid, "test": test}


def labelled_sizes(n_train: int, fractions) -> dict:
    """Labelled records per fraction (``_protocol.labelled_subset``'s rule, sizes only)."""
    return {f: max(1, round(f * n_train)) for f in fractions}


def expected_positives(class_set: str, n_labelled: int) -> np.ndarray:
    """Expected positives per class in a labelled subset: prevalence, and at least one."""
    return np.maximum(1, np.round(class_prevalence(class_set) * n_labelled)).astype(int)


def _kilo(config: dict) -> float:
    return config["fs"] * config["duration"] / 1000


def _view_kilo(method: str, config: dict) -> float:
    """Kilosamples per view in pretraining: the crop's length, else the record's."""
    crop = crop_settings(method, config, round(config["fs"] * config["duration"])).get("crop")
    return _kilo(config) if crop is None else crop / 1000


def _probe_seconds(method, config, n_labelled, n_classes, dim, class_sets) -> float:
    fits = sum(n_labelled[f] * len(seeds) for _, f, seeds in runs(method, class_sets, config))
    if dim <= 256:  # the solver _protocol._probe picks
        return fits * dim**2 * n_classes / RATES["probe"]
    return fits * dim * n_classes / RATES["probe_lbfgs"]


def _bootstrap_runs(config: dict, class_sets: list) -> int:
    """Score matrices the comparisons (``_protocol.COMPARISONS``) resample: each of a
    baseline's runs once, and each shared seed's run of every method compared with it."""
    total = 0
    for baseline, methods in COMPARISONS:
        if baseline not in config["methods"]:
            continue
        reference = {(c, f): set(seeds) for c, f, seeds in runs(baseline, class_sets, config)}
        shared = [len(reference.get((c, f), set()) & set(seeds))
                  for method in config["methods"]
                  if method != baseline and (methods is None or method in methods)
                  for c, f, seeds in runs(method, class_sets, config)]  # fmt: skip
        if any(shared):
            total += sum(shared) + sum(len(seeds) for seeds in reference.values())
    return total


def _network_seconds(method, config, sizes, n_labelled, rates) -> float:
    """Training for the most epochs (no early stop), each epoch's validation pass, the
    probe's embeddings (``3kg-finetune``), predictions."""
    kilo, seconds = _kilo(config), 0.0
    stop = min(sizes["valid"], config["stop_records"] or sizes["valid"])
    fits = {f: len(seeds) for c, f, seeds in runs(method, ["primary"], config)}
    for fraction, n in n_labelled.items():
        epochs = label_epochs(config, fraction)
        per_fit = epochs * n * kilo / rates["fit"] + (epochs + 1) * stop * kilo / rates["embed"]
        if method == "3kg-finetune":
            per_fit += n * kilo / rates["embed"]
        per_fit += (sizes["valid"] + sizes["test"]) * kilo / rates["embed"]
        seconds += fits.get(fraction, 0) * per_fit
    return seconds


def estimate(config: dict, sizes: dict, n_classes: int, class_sets: list, speed=1.0) -> dict:
    """Planned seconds per stage: data, each method in ``config["methods"]``, comparisons.

    ``speed`` scales the network rates (``machine_speed``; 1.0: the reference machine).
    """
    kilo, n = _kilo(config), sum(sizes.values())
    rates = {k: v * (speed if k in NETWORK else 1.0) for k, v in RATES.items()}
    n_labelled = labelled_sizes(sizes["train"], config["fractions"])
    dim = build_encoder(12, width=config["width"], depth=config["depth"]).embedding_dim
    plan = {"data": n / RATES["generate"] * kilo}
    for method in config["methods"]:
        seconds = 0.0
        if method in SELF_SUPERVISED:
            epochs, records = sample_schedule(config["pretrain_records"], sizes["train"])
            seconds += epochs * records * _view_kilo(method, config) / rates["pretrain"]
        if method in (*SELF_SUPERVISED, "random"):
            seconds += n * kilo / rates["embed"]
        if method == "minirocket":
            seconds += n * kilo * config["minirocket_kernels"] / 1000 / RATES["minirocket"]
        if method in TRAINED_ON_LABELS:
            seconds += _network_seconds(method, config, sizes, n_labelled, rates)
        else:
            width = config["minirocket_kernels"] if method == "minirocket" else dim
            seconds += _probe_seconds(method, config, n_labelled, n_classes, width, class_sets)
        plan[method] = seconds
    resampled = _bootstrap_runs(config, class_sets) * sizes["test"] * n_classes * 1000
    plan["comparisons"] = resampled / RATES["bootstrap"]
    return plan


def _budget(method: str, config: dict, n_train: int) -> str:
    if method in SELF_SUPERVISED:
        epochs, records = sample_schedule(config["pretrain_records"], n_train)
        crop = crop_settings(method, config, round(config["fs"] * config["duration"]))
        views = "two views of the whole record"
        if crop:
            views = (f"views from {crop['crop_placement']} windows of "
                     f"{crop['crop'] / config['fs']:g} s")  # fmt: skip
        return f"pretraining: {epochs} epoch(s) x {records:,} records, {views}"
    if method in TRAINED_ON_LABELS:
        seeds = min(len(config["seeds"]), config["network_seeds"])
        epochs = ", ".join(f"{f:.0%}: {label_epochs(config, f)}" for f in config["fractions"])
        start = "from the exact probe" if method == "3kg-finetune" else "from random weights"
        return (f"{start}, <= epochs per fit ({epochs}), best validation macro AUC kept "
                f"(patience {config['patience']}), {seeds} seed(s) below 100 %")  # fmt: skip
    if method == "minirocket":
        return f"{config['minirocket_kernels']:,} kernels, no training"
    return "untrained encoder, no training"


def build(config, sizes, data, class_sets, n_classes, speed=1.0) -> dict:
    """The plan as data: configuration, datasets, sizes, labelled counts, budgets, estimate."""
    primary = class_sets[0]
    n_labelled = labelled_sizes(sizes["train"], config["fractions"])
    seconds = estimate(config, sizes, n_classes, class_sets, speed)
    plan = {
        "config": {k: v for k, v in config.items() if k != "callbacks"},
        "data": data,
        "split_sizes": sizes,
        "labelled": {str(f): n for f, n in n_labelled.items()},
        "methods": {m: _budget(m, config, sizes["train"]) for m in config["methods"]},
        "machine_speed": speed,
        "estimated_seconds": {**seconds, "total": sum(seconds.values())},
    }
    if data["name"] != "ptbxl":  # a PTB-XL task's prevalences are known once it is loaded
        klass = get_class_set(primary)
        positives = {str(f): expected_positives(primary, n).tolist() for f, n in n_labelled.items()}
        plan["positives_per_class"] = {"class_set": primary, "expected": positives,
                                       "classes": list(klass.abbreviations)}  # fmt: skip
    return plan


def describe(plan: dict) -> str:
    """The plan as text, for a person deciding whether to start the run."""
    from _progress import minutes

    c, sizes = plan["config"], plan["split_sizes"]
    lines = [f"Data: {plan['data']['description']}", ""]
    lines += ["Configuration: " + ", ".join(f"{k}={v}" for k, v in c.items()), ""]
    split = ", ".join(f"{k} {v:,}" for k, v in sizes.items())
    lines.append(f"Split (patient-grouped 8/1/1): {split}")
    lines.append("Labelled records: " + ", ".join(
        f"{100 * float(f):g} % -> {n:,}" for f, n in plan["labelled"].items()))  # fmt: skip
    pc = plan.get("positives_per_class")
    if pc:
        lines += ["", f"Positives per class in the labelled subset ({pc['class_set']} classes; "
                  "expected from the class prevalences, each class at least one):"]  # fmt: skip
        lines.append("  class   " + "".join(f"{float(f):>8g}" for f in pc["expected"]))
        for i, name in enumerate(pc["classes"]):
            counts = "".join(f"{p[i]:>8,}" for p in pc["expected"].values())
            lines.append(f"  {name:<7} {counts}")
    lines += ["", "Methods and budgets:"]
    lines += [f"  {m:<13} {budget}" for m, budget in plan["methods"].items()]
    lines += ["", f"Estimated time on this machine (networks train at {plan['machine_speed']:.2f}x "
              "the reference 2-core AMD EPYC in float32, measured just now):"]  # fmt: skip
    lines += [f"  {stage:<13} {minutes(s)}" for stage, s in plan["estimated_seconds"].items()]
    return "\n".join(lines)
