import pickle
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback, Checkpoint

from sk3kg import ThreeKGEmbedder
from sk3kg.augment import StandardAugment
from sk3kg.vcg import vcg_to_ecg

from .conftest import smooth_vcg

SMALL = {"width": 4, "depth": 1, "max_epochs": 2, "batch_size": 16, "random_state": 0}


@pytest.fixture
def ecgs(rng):
    """48 dipolar ECGs ``(48, 12, 256)`` and a 2-class multilabel target from their axes."""
    vcg = smooth_vcg(rng, 48, 256)
    target = np.stack([vcg[:, 0].mean(1) > 0, vcg[:, 1].mean(1) > 0], axis=1).astype(int)
    return vcg_to_ecg(vcg).astype(np.float32), target


def test_fit_transform_gives_float32_embeddings_of_embedding_dim(ecgs):
    X, _ = ecgs
    embedder = ThreeKGEmbedder(**SMALL)
    embeddings = embedder.fit_transform(X)
    assert embeddings.shape == (48, 32) and embeddings.dtype == np.float32
    assert np.isfinite(embeddings).all()
    assert (embedder.n_leads_in_, embedder.n_timepoints_in_, embedder.n_features_in_) == (
        12,
        256,
        12 * 256,
    )
    assert len(embedder.history_) == 2


def test_flattened_input_gives_the_same_embeddings(ecgs):
    X, _ = ecgs
    from_3d = ThreeKGEmbedder(**SMALL).fit(X).transform(X)
    from_2d = ThreeKGEmbedder(**SMALL).fit(X.reshape(48, -1)).transform(X.reshape(48, -1))
    np.testing.assert_array_equal(from_3d, from_2d)


def test_same_random_state_gives_bit_identical_embeddings(ecgs):
    X, _ = ecgs
    first = ThreeKGEmbedder(**SMALL).fit_transform(X)
    again = ThreeKGEmbedder(**SMALL).fit_transform(X)
    other = ThreeKGEmbedder(**{**SMALL, "random_state": 1}).fit_transform(X)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_fit_leaves_global_torch_random_state_alone(ecgs):
    state = torch.random.get_rng_state()
    ThreeKGEmbedder(**SMALL).fit(ecgs[0])
    assert torch.equal(torch.random.get_rng_state(), state)


def test_fits_in_threads_give_the_embeddings_of_fits_in_sequence(ecgs):
    # joblib's threading and Dask backends run fits in threads of one process.
    X, _ = ecgs
    params = [{**SMALL, "random_state": seed} for seed in (0, 1)]
    in_sequence = [ThreeKGEmbedder(**p).fit(X).transform(X) for p in params]
    with ThreadPoolExecutor(2) as pool:
        in_threads = list(pool.map(lambda p: ThreeKGEmbedder(**p).fit(X).transform(X), params))
    for threaded, sequential in zip(in_threads, in_sequence, strict=True):
        np.testing.assert_array_equal(threaded, sequential)


def test_contrastive_loss_falls_during_training(ecgs):
    X, _ = ecgs
    embedder = ThreeKGEmbedder(**{**SMALL, "max_epochs": 8, "width": 8}).fit(X)
    loss = embedder.history_[:, "train_loss"]
    assert np.mean(loss[-2:]) < loss[0]


def test_pipeline_with_multilabel_target_predicts_better_than_chance(ecgs):
    X, target = ecgs
    pipe = Pipeline(
        [
            ("emb", ThreeKGEmbedder(**{**SMALL, "angle": 0.0, "scale": 1.0, "mask_ratio": 0.1})),
            ("scale", StandardScaler()),
            ("clf", OneVsRestClassifier(LogisticRegression())),
        ]
    )
    scores = pipe.fit(X[:32], target[:32]).predict_proba(X[32:])
    assert scores.shape == (16, 2)
    assert roc_auc_score(target[32:], scores, average="macro") > 0.6


