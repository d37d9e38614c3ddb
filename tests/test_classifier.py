"""ECGClassifier: the exact probe, LP-FT, epoch selection, thresholds, scikit-learn's contract."""

import pickle

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from sk3kg import ECGClassifier, ThreeKGEmbedder
from sk3kg.augment import ThreeKGAugment
from sk3kg.metrics import f1_thresholds, macro_auc, multilabel_auc_scorer

TINY = {"width": 4, "depth": 1, "batch_size": 16, "random_state": 0}
FAST = {"max_epochs": 8, "batch_size": 16, "lr": 1e-2, "random_state": 0}


def _labelled_ecgs(rng, n=96, length=128):
    """ECGs with 3 labels, each a sinusoid of its own frequency added to some leads."""
    y = (rng.random((n, 3)) < 0.4).astype(int)
    t = np.arange(length) / 100.0
    X = rng.normal(scale=0.3, size=(n, 12, length))
    for label, hz in enumerate((3.0, 9.0, 17.0)):
        X += y[:, label, None, None] * np.sin(2 * np.pi * hz * t)
    return X.astype(np.float32), y


@pytest.fixture
def data(rng):
    return _labelled_ecgs(rng)


def _encoder_state(estimator):
    return {k: v.clone() for k, v in estimator.encoder_.state_dict().items()}


def _same_state(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_multilabel_y_gives_ovr_shaped_probabilities_that_learn(data):
    X, y = data
    clf = ECGClassifier(ThreeKGEmbedder(max_epochs=0, **TINY), **FAST).fit(X[:64], y[:64])
    proba = clf.predict_proba(X[64:])
    assert proba.shape == (32, 3) and clf.classes_.tolist() == [0, 1, 2]
    assert macro_auc(y[64:], proba) > 0.9
    assert multilabel_auc_scorer(clf, X[64:], y[64:]) == pytest.approx(macro_auc(y[64:], proba))
    np.testing.assert_array_equal(clf.predict(X[64:]), (proba >= 0.5).astype(int))


def test_decision_function_returns_the_logits_behind_the_probabilities(data):
    X, y = data
    clf = ECGClassifier(ThreeKGEmbedder(max_epochs=0, **TINY), max_epochs=1, random_state=0)
    clf.fit(X, y)
    logits = clf.decision_function(X)
    np.testing.assert_allclose(clf.predict_proba(X), 1 / (1 + np.exp(-logits)), rtol=1e-5)


def test_one_label_per_ecg_gives_a_softmax_classifier(data):
    X, y = data
    labels = np.array(["AF", "NSR", "PAC"])[y.argmax(axis=1)]
    clf = ECGClassifier(ThreeKGEmbedder(max_epochs=0, **TINY), **FAST).fit(X, labels)
    proba = clf.predict_proba(X)
    assert clf.classes_.tolist() == ["AF", "NSR", "PAC"]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert set(clf.predict(X)) <= set(clf.classes_)
    assert clf.decision_function(X).shape == (96, 3)


def test_binary_labels_give_a_one_column_decision_function(data):
    X, y = data
    clf = ECGClassifier(ThreeKGEmbedder(max_epochs=0, **TINY), max_epochs=1, random_state=0)
    clf.fit(X, y[:, 0])
    decision = clf.decision_function(X)
    assert decision.shape == (96,)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[(decision > 0).astype(int)])


def test_no_embedder_trains_a_default_size_encoder_from_scratch(data):
    X, y = data
    clf = ECGClassifier(max_epochs=1, batch_size=32, random_state=0).fit(X, y)
    assert clf.embedder_ is None
    assert clf.encoder_.embedding_dim == ThreeKGEmbedder().width * 2 ** (4 - 1)


def test_an_unfitted_embedder_is_cloned_and_pretrained_on_x_first(data):
    X, y = data
    embedder = ThreeKGEmbedder(max_epochs=2, **TINY)
    clf = ECGClassifier(embedder, max_epochs=1, random_state=0).fit(X, y)
    assert not hasattr(embedder, "net_")
    assert len(clf.embedder_.history_) == 2
    assert clf.embedder_.n_timepoints_in_ == X.shape[2]


