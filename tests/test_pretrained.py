import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from skorch.callbacks import EarlyStopping
from torch import nn

import sk3kg._pretrained
from sk3kg import ThreeKGEmbedder
from sk3kg._pretrained import PretrainedMixin, _build, _encode_params
from sk3kg.augment import StandardAugment
from sk3kg.nn import load_encoder
from sk3kg.nn._pretrained import file_sha256
from sk3kg.vcg import vcg_to_ecg

from .conftest import smooth_vcg

SMALL = {"width": 4, "depth": 1, "max_epochs": 1, "batch_size": 16, "random_state": 0}


@pytest.fixture(scope="module")
def ecgs():
    return vcg_to_ecg(smooth_vcg(np.random.default_rng(0), 32, 250)).astype(np.float32)


@pytest.fixture(scope="module")
def fitted(ecgs):
    """A fitted embedder; tests must not change it (they fit loaded copies)."""
    return ThreeKGEmbedder(**SMALL).fit(ecgs)


@pytest.fixture
def saved(tmp_path, fitted):
    folder = tmp_path / "encoder"
    fitted.save_pretrained(folder)
    return folder


def _config(folder: Path) -> dict:
    return json.loads((folder / "config.json").read_text())


def _write_config(folder: Path, config: dict) -> None:
    (folder / "config.json").write_text(json.dumps(config))


def _write_weights(folder: Path, state: dict) -> None:
    """Replace the weights and record their sha256, as a consistent save would."""
    save_file(state, folder / "model.safetensors")
    config = _config(folder)
    config["weights"]["sha256"] = file_sha256(folder / "model.safetensors")
    _write_config(folder, config)


class NoisyViews(nn.Module):
    """A user's own view generator, which save_pretrained cannot store."""

    def forward(self, x, generator=None):
        return x + 0.1 * torch.randn(x.shape, generator=generator)


