"""One method under two configurations of a preset, on the same split: paired bootstrap.

How much did a change of the main job move a method? Both configurations run the
method (its features cached as ``physionet2020.py`` caches them, so a configuration a
run already used is not pretrained again) on the preset's split and labelled subsets;
their test macro AUCs are compared per fraction by a paired bootstrap over the test
records (``sk3kg.metrics.paired_bootstrap_auc``: after minus before, averaged over the
seeds, 1,000 resamples). Values are read as Python literals.

    python benchmarks/compare_configs.py --method 3kg --before crop=None pretrain_records=12000

Writes ``benchmarks/results/compare-<method>/results.{json,md}``.
"""

import argparse
import ast
import json
import sys
from pathlib import Path

import physionet2020

from sk3kg.metrics import paired_bootstrap_auc


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", default="3kg")
    parser.add_argument("--preset", default="quick")
    parser.add_argument("--before", nargs="*", default=[], help="KEY=VALUE config overrides")
    parser.add_argument("--after", nargs="*", default=[], help="KEY=VALUE (default: the preset)")
    parser.add_argument("--out", type=Path, default=None)
    return parser.parse_args(argv)


def overrides(pairs: list[str]) -> dict:
    """``["crop=None", "pretrain_records=12000"]`` as ``{"crop": None, ...}``."""
    parsed = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        parsed[key] = ast.literal_eval(value)
    return parsed


def main(argv=None) -> int:
    args = parse_args(argv)
    config, data, split = physionet2020.study_data(["--preset", args.preset])
    run_out = physionet2020.RESULTS / f"{data['name']}-{args.preset}"
    runs, scores = {}, {}
    for name, changes in (("before", overrides(args.before)), ("after", overrides(args.after))):
        settings = {**config, **changes, "methods": (args.method,)}
        rows, scores[name], _ = physionet2020.run_method(args.method, settings, data, split,
                                                         run_out, "cpu")  # fmt: skip
        kept = [{k: r[k] for k in ("class_set", "fraction", "seed", "macro_auc")} for r in rows]
        runs[name] = {"changes": {k: str(v) for k, v in changes.items()}, "rows": kept}
    lines = [f"# {args.method}: after minus before ({args.preset} preset, test macro AUC)", "",
             f"before: {runs['before']['changes'] or 'the preset'}; "
             f"after: {runs['after']['changes'] or 'the preset'}", "",
             "| fraction | seeds | before | after | after - before | 95 % interval |",
             "|---|---|---|---|---|---|"]  # fmt: skip
    comparisons = []
    for (class_set, fraction), before in scores["before"].items():
        if class_set != "3kg":
            continue
        after = scores["after"][class_set, fraction]
        seeds = [s for s in before if s in after]
        y = data["targets"][class_set][split["test"]]
        result = paired_bootstrap_auc(y, [before[s] for s in seeds], [after[s] for s in seeds],
                                      n_resamples=1000, random_state=0)  # fmt: skip
        mean = {name: sum(r["macro_auc"] for r in runs[name]["rows"]
                          if r["fraction"] == fraction and r["class_set"] == class_set
                          and r["seed"] in seeds) / len(seeds)
                for name in runs}  # fmt: skip
        comparisons.append({"fraction": fraction, "seeds": seeds, **mean,
                            "delta": result.delta, "ci95": list(result.interval)})  # fmt: skip
        low, high = result.interval
        lines.append(f"| {100 * fraction:g} % | {', '.join(map(str, seeds))} | "
                     f"{mean['before']:.3f} | {mean['after']:.3f} | {result.delta:+.3f} | "
                     f"[{low:+.3f}, {high:+.3f}] |")  # fmt: skip
    out = args.out or physionet2020.RESULTS / f"compare-{args.method}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps({"runs": runs, "comparisons": comparisons},
                                                 indent=1))  # fmt: skip
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