def test_a_fitted_embedder_is_the_start_and_is_never_changed(data):
    X, y = data
    embedder = ThreeKGEmbedder(max_epochs=1, **TINY).fit(X)
    before = _encoder_state(embedder)
    embedding = embedder.transform(X[:8])
    start = ECGClassifier(embedder, max_epochs=0, random_state=0).fit(X, y)
    assert _same_state(_encoder_state(start), before)
    tuned = ECGClassifier(embedder, max_epochs=2, validation_fraction=None, random_state=0)
    tuned.fit(X, y)
    assert not _same_state(_encoder_state(tuned), before)
    assert _same_state(_encoder_state(embedder), before)
    np.testing.assert_array_equal(embedder.transform(X[:8]), embedding)
    assert tuned.embedder_ is embedder


def test_freeze_encoder_trains_the_head_alone_and_keeps_batch_norm_statistics(data):
    X, y = data
    embedder = ThreeKGEmbedder(max_epochs=1, **TINY).fit(X)
    clf = ECGClassifier(embedder, freeze_encoder=True, **FAST).fit(X, y)
    assert _same_state(_encoder_state(clf), _encoder_state(embedder))  # running stats too
    np.testing.assert_allclose(
        clf.decision_function(X),
        embedder.transform(X) @ clf.net_.module_.head.weight.detach().numpy().T
        + clf.net_.module_.head.bias.detach().numpy(),
        rtol=1e-4,
        atol=1e-5,
    )


def _probe_by_hand(embedder, X, y, c):
    """scikit-learn's probe: standardised embeddings, one logistic regression per label."""
    pipe = make_pipeline(
        StandardScaler(), OneVsRestClassifier(LogisticRegression(C=c, solver="newton-cholesky"))
    )
    return pipe.fit(embedder.transform(X), y)


def test_the_head_starts_at_the_exact_logistic_regression_probe(data):
    X, y = data
    embedder = ThreeKGEmbedder(max_epochs=1, **TINY).fit(X)
    probe = ECGClassifier(embedder, freeze_encoder=True, max_epochs=0, random_state=0)
    probe.fit(X[:64], y[:64], X_val=X[64:], y_val=y[64:])
    assert probe.probe_C_ in (0.01, 0.1, 1.0) and probe.best_epoch_ == 0
    by_hand = _probe_by_hand(embedder, X[:64], y[:64], probe.probe_C_)
    expected = by_hand.predict_proba(embedder.transform(X[64:]))
    # The same objective; the solvers stop within their tolerance of its minimum.
    np.testing.assert_allclose(probe.predict_proba(X[64:]), expected, atol=2e-3)
    assert probe.valid_scores_[0] == pytest.approx(macro_auc(y[64:], expected), abs=1e-3)
    # The C kept is the one whose probe scores best on the validation ECGs.
    aucs = {
        c: macro_auc(y[64:], _probe_by_hand(embedder, X[:64], y[:64], c).predict_proba(
            embedder.transform(X[64:])))
        for c in (0.01, 0.1, 1.0)
    }  # fmt: skip
    assert aucs[probe.probe_C_] == pytest.approx(max(aucs.values()), abs=1e-3)


def test_fine_tuning_never_ends_below_its_probe_on_validation():
    """The guarantee, where fine-tuning hurts: a learning rate far too high."""
    from sk3kg.datasets import make_synthetic_ecgs

    bunch = make_synthetic_ecgs(160, fs=100, duration=5.0, random_state=0)
    X, y = bunch.data.astype(np.float32), bunch.target
    seen = y[:96].any(axis=0) & y[96:].any(axis=0)
    X, y = X, y[:, seen]
    embedder = ThreeKGEmbedder(max_epochs=2, **TINY).fit(X[:96])
    clf = ECGClassifier(embedder, max_epochs=4, lr=0.3, patience=4, batch_size=16, random_state=0)
    clf.fit(X[:96], y[:96], X_val=X[96:], y_val=y[96:])
    probe_auc = macro_auc(
        y[96:], _probe_by_hand(embedder, X[:96], y[:96], clf.probe_C_).predict_proba(
            embedder.transform(X[96:]))
    )  # fmt: skip
    assert min(clf.valid_scores_[1:]) < clf.valid_scores_[0]  # some epochs fell below it
    assert macro_auc(y[96:], clf.predict_proba(X[96:])) >= probe_auc - 1e-3


def test_the_epoch_kept_is_the_best_scored_and_training_stops_after_patience(data):
    X, y = data
    clf = ECGClassifier(
        ThreeKGEmbedder(max_epochs=0, **TINY), max_epochs=30, lr=3e-2, patience=2, random_state=0
    )
    clf.fit(X[:64], y[:64], X_val=X[64:], y_val=y[64:])
    scores = clf.valid_scores_
    assert scores[1:] == pytest.approx(list(clf.history_[:, "valid_score"]))
    assert clf.best_epoch_ == int(np.argmax(scores))
    assert len(scores) - 1 - clf.best_epoch_ == 2 or len(scores) == 31
    assert macro_auc(y[64:], clf.predict_proba(X[64:])) == pytest.approx(max(scores), abs=1e-6)


