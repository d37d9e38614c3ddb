"""Mixed precision: bfloat16 (and float16 on CUDA) computes, float32 keeps."""

import warnings

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from sk3kg import ECGClassifier, ThreeKGEmbedder
from sk3kg._precision import cpu_has_native_bf16, resolve_precision

TINY = {"width": 4, "depth": 1, "batch_size": 16, "random_state": 0}
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture
def X(rng):
    return rng.normal(size=(48, 12, 128)).astype(np.float32)


def test_auto_picks_bf16_exactly_where_the_cpu_runs_it_natively():
    assert resolve_precision("auto", "cpu") == ("bf16" if cpu_has_native_bf16() else "32")
    assert resolve_precision("32", "cpu") == "32"
    assert resolve_precision("bf16", "cpu") == "bf16"


@pytest.mark.parametrize("estimator", [ThreeKGEmbedder, ECGClassifier])
def test_float16_on_a_cpu_is_refused_pointing_to_bf16(estimator, X):
    with pytest.raises(ValueError, match=r'precision="16" .* CUDA only; .* use precision="bf16"'):
        estimator(precision="16", device="cpu", max_epochs=0).fit(X, np.arange(48) % 2)


def test_bf16_embeddings_are_float32_and_close_to_float32_ones(X):
    # max_epochs=0: the same weights, so only the arithmetic differs.
    full = ThreeKGEmbedder(max_epochs=0, **TINY).fit(X).transform(X)
    half = ThreeKGEmbedder(max_epochs=0, precision="bf16", **TINY).fit(X).transform(X)
    assert half.dtype == np.float32
    assert not np.array_equal(half, full)
    cosine = (half * full).sum(1) / np.linalg.norm(half, axis=1) / np.linalg.norm(full, axis=1)
    assert cosine.min() > 0.999


def test_bf16_training_keeps_weights_optimizer_state_and_batch_norm_in_float32(X):
    embedder = ThreeKGEmbedder(max_epochs=2, precision="bf16", **TINY).fit(X)
    net = embedder.net_
    assert {p.dtype for p in net.module_.parameters()} == {torch.float32}
    assert {b.dtype for n, b in net.module_.named_buffers() if "running" in n} == {torch.float32}
    moments = [s["exp_avg"].dtype for s in net.optimizer_.state.values()]
    assert moments and set(moments) == {torch.float32}
    assert np.isfinite(embedder.history_[:, "train_loss"]).all()


def test_the_loss_sees_float32_projections_under_bf16(X):
    net = ThreeKGEmbedder(max_epochs=0, precision="bf16", **TINY).fit(X).net_
    assert net.infer(torch.from_numpy(X[:4])).dtype == torch.float32
    with net.autocast():
        assert net.module_(torch.from_numpy(X[:4])).dtype == torch.bfloat16


def test_bf16_training_is_reproducible_with_the_same_seed(X):
    def fit():
        return ThreeKGEmbedder(max_epochs=2, precision="bf16", **TINY).fit(X).transform(X)

    np.testing.assert_array_equal(fit(), fit())


def test_saved_weights_are_float32_whatever_the_precision(X, tmp_path):
    ThreeKGEmbedder(max_epochs=1, precision="bf16", **TINY).fit(X).save_pretrained(tmp_path / "m")
    weights = load_file(tmp_path / "m" / "model.safetensors")
    assert {t.dtype for t in weights.values() if t.is_floating_point()} == {torch.float32}
    loaded = ThreeKGEmbedder.from_pretrained(tmp_path / "m")
    assert loaded.precision == "bf16" and loaded.transform(X[:4]).dtype == np.float32


def test_a_bf16_classifier_gives_float32_probabilities_close_to_float32(X):
    y = (np.random.default_rng(1).random((48, 3)) < 0.4).astype(int)
    common = {"max_epochs": 0, "validation_fraction": None, "random_state": 0}
    embedder = ThreeKGEmbedder(max_epochs=0, **TINY)
    full = ECGClassifier(embedder, **common).fit(X, y).predict_proba(X)
    half = ECGClassifier(embedder, precision="bf16", **common).fit(X, y).predict_proba(X)
    assert half.dtype == np.float32
    np.testing.assert_allclose(half, full, atol=2e-2)


@needs_cuda
@pytest.mark.parametrize("precision", ["16", "bf16"])
def test_mixed_precision_trains_on_cuda(X, precision):
    embedder = ThreeKGEmbedder(max_epochs=2, precision=precision, device="cuda", **TINY).fit(X)
    assert (embedder.net_.grad_scaler_ is not None) == (precision == "16")
    assert np.isfinite(embedder.transform(X)).all()


@needs_cuda
def test_a_float16_overflow_stops_fit_naming_epoch_and_batch(X):
    with pytest.raises(ValueError, match="Training diverged: .* epoch 1, batch"):
        ThreeKGEmbedder(max_epochs=1, precision="16", device="cuda", **TINY).fit(X * 1e6)


ZEN3_FLAGS = "flags\t\t: fpu vme sse sse2 avx avx2 fma bmi2 sha_ni vaes vpclmulqdq\n"
AMX_FLAGS = "flags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n"


@pytest.mark.parametrize("flags, native", [(ZEN3_FLAGS, False), (AMX_FLAGS, True)])
def test_bf16_on_a_cpu_without_native_support_warns_and_names_the_fix(
    flags, native, tmp_path, monkeypatch
):
    """A simulated /proc/cpuinfo: an AMD Zen 3 has no bfloat16 flags, a Xeon with AMX has."""
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\n" + flags)
    monkeypatch.setattr("sk3kg._precision._CPUINFO", cpuinfo)
    monkeypatch.setattr("sys.platform", "linux")
    assert cpu_has_native_bf16() is native
    assert resolve_precision("auto", "cpu") == ("bf16" if native else "32")
    if native:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            resolve_precision("bf16", "cpu")
    else:
        with pytest.warns(UserWarning, match='without native bfloat16.*precision="auto".*"32"'):
            assert resolve_precision("bf16", "cpu") == "bf16"
