"""Multilabel ROC AUC: per class, macro-averaged, per subgroup, and as a CV scorer."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.utils import check_array

from ..datasets import CLASS_SUBGROUPS

__all__ = ["macro_auc", "multilabel_auc_scorer", "per_class_auc", "subgroup_auc"]


def _check_targets(y_true, y_score) -> tuple[np.ndarray, np.ndarray]:
    y_true = check_array(y_true, ensure_2d=True, dtype=None, input_name="y_true")
    y_score = check_array(y_score, ensure_2d=True, dtype=np.float64, input_name="y_score")
    if y_true.shape != y_score.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_score has {y_score.shape}.")
    if not np.isin(y_true, (0, 1)).all():
        raise ValueError("y_true must be a multilabel indicator matrix of 0 and 1.")
    return y_true.astype(np.int8), y_score


def _scorable(y_true: np.ndarray) -> np.ndarray:
    """Classes with both a positive and a negative record, where AUC is defined."""
    positives = y_true.sum(axis=0)
    return (positives > 0) & (positives < y_true.shape[0])


def per_class_auc(y_true, y_score) -> np.ndarray:
    """ROC AUC of each class of a multilabel problem, NaN where it is undefined.

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_classes)
        Indicator matrix of the true labels.
    y_score : array-like of shape (n_samples, n_classes)
        Scores, probabilities or decision values; higher means more likely.

    Returns
    -------
    auc : ndarray of shape (n_classes,)
        NaN for a class whose labels are all 0 or all 1.

    Examples
    --------
    >>> from sk3kg.metrics import per_class_auc
    >>> per_class_auc([[1, 0], [0, 0], [1, 0]], [[0.9, 0.2], [0.1, 0.3], [0.4, 0.5]])
    array([ 1., nan])
    """
    y_true, y_score = _check_targets(y_true, y_score)
    auc = np.full(y_true.shape[1], np.nan)
    ok = _scorable(y_true)
    if ok.any():
        auc[ok] = roc_auc_score(y_true[:, ok], y_score[:, ok], average=None)
    return auc


def macro_auc(y_true, y_score, *, target_names: Sequence[str] | None = None,
              return_excluded: bool = False):  # fmt: skip
    """Mean ROC AUC over the classes that have both positive and negative records.

    A class whose labels are all 0 (or all 1) has no AUC; it is left out of the mean
    and reported, with a ``UserWarning`` unless ``return_excluded`` is True.

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_classes)
        Indicator matrix of the true labels.
    y_score : array-like of shape (n_samples, n_classes)
        Scores, probabilities or decision values.
    target_names : list of str, default=None
        Class names used in the report; column indices when None.
    return_excluded : bool, default=False
        Also return the names of the classes left out, instead of warning.

    Returns
    -------
    auc : float
        Macro-averaged AUC; NaN when no class has an AUC.
    excluded : list
        Names (or indices) of the classes left out; only if ``return_excluded``.

    Examples
    --------
    >>> from sk3kg.metrics import macro_auc
    >>> y_true = [[1, 0, 0], [0, 1, 0], [1, 1, 0]]
    >>> y_score = [[0.8, 0.3, 0.3], [0.3, 0.9, 0.2], [0.6, 0.2, 0.1]]
    >>> macro_auc(y_true, y_score, target_names=["AF", "SB", "LBBB"], return_excluded=True)
    (0.75, ['LBBB'])
    """
    auc = per_class_auc(y_true, y_score)
    names = list(range(auc.size)) if target_names is None else list(target_names)
    if len(names) != auc.size:
        raise ValueError(f"{len(names)} target_names for {auc.size} classes.")
    excluded = [name for name, value in zip(names, auc, strict=True) if np.isnan(value)]
    mean = float(np.nanmean(auc)) if len(excluded) < auc.size else float("nan")
    if return_excluded:
        return mean, excluded
    if excluded:
        warnings.warn(
            f"AUC is undefined for {len(excluded)} of {auc.size} classes, which have only "
            f"one label value, and they are left out of the mean: {excluded}.",
            UserWarning,
            stacklevel=2,
        )
    return mean


def subgroup_auc(y_true, y_score, target_codes: Sequence[str]) -> dict[str, float]:
    """Macro AUC within each subgroup of :data:`sk3kg.datasets.CLASS_SUBGROUPS`.

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_classes)
        Indicator matrix of the true labels.
    y_score : array-like of shape (n_samples, n_classes)
        Scores, probabilities or decision values.
    target_codes : list of str
        SNOMED CT code of each column, such as ``target_codes`` of
        :func:`~sk3kg.datasets.load_physionet2020`. Columns whose code is in no
        subgroup count in none.

    Returns
    -------
    auc : dict of str to float
        ``"rhythm"``, ``"conduction"``, ``"morphology"``: the mean AUC of the group's
        classes that have an AUC, NaN when none has.

    Examples
    --------
    >>> from sk3kg.metrics import subgroup_auc
    >>> y_true = [[1, 0], [0, 1], [1, 1], [0, 0]]
    >>> y_score = [[0.9, 0.2], [0.2, 0.7], [0.6, 0.4], [0.1, 0.5]]
    >>> subgroup_auc(y_true, y_score, ["164889003", "270492004"])
    {'rhythm': 1.0, 'conduction': 0.75, 'morphology': nan}
    """
    auc = per_class_auc(y_true, y_score)
    codes = list(target_codes)
    if len(codes) != auc.size:
        raise ValueError(f"{len(codes)} target_codes for {auc.size} classes.")
    result = {}
    for group, members in CLASS_SUBGROUPS.items():
        values = auc[[i for i, code in enumerate(codes) if code in members]]
        values = values[~np.isnan(values)]
        result[group] = float(values.mean()) if values.size else float("nan")
    return result


def _positive_scores(estimator, proba: list[np.ndarray]) -> np.ndarray:
    """Stack per-label ``predict_proba`` outputs into the scores of the positive class."""
    columns = []
    for j, p in enumerate(proba):
        sub = getattr(estimator, "estimators_", [None] * len(proba))[j]
        classes = list(getattr(sub, "classes_", [0, 1][-p.shape[1] :]))
        columns.append(p[:, classes.index(1)] if 1 in classes else np.zeros(p.shape[0]))
    return np.column_stack(columns)


def multilabel_auc_scorer(estimator, X, y_true) -> float:
    """Macro AUC of a fitted multilabel estimator, for ``scoring=`` in model selection.

    Unlike ``scoring="roc_auc"``, a class with no positive (or no negative) record in
    the evaluated fold is left out silently instead of failing the fold. Scores come
    from ``decision_function`` when the estimator has it, else ``predict_proba``
    (a list of per-label outputs is stacked).

    Parameters
    ----------
    estimator : fitted estimator
        A multilabel classifier, such as ``OneVsRestClassifier`` or
        ``MultiOutputClassifier``.
    X : array-like
        Input of the fold.
    y_true : array-like of shape (n_samples, n_classes)
        Indicator matrix of the fold's labels.

    Returns
    -------
    auc : float
        Macro AUC over the classes present in both label values; NaN if none.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.multiclass import OneVsRestClassifier
    >>> from sk3kg.metrics import multilabel_auc_scorer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3))
    >>> y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 2] > 1]).astype(int)
    >>> search = GridSearchCV(OneVsRestClassifier(LogisticRegression()), {"estimator__C": [0.1, 1]},
    ...                       scoring=multilabel_auc_scorer, cv=3).fit(X, y)
    >>> bool(search.best_score_ > 0.8)
    True

    A class without positives in the evaluated records is left out:

    >>> no_positive = y[:, 2] == 0
    >>> auc = multilabel_auc_scorer(search.best_estimator_, X[no_positive], y[no_positive])
    >>> bool(np.isfinite(auc))
    True
    """
    if hasattr(estimator, "decision_function"):
        y_score = estimator.decision_function(X)
    else:
        y_score = estimator.predict_proba(X)
        if isinstance(y_score, list):
            y_score = _positive_scores(estimator, y_score)
    return macro_auc(y_true, np.asarray(y_score).reshape(len(y_true), -1), return_excluded=True)[0]
