"""The label-efficiency protocol: split, labelled subsets, linear probe, scores."""

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sk3kg.metrics import challenge_score, macro_auc, per_class_auc, subgroup_auc

PROBE_C = (0.01, 0.1, 1.0)


def rarest_label(target: np.ndarray) -> np.ndarray:
    """A single-label proxy for stratifying multilabel data: each record's rarest class.

    Records without any class get their own stratum (-1).
    """
    counts = target.sum(axis=0)
    rarity = np.where(target > 0, counts[None, :], np.inf)
    proxy = rarity.argmin(axis=1)
    return np.where(np.isfinite(rarity.min(axis=1)), proxy, -1)


def split_by_patient(target: np.ndarray, patients: np.ndarray, seed: int) -> dict:
    """Train / validation / test indices, 8/1/1 folds of a 10-fold grouped split.

    Records of one patient stay in one split; folds are stratified on each
    record's rarest class (``StratifiedGroupKFold``), which is as close to
    multilabel stratification as a grouped split allows.
    """
    folds = StratifiedGroupKFold(n_splits=10, shuffle=True, random_state=seed)
    fold_of = np.empty(len(target), dtype=int)
    for fold, (_, test) in enumerate(folds.split(target, rarest_label(target), patients)):
        fold_of[test] = fold
    return {
        "train": np.flatnonzero(fold_of < 8),
        "valid": np.flatnonzero(fold_of == 8),
        "test": np.flatnonzero(fold_of == 9),
    }


def labelled_subset(target: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Positions (into ``target``) of a random labelled subset of ``fraction`` of the rows.

    One random positive of every class that has one is taken first, so each
    class can be learnt where the data allows; the rest is drawn uniformly.
    The subset has ``max(round(fraction * n), n_classes_present)`` rows.
    """
    rng = np.random.default_rng(seed)
    n = len(target)
    size = max(1, round(fraction * n))
    chosen = {int(rng.choice(np.flatnonzero(column))) for column in target.T if column.any()}
    rest = rng.permutation(np.setdiff1d(np.arange(n), list(chosen)))
    fill = rest[: max(0, size - len(chosen))]
    return np.sort(np.concatenate([np.fromiter(chosen, int, len(chosen)), fill]))


def _probe(c: float, seed: int):
    classifier = LogisticRegression(C=c, max_iter=2000, random_state=seed)
    return make_pipeline(StandardScaler(), OneVsRestClassifier(classifier))


def _learnable(target: np.ndarray) -> np.ndarray:
    """Classes with both labels in the training subset (others get a constant score)."""
    positives = target.sum(axis=0)
    return (positives > 0) & (positives < len(target))


def fit_probe(features: dict, target: dict, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Fit the linear probe, choosing C by validation macro AUC; never looks at test.

    Returns the test scores, the validation scores and the chosen C. Classes
    with a single label value in the training subset score a constant (the
    training prevalence), so they count as chance where they are evaluated.
    """
    learn = _learnable(target["train"])
    prevalence = target["train"].mean(axis=0)

    def scores(model, X):
        out = np.tile(prevalence, (len(X), 1))
        if model is not None:
            out[:, learn] = model.predict_proba(X)
        return out

    best = (-np.inf, None, None)
    for c in PROBE_C if learn.any() else (None,):
        model = (
            None if c is None else _probe(c, seed).fit(features["train"], target["train"][:, learn])
        )
        valid = scores(model, features["valid"])
        auc, _ = macro_auc(target["valid"], valid, return_excluded=True)
        if best[1] is None or auc > best[0]:
            best = (auc, model, c)
    _, model, c = best
    return scores(model, features["test"]), scores(model, features["valid"]), c


def evaluate(y_true: np.ndarray, y_score: np.ndarray, codes: list, names: list) -> dict:
    """Every number the report needs, for one method, fraction and seed."""
    auc, excluded = macro_auc(y_true, y_score, target_names=names, return_excluded=True)
    predicted = (y_score >= 0.5).astype(int)
    return {
        "macro_auc": auc,
        "auc_excluded_classes": excluded,
        "per_class_auc": dict(zip(names, map(float, per_class_auc(y_true, y_score)), strict=True)),
        "subgroup_auc": subgroup_auc(y_true, y_score, codes),
        "challenge_score": challenge_score(y_true, predicted, codes),
    }