def test_from_pretrained_transform_is_bit_identical(fitted, saved, ecgs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to warn about: every parameter was saved
        loaded = ThreeKGEmbedder.from_pretrained(saved)
    assert np.array_equal(loaded.transform(ecgs), fitted.transform(ecgs))
    assert loaded.get_params() == fitted.get_params()
    assert (loaded.n_leads_in_, loaded.n_timepoints_in_, loaded.n_features_in_) == (12, 250, 3000)


def test_config_records_params_versions_sha256_and_training(fitted, saved):
    config = _config(saved)
    assert sorted(path.name for path in saved.iterdir()) == ["config.json", "model.safetensors"]
    assert config["format_version"] == 1 and config["estimator"] == "ThreeKGEmbedder"
    assert config["sk3kg_version"] == sk3kg.__version__
    assert config["torch_version"] == torch.__version__
    assert config["params"] == fitted.get_params(deep=False)
    assert config["fitted"]["n_leads_in_"] == 12 and config["fitted"]["embedding_dim_"] == 32
    assert config["fitted"]["leads"][:3] == ["I", "II", "III"]
    assert config["training"] == {
        "n_samples": 32,
        "epochs": 1,
        "final_loss": fitted.history_[-1, "train_loss"],
    }
    assert config["weights"] == {
        "file": "model.safetensors",
        "sha256": file_sha256(saved / "model.safetensors"),
    }


def test_weights_file_holds_the_whole_contrastive_model_in_float32(fitted, saved):
    state = load_file(saved / "model.safetensors")
    assert state.keys() == fitted.net_.module_.state_dict().keys()
    assert any(name.startswith("head.") for name in state)
    assert {t.dtype for t in state.values() if t.is_floating_point()} == {torch.float32}


def test_saving_a_loaded_model_again_keeps_its_config(saved, tmp_path):
    ThreeKGEmbedder.from_pretrained(saved).save_pretrained(tmp_path / "again")
    assert _config(tmp_path / "again") == _config(saved)


def test_custom_augment_is_unsaved_and_loads_as_none_with_a_warning(ecgs, tmp_path):
    augment = NoisyViews()
    ThreeKGEmbedder(augment=augment, **SMALL).fit(ecgs).save_pretrained(tmp_path)
    assert _config(tmp_path)["params"]["augment"] == {"unsaved": repr(augment)}
    with pytest.warns(UserWarning, match="augment=NoisyViews.*Pass augment= again"):
        loaded = ThreeKGEmbedder.from_pretrained(tmp_path)
    assert loaded.augment is None


def test_standard_augment_round_trips(ecgs, tmp_path):
    augment = StandardAugment(noise=0.2, shift=0.05, fs=250.0)
    ThreeKGEmbedder(augment=augment, **SMALL).fit(ecgs).save_pretrained(tmp_path)
    loaded = ThreeKGEmbedder.from_pretrained(tmp_path).augment
    assert type(loaded) is StandardAugment
    assert loaded.extra_repr() == augment.extra_repr()


def test_callbacks_load_as_none_and_checkpoint_dir_is_not_saved(ecgs, tmp_path):
    embedder = ThreeKGEmbedder(
        callbacks=[EarlyStopping(monitor="train_loss")], checkpoint_dir=tmp_path / "run", **SMALL
    )
    embedder.fit(ecgs).save_pretrained(tmp_path / "saved")
    params = _config(tmp_path / "saved")["params"]
    assert params["checkpoint_dir"] is None and "EarlyStopping" in params["callbacks"]["unsaved"]
    with pytest.warns(UserWarning, match="callbacks="):
        loaded = ThreeKGEmbedder.from_pretrained(tmp_path / "saved")
    assert loaded.callbacks is None and loaded.checkpoint_dir is None


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_saved_cuda_device_loads_on_the_cpu_without_cuda(saved, ecgs, fitted):
    config = _config(saved)
    config["params"]["device"] = "cuda"
    _write_config(saved, config)
    loaded = ThreeKGEmbedder.from_pretrained(saved)
    assert loaded.device == "cpu"
    assert np.array_equal(loaded.transform(ecgs), fitted.transform(ecgs))


def test_device_argument_overrides_the_saved_device(saved):
    assert ThreeKGEmbedder.from_pretrained(saved, device="cpu").device == "cpu"


def _move(name):
    def damage(folder):
        (folder / name).rename(folder.parent / name)
        return folder

    return damage


def _edit_config(**changes):
    def damage(folder):
        _write_config(folder, _config(folder) | changes)
        return folder

    return damage


def _truncate(folder):
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    return folder


def _flip_one_byte(folder):
    weights = folder / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-5] ^= 1
    weights.write_bytes(bytes(data))
    return folder


def _break_config(folder):
    (folder / "config.json").write_text("{oops")
    return folder


def _add_file(folder):
    (folder / "notes.txt").write_text("trained on Monday")
    return folder


def _other_width(folder):
    X = np.random.default_rng(0).normal(size=(4, 12, 250)).astype(np.float32)
    wider = ThreeKGEmbedder(**(SMALL | {"width": 8, "max_epochs": 0})).fit(X)
    _write_weights(folder, wider.net_.module_.state_dict())
    return folder


DAMAGES = {
    "missing folder": (lambda f: f / "absent", FileNotFoundError, "does not exist"),
    "a file": (lambda f: f / "config.json", NotADirectoryError, "is a file"),
    "no config": (_move("config.json"), FileNotFoundError, "lacks config.json"),
    "config not JSON": (_break_config, ValueError, "is not valid JSON"),
    "no weights": (_move("model.safetensors"), FileNotFoundError, "lacks model.safetensors"),
    "extra file": (_add_file, ValueError, "holds notes.txt, which .* remove them"),
    "newer format": (
        _edit_config(format_version=99),
        ValueError,
        r"saved by a newer sk3kg \(format 99\); upgrade sk3kg",
    ),
    "no params": (
        lambda f: _write_config(f, {k: v for k, v in _config(f).items() if k != "params"}) or f,
        ValueError,
        "lacks params: it was edited",
    ),
    "other estimator": (
        _edit_config(estimator="ECGClassifier"),
        ValueError,
        "holds a ECGClassifier, not a ThreeKGEmbedder; load it with ECGClassifier.from_pretrained",
    ),
    "truncated weights": (_truncate, ValueError, "truncated or edited; save it again"),
    "edited byte": (_flip_one_byte, ValueError, "truncated or edited; save it again"),
    "weights of another width": (
        _other_width,
        ValueError,
        r"does not fit the architecture .*shape encoder\.stem\.0\.weight \(8, 12, 15\)",
    ),
}


