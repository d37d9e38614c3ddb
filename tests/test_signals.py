"""Input checks shared by the estimators: each bad input gets one message, in memory or streamed."""

import numpy as np
import pytest

from sk3kg import ECGClassifier, ThreeKGEmbedder

TINY = {"width": 4, "depth": 1, "batch_size": 8, "random_state": 0}


def _estimators():
    return [
        ThreeKGEmbedder(max_epochs=0, **TINY),
        ECGClassifier(ThreeKGEmbedder(max_epochs=0, **TINY), max_epochs=0),
    ]


def _labels(n):
    return np.arange(n) % 2


@pytest.mark.parametrize("estimator", _estimators(), ids=lambda e: type(e).__name__)
def test_time_major_x_is_said_to_have_swapped_axes_with_the_transpose(estimator):
    X = np.zeros((6, 500, 12), np.float32)
    with pytest.raises(
        ValueError, match=r"axes look swapped .* X.transpose\(0, 2, 1\), of shape \(6, 12, 500\)"
    ):
        estimator.fit(X, _labels(6))


@pytest.mark.parametrize("estimator", _estimators(), ids=lambda e: type(e).__name__)
def test_a_list_of_unequal_ecgs_names_the_lengths_and_what_to_do(estimator):
    X = [np.zeros((12, 500))] * 3 + [np.zeros((12, 400))]
    with pytest.raises(
        ValueError,
        match=r"\(12, 500\): 3 ECG\(s\), \(12, 400\): 1 ECG\(s\); ECG 3 .* Crop, pad or resample",
    ):
        estimator.fit(X, _labels(4))


@pytest.mark.parametrize("estimator", _estimators(), ids=lambda e: type(e).__name__)
def test_nan_gets_the_same_message_in_memory_and_streamed(estimator, rng, tmp_path):
    X = rng.normal(size=(16, 12, 64)).astype(np.float32)
    fitted = estimator.fit(X, _labels(16))
    X[[3, 5], 2, 5] = np.nan  # in the first batch of 8, as a stream reads them
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    use = fitted.transform if hasattr(fitted, "transform") else fitted.predict
    messages = []
    for data in (X, mapped):
        with pytest.raises(ValueError) as error:
            use(data)
        messages.append(str(error.value))
    assert messages[0] == messages[1]
    assert messages[0].startswith("Samples 3, 5 of X contain NaN or infinite values")


def test_a_single_bad_sample_is_named_alone(rng):
    X = rng.normal(size=(8, 12, 64)).astype(np.float32)
    X[5, 0, 0] = np.inf
    with pytest.raises(ValueError, match="^Sample 5 of X contains NaN .* leave that sample out"):
        ThreeKGEmbedder(max_epochs=0, **TINY).fit(X)


def test_many_bad_samples_are_listed_up_to_five(rng):
    X = rng.normal(size=(8, 12, 64)).astype(np.float32)
    X[1:8, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"^Samples 1, 2, 3, 4, 5, \.\.\. of X contain"):
        ThreeKGEmbedder(max_epochs=0, **TINY).fit(X)


def test_the_message_names_the_estimator_that_was_fitted(rng):
    X = rng.normal(size=(8, 12, 64)).astype(np.float32)
    clf = ECGClassifier(ThreeKGEmbedder(max_epochs=0, **TINY), max_epochs=0)
    clf.set_params(validation_fraction=None).fit(X, _labels(8))
    with pytest.raises(ValueError, match="but the ECGClassifier was fitted on 12"):
        clf.predict(X[:, :8])


def test_verbose_tables_carry_no_colour_codes_off_a_terminal(rng, capsys):
    X = rng.normal(size=(16, 12, 64)).astype(np.float32)
    ThreeKGEmbedder(max_epochs=2, verbose=1, validation_fraction=0.25, **TINY).fit(X)
    out = capsys.readouterr().out
    assert "train_loss" in out and "\x1b[" not in out


def test_ecgs_with_leads_of_unequal_length_are_named(rng):
    ragged_ecg = [np.zeros(100)] * 11 + [np.zeros(90)]
    with pytest.raises(ValueError, match="unequal shapes"):
        ThreeKGEmbedder(max_epochs=0, **TINY).fit([ragged_ecg, ragged_ecg])


def test_the_classifier_points_to_its_embedders_leads():
    X = np.zeros((6, 11, 64), np.float32)
    clf = ECGClassifier(ThreeKGEmbedder(max_epochs=0, **TINY), max_epochs=0)
    with pytest.raises(ValueError, match=r"set leads= .* \(a parameter of the embedder\)"):
        clf.fit(X, _labels(6))
