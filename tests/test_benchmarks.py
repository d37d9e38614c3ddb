"""The benchmark scripts run end to end (tiny sizes) and write what they promise."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=600
    )


def test_speed_benchmark_reports_its_ratios():
    done = _run(BENCHMARKS / "speed.py", "--smoke")
    assert done.returncode == 0, done.stderr
    for figure in ("ECG/s", "ratio", "samples/s", "overhead", "records/s", "crop="):
        assert figure in done.stdout


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke")
    args = ("--preset", "smoke", "--data", "synthetic", "--out", out)
    first = _run(BENCHMARKS / "physionet2020.py", *args)
    assert first.returncode == 0, first.stderr[-3000:]
    again = _run(BENCHMARKS / "physionet2020.py", *args)
    assert again.returncode == 0, again.stderr[-3000:]
    # Progress bars (tqdm, on stderr): pretraining epochs, labelled subsets, their time left.
    for stage in ("[3kg] pretraining", "[3kg] labelled subsets", "[supervised] labelled subsets",
                  "[comparisons] paired bootstrap"):  # fmt: skip
        assert stage in first.stderr, stage
    assert "<" in first.stderr  # tqdm's elapsed<remaining
    assert "run_left=" in first.stderr  # and the whole run's
    assert "== 3kg:" in first.stdout and "left" in first.stdout  # each stage's end
    assert "from_pretrained" not in again.stderr  # the saved encoder loads without warnings
    return out, first.stdout, again.stdout


def test_smoke_preset_scores_every_method_fraction_seed_and_class_set(smoke_run):
    out, _, _ = smoke_run
    results = json.loads((out / "results.json").read_text())
    methods = {"3kg", "simclr", "cmsc", "random", "supervised"}
    cells = {(r["method"], r["fraction"], r["class_set"]) for r in results["results"]}
    assert {m for m, _, _ in cells} >= methods
    assert {c for _, _, c in cells} == {"3kg", "merged"}
    assert {f for _, f, _ in cells} == {0.1, 1.0}
    for row in results["results"]:
        assert 0.0 <= row["macro_auc"] <= 1.0
        assert set(row["subgroup_auc"]) == {"rhythm", "conduction", "morphology"}
    assert len(results["results"][0]["per_class_auc"]) in (23, 24)


def test_smoke_preset_writes_the_report_and_the_split(smoke_run):
    out, first, _ = smoke_run
    for name in ("results.md", "per_class.csv", "split.npz"):
        assert (out / name).exists()
    text = (out / "results.md").read_text()
    assert (
        "3KG vs best other self-supervised" in text and "python benchmarks/physionet2020.py" in text
    )
    assert "embedded synthetic data" in first


def test_smoke_preset_compares_every_method_with_3kg_by_paired_bootstrap(smoke_run):
    out, _, _ = smoke_run
    results = json.loads((out / "results.json").read_text())
    auc = {(r["class_set"], r["fraction"], r["method"], r["seed"]): r["macro_auc"]
           for r in results["results"]}  # fmt: skip
    cells = {(c, f, m) for c, f, m, _ in auc if m != "3kg" and (c, f, "3kg", 0) in auc}
    comparisons = results["comparisons"]
    against_3kg = [c for c in comparisons if c["baseline"] == "3kg"]
    assert {(c["class_set"], c["fraction"], c["method"]) for c in against_3kg} == cells
    # What pretraining buys: fine-tuned 3KG against the network trained from scratch.
    pretraining = [c for c in comparisons if c["baseline"] == "supervised"]
    assert {c["method"] for c in pretraining} == {"3kg-finetune"}
    assert len(pretraining) + len(against_3kg) == len(comparisons)
    for c in comparisons:
        low, high = c["ci95"]
        assert c["n_resamples"] == 1000
        assert -1.0 <= low <= high <= 1.0
        paired = [auc[c["class_set"], c["fraction"], c["method"], s]
                  - auc[c["class_set"], c["fraction"], c["baseline"], s]
                  for s in c["seeds"]]  # fmt: skip
        assert c["delta"] == pytest.approx(np.mean(paired))
    text = (out / "results.md").read_text()
    assert "Paired bootstrap against 3KG" in text and "| relative to 3KG |" in text
    assert "Paired bootstrap against supervised" in text
    verdicts = ("| better |", "| worse |", "| no detectable difference |")
    assert sum(text.count(v) for v in verdicts) == len(comparisons)


def test_smoke_preset_reports_each_stage_share_of_the_wall_time(smoke_run):
    out, _, _ = smoke_run
    results = json.loads((out / "results.json").read_text())
    times = results["times"]
    stages = ("data", "3kg", "supervised", "comparisons")
    assert all(times[s] >= 0 for s in stages)
    assert sum(v for k, v in times.items() if k != "total") <= times["total"] + 1e-6
    assert "| total |" in (out / "results.md").read_text()


def test_a_rerun_reuses_the_pretrained_methods(smoke_run):
    _, first, again = smoke_run
    assert "reusing" not in first
    assert again.count("reusing") >= 4


def test_precision_quality_compares_both_precisions_with_an_interval(tmp_path):
    out = tmp_path / "precision.json"
    done = _run(
        BENCHMARKS / "precision_quality.py",
        *("--seeds", "0,1", "--fractions", "0.1", "--n-records", "240", "--epochs", "1"),
        *("--out", out),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "bf16 - fp32" in done.stdout and "95 % CI" in done.stdout
    report = json.loads(out.read_text())
    entry = report["fractions"]["0.1"]
    assert len(entry["float32"]) == len(entry["bfloat16"]) == 2
    assert entry["ci95"][0] <= entry["delta"] <= entry["ci95"][1]


def test_plan_prints_sizes_labelled_counts_budgets_and_time_without_running():
    done = _run(BENCHMARKS / "physionet2020.py", "--plan")
    assert done.returncode == 0, done.stderr[-3000:]
    for text in ("Split (patient-grouped 8/1/1)", "Labelled records", "Methods and budgets",
                 "Estimated time", "1 % -> 345"):  # fmt: skip
        assert text in done.stdout, text


def test_realism_reference_reports_the_two_sample_test_and_the_pretext(tmp_path):
    done = _run(BENCHMARKS / "simulator_realism.py", "--n", "12", "--two-sample", "--draws", "2",
                "--out", tmp_path, "--figure", tmp_path / "panel.png")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "power share 15-40 Hz" in done.stdout
    if "no real records" not in done.stdout:  # ../shared/data present
        for text in ("two-sample AUC, band powers", "3KG loss after", "normal sinus", "(draws: "):
            assert text in done.stdout, text
        facts = json.loads((tmp_path / "results.json").read_text())
        assert len(facts["two_sample"]["band powers"]["auc_draws"]) == facts["draws"] == 2
        assert (tmp_path / "ecg_real.png").is_file() and (tmp_path / "spectra.png").is_file()


def test_plan_says_what_mimic_pretraining_downloads_and_that_nothing_is_held_out():
    done = _run(BENCHMARKS / "physionet2020.py", "--plan", "--json",
                "--pretrain-data", "mimic-iv-ecg", "--pretrain-records", "10000")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    plan = json.loads(done.stdout)
    assert plan["data"]["pretrain_data"] == {"name": "mimic-iv-ecg", "n_records": 10_000}
    assert "none of its patients is in the evaluation's data" in plan["data"]["description"]
    assert "views from random windows of 5 s" in plan["methods"]["3kg"]
    assert "adjacent windows of 5 s" in plan["methods"]["cmsc"]


def test_plan_as_json_gives_at_least_300_labelled_records_at_1_percent():
    done = _run(BENCHMARKS / "physionet2020.py", "--plan", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    plan = json.loads(done.stdout)
    assert plan["config"]["n_records"] == 43_101
    assert plan["labelled"]["0.01"] >= 300
    assert sum(plan["split_sizes"].values()) == 43_101
    seconds = plan["estimated_seconds"]
    assert seconds["total"] == pytest.approx(sum(v for k, v in seconds.items() if k != "total"))
    assert set(plan["methods"]) == set(plan["config"]["methods"])


def test_the_probes_solver_reaches_the_default_solvers_solution():
    sys.path.insert(0, str(BENCHMARKS))
    import _protocol
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    X = {
        name: rng.normal(size=(n, 20))
        for name, n in (("train", 400), ("valid", 200), ("test", 200))
    }
    weights = rng.normal(size=(20, 4))
    y = {name: (x @ weights + rng.normal(scale=2.0, size=(len(x), 4)) > 1.5).astype(int)
         for name, x in X.items()}  # fmt: skip
    test, _, c = _protocol.fit_probe(X, y)
    reference = make_pipeline(StandardScaler(), OneVsRestClassifier(
        LogisticRegression(C=c, max_iter=5000, tol=1e-8))).fit(X["train"], y["train"])  # fmt: skip
    np.testing.assert_allclose(test, reference.predict_proba(X["test"]), atol=2e-3)


def test_a_run_writes_where_git_does_not_look():
    root = BENCHMARKS.parent
    if not (root / ".git").exists():
        pytest.skip("not a git checkout")
    sys.path.insert(0, str(BENCHMARKS))
    import physionet2020

    written = physionet2020.RESULTS / "synthetic-quick" / "results.json"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(written)], cwd=root)
    assert ignored.returncode == 0, f"{written} would show in git status"
    features = physionet2020.REFERENCE / "synthetic-quick" / "features" / "3kg.joblib"
    assert subprocess.run(["git", "check-ignore", "-q", str(features)], cwd=root).returncode == 0


def test_cached_features_are_keyed_by_the_records_not_only_their_description():
    """A new simulator version gives other records behind the same description and split:
    the features cached for the old ones must not be served."""
    sys.path.insert(0, str(BENCHMARKS))
    import physionet2020

    rng = np.random.default_rng(0)
    split = {"train": np.arange(10), "valid": np.arange(10, 12), "test": np.arange(12, 14)}
    train = rng.normal(size=(10, 12, 50)).astype(np.float32)
    data = {"split_X": {"train": train}, "description": "same"}
    config = {"crop": 5.0, "seeds": [0]}
    key = physionet2020._cache_key("3kg", config, data, split)
    assert physionet2020._cache_key("3kg", {**config, "seeds": [1]}, data, split) == key
    changed = train.copy()
    changed[0, 0, 0] += 1e-3
    other = {**data, "split_X": {"train": changed}}
    assert physionet2020._cache_key("3kg", config, other, split) != key


def test_ptbxl_folds_score_a_task_with_pretraining_on_another_dataset(tmp_path):
    from .test_ptbxl import (
        DATABASE_COLUMNS,
        STATEMENT_COLUMNS,
        STATEMENTS,
        database_rows,
        filename,
        write_record,
        write_table,
    )

    root = tmp_path / "home" / "ptbxl" / "1.0.3"
    statements = [{"NORM": 100.0, "SR": 0.0}, {"IMI": 50.0}, {"LVH": 100.0},
                  {"CLBBB": 100.0}, {"NDT": 100.0, "NORM": 0.0}]  # fmt: skip
    # Two records per patient, patients spread over the ten folds: 8 records per fold.
    records = [(i, 1000 + i // 2, "50.0", str(i % 2), 1 + (i // 2) % 10, statements[i % 5])
               for i in range(80)]  # fmt: skip
    rng = np.random.default_rng(0)
    for ecg_id, *_ in records:
        write_record(root / filename(ecg_id, 100), rng.normal(scale=0.2, size=(12, 1000)), 100)
    write_table(root / "ptbxl_database.csv", DATABASE_COLUMNS, database_rows(records))
    write_table(root / "scp_statements.csv", STATEMENT_COLUMNS, STATEMENTS)
    out = tmp_path / "out"
    done = _run(
        BENCHMARKS / "physionet2020.py", "--preset", "smoke", "--data", "ptbxl",
        "--data-home", tmp_path / "home", "--pretrain-data", "synthetic", "--duration", "10",
        "--methods", "3kg,random,supervised", "--out", out,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert results["class_sets"] == ["superdiagnostic"]
    assert results["split_sizes"] == {"train": 64, "valid": 8, "test": 8}  # folds 1-8 / 9 / 10
    assert "Pretraining data: embedded synthetic data" in results["data_description"]
    assert {r["method"] for r in results["results"]} == {"3kg", "random", "supervised"}
    row = results["results"][0]
    assert set(row["per_class_auc"]) == {"CD", "HYP", "MI", "NORM", "STTC"}
    assert "challenge_score" not in row  # a challenge metric has no meaning for SCP statements


def test_smoke_preset_fine_tunes_from_the_probe_and_keeps_a_scored_epoch(smoke_run):
    out, _, _ = smoke_run
    rows = json.loads((out / "results.json").read_text())["results"]
    tuned = [r for r in rows if r["method"] == "3kg-finetune"]
    scratch = [r for r in rows if r["method"] == "supervised"]
    assert tuned and scratch
    for row in tuned + scratch:
        assert 0 <= row["epochs_kept"] <= row["epochs_run"] <= row["max_epochs"]
    assert all(r["probe_C"] in (0.01, 0.1, 1.0) for r in tuned)  # LP-FT: the exact probe
    assert all(r["probe_C"] is None for r in scratch)  # a random head
