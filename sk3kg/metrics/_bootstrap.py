"""Paired bootstrap of the difference in macro AUC between two methods scored on one test set."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.utils import Bunch, check_array, check_random_state
from sklearn.utils._param_validation import Interval, validate_params

__all__ = ["paired_bootstrap_auc"]

# Resamples are scored in blocks of at most this many (resample, record) counts, so that
# memory stays bounded on large test sets (a block of 2**21 float64 is 16 MiB per array).
_BLOCK = 2**21


def _check_labels(y_true) -> np.ndarray:
    y_true = check_array(y_true, ensure_2d=True, dtype=None, input_name="y_true")
    if not np.isin(y_true, (0, 1)).all():
        raise ValueError("y_true must be a multilabel indicator matrix of 0 and 1.")
    return y_true.astype(bool)


def _is_stack(scores) -> bool:
    """Whether ``scores`` is several score matrices (one per seed) rather than one."""
    if isinstance(scores, list | tuple):
        return len(scores) > 0 and np.ndim(scores[0]) == 2
    return np.ndim(scores) == 3


def _check_runs(scores, name: str, shape: tuple) -> list[np.ndarray]:
    """The score matrices of one method, each checked against the shape of ``y_true``."""
    stacked = _is_stack(scores)
    runs = list(scores) if stacked else [scores]
    checked = []
    for i, run in enumerate(runs):
        label = f"{name}[{i}]" if stacked else name
        run = check_array(run, ensure_2d=True, dtype=np.float64, input_name=label)
        if run.shape != shape:
            raise ValueError(f"{label} has shape {run.shape} but y_true has {shape}.")
        checked.append(run)
    return checked


def _auc_numerators(positive: np.ndarray, score: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mann-Whitney numerator of one class in every resample, ties counting one half.

    ``weights[i, r]`` is how often record ``i`` is drawn in resample ``r``. A resample's
    AUC is the count-weighted share of (positive, negative) pairs ranked correctly, which
    equals the AUC of its rows: copies of one record are never a positive-negative pair.
    Each positive meets the running total of negative weight below its score (and half
    of the negative weight tied with it), read off one cumulative sum over the negatives
    sorted by score: the work is one pass over the records, per resample.
    """
    negatives = np.flatnonzero(~positive)
    negatives = negatives[np.argsort(score[negatives], kind="stable")]
    below = np.zeros((len(negatives) + 1, weights.shape[1]), dtype=weights.dtype)
    np.cumsum(weights[negatives], axis=0, out=below[1:])
    positives = np.flatnonzero(positive)
    ranked = score[negatives]
    lower = below[np.searchsorted(ranked, score[positives], side="left")]
    upper = below[np.searchsorted(ranked, score[positives], side="right")]
    return np.einsum("pr,pr->r", weights[positives], lower + upper, dtype=np.float64) / 2


def _resampled_macro_auc(y_true: np.ndarray, y_score: np.ndarray, counts: np.ndarray):
    """Macro AUC of each resample, over the classes with both labels in that resample.

    Shape ``(n_resamples,)``; NaN for a resample where no class has both labels.
    """
    n_positive = counts @ y_true
    n_negative = counts.sum(axis=1, keepdims=True) - n_positive
    scorable = (n_positive > 0) & (n_negative > 0)
    # Records as rows, gathered whole; float32 holds every count and running total exactly.
    weights = np.ascontiguousarray(counts.T, dtype=np.float32)
    total = np.zeros(len(counts))
    for c in np.flatnonzero(scorable.any(axis=0)):
        pairs = n_positive[:, c] * n_negative[:, c]
        numerator = _auc_numerators(y_true[:, c], y_score[:, c], weights)
        total += np.divide(numerator, pairs, out=np.zeros(len(counts)), where=scorable[:, c])
    n_scorable = scorable.sum(axis=1)
    return np.divide(total, n_scorable, out=np.full(len(counts), np.nan), where=n_scorable > 0)


def _mean_delta(y_true: np.ndarray, runs_a: list, runs_b: list, counts: np.ndarray):
    """Per resample, macro AUC of b minus a, averaged over the paired seeds."""
    deltas = np.zeros(len(counts))
    for a, b in zip(runs_a, runs_b, strict=True):
        deltas += _resampled_macro_auc(y_true, b, counts)
        deltas -= _resampled_macro_auc(y_true, a, counts)
    return deltas / len(runs_a)