def test_grid_search_over_augmentation_strengths(ecgs):
    X, target = ecgs
    pipe = Pipeline(
        [("emb", ThreeKGEmbedder(**{**SMALL, "max_epochs": 1})), ("clf", LogisticRegression())]
    )
    grid = {"emb__angle": [15, 45], "emb__mask_ratio": [0.25, 0.5]}
    search = GridSearchCV(pipe, grid, cv=2, scoring="roc_auc").fit(X, target[:, 0])
    assert len(search.cv_results_["params"]) == 4
    assert search.best_estimator_.named_steps["emb"].angle in (15, 45)


def test_clone_keeps_parameters_and_drops_fitted_state(ecgs):
    embedder = ThreeKGEmbedder(angle=15, **SMALL).fit(ecgs[0])
    copy = clone(embedder)
    assert copy.get_params() == embedder.get_params()
    with pytest.raises(NotFittedError):
        copy.transform(ecgs[0])


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_a_pickled_embedder_transforms_identically(ecgs, tmp_path, dump):
    X, _ = ecgs
    embedder = ThreeKGEmbedder(**SMALL).fit(X)
    path = tmp_path / "embedder.pkl"
    if dump == "pickle":
        path.write_bytes(pickle.dumps(embedder))
        loaded = pickle.loads(path.read_bytes())
    else:
        joblib.dump(embedder, path)
        loaded = joblib.load(path)
    np.testing.assert_array_equal(loaded.transform(X), embedder.transform(X))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU to fit on")
def test_a_model_fitted_on_gpu_transforms_on_a_cpu_only_machine(ecgs, tmp_path):
    X, _ = ecgs
    embedder = ThreeKGEmbedder(**{**SMALL, "device": "cuda"}).fit(X)
    joblib.dump(embedder, tmp_path / "gpu.pkl")
    np.save(tmp_path / "X.npy", X)
    script = (
        "import joblib, numpy as np, warnings; warnings.simplefilter('ignore');"
        f"e = joblib.load({str(tmp_path / 'gpu.pkl')!r});"
        f"print(e.transform(np.load({str(tmp_path / 'X.npy')!r})).shape)"
    )
    env = {"CUDA_VISIBLE_DEVICES": ""}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "(48, 32)", out.stderr


def test_pandas_output_names_the_embedding_columns(ecgs):
    X, _ = ecgs
    embedder = ThreeKGEmbedder(**SMALL).set_output(transform="pandas")
    frame = embedder.fit_transform(X.reshape(48, -1))
    assert list(frame.columns) == [f"threekgembedder{i}" for i in range(32)]
    assert list(embedder.get_feature_names_out()) == list(frame.columns)


def test_groups_change_what_counts_as_positive(ecgs):
    X, _ = ecgs
    plain = ThreeKGEmbedder(**SMALL).fit(X)
    grouped = ThreeKGEmbedder(**SMALL).fit(X, groups=np.repeat(np.arange(12), 4))
    assert grouped.history_[-1, "train_loss"] != plain.history_[-1, "train_loss"]


def test_validation_fraction_reports_a_validation_loss(ecgs):
    embedder = ThreeKGEmbedder(**{**SMALL, "validation_fraction": 0.25}).fit(ecgs[0])
    assert all(np.isfinite(embedder.history_[:, "valid_loss"]))


def test_skorch_callbacks_run_and_checkpoint(ecgs, tmp_path):
    class CountEpochs(Callback):
        def initialize(self):
            self.epochs = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.epochs += 1

    counter = CountEpochs()
    checkpoint = Checkpoint(dirname=str(tmp_path), monitor=None)
    embedder = ThreeKGEmbedder(**SMALL, callbacks=[counter, checkpoint]).fit(ecgs[0])
    assert dict(embedder.net_.callbacks_)["CountEpochs"].epochs == 2
    assert not hasattr(counter, "epochs"), "the given callback is copied, not mutated"
    assert (tmp_path / "params.pt").exists() and (tmp_path / "optimizer.pt").exists()


