"""Tables and figures of the label-efficiency study."""

import csv
import warnings
from pathlib import Path

import numpy as np
from _methods import SELF_SUPERVISED


def _cells(rows: list[dict], class_set: str, key: str = "macro_auc") -> dict:
    """``{(method, fraction): [value per seed]}`` for one class set."""
    cells: dict = {}
    for row in rows:
        if row["class_set"] == class_set:
            cells.setdefault((row["method"], row["fraction"]), []).append(row[key])
    return cells


def percent(fraction: float) -> str:
    """A label fraction as the README writes it: ``0.01`` -> ``"1 %"``."""
    return f"{100 * fraction:g} %"


def _fmt(values) -> str:
    values = np.asarray(values, dtype=float)
    if np.isnan(values).all():
        return "n/a"
    return f"{np.nanmean(values):.3f} ± {np.nanstd(values):.3f}"


def relative_gains(rows: list[dict], class_set: str) -> dict:
    """3KG's relative gain in mean macro AUC over the best other self-supervised method."""
    cells = _cells(rows, class_set)
    gains = {}
    for fraction in sorted({f for _, f in cells}):
        others = {
            m: np.mean(v) for (m, f), v in cells.items()
            if f == fraction and m in SELF_SUPERVISED and not m.startswith("3kg")
        }  # fmt: skip
        if ("3kg", fraction) in cells and others:
            best = max(others, key=others.get)
            ours = np.mean(cells["3kg", fraction])
            gains[fraction] = (best, 100 * (ours - others[best]) / others[best])
    return gains


def markdown_table(rows: list[dict], class_set: str, key: str = "macro_auc") -> str:
    cells = _cells(rows, class_set, key)
    methods = list(dict.fromkeys(m for m, _ in cells))
    fractions = sorted({f for _, f in cells})
    head = "| method | " + " | ".join(f"{percent(f)} of labels" for f in fractions) + " |"
    lines = [head, "|---" * (len(fractions) + 1) + "|"]
    for method in methods:
        values = [_fmt(cells.get((method, f), [np.nan])) for f in fractions]
        lines.append(f"| {method} | " + " | ".join(values) + " |")
    return "\n".join(lines)


_BASELINE_NAMES = {"3kg": "3KG"}


def verdict(low: float, high: float) -> str:
    """What an interval of (method - baseline) says about the method."""
    if low > 0:
        return "better"
    if high < 0:
        return "worse"
    return "no detectable difference"


def comparison_table(comparisons: list[dict], class_set: str, baseline: str = "3kg") -> str:
    """The paired bootstrap comparisons with ``baseline`` of one class set, by fraction."""
    chosen = [c for c in comparisons if c["class_set"] == class_set and c["baseline"] == baseline]
    name = _BASELINE_NAMES.get(baseline, baseline)
    lines = [f"| fraction | method | seeds | method - {name} | 95 % interval "
             f"| relative to {name} |"]  # fmt: skip
    lines.append("|---" * 6 + "|")
    for c in sorted(chosen, key=lambda c: c["fraction"]):  # stable: method order kept
        low, high = c["ci95"]
        seeds = ", ".join(map(str, c["seeds"]))
        lines.append(f"| {percent(c['fraction'])} | {c['method']} | {seeds} | {c['delta']:+.3f} | "
                     f"[{low:+.3f}, {high:+.3f}] | {verdict(low, high)} |")  # fmt: skip
    return "\n".join(lines)


def write_markdown(path: Path, rows: list[dict], summary: dict, comparisons=()) -> str:
    """``results.md``: the configuration, tables per class set, 3KG's relative gain, and
    each method's paired comparison with 3KG."""
    parts = [f"# Label efficiency: {summary['data']} data, preset `{summary['preset']}`", ""]
    parts += [f"Command: `{summary['command']}`", "", summary["data_description"], ""]
    parts += [summary["protocol"], ""]
    for class_set in summary["class_sets"]:
        parts += [f"## Macro AUC, {class_set} classes (mean ± std over seeds {summary['seeds']})"]
        parts += ["", markdown_table(rows, class_set), ""]
        for fraction, (best, gain) in relative_gains(rows, class_set).items():
            parts.append(f"- {percent(fraction)} of labels: 3KG vs best other self-supervised "
                         f"({best}): {gain:+.1f} % relative")  # fmt: skip
        baselines = dict.fromkeys(c["baseline"] for c in comparisons
                                  if c["class_set"] == class_set)  # fmt: skip
        for baseline in baselines:
            name = _BASELINE_NAMES.get(baseline, baseline)
            n_resamples = comparisons[0]["n_resamples"]
            parts += ["", f"### Paired bootstrap against {name}, {class_set} classes", ""]
            parts += [f"Test macro AUC, method - {name}, averaged over the seeds both share; "
                      f"percentile interval over {n_resamples} resamples of the test "
                      f"records.", ""]  # fmt: skip
            parts += [comparison_table(comparisons, class_set, baseline)]
        if any("challenge_score" in r for r in rows if r["class_set"] == class_set):
            parts += ["", f"### Challenge score, {class_set} classes", ""]
            parts += [markdown_table(rows, class_set, "challenge_score"), ""]
    if any("epochs_run" in r for r in rows):
        parts += ["## Networks trained on labels: how long", "", training_table(rows), ""]
    parts += ["## Wall time by stage", ""]
    if "cpu" in summary:
        parts += [f"On {summary['cpu']} ({summary['torch_threads']} torch threads); networks "
                  f"trained at {summary['machine_speed']:.2f}x the plan's reference machine "
                  "(2-core AMD EPYC, float32), measured at the start of the run.", ""]  # fmt: skip
    parts += [stage_table(summary["times"], summary.get("planned"),
                          summary.get("planned_reference_machine"))]  # fmt: skip
    text = "\n".join(parts) + "\n"
    path.write_text(text)
    return text


