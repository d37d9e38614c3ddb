"""A one-minute demo: 3KG embeddings in a scikit-learn Pipeline, with few labels.

Simulates 12-lead ECGs (``sk3kg.datasets.make_synthetic_ecgs``), pretrains a 3KG
encoder on the unlabelled records, then fits the same linear classifier on 3KG
embeddings and on an untrained encoder's, with only ``--labelled`` labelled records,
and compares their test macro AUC by a paired bootstrap over the test records. It
says what the interval supports: better, worse, or no detectable difference.

    python benchmarks/demo.py                 # about a minute on 2 CPU cores

The label-efficiency study (``python benchmarks/physionet2020.py``) is the full
measurement; this is its smallest honest version.
"""

import argparse
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk3kg import ThreeKGEmbedder
from sk3kg.datasets import make_synthetic_ecgs
from sk3kg.metrics import macro_auc, paired_bootstrap_auc


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--unlabelled", type=int, default=6000, help="pretraining records")
    parser.add_argument("--labelled", type=int, default=200, help="labelled training records")
    parser.add_argument("--test", type=int, default=1500, help="test records")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def simulated(args) -> tuple[np.ndarray, np.ndarray, dict]:
    """Records of distinct patients in three disjoint parts: pool, labelled, test."""
    n = args.unlabelled + args.labelled + args.test
    ecgs = make_synthetic_ecgs(n, fs=100, duration=10.0, random_state=args.seed, n_jobs=-1,
                               cache=True)  # fmt: skip
    ends = np.cumsum([args.unlabelled, args.labelled, args.test])
    parts = dict(zip(("pool", "labelled", "test"), np.split(np.arange(n), ends[:-1]), strict=True))
    return np.asarray(ecgs.data), np.asarray(ecgs.target), parts


def classifier(embedder) -> object:
    """The scikit-learn pipeline users write: embedder, scaler, one-vs-rest logistic."""
    probe = OneVsRestClassifier(LogisticRegression(C=0.1, max_iter=2000))
    return make_pipeline(embedder, StandardScaler(), probe)


def scores_of(embedder, X, y, parts) -> np.ndarray:
    labelled = parts["labelled"]
    learnable = (y[labelled].sum(axis=0) > 0) & (y[labelled].sum(axis=0) < len(labelled))
    out = np.tile(y[labelled].mean(axis=0), (len(parts["test"]), 1))  # chance where unlearnable
    pipe = classifier(embedder).fit(X[labelled], y[labelled][:, learnable])
    out[:, learnable] = pipe.predict_proba(X[parts["test"]])
    return out


def main(argv=None) -> None:
    args = parse_args(argv)
    start = time.perf_counter()
    X, y, parts = simulated(args)
    print(f"{len(parts['pool'])} unlabelled, {len(parts['labelled'])} labelled and "
          f"{len(parts['test'])} test records, 23 classes")  # fmt: skip
    pretrained = ThreeKGEmbedder(batch_size=128, max_epochs=1, random_state=args.seed)
    pretrained.fit(X[parts["pool"]])
    # Keep the pretrained weights when the pipeline fits: warm start, no further epochs.
    pretrained.set_params(warm_start=True, max_epochs=0)
    scores = {"3KG pretrained": scores_of(pretrained, X, y, parts)}
    untrained = ThreeKGEmbedder(max_epochs=0, random_state=args.seed)
    scores["untrained encoder"] = scores_of(untrained, X, y, parts)
    y_test = y[parts["test"]]
    for name, s in scores.items():
        print(f"{name:18s} test macro AUC {macro_auc(y_test, s):.3f}")
    diff = paired_bootstrap_auc(y_test, scores["untrained encoder"], scores["3KG pretrained"],
                                random_state=0)  # fmt: skip
    low, high = diff.interval
    verdict = "better" if low > 0 else "worse" if high < 0 else "no detectable difference"
    print(f"3KG - untrained: {diff.delta:+.3f}, 95 % interval [{low:+.3f}, {high:+.3f}] "
          f"(paired bootstrap over the test records): {verdict}")  # fmt: skip
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
