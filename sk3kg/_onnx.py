"""Export a fitted estimator's network to ONNX, for inference without torch or sk3kg."""

import contextlib
import copy
import logging
import math
import os
import warnings
from numbers import Real

import torch
from sklearn.utils.validation import check_is_fitted

from . import __version__
from .datasets._base import atomic_path

#: Name of the exported model's input, ``(batch, n_leads, n_timepoints)`` float32 in mV.
INPUT_NAME = "ecg"


def _import_onnx():
    """Import onnx, and check that onnxscript, which torch's exporter runs on, is there."""
    try:
        import onnx
        import onnxscript  # noqa: F401
    except ImportError as error:
        raise ImportError(
            f"Exporting to ONNX needs onnx and onnxscript ({error.name} is not installed); "
            'install them with: pip install "sk3kg[onnx]"'
        ) from error
    return onnx


def _check_fs(fs) -> float:
    if isinstance(fs, bool) or not isinstance(fs, Real) or not (fs > 0 and math.isfinite(fs)):
        raise ValueError(
            f"fs must be the sampling rate of the ECGs in Hz, a positive number; got {fs!r}."
        )
    return float(fs)


def _check_leads(leads: list[str], n_leads: int) -> None:
    if len(leads) != n_leads:
        raise ValueError(
            f"The estimator was fitted on {n_leads} leads but names {len(leads)} "
            f"({', '.join(leads)}); refit it after changing leads."
        )
    if any("," in lead for lead in leads):
        raise ValueError(f"Lead names are written comma-separated; got a comma in {leads}.")


@contextlib.contextmanager
def _quiet_exporter():
    """Hide what torch's exporter says on every export that no user can act on.

    With torch 2.13 each export logs four warnings that torchvision is not
    installed (its detection ops have nothing to do with our networks) and
    warns about a deprecated pytree call inside torch.
    """
    logger = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*LeafSpec", category=FutureWarning)
            yield
    finally:
        logger.setLevel(level)


def _to_onnx(module: torch.nn.Module, example: torch.Tensor, output_names: list[str]):
    """Export ``module`` with a dynamic batch axis; return the ``onnx.ModelProto``.

    The torch.export-based exporter (``dynamo=True``), torch's default since 2.9.
    On ResNet1d and LeadSharedEncoder with torch 2.13 the TorchScript exporter
    gave the same outputs (both within 2e-5 of torch) in 0.1 s instead of 2 s,
    but it is deprecated and warns so on every call.
    """
    with _quiet_exporter():
        program = torch.onnx.export(
            module,
            (example,),
            dynamo=True,
            input_names=[INPUT_NAME],
            output_names=output_names,
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            verbose=False,
        )
    model = program.model_proto
    # torch.export can fix a size it was asked to keep free (it did so for a named
    # time axis in our tests); refuse a model that would only accept one batch size.
    if not model.graph.input[0].type.tensor_type.shape.dim[0].dim_param:
        raise RuntimeError("torch.onnx.export fixed the batch size; please report this.")
    return model


class OnnxExportMixin:
    """Add ``export_onnx``, which writes a fitted estimator's network as an ONNX file.

    The estimator provides:

    - ``_onnx_module(self) -> tuple[torch.nn.Module, list[str]]``: the network
      mapping ECGs ``(batch, n_leads, n_timepoints)`` to its outputs, and the
      names of those outputs in order (``["embedding"]``; a classifier
      ``["logits"]``). It may return the
      live network: the export runs on a CPU copy in eval mode.
    - ``_onnx_leads(self) -> list[str]``: the lead names of the input rows, in
      order (those the estimator was fitted on).
    - the fitted attributes ``n_leads_in_`` and ``n_timepoints_in_``.
    - optionally ``_onnx_metadata(self) -> dict[str, str]``: extra metadata
      entries (a classifier's class names, e.g. as JSON under ``"classes"``);
      they cannot override the entries ``export_onnx`` writes.
    """

    def export_onnx(self, path, *, fs):
        """Write the fitted network as an ONNX model, for inference without torch.

        The model takes one input, ``"ecg"``: float32 ECGs in millivolts of
        shape ``(batch, n_leads, n_timepoints)``, any batch size, the leads and
        length seen in ``fit``; its outputs are what the estimator's network
        computes from them (``"embedding"``, as ``transform`` returns, for
        :class:`~sk3kg.ThreeKGEmbedder`). Its metadata (``metadata_props``, read with
        ``onnxruntime.InferenceSession(path).get_modelmeta().custom_metadata_map``)
        says how to prepare the input: ``leads`` (comma-separated, in input
        order), ``fs`` (Hz), ``n_timepoints``, ``units`` (``"mV"``), and
        ``estimator`` and ``sk3kg_version``. The file is written atomically:
        a failed export leaves ``path`` as it was. The estimator is not changed.

        Needs onnx and onnxscript: ``pip install "sk3kg[onnx]"``.

        Parameters
        ----------
        path : str or path-like
            The ``.onnx`` file to write; an existing file is replaced.
        fs : float
            Sampling rate of the ECGs the estimator was fitted on, in Hz (the
            estimator cannot know it); stored in the metadata so that
            deployments resample to it.

        Returns
        -------
        None

        Examples
        --------
        >>> import tempfile
        >>> from pathlib import Path
        >>> import numpy as np
        >>> import onnxruntime
        >>> from sk3kg import ThreeKGEmbedder
        >>> X = np.random.default_rng(0).normal(size=(32, 12, 250)).astype(np.float32)
        >>> embedder = ThreeKGEmbedder(max_epochs=1, batch_size=16, width=4, depth=1,
        ...                            random_state=0).fit(X)
        >>> folder = tempfile.TemporaryDirectory()
        >>> path = Path(folder.name) / "embedder.onnx"
        >>> embedder.export_onnx(path, fs=500)
        >>> session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        >>> embeddings = session.run(["embedding"], {"ecg": X[:3]})[0]
        >>> embeddings.shape
        (3, 32)
        >>> np.allclose(embeddings, embedder.transform(X[:3]), atol=1e-4)
        True
        >>> metadata = session.get_modelmeta().custom_metadata_map
        >>> metadata["fs"], metadata["n_timepoints"], metadata["leads"][:9]
        ('500.0', '250', 'I,II,III,')
        >>> folder.cleanup()
        """
        onnx = _import_onnx()
        check_is_fitted(self)
        fs = _check_fs(fs)
        module, output_names = self._onnx_module()
        leads = list(self._onnx_leads())
        _check_leads(leads, self.n_leads_in_)
        module = copy.deepcopy(module).cpu().float().eval()
        example = torch.zeros(2, self.n_leads_in_, self.n_timepoints_in_)
        model = _to_onnx(module, example, list(output_names))
        metadata = {
            **self._onnx_metadata(),
            "leads": ",".join(leads),
            "fs": str(fs),
            "n_timepoints": str(self.n_timepoints_in_),
            "units": "mV",
            "estimator": type(self).__name__,
            "sk3kg_version": __version__,
        }
        onnx.helper.set_model_props(model, metadata)
        with atomic_path(os.fspath(path)) as tmp:
            onnx.save_model(model, tmp)
            onnx.checker.check_model(os.fspath(tmp))

    def _onnx_metadata(self) -> dict[str, str]:
        """Extra metadata entries of the exported model (none by default)."""
        return {}