@pytest.mark.parametrize("schedule", ["cosine", "constant"])
def test_the_learning_rate_schedule_and_the_encoders_share_of_it(data, schedule):
    X, y = data
    clf = ECGClassifier(
        ThreeKGEmbedder(max_epochs=0, **TINY), max_epochs=3, lr=1e-2, encoder_lr_scale=0.1,
        lr_schedule=schedule, validation_fraction=None, batch_size=32, random_state=0,
    )  # fmt: skip
    clf.fit(X, y)
    groups = clf.net_.optimizer_.param_groups
    head, encoder = groups[-1]["lr"], groups[0]["lr"]
    assert encoder == pytest.approx(0.1 * head)
    assert head == (pytest.approx(0.0, abs=1e-9) if schedule == "cosine" else 1e-2)


def test_encoder_lr_scale_zero_leaves_the_encoder_weights_in_place(data):
    X, y = data
    embedder = ThreeKGEmbedder(max_epochs=1, **TINY).fit(X)
    clf = ECGClassifier(embedder, encoder_lr_scale=0.0, max_epochs=2, random_state=0).fit(X, y)
    before = dict(embedder.encoder_.named_parameters())
    for name, weight in clf.encoder_.named_parameters():
        assert torch.equal(weight, before[name]), name


def test_balanced_class_weight_weighs_positives_by_their_rarity(data):
    X, y = data
    y = y.copy()
    y[:, 2] = 0
    y[:4, 2] = 1  # 4 of 96
    clf = ECGClassifier(max_epochs=0, class_weight="balanced", validation_fraction=None)
    clf.fit(X, y)
    expected = (96 - y.sum(axis=0)) / y.sum(axis=0)
    np.testing.assert_allclose(clf.net_.criterion_.pos_weight.numpy(), expected, rtol=1e-6)


def test_loss_selection_keeps_the_epoch_of_the_lowest_validation_loss(data):
    X, y = data
    clf = ECGClassifier(
        ThreeKGEmbedder(max_epochs=0, **TINY), max_epochs=12, lr=3e-2, patience=2,
        selection="loss", random_state=0,
    )  # fmt: skip
    clf.fit(X[:64], y[:64], X_val=X[64:], y_val=y[64:])
    kept = log_loss(y[64:].ravel(), clf.predict_proba(X[64:]).ravel())
    assert kept == pytest.approx(-max(clf.valid_scores_), rel=1e-4)
    assert -max(clf.valid_scores_) <= min(clf.history_[:, "valid_loss"]) + 1e-6


def test_without_validation_every_epoch_runs_and_the_last_is_kept(data):
    X, y = data
    clf = ECGClassifier(ThreeKGEmbedder(max_epochs=1, **TINY), max_epochs=3, random_state=0)
    clf.set_params(validation_fraction=None).fit(X, y)
    assert len(clf.history_) == 3 and clf.valid_scores_ == [] and clf.best_epoch_ is None
    assert clf.probe_C_ == 1.0  # documented: no validation to choose it on


def test_a_validation_split_without_both_labels_of_any_class_selects_by_loss(data):
    X, y = data
    clf = ECGClassifier(ThreeKGEmbedder(max_epochs=0, **TINY), max_epochs=2, random_state=0)
    with pytest.warns(UserWarning, match="no class with both positive and negative ECGs"):
        clf.fit(X, y, X_val=X[:8], y_val=np.zeros((8, 3), dtype=int))
    assert clf.selection_ == "loss" and all(np.isfinite(clf.valid_scores_))
    labels = np.arange(8) % 2
    with pytest.warns(UserWarning, match="The held-out validation split \\(1 ECGs\\)"):
        ECGClassifier(ThreeKGEmbedder(max_epochs=0, **TINY), max_epochs=0).fit(X[:8], labels)


def test_auto_thresholds_maximise_f1_on_the_validation_data(data):
    X, y = data
    clf = ECGClassifier(ThreeKGEmbedder(max_epochs=0, **TINY), threshold="auto", **FAST)
    clf.fit(X[:64], y[:64], X_val=X[64:], y_val=y[64:])
    expected = f1_thresholds(y[64:], clf.predict_proba(X[64:]))
    np.testing.assert_array_equal(clf.thresholds_, expected)
    np.testing.assert_array_equal(clf.predict(X), (clf.predict_proba(X) >= expected).astype(int))


