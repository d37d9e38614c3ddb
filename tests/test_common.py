"""scikit-learn's estimator checks on every public estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sk3kg import ECGClassifier, ThreeKGEmbedder

# The checks feed small 2-D arrays (a few features): configure a single-lead,
# masking-only embedder with a one-stage encoder, so a row of >= 4 values is a signal.
TABULAR_EMBEDDER = {
    "leads": ["II"],
    "angle": 0.0,
    "scale": 1.0,
    "n_stages": 1,
    "width": 4,
    "depth": 1,
    "batch_size": 32,
    "random_state": 0,
}
CHECKED_EMBEDDER = ThreeKGEmbedder(**TABULAR_EMBEDDER, max_epochs=2)
# The checks' datasets hold about 50 training samples: a validation split of 5 would
# stop training at random, so the classifier trains all its epochs.
CHECKED_CLASSIFIER = ECGClassifier(
    ThreeKGEmbedder(**TABULAR_EMBEDDER, max_epochs=0),
    validation_fraction=None,
    max_epochs=30,
    batch_size=32,
    lr=1e-2,
    random_state=0,
)


def _expected_failed_checks(estimator):
    return {}


@parametrize_with_checks(
    [CHECKED_EMBEDDER, CHECKED_CLASSIFIER], expected_failed_checks=_expected_failed_checks
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
