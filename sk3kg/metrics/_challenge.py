"""The official metrics of the PhysioNet/CinC Challenges 2020 and 2021."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.utils import check_array

from ..datasets import NORMAL_CODE, challenge_weights, code_to_index, get_class_set

__all__ = ["challenge_score"]

# The class set of each year's metric: its codes, with the challenge's equivalences.
_METRIC_CLASSES = {2020: "merged", 2021: "merged2021"}


def _merge_columns(codes: list[str], year: int) -> tuple[np.ndarray, list[str]]:
    """Indicator (n_columns, n_classes) folding equivalent codes into the challenge's classes."""
    index = code_to_index(_METRIC_CLASSES[year])
    unknown = [c for c in codes if c not in index]
    if unknown:
        later = year == 2020 and all(c in code_to_index(_METRIC_CLASSES[2021]) for c in unknown)
        hint = " The 2021 challenge scores them: pass year=2021." if later else ""
        raise ValueError(f"target_codes {unknown} are not scored by the {year} challenge.{hint}")
    classes = sorted({index[c] for c in codes})
    fold = np.zeros((len(codes), len(classes)))
    for column, code in enumerate(codes):
        fold[column, classes.index(index[code])] = 1
    representatives = get_class_set(_METRIC_CLASSES[year]).codes
    return fold, [representatives[c] for c in classes]


def _reward(labels: np.ndarray, outputs: np.ndarray, weights: np.ndarray) -> float:
    """Sum of weights over (true, predicted) pairs, each record spread over the classes
    in the union of its labels and outputs (the challenge's modified confusion matrix)."""
    union = (labels | outputs).sum(axis=1)
    confusion = np.zeros((labels.shape[1], labels.shape[1]))
    # The official code adds 1 / size record by record. Counting pairs per union size
    # in whole numbers, then dividing once per size, gives the same sum with one rounding
    # per size instead of one per record, whatever order the BLAS adds in.
    for size in np.unique(union[union > 0]):
        rows = union == size
        confusion += (labels[rows].T.astype(float) @ outputs[rows].astype(float)) / size
    return float((weights * confusion).sum())


def _check_indicators(y_true, y_pred, n_codes: int) -> tuple[np.ndarray, np.ndarray]:
    y_true = check_array(y_true, dtype=None, input_name="y_true")
    y_pred = check_array(y_pred, dtype=None, input_name="y_pred")
    if y_true.shape != y_pred.shape or y_true.shape[1] != n_codes:
        raise ValueError(f"y_true {y_true.shape} and y_pred {y_pred.shape} must have one "
                         f"column per target code ({n_codes}).")  # fmt: skip
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if not np.isin(y, (0, 1)).all():
            raise ValueError(f"{name} must hold 0 and 1 only; threshold scores first.")
    return y_true, y_pred


def challenge_score(y_true, y_pred, target_codes: Sequence[str], *, year: int = 2020) -> float:
    """Normalised score of the PhysioNet/CinC Challenge 2020 or 2021.

    Each record contributes the reward ``W[true, predicted]`` for every pair of a
    true and a predicted class, divided by the number of classes in the union of its
    true and predicted sets. ``W`` is the year's official reward matrix
    (:func:`~sk3kg.datasets.challenge_weights`): 1 for the right class, partial
    credit for a diagnosis of similar risk and treatment. Equivalent codes are one
    class: 713427006 = 59118001, 284470004 = 63593006 and 427172004 = 17338001,
    and in 2021 also 733534002 = 164909002. The total is normalised so that
    predicting the true labels scores 1 and always predicting sinus rhythm
    (426783006) scores 0. The two years' metrics differ only in their codes and
    reward matrices.

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_classes)
        Indicator matrix of the true labels.
    y_pred : array-like of shape (n_samples, n_classes)
        Indicator matrix of the predicted labels (thresholded, not scores).
    target_codes : list of str
        SNOMED CT code of each column, scored in ``year``; must include sinus
        rhythm. With the ``"3kg"`` class set the column of first-degree AV block
        stands for prolonged PR interval too.
    year : {2020, 2021}, default=2020
        The challenge whose metric to compute (Perez Alday et al. 2020; Reyna
        et al. 2021).

    Returns
    -------
    score : float
        1 for a perfect prediction, 0 for the always-sinus-rhythm classifier. Exactly
        0.0, as in the official code, when those two classifiers score the same: when
        no record has a true label other than sinus rhythm (no positives at all, or
        sinus rhythm alone). Each record with another label puts more than 0.5 between
        them.

    Examples
    --------
    >>> from sk3kg.metrics import challenge_score
    >>> codes = ["426783006", "164889003", "270492004"]  # NSR, AF, IAVB
    >>> y_true = [[0, 1, 0], [1, 0, 0]]
    >>> challenge_score(y_true, y_true, codes)
    1.0
    >>> challenge_score(y_true, [[0, 0, 1], [1, 1, 0]], codes)
    -0.4
    >>> codes = ["426783006", "164909002", "733534002"]  # NSR, LBBB, complete LBBB
    >>> challenge_score([[0, 1, 0], [1, 0, 0]], [[0, 0, 1], [1, 0, 0]], codes, year=2021)
    1.0
    """
    if year not in _METRIC_CLASSES:
        raise ValueError(f"year must be one of {list(_METRIC_CLASSES)}, got {year!r}.")
    codes = [str(c) for c in target_codes]
    fold, classes = _merge_columns(codes, year)
    y_true, y_pred = _check_indicators(y_true, y_pred, len(codes))
    if NORMAL_CODE not in classes:
        raise ValueError(f"target_codes must include sinus rhythm {NORMAL_CODE}, the "
                         "reference class of the metric.")  # fmt: skip
    labels, outputs = (y_true @ fold) > 0, (y_pred @ fold) > 0
    weights = challenge_weights(classes, year=year)
    inactive_outputs = np.zeros_like(labels)
    inactive_outputs[:, classes.index(NORMAL_CODE)] = True
    observed = _reward(labels, outputs, weights)
    correct = _reward(labels, labels, weights)
    inactive = _reward(labels, inactive_outputs, weights)
    # Compared exactly, as the official code does (a relative tolerance would call
    # large sets with few abnormal records degenerate).
    if correct == inactive:
        return 0.0
    return (observed - inactive) / (correct - inactive)
