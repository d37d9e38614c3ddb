"""The label-efficiency protocol: split, labelled subsets, linear probe, scores."""

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.model_selection import StratifiedGroupKFold
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


def _logistic_path(X: np.ndarray, Y: np.ndarray) -> list[np.ndarray]:
    """Every class's L2 logistic regression at every C of ``PROBE_C``, smallest C first.

    The objective is scikit-learn's ``LogisticRegression`` (lbfgs, l2 penalty, unpenalised
    intercept), one binary problem per column of ``Y``. The problems share ``X`` and are
    independent, so their sum is minimised at once: one matrix product per L-BFGS step
    for all classes, where one-vs-rest would run a solver per class. Each C starts from
    the previous C's solution. Returns ``(n_features + 1, n_classes)`` weights per C,
    the last row the intercepts. ``tests/test_benchmarks.py`` checks it against
    ``OneVsRestClassifier(LogisticRegression(C))``.
    """
    n, d = X.shape
    Xb = np.hstack([X, np.ones((n, 1))])
    Y = Y.astype(np.float64)
    theta, path = np.zeros((d + 1) * Y.shape[1]), []
    for c in PROBE_C:

        def loss(theta, c=c):
            W = theta.reshape(d + 1, -1)
            Z = Xb @ W
            value = (np.logaddexp(0, Z) - Y * Z).sum() / n + (W[:-1] ** 2).sum() / (2 * c * n)
            grad = Xb.T @ (expit(Z) - Y) / n
            grad[:-1] += W[:-1] / (c * n)
            return value, grad.ravel()

        # scikit-learn's stopping rule for lbfgs: the largest gradient component under tol.
        options = {"maxiter": 2000, "gtol": 1e-4, "ftol": 64 * np.finfo(float).eps}
        theta = minimize(loss, theta, jac=True, method="L-BFGS-B", options=options).x
        path.append(theta.reshape(d + 1, -1))
    return path


def _learnable(target: np.ndarray) -> np.ndarray:
    """Classes with both labels in the training subset (others get a constant score)."""
    positives = target.sum(axis=0)
    return (positives > 0) & (positives < len(target))


def fit_probe(features: dict, target: dict, seed: int = 0) -> tuple[np.ndarray, np.ndarray, float]:
    """Fit the linear probe, choosing C by validation macro AUC; never looks at test.

    The probe: standardised features, one binary L2 logistic regression per class
    (scikit-learn's objective, see ``_logistic_path``), one C for all classes.

    Returns the test scores, the validation scores and the chosen C. Classes
    with a single label value in the training subset score a constant (the
    training prevalence), so they count as chance where they are evaluated.
    """
    learn = np.flatnonzero(_learnable(target["train"]))
    prevalence = target["train"].mean(axis=0)
    scaler = StandardScaler().fit(features["train"])
    X = {name: scaler.transform(features[name]) for name in ("train", "valid", "test")}
    path = _logistic_path(X["train"], target["train"][:, learn]) if len(learn) else []

    def scores(i, split):
        out = np.tile(prevalence, (len(X[split]), 1))
        if len(learn):
            out[:, learn] = expit(X[split] @ path[i][:-1] + path[i][-1])
        return out

    choices = range(len(PROBE_C)) if len(learn) else (0,)
    aucs = [
        macro_auc(target["valid"], scores(i, "valid"), return_excluded=True)[0] for i in choices
    ]
    best = int(np.nanargmax(aucs)) if not np.isnan(aucs).all() else 0
    c = PROBE_C[best] if len(learn) else None
    return scores(best, "test"), scores(best, "valid"), c


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
