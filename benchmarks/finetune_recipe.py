"""The fine-tuning recipe's ablation: which defaults of ``ECGClassifier`` pay, on validation only.

On the quick preset's data and split (``physionet2020.py``), the pretrained 3KG encoder
of that run (pretrained first if missing) is fine-tuned on the 1 % and 10 % labelled
subsets with one recipe change at a time. The validation split is cut in two halves by
record: the first chooses the probe's C and the epoch kept (``X_val``), the second
scores the result. The test split is never read.

    python benchmarks/finetune_recipe.py              # every variant, seeds 0-2 at 1 %
    python benchmarks/finetune_recipe.py --variants default,constant --fractions 0.1

Writes ``benchmarks/results/finetune-recipe/results.{json,md}``; a later run of other
variants adds its rows to those of earlier ones.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import _protocol
import numpy as np
import physionet2020
import torch
from _progress import SampleProgress
from tqdm.auto import tqdm

from sk3kg import ECGClassifier, ThreeKGEmbedder
from sk3kg.metrics import macro_auc

# Each variant changes one thing of ``BASE``: the recipe the ablation started from (the
# earlier defaults, with the warm-up and cosine schedule). ECGClassifier's defaults now are
# the variant "lr-3e-3-constant" (with patience 10).
BASE = {"lr": 1e-3, "encoder_lr_scale": 1.0, "weight_decay": 0.0, "lr_schedule": "cosine",
        "head_init": "probe", "patience": 5, "batch_size": 128}  # fmt: skip
VARIANTS = {
    "default": {},
    "encoder-lr-0.3": {"encoder_lr_scale": 0.3},
    "encoder-lr-0.1": {"encoder_lr_scale": 0.1},
    "constant-lr": {"lr_schedule": "constant"},
    "weight-decay-0.05": {"weight_decay": 0.05},
    "lr-3e-3": {"lr": 3e-3},
    "head-random": {"head_init": "random"},
    "half-epochs": {"epochs_factor": 0.5},
    "double-epochs": {"epochs_factor": 2.0},
    # Second round, after the first: a higher rate, and patience long enough for a
    # slower encoder to climb back over the probe after the warm-up's dip.
    "lr-3e-3-constant": {"lr": 3e-3, "lr_schedule": "constant"},
    "encoder-lr-0.3-patience-15": {"encoder_lr_scale": 0.3, "patience": 15},
    "supervised-lr-3e-3": {"head_init": "random", "embedder": None, "lr": 3e-3},
    "supervised-lr-3e-3-constant": {
        "head_init": "random",
        "embedder": None,
        "lr": 3e-3,
        "lr_schedule": "constant",
    },
    "supervised": {"head_init": "random", "embedder": None},
    "supervised-constant-lr": {"head_init": "random", "embedder": None, "lr_schedule": "constant"},
}
EPOCHS = {0.01: 60, 0.1: 30, 1.0: 5}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--fractions", default="0.01,0.1")
    parser.add_argument("--seeds", default="0,1,2", help="labelled-subset seeds at 1 %%")
    parser.add_argument("--out", type=Path, default=physionet2020.RESULTS / "finetune-recipe")
    return parser.parse_args(argv)


def quick_data():
    """The quick preset's records, targets, split and pretrained 3KG encoder."""
    config, data, split = physionet2020.study_data([])
    out = physionet2020.RESULTS / "synthetic-quick"
    _, encoder = physionet2020._cached("3kg", config, data, split, out)
    if not encoder.exists():
        physionet2020.method_features("3kg", config, data, split, out, "cpu")
    return data["split_X"], data["split_y"], ThreeKGEmbedder.from_pretrained(encoder)


def run(variant, fraction, seed, X, y, embedder) -> dict:
    params = {**BASE, **VARIANTS[variant]}
    subset = _protocol.labelled_subset(y["train"], fraction, seed)
    half = len(X["valid"]) // 2
    start = time.perf_counter()
    epochs = round(EPOCHS[fraction] * params.pop("epochs_factor", 1.0))
    clf = ECGClassifier(
        params.pop("embedder", embedder), max_epochs=epochs, precision="auto",
        random_state=seed, callbacks=[SampleProgress(f"  {variant}, {len(subset)} labelled")],
        **params,
    )  # fmt: skip
    clf.fit(X["train"][subset], y["train"][subset], X_val=X["valid"][:half],
            y_val=y["valid"][:half])  # fmt: skip
    auc = macro_auc(y["valid"][half:], clf.predict_proba(X["valid"][half:]))
    return {"variant": variant, "fraction": fraction, "seed": seed, "auc": auc,
            "start_auc_selection_half": clf.valid_scores_[0], "best_epoch": clf.best_epoch_,
            "epochs_run": len(clf.history_), "probe_C": clf.probe_C_,
            "seconds": time.perf_counter() - start}  # fmt: skip


def table(rows: list[dict]) -> str:
    fractions = sorted({r["fraction"] for r in rows})
    head = " | ".join(f"{100 * f:g} %: AUC (epochs kept; s per fit)" for f in fractions)
    lines = [f"| variant | {head} |"]
    lines.append("|---" * (len(fractions) + 1) + "|")
    for variant in dict.fromkeys(r["variant"] for r in rows):
        cells = []
        for f in fractions:
            chosen = [r for r in rows if r["variant"] == variant and r["fraction"] == f]
            aucs = [r["auc"] for r in chosen]
            if not aucs:
                cells.append("n/a")
                continue
            spread = f" ± {np.std(aucs):.3f}" if len(aucs) > 1 else ""
            kept = ",".join(str(r["best_epoch"]) for r in chosen)
            cells.append(f"{np.mean(aucs):.3f}{spread} ({kept}; "
                         f"{np.mean([r['seconds'] for r in chosen]):.0f} s)")  # fmt: skip
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _merged(path: Path, rows: list[dict]) -> list[dict]:
    """An earlier run's rows (another round of variants) with this run's, which win."""
    if not path.exists():
        return rows
    key = lambda r: (r["variant"], r["fraction"], r["seed"])  # noqa: E731
    mine = {key(r) for r in rows}
    earlier = json.loads(path.read_text())["rows"]
    return [r for r in earlier if key(r) not in mine] + rows


def main(argv=None) -> int:
    args = parse_args(argv)
    X, y, embedder = quick_data()
    seeds = [int(s) for s in args.seeds.split(",")]
    fractions = [float(f) for f in args.fractions.split(",")]
    runs = [(v, f, s) for f in fractions for v in args.variants.split(",")
            for s in (seeds if f == 0.01 else seeds[:1])]  # fmt: skip
    rows = []
    for variant, fraction, seed in tqdm(runs, desc="recipe variants", unit="fit"):
        rows.append(run(variant, fraction, seed, X, y, embedder))
        tqdm.write(json.dumps(rows[-1]))
    rows = _merged(args.out / "results.json", rows)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps({"base": BASE, "epochs": EPOCHS,
        "torch_threads": torch.get_num_threads(), "rows": rows}, indent=1))  # fmt: skip
    text = table(rows)
    (args.out / "results.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
