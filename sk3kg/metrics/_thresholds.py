"""Decision thresholds of multilabel scores, chosen to maximise each class's F1."""

import numpy as np
from sklearn.metrics import precision_recall_curve

from ._ranking import _check_targets

__all__ = ["f1_thresholds"]


def f1_thresholds(y_true, y_score, *, default=0.5) -> np.ndarray:
    """Per class, the score threshold that maximises F1 on ``(y_true, y_score)``.

    Fit them on a validation split, never on the test split: ``predict``
    then calls a record positive for class ``c`` when its score is at least
    ``thresholds[c]`` (what the 3KG authors' ``AutoThresholdF1`` does).

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_classes)
        Indicator matrix of the true labels.
    y_score : array-like of shape (n_samples, n_classes)
        Scores or probabilities; higher means more likely.
    default : float, default=0.5
        Threshold of a class without positives in ``y_true``, where F1 is
        undefined.

    Returns
    -------
    thresholds : ndarray of shape (n_classes,)
        One threshold per class; ties between thresholds of equal F1 go to
        the highest (the fewest false positives).

    Examples
    --------
    >>> from sk3kg.metrics import f1_thresholds
    >>> y_true = [[1, 0], [1, 0], [0, 0], [0, 1]]
    >>> y_score = [[0.9, 0.1], [0.4, 0.2], [0.3, 0.3], [0.2, 0.8]]
    >>> f1_thresholds(y_true, y_score)
    array([0.4, 0.8])
    """
    y_true, y_score = _check_targets(y_true, y_score)
    thresholds = np.full(y_true.shape[1], float(default))
    for column in np.flatnonzero(y_true.any(axis=0)):
        precision, recall, cuts = precision_recall_curve(y_true[:, column], y_score[:, column])
        precision, recall = precision[:-1], recall[:-1]  # the last point has no threshold
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
        best = np.flatnonzero(f1 == f1.max())
        thresholds[column] = cuts[best[-1]]
    return thresholds
