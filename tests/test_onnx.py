"""The exported ONNX model computes what the estimator computes, and says how to feed it."""

import copy
import sys

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError

from sk3kg import ThreeKGEmbedder, __version__
from sk3kg.vcg import STANDARD_LEADS

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxscript")
onnxruntime = pytest.importorskip("onnxruntime")

SMALL = {"max_epochs": 1, "batch_size": 10, "width": 4, "depth": 1, "random_state": 0}


def _run(path, X):
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    return session.run(["embedding"], {"ecg": X})[0]


def _metadata(path):
    return {entry.key: entry.value for entry in onnx.load(path).metadata_props}


@pytest.fixture(scope="module")
def signals():
    return np.random.default_rng(0).normal(size=(20, 12, 64)).astype(np.float32)


@pytest.fixture(scope="module")
def fitted(signals):
    return ThreeKGEmbedder(**SMALL).fit(signals)


@pytest.fixture(scope="module", params=["channels", "shared", "cropped"])
def exported(request, signals, fitted, tmp_path_factory):
    """An embedder of each lead mode (and one pretrained on crops), and its file at 500 Hz."""
    if request.param == "channels":
        embedder = fitted
    elif request.param == "cropped":  # exports the mean over overlapping windows
        embedder = ThreeKGEmbedder(crop=40, crop_stride=12, **SMALL).fit(signals)
    else:
        embedder = ThreeKGEmbedder(lead_mode=request.param, **SMALL).fit(signals)
    path = tmp_path_factory.mktemp(request.param) / "embedder.onnx"
    embedder.export_onnx(path, fs=500)
    return embedder, path


@pytest.mark.parametrize("batch_size", [1, 7])
def test_exported_model_matches_transform_for_any_batch_size(exported, signals, batch_size):
    embedder, path = exported
    X = signals[:batch_size]
    np.testing.assert_allclose(_run(path, X), embedder.transform(X), atol=1e-4)


def test_exported_input_has_free_batch_and_the_fitted_shape(exported):
    _, path = exported
    (ecg,) = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"]).get_inputs()
    assert ecg.name == "ecg" and ecg.type == "tensor(float)"
    assert isinstance(ecg.shape[0], str) and ecg.shape[1:] == [12, 64]


def test_exported_metadata_names_leads_rate_length_and_units(exported):
    _, path = exported
    assert _metadata(path) == {
        "leads": ",".join(STANDARD_LEADS),
        "fs": "500.0",
        "n_timepoints": "64",
        "units": "mV",
        "estimator": "ThreeKGEmbedder",
        "sk3kg_version": __version__,
    }


def test_nonstandard_leads_export_their_own_names(signals, tmp_path):
    two_leads = signals[:, :2]
    embedder = ThreeKGEmbedder(leads=["i", "II"], angle=0, scale=1, **SMALL).fit(two_leads)
    path = tmp_path / "two_leads.onnx"
    embedder.export_onnx(path, fs=250.5)
    assert _metadata(path)["leads"] == "I,II"
    assert _metadata(path)["fs"] == "250.5"
    np.testing.assert_allclose(
        _run(path, two_leads[:3]), embedder.transform(two_leads[:3]), atol=1e-4
    )


def test_export_of_an_unfitted_estimator_raises_not_fitted(tmp_path):
    with pytest.raises(NotFittedError):
        ThreeKGEmbedder().export_onnx(tmp_path / "model.onnx", fs=500)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fs", [0, -500, float("nan"), float("inf"), "500", None, True])
def test_export_rejects_a_sampling_rate_that_is_not_a_positive_number(fitted, fs, tmp_path):
    with pytest.raises(ValueError, match="fs must be the sampling rate"):
        fitted.export_onnx(tmp_path / "model.onnx", fs=fs)
    assert list(tmp_path.iterdir()) == []


def test_export_runs_in_eval_mode_and_leaves_the_estimator_unchanged(signals, tmp_path):
    embedder = ThreeKGEmbedder(**SMALL).fit(signals)
    embedder.encoder_.train()
    before = embedder.transform(signals)
    state = copy.deepcopy(embedder.encoder_.state_dict())
    path = tmp_path / "model.onnx"
    embedder.export_onnx(path, fs=500)
    assert embedder.encoder_.training
    for name, tensor in embedder.encoder_.state_dict().items():
        assert torch.equal(tensor, state[name]), name
    np.testing.assert_array_equal(embedder.transform(signals), before)
    np.testing.assert_allclose(_run(path, signals), before, atol=1e-4)


@pytest.mark.parametrize("failing", ["torch.onnx.export", "onnx.checker.check_model"])
def test_failed_export_leaves_the_previous_file_and_no_partial_one(
    fitted, tmp_path, monkeypatch, failing
):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"previous model")

    def fail(*args, **kwargs):
        raise RuntimeError("export failed")

    owner = torch.onnx if failing.startswith("torch") else onnx.checker
    monkeypatch.setattr(owner, failing.rsplit(".", 1)[1], fail)
    with pytest.raises(RuntimeError, match="export failed"):
        fitted.export_onnx(path, fs=500)
    assert list(tmp_path.iterdir()) == [path]
    assert path.read_bytes() == b"previous model"


def test_export_without_onnx_says_which_extra_to_install(fitted, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r'pip install "sk3kg\[onnx\]"'):
        fitted.export_onnx(tmp_path / "model.onnx", fs=500)


def test_export_refuses_leads_changed_since_fit(fitted, tmp_path):
    changed = copy.deepcopy(fitted).set_params(leads=["I", "II"])
    with pytest.raises(ValueError, match="fitted on 12 leads but names 2"):
        changed.export_onnx(tmp_path / "model.onnx", fs=500)


def test_an_exported_classifier_gives_its_logits_and_names_its_classes(signals, tmp_path):
    import json

    from sk3kg import ECGClassifier

    y = (np.random.default_rng(1).random((20, 4)) < 0.5).astype(int)
    clf = ECGClassifier(ThreeKGEmbedder(**SMALL), max_epochs=1, batch_size=10, random_state=0)
    clf.fit(signals, y)
    path = tmp_path / "classifier.onnx"
    clf.export_onnx(path, fs=250)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    logits = session.run(["logits"], {"ecg": signals[:7]})[0]
    np.testing.assert_allclose(logits, clf.decision_function(signals[:7]), atol=1e-4)
    metadata = _metadata(path)
    assert json.loads(metadata["classes"]) == [0, 1, 2, 3]
    assert json.loads(metadata["thresholds"]) == clf.thresholds_.tolist()
    assert metadata["output"] == "sigmoid per class" and metadata["estimator"] == "ECGClassifier"