@pytest.mark.parametrize("case", DAMAGES, ids=list(DAMAGES))
def test_from_pretrained_refuses_a_damaged_folder_with_a_clear_error(saved, case):
    damage, error, match = DAMAGES[case]
    path = damage(saved)
    with pytest.raises(error, match=match):
        ThreeKGEmbedder.from_pretrained(path)


def test_from_pretrained_refuses_parameters_this_version_does_not_know(saved):
    config = _config(saved)
    config["params"]["dropout"] = 0.1
    _write_config(saved, config)
    with pytest.raises(ValueError, match=r"parameters \['dropout'\] .* upgrade sk3kg"):
        ThreeKGEmbedder.from_pretrained(saved)


def test_a_classifier_saved_with_linear_probe_epochs_loads_with_a_warning(tmp_path, fitted):
    X = np.random.default_rng(0).normal(size=(32, 12, 64)).astype(np.float32)
    y = np.arange(32) % 2
    from sk3kg import ECGClassifier

    folder = tmp_path / "classifier"
    clf = ECGClassifier(fitted, max_epochs=0, random_state=0).fit(X, y)
    clf.save_pretrained(folder)
    config = _config(folder)
    config["params"]["linear_probe_epochs"] = 5  # what sk3kg's earlier ECGClassifier saved
    _write_config(folder, config)
    with pytest.warns(UserWarning, match="linear_probe_epochs=5, which this sk3kg removed"):
        loaded = ECGClassifier.from_pretrained(folder)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_save_pretrained_on_an_unfitted_embedder_raises_not_fitted(tmp_path):
    with pytest.raises(NotFittedError):
        ThreeKGEmbedder(**SMALL).save_pretrained(tmp_path / "encoder")
    assert not (tmp_path / "encoder").exists()


def test_save_pretrained_refuses_a_folder_of_other_files(fitted, tmp_path):
    (tmp_path / "data.npy").write_bytes(b"")
    with pytest.raises(FileExistsError, match="save_pretrained did not write .*data.npy"):
        fitted.save_pretrained(tmp_path)
    assert [path.name for path in tmp_path.iterdir()] == ["data.npy"]


def test_save_pretrained_replaces_an_earlier_save(saved, ecgs):
    other = ThreeKGEmbedder(**(SMALL | {"random_state": 1})).fit(ecgs)
    other.save_pretrained(saved)
    loaded = ThreeKGEmbedder.from_pretrained(saved)
    assert np.array_equal(loaded.transform(ecgs), other.transform(ecgs))
    assert sorted(path.name for path in saved.parent.iterdir()) == ["encoder"]


def test_a_failed_save_leaves_the_earlier_save_whole(saved, fitted, monkeypatch):
    before = {path.name: path.read_bytes() for path in saved.iterdir()}

    def fail_midway(state, filename):
        Path(filename).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(sk3kg._pretrained, "save_file", fail_midway)
    with pytest.raises(OSError, match="disk full"):
        fitted.save_pretrained(saved)
    assert {path.name: path.read_bytes() for path in saved.iterdir()} == before
    assert sorted(path.name for path in saved.parent.iterdir()) == ["encoder"]


def test_warm_start_without_epochs_keeps_the_loaded_weights(saved, ecgs):
    loaded = ThreeKGEmbedder.from_pretrained(saved)
    loaded.set_params(warm_start=True, max_epochs=0).fit(ecgs)
    state = loaded.net_.module_.state_dict()
    for name, tensor in load_file(saved / "model.safetensors").items():
        assert torch.equal(state[name], tensor), name
    fresh = ThreeKGEmbedder.from_pretrained(saved).set_params(max_epochs=0).fit(ecgs)
    assert not torch.equal(fresh.encoder_.stem[0].weight, loaded.encoder_.stem[0].weight)