def test_training_augmentation_changes_the_model_but_not_prediction(data):
    X, y = data
    plain = ECGClassifier(
        ThreeKGEmbedder(max_epochs=0, **TINY),
        max_epochs=1,
        validation_fraction=None,
        random_state=0,
    )
    augmented = clone(plain).set_params(augment=ThreeKGAugment())
    a = plain.fit(X, y).predict_proba(X)
    b = augmented.fit(X, y).predict_proba(X)
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(b, augmented.predict_proba(X))


def test_the_same_random_state_gives_the_same_classifier(data):
    X, y = data

    def make():
        return ECGClassifier(ThreeKGEmbedder(max_epochs=1, **TINY), max_epochs=2, random_state=3)

    np.testing.assert_array_equal(
        make().fit(X, y).predict_proba(X), make().fit(X, y).predict_proba(X)
    )


def test_memory_mapped_x_streams_and_gives_the_in_memory_result(data, tmp_path):
    X, y = data
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    clf = ECGClassifier(ThreeKGEmbedder(max_epochs=0, **TINY), max_epochs=2, random_state=0)
    in_memory = clone(clf).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(clf.fit(mapped, y).predict_proba(mapped), in_memory)


class _Items(torch.utils.data.Dataset):
    def __init__(self, X):
        self.X = X

    def __len__(self):
        return len(self.X)

    def __getitem__(self, index):
        return torch.from_numpy(self.X[index])


def test_a_torch_dataset_streams_and_gives_the_in_memory_result(data):
    X, y = data
    clf = ECGClassifier(ThreeKGEmbedder(max_epochs=0, **TINY), max_epochs=2, random_state=0)
    in_memory = clone(clf).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(clf.fit(_Items(X), y).predict_proba(_Items(X)), in_memory)


def test_pickle_and_joblib_round_trips_predict_the_same(data, tmp_path):
    X, y = data
    clf = ECGClassifier(ThreeKGEmbedder(max_epochs=0, **TINY), max_epochs=1, random_state=0)
    clf.fit(X, y)
    expected = clf.predict_proba(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(clf)).predict_proba(X), expected)
    joblib.dump(clf, tmp_path / "clf.joblib")
    np.testing.assert_array_equal(joblib.load(tmp_path / "clf.joblib").predict_proba(X), expected)


def test_grid_search_over_the_head_start_and_the_embedders_angle(data):
    X, y = data
    clf = ECGClassifier(ThreeKGEmbedder(max_epochs=1, **TINY), max_epochs=1, random_state=0)
    grid = {"head_init": ["probe", "random"], "embedder__angle": [15.0, 45.0]}
    search = GridSearchCV(clf, grid, cv=KFold(2), scoring=multilabel_auc_scorer).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_estimator_.embedder_.angle == search.best_params_["embedder__angle"]


def test_a_frozen_embedder_is_not_pretrained_again_in_a_search(data):
    X, y = data
    embedder = ThreeKGEmbedder(max_epochs=1, **TINY).fit(X)
    clf = ECGClassifier(FrozenEstimator(embedder), max_epochs=1, random_state=0)
    cloned = clone(clf).fit(X, y)
    assert cloned.embedder_ is embedder
    search = GridSearchCV(clf, {"lr": [1e-3, 1e-2]}, cv=KFold(2)).fit(X, y)
    assert search.best_estimator_.embedder_ is embedder


def test_a_pipeline_with_a_classifier_step_fits_and_scores(data):
    X, y = data
    pipe = Pipeline([("clf", ECGClassifier(ThreeKGEmbedder(max_epochs=0, **TINY), **FAST))])
    assert multilabel_auc_scorer(pipe.fit(X[:64], y[:64]), X[64:], y[64:]) > 0.8


