"""How long to pretrain: the 3KG probe on validation against the records pretraining has seen.

On the quick preset's data and split (``physionet2020.py``), 3KG pretrains once per
variant (whole records or crops, where the two views' windows lie, the encoder) on
32,000 training records, up to the largest budget; the encoder is kept each time
pretraining has seen a budget's number of records. Each kept encoder embeds the
labelled subsets of the training split (1 %: seeds 0-2; 10 %: seed 0) and the
validation split, which is cut in two halves by record: the probe's C is chosen on the
first and the probe scored on the second. The learning rate is constant, so a budget's
encoder is the one a run of that budget would have trained. The test split is never read.

    python benchmarks/pretrain_budget.py                          # every variant
    python benchmarks/pretrain_budget.py --variants full,crop-5s --budgets 12000,48000
    python benchmarks/pretrain_budget.py --replot --out DIR --before OLDER_DIR  # dashed: OLDER_DIR

Writes ``benchmarks/results/pretrain-budget/results.{json,md}`` and ``budget.png``; a
later run of other variants adds its rows to those of earlier ones.
"""

import argparse
import copy
import json
import math
import sys
import time
from pathlib import Path

import _methods
import _protocol
import numpy as np
import physionet2020
import torch
from skorch.callbacks import Callback
from tqdm.auto import tqdm

from sk3kg import fit_linear_probe
from sk3kg.metrics import macro_auc

# Each variant changes the quick preset's pretraining (its config keys, or the embedder's
# parameters under "embedder"); "budgets" caps a costly variant's largest budget.
VARIANTS = {
    "full": {"crop": None},  # the preset's own crop otherwise (quick: 5 s since this study)
    "crop-5s": {"crop": 5.0},
    "crop-5s-same": {"crop": 5.0, "crop_placement": "same"},
    "crop-2.5s": {"crop": 2.5},
    "shared-crop-5s": {"crop": 5.0, "embedder": {"lead_mode": "shared"}, "budgets": 12_000},
}
BUDGETS = (12_000, 24_000, 48_000, 96_000)
N_PRETRAIN = 32_000
SUBSETS = ((0.01, 0), (0.01, 1), (0.01, 2), (0.1, 0))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--budgets", default=",".join(map(str, BUDGETS)))
    parser.add_argument("--preset", default="quick", help="whose data and split (smoke: seconds)")
    parser.add_argument("--replot", action="store_true", help="redraw the table and figure")
    parser.add_argument("--out", type=Path, default=physionet2020.RESULTS / "pretrain-budget")
    parser.add_argument(
        "--before",
        type=Path,
        help="an earlier run's folder: its curves of the same variants, dashed, in the figure",
    )
    return parser.parse_args(argv)


class KeepEncoderAt(Callback):
    """Keep a copy of the encoder's state each time training has seen a budget's records."""

    def __init__(self, budgets) -> None:
        self.budgets = sorted(budgets)

    def initialize(self):
        self.seen, self.kept, self.started = 0, {}, time.perf_counter()
        return self

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if not training:
            return
        self.seen += len(batch[0])
        due = [b for b in self.budgets if b not in self.kept and self.seen >= b]
        if due:
            loss = net.history[-1, "batches", -1, "train_loss"]
            state = copy.deepcopy(net.module_.encoder.state_dict())
            for budget in due:
                self.kept[budget] = {"state": state, "loss": loss, "seen": self.seen,
                                     "seconds": time.perf_counter() - self.started}  # fmt: skip


def probe_scores(embedder, X, y, subsets) -> list[dict]:
    """Validation-half macro AUC of the probe on each labelled subset's features."""
    half = len(X["valid"]) // 2
    valid = embedder.transform(X["valid"])
    rows = []
    for (fraction, seed), index in subsets.items():
        probe = fit_linear_probe(
            embedder.transform(X["train"][index]), y["train"][index], valid[:half],
            y["valid"][:half], random_state=seed,
        )  # fmt: skip
        auc = macro_auc(y["valid"][half:], probe.logits(valid[half:].astype(np.float64)))
        rows.append({"fraction": fraction, "seed": seed, "auc": auc, "probe_C": probe.C})
    return rows