def training_table(rows: list[dict]) -> str:
    """Per network and fraction: epochs run of the most allowed, the epoch kept (0: the
    start), the validation macro AUC at the start and kept, and seconds per fit."""
    lines = ["| method | fraction | epochs run / max | epoch kept | validation AUC, start -> "
             "kept | seconds per fit |", "|---|---|---|---|---|---|"]  # fmt: skip
    cells: dict = {}
    for row in rows:
        if "epochs_run" in row:
            cells.setdefault((row["method"], row["fraction"]), []).append(row)
    for (method, fraction), runs in cells.items():
        run_epochs = ", ".join(str(r["epochs_run"]) for r in runs)
        kept = ", ".join(str(r["epochs_kept"]) for r in runs)
        start = np.mean([r["valid_score_start"] for r in runs])
        end = np.mean([r["valid_score_kept"] for r in runs])
        seconds = np.mean([r["fit_seconds"] for r in runs])
        lines.append(f"| {method} | {percent(fraction)} | {run_epochs} / {runs[0]['max_epochs']} "
                     f"| {kept} | {start:.3f} -> {end:.3f} | {seconds:.0f} |")  # fmt: skip
    return "\n".join(lines)


def stage_table(times: dict, planned=None, reference=None) -> str:
    """Each stage's wall time, its share of the run's, and the plan's estimates: for this
    machine (its measured speed) and for the reference machine."""
    total = times["total"]
    planned, reference = planned or {}, reference or {}

    def estimate(plan, stage):
        seconds = sum(plan.values()) if stage == "total" else plan.get(stage)
        return "" if not plan or seconds is None else f"{seconds:.0f}"

    lines = ["| stage | seconds | share | planned here | planned, reference machine |",
             "|---|---|---|---|---|"]  # fmt: skip
    for stage, seconds in times.items():
        share = 100 * seconds / total
        lines.append(f"| {stage} | {seconds:.0f} | {share:.0f} % | {estimate(planned, stage)} "
                     f"| {estimate(reference, stage)} |")  # fmt: skip
    return "\n".join(lines)


def versus_reference(rows: list[dict], reference: dict, class_set: str) -> str:
    """This run's mean macro AUC beside the reference run's, per method and fraction."""
    ours, theirs = _cells(rows, class_set), _cells(reference["results"], class_set)
    lines = [f"This run against the reference ({reference['command']}, seeds "
             f"{reference['seeds']}), mean macro AUC on the {class_set} classes:", "",
             "| method | fraction | this run | reference | difference |",
             "|---|---|---|---|---|"]  # fmt: skip
    for (method, fraction), values in ours.items():
        if (method, fraction) in theirs:
            mine, ref = np.mean(values), np.mean(theirs[method, fraction])
            lines.append(f"| {method} | {percent(fraction)} | {mine:.3f} | {ref:.3f} "
                         f"| {mine - ref:+.3f} |")  # fmt: skip
    return "\n".join(lines)


def write_per_class(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["class_set", "method", "fraction", "seed", "class", "auc"])
        for row in rows:
            for name, auc in row["per_class_auc"].items():
                writer.writerow([row["class_set"], row["method"], row["fraction"], row["seed"],
                                 name, f"{auc:.4f}"])  # fmt: skip


def plot_auc_vs_fraction(path: Path, rows: list[dict], class_set: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells = _cells(rows, class_set)
    fig, ax = plt.subplots(figsize=(6, 4))
    for method in dict.fromkeys(m for m, _ in cells):
        fractions = sorted(f for m, f in cells if m == method)
        means = [np.mean(cells[method, f]) for f in fractions]
        stds = [np.std(cells[method, f]) for f in fractions]
        ax.errorbar(fractions, means, yerr=stds, marker="o", capsize=3, label=method)
    ax.set(xscale="log", xlabel="fraction of training labels", ylabel="test macro AUC",
           title=f"Label efficiency ({class_set} classes)")  # fmt: skip
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_per_class(path: Path, rows: list[dict], class_set: str, names: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fraction = min(row["fraction"] for row in rows)
    methods = list(dict.fromkeys(row["method"] for row in rows))
    grid = np.full((len(names), len(methods)), np.nan)
    for j, method in enumerate(methods):
        chosen = [r["per_class_auc"] for r in rows if r["method"] == method
                  and r["fraction"] == fraction and r["class_set"] == class_set]  # fmt: skip
        if chosen:
            with warnings.catch_warnings():  # a class without any defined AUC stays NaN (grey)
                warnings.simplefilter("ignore", RuntimeWarning)
                grid[:, j] = np.nanmean([[c[n] for n in names] for c in chosen], axis=0)
    fig, ax = plt.subplots(figsize=(1.6 + 1.0 * len(methods), 0.3 * len(names) + 1.5))
    # The whole AUC range, centred on chance: below 0.5 is as visible as above it.
    cmap = plt.get_cmap("RdBu").copy()
    cmap.set_bad("lightgrey")
    image = ax.imshow(np.ma.masked_invalid(grid), vmin=0.0, vmax=1.0, cmap=cmap, aspect="auto")
    for (i, j), value in np.ndenumerate(grid):
        if np.isfinite(value):
            dark = abs(value - 0.5) > 0.3
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6,
                    color="white" if dark else "black")  # fmt: skip
    ax.set_xticks(range(len(methods)), methods, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_title(f"Test AUC per class at {percent(fraction)} of labels")
    fig.colorbar(image, ax=ax, label="AUC (0.5: chance; grey: undefined)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
