"""Paired bootstrap of the difference in macro AUC between two methods scored on one test set."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
from sklearn.utils import Bunch, check_array, check_random_state
from sklearn.utils._param_validation import Interval, validate_params

__all__ = ["bootstrap_macro_auc", "paired_bootstrap_auc"]

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


def _draw_counts(n: int, n_resamples: int, random_state) -> np.ndarray:
    """How often each of ``n`` records is drawn in each resample, shape ``(n_resamples, n)``."""
    rng = check_random_state(random_state)
    return rng.multinomial(n, np.full(n, 1 / n), size=n_resamples).astype(np.float64)


def _mean_aucs(y_true: np.ndarray, runs: list, counts: np.ndarray) -> np.ndarray:
    """Per resample, macro AUC averaged over the runs (seeds), in bounded-memory blocks."""
    block = max(1, _BLOCK // len(y_true))
    total = np.zeros(len(counts))
    for run in runs:
        total += np.concatenate([
            _resampled_macro_auc(y_true, run, counts[start : start + block])
            for start in range(0, len(counts), block)
        ])  # fmt: skip
    return total / len(runs)


def _bootstrap(y_true, runs, counts, random_state) -> Bunch:
    observed = _mean_aucs(y_true, runs, np.ones((1, len(y_true))))[0]
    if np.isnan(observed):
        raise ValueError("No class of y_true has both labels; macro AUC is undefined.")
    return Bunch(
        auc=float(observed),
        aucs=_mean_aucs(y_true, runs, counts),
        n_resamples=len(counts),
        random_state=random_state,
        n_runs=len(runs),
        shape=y_true.shape,
    )


@validate_params(
    {
        "y_true": ["array-like"],
        "scores": ["array-like"],
        "n_resamples": [Interval(Integral, 1, None, closed="left")],
        "random_state": [Interval(Integral, 0, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def bootstrap_macro_auc(y_true, scores, *, n_resamples=1000, random_state=0) -> Bunch:
    """Macro AUC of one method on the test records and on each bootstrap resample of them.

    The resamples are those :func:`paired_bootstrap_auc` draws with the same
    ``random_state`` and number of records; passing the result as its
    ``scores_a`` or ``scores_b`` compares methods without scoring one again (the
    label-efficiency benchmark scores 3KG once for every method it compares).

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_classes)
        Indicator matrix of the true labels of the test records.
    scores : array-like of shape (n_samples, n_classes) or list of such
        Scores of the method, or one score matrix per seed (averaged).
    n_resamples : int, default=1000
        Number of bootstrap resamples.
    random_state : int, default=0
        Draws the resamples; an int, so that other calls can draw the same ones.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``auc`` (float): macro AUC on all records, averaged over the seeds.
        ``aucs`` (ndarray of shape (n_resamples,)): the same on each resample
        (NaN where no class has both labels). ``n_resamples``,
        ``random_state``, ``n_runs`` (score matrices) and ``shape`` (of
        ``y_true``), which :func:`paired_bootstrap_auc` checks.

    See Also
    --------
    paired_bootstrap_auc : The interval of the difference between two methods.

    Examples
    --------
    >>> import numpy as np
    >>> from sk3kg.metrics import bootstrap_macro_auc, paired_bootstrap_auc
    >>> rng = np.random.default_rng(0)
    >>> y_true = (rng.random((200, 4)) < 0.3).astype(int)
    >>> weak = y_true + rng.normal(scale=2.0, size=y_true.shape)
    >>> strong = y_true + rng.normal(scale=0.5, size=y_true.shape)
    >>> reference = bootstrap_macro_auc(y_true, weak, random_state=0)
    >>> reused = paired_bootstrap_auc(y_true, reference, strong, random_state=0)
    >>> reused.interval == paired_bootstrap_auc(y_true, weak, strong, random_state=0).interval
    True
    """
    y_true = _check_labels(y_true)
    runs = _check_runs(scores, "scores", y_true.shape)
    return _bootstrap(y_true, runs, _draw_counts(len(y_true), n_resamples, random_state),
                      random_state)  # fmt: skip


def _side(y_true, scores, name: str, counts, n_resamples: int, random_state) -> Bunch:
    """One method's bootstrap: scored on ``counts``, or given by :func:`bootstrap_macro_auc`."""
    if not isinstance(scores, Bunch):
        runs = _check_runs(scores, name, y_true.shape)
        return _bootstrap(y_true, runs, counts, random_state)
    same = (
        isinstance(random_state, Integral)
        and scores.random_state == random_state
        and scores.n_resamples == n_resamples
        and tuple(scores.shape) == y_true.shape
    )
    if not same:
        raise ValueError(
            f"{name} was bootstrapped with random_state={scores.random_state}, "
            f"n_resamples={scores.n_resamples} on y_true of shape {tuple(scores.shape)}; "
            f"pass the same int random_state, n_resamples and y_true (here "
            f"{random_state!r}, {n_resamples}, {y_true.shape}) so both see the same resamples."
        )
    return scores


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
    scores_a : array-like of shape (n_samples, n_classes) or list of such, or Bunch
        Scores of the reference method, or one score matrix per seed; or its
        :func:`bootstrap_macro_auc` with the same int ``random_state``.
    scores_b : array-like of shape (n_samples, n_classes) or list of such, or Bunch
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
    given = [isinstance(scores, Bunch) for scores in (scores_a, scores_b)]
    counts = None if all(given) else _draw_counts(len(y_true), n_resamples, random_state)
    a = _side(y_true, scores_a, "scores_a", counts, n_resamples, random_state)
    b = _side(y_true, scores_b, "scores_b", counts, n_resamples, random_state)
    if a.n_runs != b.n_runs:
        raise ValueError(
            f"scores_a has {a.n_runs} score matrices but scores_b has {b.n_runs}; "
            "pass one per seed for both methods, in the same order."
        )
    deltas = b.aucs - a.aucs
    tail = 50 * (1 - confidence)
    finite = deltas[~np.isnan(deltas)]
    low, high = np.percentile(finite, [tail, 100 - tail]) if finite.size else (np.nan, np.nan)
    return Bunch(
        delta=b.auc - a.auc,
        interval=(float(low), float(high)),
        confidence=float(confidence),
        n_resamples=int(n_resamples),
        deltas=deltas,
    )