def test_warm_start_continues_pretraining_from_the_loaded_loss(ecgs, tmp_path):
    trained = ThreeKGEmbedder(**(SMALL | {"max_epochs": 4, "lr": 3e-2})).fit(ecgs)
    trained.save_pretrained(tmp_path)
    final_loss = _config(tmp_path)["training"]["final_loss"]
    again = {"max_epochs": 1, "lr": 1e-7, "random_state": 1}
    loaded = ThreeKGEmbedder.from_pretrained(tmp_path)
    warm = loaded.set_params(warm_start=True, **again).fit(ecgs).history_[-1, "train_loss"]
    fresh = ThreeKGEmbedder(**(SMALL | again)).fit(ecgs).history_[-1, "train_loss"]
    assert abs(warm - final_loss) < 0.3
    assert fresh - warm > 1.0


def test_warm_start_refuses_another_model_size(saved, ecgs):
    loaded = ThreeKGEmbedder.from_pretrained(saved).set_params(warm_start=True, width=8)
    with pytest.raises(ValueError, match="warm_start=True, but the fitted model differs"):
        loaded.fit(ecgs)


def test_warm_start_on_an_unfitted_embedder_starts_from_new_weights(fitted, ecgs):
    cold = ThreeKGEmbedder(warm_start=True, **SMALL).fit(ecgs)
    assert np.array_equal(cold.transform(ecgs), fitted.transform(ecgs))


def test_load_encoder_gives_the_embeddings_of_transform(fitted, saved, ecgs):
    encoder = load_encoder(saved)
    assert type(encoder).__name__ == "ResNet1d" and not encoder.training
    with torch.no_grad():
        embeddings = encoder(torch.from_numpy(ecgs)).numpy()
    np.testing.assert_allclose(embeddings, fitted.transform(ecgs), rtol=1e-5, atol=1e-6)


def test_load_encoder_finds_the_encoder_of_an_estimator_holding_an_embedder(fitted, saved, ecgs):
    config = _config(saved)
    config["estimator"] = "ECGClassifier"
    config["params"] = {
        "embedder": {"estimator": "ThreeKGEmbedder", "params": config["params"]},
        "lr": 1e-4,
    }
    _write_config(saved, config)
    state = load_file(saved / "model.safetensors")
    state = {k: v for k, v in state.items() if not k.startswith("head.")}
    state |= {"head.weight": torch.zeros(5, 32), "head.bias": torch.zeros(5)}
    _write_weights(saved, state)
    with torch.no_grad():
        embeddings = load_encoder(saved)(torch.from_numpy(ecgs)).numpy()
    np.testing.assert_allclose(embeddings, fitted.transform(ecgs), rtol=1e-5, atol=1e-6)


