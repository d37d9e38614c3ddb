"""The paired bootstrap of the difference in macro AUC (sk3kg/metrics/_bootstrap.py)."""

import warnings

import numpy as np
import pytest

from sk3kg.metrics import bootstrap_macro_auc, macro_auc, paired_bootstrap_auc
from sk3kg.metrics._bootstrap import _resampled_macro_auc


def labels(rng, n=120, k=5, prevalence=0.3):
    y = (rng.random((n, k)) < prevalence).astype(int)
    y[0], y[1] = 1, 0  # every class has both labels
    return y


def noisy(rng, y, scale):
    return y + rng.normal(scale=scale, size=y.shape)


def test_identical_scores_give_zero_delta_and_a_zero_interval(rng):
    y = labels(rng)
    score = noisy(rng, y, 1.0)
    result = paired_bootstrap_auc(y, score, score.copy(), n_resamples=200, random_state=0)
    assert result.delta == 0.0
    assert result.interval == (0.0, 0.0)
    assert result.n_resamples == 200 and result.deltas.shape == (200,)


def test_delta_is_the_seed_mean_of_the_macro_auc_differences(rng):
    y = labels(rng)
    a, b = [noisy(rng, y, 1.5) for _ in range(3)], [noisy(rng, y, 1.0) for _ in range(3)]
    expected = np.mean([macro_auc(y, sb) - macro_auc(y, sa) for sa, sb in zip(a, b, strict=True)])
    assert paired_bootstrap_auc(y, a, b, n_resamples=10).delta == pytest.approx(expected)


def test_swapping_the_methods_negates_delta_and_mirrors_the_interval(rng):
    y = labels(rng)
    a, b = noisy(rng, y, 1.5), noisy(rng, y, 1.0)
    forward = paired_bootstrap_auc(y, a, b, n_resamples=300, random_state=0)
    backward = paired_bootstrap_auc(y, b, a, n_resamples=300, random_state=0)
    assert backward.delta == pytest.approx(-forward.delta)
    np.testing.assert_allclose(backward.interval, [-forward.interval[1], -forward.interval[0]])
    np.testing.assert_allclose(backward.deltas, -forward.deltas)


def test_a_clearly_better_method_has_an_interval_above_zero(rng):
    y = labels(rng, n=200)
    result = paired_bootstrap_auc(y, noisy(rng, y, 2.0), noisy(rng, y, 0.5), random_state=0)
    assert 0 < result.interval[0] < result.delta < result.interval[1]


def test_a_higher_confidence_gives_a_wider_interval(rng):
    y = labels(rng)
    a, b = noisy(rng, y, 1.5), noisy(rng, y, 1.0)
    narrow = paired_bootstrap_auc(y, a, b, confidence=0.8, random_state=0).interval
    wide = paired_bootstrap_auc(y, a, b, confidence=0.99, random_state=0).interval
    assert wide[0] < narrow[0] < narrow[1] < wide[1]


def test_seed_lists_average_each_resamples_per_seed_differences(rng):
    y = labels(rng)
    a, b = [noisy(rng, y, 1.5) for _ in range(3)], [noisy(rng, y, 1.0) for _ in range(3)]
    paired = paired_bootstrap_auc(y, a, b, n_resamples=200, random_state=7)
    single = [paired_bootstrap_auc(y, sa, sb, n_resamples=200, random_state=7).deltas
              for sa, sb in zip(a, b, strict=True)]  # fmt: skip
    np.testing.assert_allclose(paired.deltas, np.mean(single, axis=0))
    stacked = paired_bootstrap_auc(y, np.stack(a), np.stack(b), n_resamples=200, random_state=7)
    np.testing.assert_array_equal(stacked.deltas, paired.deltas)


def test_the_same_random_state_draws_the_same_resamples(rng):
    y = labels(rng)
    a, b = noisy(rng, y, 1.5), noisy(rng, y, 1.0)
    first = paired_bootstrap_auc(y, a, b, n_resamples=100, random_state=3)
    again = paired_bootstrap_auc(y, a, b, n_resamples=100, random_state=3)
    other = paired_bootstrap_auc(y, a, b, n_resamples=100, random_state=4)
    np.testing.assert_array_equal(first.deltas, again.deltas)
    assert first.interval == again.interval
    assert not np.array_equal(first.deltas, other.deltas)


def test_resampled_macro_auc_equals_macro_auc_of_the_drawn_rows(rng):
    y = labels(rng, n=40, prevalence=0.1)
    y[:, 2] = 0
    y[5, 2] = 1  # one positive: often not drawn
    score = np.round(noisy(rng, y, 1.0), 1)  # ties within and across records
    rows = rng.integers(0, len(y), size=(50, len(y)))
    counts = np.stack([np.bincount(r, minlength=len(y)) for r in rows]).astype(float)
    resampled = _resampled_macro_auc(y.astype(bool), score, counts)
    expected = [macro_auc(y[r], score[r], return_excluded=True)[0] for r in rows]
    np.testing.assert_allclose(resampled, expected, rtol=0, atol=1e-12)