@pytest.mark.parametrize(
    ("y", "kwargs", "message"),
    [
        (None, {}, "requires y to be passed"),
        (np.zeros(95), {}, "y has 95 labels but X has 96 ECGs"),
        (np.zeros(96), {}, "only one class"),
        (np.arange(96) % 2, {"threshold": "auto"}, 'threshold="auto" chooses per-label'),
        (
            np.eye(3)[np.arange(96) % 3],
            {"threshold": "auto", "validation_fraction": None},
            "needs validation data",
        ),
    ],
    ids=["no-y", "length", "one-class", "auto-with-labels", "auto-without-validation"],
)
def test_bad_targets_are_refused_saying_what_to_do(data, y, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ECGClassifier(max_epochs=0, **kwargs).fit(data[0], y)


def test_an_embedder_of_another_kind_is_refused(data):
    from sklearn.decomposition import PCA

    with pytest.raises(TypeError, match="embedder must be a ThreeKGEmbedder"):
        ECGClassifier(PCA()).fit(*data)


def test_validation_data_must_come_as_a_pair(data):
    with pytest.raises(ValueError, match="X_val and y_val together"):
        ECGClassifier(max_epochs=0).fit(*data, X_val=data[0])


def test_verbose_output_has_progress_and_no_colour_codes_off_a_terminal(data, capsys):
    X, y = data
    ECGClassifier(ThreeKGEmbedder(max_epochs=0, **TINY), max_epochs=2, verbose=1).fit(X, y)
    out = capsys.readouterr()
    assert "valid_loss" in out.out and "\x1b[" not in out.out


def test_class_weight_dicts_map_classes_or_label_columns(data):
    X, y = data
    labels = np.array(["AF", "NSR", "PAC"])[y.argmax(axis=1)]
    weights = {"AF": 2.0, "NSR": 1.0, "PAC": 0.5}
    clf = ECGClassifier(max_epochs=0, class_weight=weights, validation_fraction=None).fit(X, labels)
    np.testing.assert_allclose(clf.net_.criterion_.weight.numpy(), [2.0, 1.0, 0.5])
    with pytest.raises(ValueError, match="not present in the data|not in"):
        ECGClassifier(max_epochs=0, class_weight={"XX": 2.0}).fit(X, labels)
    multilabel = ECGClassifier(max_epochs=0, class_weight={2: 5.0}, validation_fraction=None)
    np.testing.assert_allclose(multilabel.fit(X, y).net_.criterion_.pos_weight, [1, 1, 5])
    with pytest.raises(ValueError, match="column indices 0 to 2; got"):
        ECGClassifier(max_epochs=0, class_weight={3: 5.0}).fit(X, y)


def test_bad_validation_data_is_refused_before_any_pretraining(data):
    X, y = data
    embedder = ThreeKGEmbedder(max_epochs=50, **TINY)  # would take long if it ran
    with pytest.raises(ValueError, match="X has 8 leads"):
        ECGClassifier(embedder).fit(X, y, X_val=X[:, :8], y_val=y)
    assert not hasattr(embedder, "net_")


def test_column_shaped_labels_and_validation_without_a_fraction(data):
    X, y = data
    labels = y[:, :1]
    clf = ECGClassifier(max_epochs=1, validation_fraction=None, random_state=0)
    with pytest.warns(Warning, match="column-vector y"):
        clf.fit(X[:64], labels[:64], X_val=X[64:], y_val=labels[64:])
    assert clf.classes_.tolist() == [0, 1] and "valid_loss" in clf.history_[-1]


@pytest.mark.parametrize(
    ("n", "kwargs", "groups", "message"),
    [
        (4, {"validation_fraction": 0.9}, None, "leaves none to train on"),
        (8, {}, np.zeros(8), "All ECGs are in one group"),
    ],
    ids=["fraction", "one-group"],
)
def test_impossible_validation_splits_are_refused_saying_what_to_do(
    data, n, kwargs, groups, message
):
    X, y = data
    with pytest.raises(ValueError, match=message):
        ECGClassifier(max_epochs=0, **kwargs).fit(X[:n], np.arange(n) % 2, groups=groups)


def test_an_embedder_whose_fit_failed_is_pretrained_again(data):
    X, y = data
    embedder = ThreeKGEmbedder(max_epochs=1, **TINY)
    embedder.n_leads_in_ = 12  # what a fit that raised after validation leaves behind
    clf = ECGClassifier(embedder, max_epochs=0, random_state=0).fit(X, y)
    assert clf.embedder_ is not embedder and len(clf.embedder_.history_) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((np.ones((10, 4)), np.zeros((9, 2))), "y_train has 9 labels but train_features has 10"),
        ((np.full((10, 4), np.nan), np.zeros((10, 2))), "train_features contains NaN"),
        ((np.ones((10, 4)), np.zeros((10, 2)), np.ones((5, 4))), "valid_features and y_valid"),
        ((np.ones((10, 4)), np.zeros((10, 2)), np.ones((5, 3)), np.zeros((5, 2))), "3 features"),
    ],
    ids=["length", "nan", "valid-alone", "valid-width"],
)
def test_fit_linear_probe_names_bad_input(args, message):
    from sk3kg import fit_linear_probe

    with pytest.raises(ValueError, match=message):
        fit_linear_probe(*args)