def run_variant(name, budgets, X, y, config, subsets) -> list[dict]:
    variant = dict(VARIANTS[name])
    params, cap = variant.pop("embedder", {}), variant.pop("budgets", max(budgets))
    budgets = [b for b in budgets if b <= cap]
    if not budgets:
        tqdm.write(f"[{name}] skipped: every budget asked is above its cap of {cap:,} records")
        return []
    n_pool = min(N_PRETRAIN, max(budgets))
    pool = X["train"][_methods._draw(len(X["train"]), n_pool, seed=0)]
    epochs = math.ceil(max(budgets) / len(pool))
    settings = {**config, **variant}
    embedder = _methods.embedder_for("3kg", settings, "cpu", epochs, pool.shape[2])
    keep = KeepEncoderAt(budgets)
    embedder.set_params(**params, callbacks=[*embedder.callbacks, keep])
    embedder.fit(pool)
    kept = dict(embedder.net_.callbacks_)["KeepEncoderAt"].kept
    rows = []
    for budget in tqdm(budgets, desc=f"[{name}] probes", unit="budget"):
        embedder.encoder_.load_state_dict(kept[budget]["state"])
        for row in probe_scores(embedder, X, y, subsets):
            rows.append({"variant": name, "records_seen": budget, **row,
                         "train_loss": kept[budget]["loss"],
                         "pretrain_seconds": kept[budget]["seconds"]})  # fmt: skip
            tqdm.write(json.dumps(rows[-1]))
    return rows


def table(rows: list[dict]) -> str:
    budgets = sorted({r["records_seen"] for r in rows})
    lines = ["| variant | records seen | 1 % (seeds 0-2) | 10 % (seed 0) | loss, last batch | "
             "pretraining |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    for variant in sorted({r["variant"] for r in rows}, key=list(VARIANTS).index):
        for budget in budgets:
            mine = [r for r in rows if r["variant"] == variant and r["records_seen"] == budget]
            if not mine:
                continue
            one = [r["auc"] for r in mine if r["fraction"] == 0.01]
            ten = [r["auc"] for r in mine if r["fraction"] == 0.1]
            lines.append(f"| {variant} | {budget:,} | {np.mean(one):.3f} ± {np.std(one):.3f} | "
                         f"{np.mean(ten):.3f} | {mine[0]['train_loss']:.3f} | "
                         f"{mine[0]['pretrain_seconds']:.0f} s |")  # fmt: skip
    return "\n".join(lines)


def plot(path: Path, rows: list[dict], before: list[dict] = ()) -> None:
    """Validation AUC against budget per variant; ``before`` rows of the same variants dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharex=True)
    for ax, fraction in zip(axes, (0.01, 0.1), strict=True):
        variants = sorted({r["variant"] for r in rows}, key=list(VARIANTS).index)
        for i, variant in enumerate(variants):
            curves = ((variant, rows, "-"), (f"{variant}, before", before, "--"))
            for label, source, style in curves:
                mine = [r for r in source if r["variant"] == variant and r["fraction"] == fraction]
                budgets = sorted({r["records_seen"] for r in mine})
                means = [np.mean([r["auc"] for r in mine if r["records_seen"] == b])
                         for b in budgets]  # fmt: skip
                if means:
                    ax.plot(budgets, means, style, marker="o", color=f"C{i}", label=label)
        budgets = sorted({r["records_seen"] for r in [*rows, *before]})
        ax.set_xscale("log", base=2)
        ax.set_xticks(budgets, [f"{b / 1000:g}k" for b in budgets])
        ax.minorticks_off()
        title = f"3KG probe, {100 * fraction:g} % of labels"
        ax.set(xlabel="records seen in pretraining", ylabel="validation macro AUC", title=title)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _merged(path: Path, rows: list[dict]) -> list[dict]:
    """An earlier run's rows (other variants) with this run's, which win."""
    if not path.exists():
        return rows
    mine = {r["variant"] for r in rows}
    return [r for r in json.loads(path.read_text())["rows"] if r["variant"] not in mine] + rows


def main(argv=None) -> int:
    args = parse_args(argv)
    before = json.loads((args.before / "results.json").read_text())["rows"] if args.before else []
    if args.replot:
        return report(args.out, json.loads((args.out / "results.json").read_text()), before)
    config, data, _ = physionet2020.study_data(["--preset", args.preset])
    X, y = data["split_X"], data["split_y"]
    subsets = {(f, s): _protocol.labelled_subset(y["train"], f, s) for f, s in SUBSETS}
    budgets = [int(b) for b in args.budgets.split(",")]
    rows = []
    for name in args.variants.split(","):
        rows += run_variant(name, budgets, X, y, config, subsets)
    rows = _merged(args.out / "results.json", rows)
    args.out.mkdir(parents=True, exist_ok=True)
    meta = {"n_pretrain": N_PRETRAIN, "subsets": SUBSETS, "cpu": physionet2020._cpu_name(),
            "torch_threads": torch.get_num_threads(),
            "variants": {k: str(v) for k, v in VARIANTS.items()}}  # fmt: skip
    (args.out / "results.json").write_text(json.dumps({**meta, "rows": rows}, indent=1))
    return report(args.out, {**meta, "rows": rows}, before)


def report(out: Path, results: dict, before: list[dict] = ()) -> int:
    """Write the table and the figure of a run's results; print the table."""
    text = table(results["rows"])
    (out / "results.md").write_text(text + "\n")
    plot(out / "budget.png", results["rows"], before)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