def test_load_encoder_imports_neither_skorch_nor_scikit_learn(saved):
    code = (
        "import sys; from sk3kg.nn import load_encoder; "
        f"load_encoder({str(saved)!r}); "
        "print(sorted(m for m in ('skorch', 'sklearn', 'sk3kg._embedder') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


class Holder(PretrainedMixin, BaseEstimator):
    """An estimator with a sk3kg estimator as a parameter, as ECGClassifier has."""

    def __init__(self, embedder=None, alpha=1.0, leads=("I", "II")):
        self.embedder = embedder
        self.alpha = alpha
        self.leads = leads


def test_a_nested_estimator_parameter_is_saved_and_rebuilt_recursively():
    embedder = ThreeKGEmbedder(width=8, augment=StandardAugment(noise=0.2))
    params = _encode_params(Holder(embedder=embedder, alpha=np.float32(0.5)))
    assert params["alpha"] == 0.5 and type(params["alpha"]) is float
    assert params["leads"] == ["I", "II"]
    assert params["embedder"]["estimator"] == "ThreeKGEmbedder"
    assert params["embedder"]["params"]["augment"]["class"] == "sk3kg.augment.StandardAugment"
    rebuilt = _build(Holder, json.loads(json.dumps(params)), None, [])
    assert rebuilt.embedder.width == 8 and rebuilt.embedder.augment.noise == 0.2


@pytest.fixture(scope="module")
def classifiers(ecgs, fitted):
    """Fitted classifiers: multilabel, auto thresholds; string labels from a frozen start."""
    from sklearn.frozen import FrozenEstimator

    from sk3kg import ECGClassifier

    rng = np.random.default_rng(1)
    y = (rng.random((32, 3)) < 0.5).astype(int)
    multilabel = ECGClassifier(fitted, max_epochs=2, threshold="auto", batch_size=8, random_state=0)
    labels = np.array(["AF", "NSR"])[y[:, 0]]
    single = ECGClassifier(FrozenEstimator(fitted), max_epochs=1, batch_size=8, random_state=0)
    return multilabel.fit(ecgs, y), single.fit(ecgs, labels)


def test_a_loaded_classifier_predicts_bit_identically(classifiers, ecgs, tmp_path):
    from sk3kg import ECGClassifier

    for index, clf in enumerate(classifiers):
        clf.save_pretrained(tmp_path / str(index))
        loaded = ECGClassifier.from_pretrained(tmp_path / str(index))
        assert np.array_equal(loaded.predict_proba(ecgs), clf.predict_proba(ecgs))
        assert np.array_equal(loaded.predict(ecgs), clf.predict(ecgs))
        assert np.array_equal(loaded.classes_, clf.classes_)
    assert np.array_equal(loaded.classes_, ["AF", "NSR"])


def test_a_classifier_config_keeps_thresholds_and_the_embedders_architecture(classifiers, tmp_path):
    clf = classifiers[0]
    clf.save_pretrained(tmp_path / "clf")
    config = _config(tmp_path / "clf")
    assert config["estimator"] == "ECGClassifier"
    assert config["params"]["embedder"]["params"]["width"] == SMALL["width"]
    assert config["fitted"]["thresholds_"] == clf.thresholds_.tolist()
    assert config["training"]["epochs"] == len(clf.history_)


def test_load_encoder_finds_the_fine_tuned_encoder_of_a_classifier(classifiers, ecgs, tmp_path):
    clf = classifiers[0]
    clf.save_pretrained(tmp_path / "clf")
    encoder = load_encoder(tmp_path / "clf")
    with torch.no_grad():
        embeddings = encoder(torch.from_numpy(ecgs))
        logits = clf.net_.module_.head(embeddings).numpy()
    np.testing.assert_allclose(logits, clf.decision_function(ecgs), rtol=1e-5, atol=1e-6)


def test_a_float16_model_loads_on_a_cpu_in_float32_with_a_warning(saved, ecgs):
    config = _config(saved)
    config["params"]["precision"] = "16"
    config["params"]["device"] = "cuda"
    _write_config(saved, config)
    if torch.cuda.is_available():
        pytest.skip("the warning is for machines without CUDA")
    with pytest.warns(UserWarning, match='precision="16" .* computes in float32'):
        loaded = ThreeKGEmbedder.from_pretrained(saved)
    assert loaded.precision == "32" and loaded.transform(ecgs[:2]).shape == (2, 32)


def test_load_encoder_finds_the_encoder_of_a_classifier_trained_from_scratch(ecgs, tmp_path):
    from sk3kg import ECGClassifier

    y = np.arange(32) % 2
    clf = ECGClassifier(max_epochs=1, batch_size=8, random_state=0).fit(ecgs, y)
    clf.save_pretrained(tmp_path / "clf")
    assert load_encoder(tmp_path / "clf").embedding_dim == clf.encoder_.embedding_dim
    assert np.array_equal(
        ECGClassifier.from_pretrained(tmp_path / "clf").predict_proba(ecgs), clf.predict_proba(ecgs)
    )