def test_a_class_without_positives_in_a_resample_is_left_out_for_both_methods(rng):
    n = 60
    y = labels(rng, n=n, k=3)
    y[:, 2] = 0
    y[10, 2] = 1  # the only positive of class 2, absent from about (1 - 1/n)^n of resamples
    a = noisy(rng, y, 1.0)
    b = a.copy()
    a[:, 2], b[:, 2] = -y[:, 2], y[:, 2]  # class 2: a ranks its positive last, b first
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = paired_bootstrap_auc(y, a, b, random_state=0)
    assert result.delta == pytest.approx(1 / 3)  # AUC 1 against 0, one class of three
    assert not np.isnan(result.deltas).any()
    left_out = result.deltas == 0.0  # class 2 undrawn: both means over classes 0 and 1
    assert abs(left_out.mean() - (1 - 1 / n) ** n) < 0.05
    np.testing.assert_allclose(result.deltas[~left_out], 1 / 3)


def test_a_resample_without_any_scorable_class_is_left_out_of_the_interval():
    y = np.array([[1], [0], [0], [0], [0], [0]])
    a = np.array([[0.1], [0.5], [0.6], [0.7], [0.8], [0.9]])
    result = paired_bootstrap_auc(y, a, -a, n_resamples=300, random_state=0)
    drawn = ~np.isnan(result.deltas)
    assert 0 < drawn.sum() < 300
    assert (result.deltas[drawn] == 1.0).all()
    assert result.interval == (1.0, 1.0)


@pytest.mark.parametrize(
    ("y_true", "scores_a", "scores_b", "message"),
    [
        (np.eye(4), np.zeros((3, 4)), np.zeros((4, 4)), r"scores_a has shape \(3, 4\) but y_true"),
        (np.eye(4), np.zeros((4, 4)), [np.zeros((4, 4)), np.zeros((4, 3))], r"scores_b\[1\]"),
        (np.eye(4), [np.zeros((4, 4))] * 3, [np.zeros((4, 4))] * 2, "3 score matrices.* has 2"),
        (np.eye(4), np.zeros((4, 4)), [np.zeros((4, 4))] * 2, "1 score matrices.* has 2"),
        (2 * np.eye(4), np.zeros((4, 4)), np.zeros((4, 4)), "indicator matrix of 0 and 1"),
        (np.ones((4, 2)), np.zeros((4, 2)), np.zeros((4, 2)), "No class of y_true has both"),
        (np.eye(4), np.zeros(4), np.zeros(4), "Expected 2D array"),
    ],
)
def test_bad_input_raises_a_clear_error(y_true, scores_a, scores_b, message):
    with pytest.raises(ValueError, match=message):
        paired_bootstrap_auc(y_true, scores_a, scores_b)


@pytest.mark.parametrize(
    ("parameter", "value"), [("n_resamples", 0), ("confidence", 1.0), ("confidence", 0.0)]
)
def test_invalid_settings_are_rejected(parameter, value):
    with pytest.raises(ValueError, match=parameter):
        paired_bootstrap_auc(np.eye(3), np.eye(3), np.eye(3), **{parameter: value})


def test_a_method_bootstrapped_once_gives_the_same_comparison(rng):
    y_true = (rng.random((150, 3)) < 0.3).astype(int)
    a = [y_true + rng.normal(scale=1.0, size=y_true.shape) for _ in range(2)]
    b = [y_true + rng.normal(scale=0.7, size=y_true.shape) for _ in range(2)]
    direct = paired_bootstrap_auc(y_true, a, b, n_resamples=200, random_state=3)
    once = bootstrap_macro_auc(y_true, a, n_resamples=200, random_state=3)
    reused = paired_bootstrap_auc(y_true, once, b, n_resamples=200, random_state=3)
    assert reused.delta == pytest.approx(direct.delta, abs=1e-12)
    np.testing.assert_allclose(reused.deltas, direct.deltas, atol=1e-12)
    assert once.auc == pytest.approx(np.mean([macro_auc(y_true, s) for s in a]))


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"random_state": 4}, "random_state=3"), ({"n_resamples": 50}, "same")]
)
def test_a_bootstrap_of_other_resamples_is_refused(rng, kwargs, message):
    y_true = (rng.random((60, 2)) < 0.4).astype(int)
    scores = y_true + rng.normal(size=y_true.shape)
    once = bootstrap_macro_auc(y_true, scores, n_resamples=100, random_state=3)
    settings = {"n_resamples": 100, "random_state": 3, **kwargs}
    with pytest.raises(ValueError, match=message):
        paired_bootstrap_auc(y_true, once, scores, **settings)