@validate_params(
    {
        "y_true": ["array-like"],
        "scores_a": ["array-like"],
        "scores_b": ["array-like"],
        "n_resamples": [Interval(Integral, 1, None, closed="left")],
        "confidence": [Interval(Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def paired_bootstrap_auc(
    y_true, scores_a, scores_b, *, n_resamples=1000, confidence=0.95, random_state=None
) -> Bunch:
    """Paired bootstrap over records of the difference in macro AUC, b minus a.

    Each resample draws ``n_samples`` records (rows) with replacement and scores both
    methods on the same rows; the interval is the percentile interval of the resampled
    differences. With several score matrices per method (one per labelled-subset
    seed, paired in order), each resample's difference is the mean over the seeds of
    the pair's difference, every pair scored on that resample's rows. The
    label-efficiency benchmark (``benchmarks/physionet2020.py``) compares every
    method with 3KG this way.

    Classes follow :func:`macro_auc`: a class with only one label value among a
    resample's rows (for instance no positive record drawn) is left out of that
    resample's mean, for both methods alike, since both see the same rows. Classes
    without both labels in ``y_true`` are left out everywhere. A resample in which no
    class has both labels has no difference (NaN in ``deltas``) and is left out of the
    interval.

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_classes)
        Indicator matrix of the true labels of the test records.
    scores_a : array-like of shape (n_samples, n_classes) or list of such
        Scores of the reference method, or one score matrix per seed.
    scores_b : array-like of shape (n_samples, n_classes) or list of such
        Scores of the compared method; as many matrices as ``scores_a``.
    n_resamples : int, default=1000
        Number of bootstrap resamples.
    confidence : float, default=0.95
        Coverage of the percentile interval.
    random_state : int, RandomState instance or None, default=None
        Draws the resamples; an int makes the result reproducible. Runs with the
        same ``random_state`` and number of records draw the same resamples.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``delta`` (float): macro AUC of b minus a on all records, averaged over the
        seeds. ``interval`` (tuple of two floats): the percentile interval of the
        resampled differences. ``confidence`` and ``n_resamples``: as given.
        ``deltas`` (ndarray of shape (n_resamples,)): the resampled differences.

    See Also
    --------
    macro_auc : The macro AUC compared here, and its rule for classes left out.

    References
    ----------
    .. [1] B. Efron and R. J. Tibshirani, "An Introduction to the Bootstrap",
       Chapman & Hall, 1993, chapter 13 (percentile intervals).

    Examples
    --------
    >>> import numpy as np
    >>> from sk3kg.metrics import paired_bootstrap_auc
    >>> rng = np.random.default_rng(0)
    >>> y_true = (rng.random((200, 4)) < 0.3).astype(int)
    >>> weak = y_true + rng.normal(scale=2.0, size=y_true.shape)
    >>> strong = y_true + rng.normal(scale=0.5, size=y_true.shape)
    >>> result = paired_bootstrap_auc(y_true, weak, strong, random_state=0)
    >>> print(f"{result.delta:+.3f} [{result.interval[0]:+.3f}, {result.interval[1]:+.3f}]")
    +0.253 [+0.209, +0.295]

    One score matrix per labelled-subset seed, paired in order:

    >>> weak_seeds = [y_true + rng.normal(scale=2.0, size=y_true.shape) for _ in range(3)]
    >>> strong_seeds = [y_true + rng.normal(scale=0.5, size=y_true.shape) for _ in range(3)]
    >>> result = paired_bootstrap_auc(y_true, weak_seeds, strong_seeds, random_state=0)
    >>> bool(result.interval[0] > 0), result.deltas.shape
    (True, (1000,))
    """
    y_true = _check_labels(y_true)
    runs_a = _check_runs(scores_a, "scores_a", y_true.shape)
    runs_b = _check_runs(scores_b, "scores_b", y_true.shape)
    if len(runs_a) != len(runs_b):
        raise ValueError(
            f"scores_a has {len(runs_a)} score matrices but scores_b has {len(runs_b)}; "
            "pass one per seed for both methods, in the same order."
        )
    n = len(y_true)
    observed = _mean_delta(y_true, runs_a, runs_b, np.ones((1, n)))[0]
    if np.isnan(observed):
        raise ValueError("No class of y_true has both labels; macro AUC is undefined.")
    rng = check_random_state(random_state)
    counts = rng.multinomial(n, np.full(n, 1 / n), size=n_resamples).astype(np.float64)
    block = max(1, _BLOCK // n)
    deltas = np.concatenate([
        _mean_delta(y_true, runs_a, runs_b, counts[start : start + block])
        for start in range(0, n_resamples, block)
    ])  # fmt: skip
    tail = 50 * (1 - confidence)
    finite = deltas[~np.isnan(deltas)]
    low, high = np.percentile(finite, [tail, 100 - tail]) if finite.size else (np.nan, np.nan)
    return Bunch(
        delta=float(observed),
        interval=(float(low), float(high)),
        confidence=float(confidence),
        n_resamples=int(n_resamples),
        deltas=deltas,
    )