def test_verbose_shows_progress_and_epoch_log(ecgs, capsys):
    ThreeKGEmbedder(**{**SMALL, "verbose": 1}).fit(ecgs[0])
    captured = capsys.readouterr()
    assert "train_loss" in captured.out
    assert "it/s" in captured.err or "s/it" in captured.err


@pytest.mark.parametrize(
    "params",
    [
        {"augment": StandardAugment()},
        {"lead_mode": "shared"},
        {"augment_mode": "residual", "rotation_order": "xyz", "scale_law": "uniform"},
    ],
    ids=["standard-augment", "shared-leads", "residual-xyz-uniform"],
)
def test_alternative_configurations_train(ecgs, params):
    embedder = ThreeKGEmbedder(**SMALL, **params).fit(ecgs[0])
    assert np.isfinite(embedder.transform(ecgs[0])).all()


def test_zero_epochs_gives_the_untrained_encoder(ecgs):
    untrained = ThreeKGEmbedder(**{**SMALL, "max_epochs": 0}).fit(ecgs[0])
    trained = ThreeKGEmbedder(**SMALL).fit(ecgs[0])
    assert len(untrained.history_) == 0
    initial = dict(untrained.encoder_.named_parameters())
    for name, weight in trained.encoder_.named_parameters():
        assert weight.shape == initial[name].shape
    assert not np.array_equal(untrained.transform(ecgs[0]), trained.transform(ecgs[0]))


def test_fit_does_not_modify_a_given_augment(ecgs):
    augment = StandardAugment(noise=0.2)
    embedder = ThreeKGEmbedder(**SMALL, augment=augment).fit(ecgs[0])
    assert embedder.augment is augment and embedder.net_.augment_ is not augment


def test_single_lead_signals_train_with_masking_only(rng):
    X = rng.normal(size=(20, 1, 128)).astype(np.float32)
    embedder = ThreeKGEmbedder(**SMALL, leads=["II"], angle=0, scale=1).fit(X)
    assert embedder.transform(X[:, 0]).shape == (20, 32)
    with pytest.raises(ValueError, match="missing I, V1"):
        ThreeKGEmbedder(**SMALL, leads=["II"]).fit(X)


@pytest.mark.parametrize(
    ("X", "message"),
    [
        (np.zeros((8, 11, 256), np.float32), "X has 11 leads .* expects 12; set leads="),
        (np.zeros((8, 12 * 256 + 1), np.float32), "not a multiple of its 12 leads"),
        (np.zeros((8, 12, 8), np.float32), r"8 time step\(s\) per lead .* minimum of 16"),
        (np.full((8, 12, 256), np.nan, np.float32), "NaN"),
        (np.zeros((1, 12, 256), np.float32), "Got 1 sample"),
    ],
    ids=["lead-count", "flattened-size", "too-short", "nan", "one-sample"],
)
def test_fit_refuses_bad_input_naming_the_problem(X, message):
    with pytest.raises(ValueError, match=message):
        ThreeKGEmbedder(**SMALL).fit(X)


def test_transform_refuses_other_leads_or_lengths_than_fit(ecgs):
    X, _ = ecgs
    embedder = ThreeKGEmbedder(**SMALL).fit(X)
    with pytest.raises(ValueError, match="fitted on 256; crop, pad or resample"):
        embedder.transform(X[:, :, :200])
    with pytest.raises(ValueError, match="was fitted on 12"):
        embedder.transform(X[:, :8])


def test_transform_before_fit_is_refused(ecgs):
    with pytest.raises(NotFittedError):
        ThreeKGEmbedder().transform(ecgs[0])


def test_groups_of_the_wrong_length_are_refused(ecgs):
    with pytest.raises(ValueError, match=r"one id per sample, shape \(48,\)"):
        ThreeKGEmbedder(**SMALL).fit(ecgs[0], groups=np.arange(5))


def test_invalid_parameters_are_refused_at_fit(ecgs):
    with pytest.raises(ValueError, match="'angle' parameter of ThreeKGEmbedder must be"):
        ThreeKGEmbedder(angle=-5).fit(ecgs[0])
