"""Fitted estimators saved to a folder and loaded back, without pickle.

``save_pretrained(path)`` writes a folder of exactly two files:

``config.json``, all JSON::

    {
      "format_version": 1,
      "estimator": "ThreeKGEmbedder",          # the class that from_pretrained rebuilds
      "sk3kg_version": "0.1.0", "torch_version": "2.3.0",
      "params": {...},                          # every get_params(deep=False) entry
      "fitted": {"n_leads_in_": 12, ...},        # what the hook _pretrained_fitted returns
      "training": {"n_samples": 1000, "epochs": 30, "final_loss": 1.23},
      "weights": {"file": "model.safetensors", "sha256": "..."}
    }

``model.safetensors``: the ``state_dict`` of the module that
``_pretrained_module`` returns, floating-point tensors as float32, on the CPU.
Whatever the estimator, the encoder's tensors are named ``encoder.<name>``
(``<name>`` as in :func:`~sk3kg.nn.build_encoder`'s ``state_dict``); the
embedder adds its projection head as ``head.*``, so pretraining can continue.

Parameters are stored as JSON values (numpy scalars as numbers, tuples as
lists), except:

* a sk3kg estimator (e.g. ``ECGClassifier(embedder=ThreeKGEmbedder(...))``):
  ``{"estimator": "ThreeKGEmbedder", "params": {...}}``, recursively;
* an instance of one of sk3kg's own augment classes:
  ``{"class": "sk3kg.augment.StandardAugment", "params": {...}}``, rebuilt on load;
* anything else (a user's module, skorch callbacks, a ``RandomState``):
  ``{"unsaved": "<repr>"}``, loaded as None with a warning;
* the estimator's ``_pretrained_unsaved_params`` (``checkpoint_dir``, a folder
  of the machine that trained): None.

:func:`sk3kg.nn.load_encoder` rebuilds the encoder from this layout with torch
alone: its size is ``params`` (``lead_mode``, ``width``, ``depth``,
``n_stages``, ``kernel_size``; a classifier records them as
``fitted.encoder_size``; otherwise ``params.embedder.params``) and
``fitted.n_leads_in_``.
"""

import importlib
import inspect
import json
import os
import shutil
import uuid
import warnings
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from sklearn.frozen import FrozenEstimator
from sklearn.utils.validation import check_is_fitted

from . import __version__
from ._distributed import resolve_device
from ._files import file_sha256, fsync_file
from .augment import StandardAugment, ThreeKGAugment
from .nn._pretrained import (
    CONFIG_FILE,
    FORMAT_VERSION,
    WEIGHTS_FILE,
    check_sha256,
    first_names,
    load_state_strictly,
    read_config,
    read_weights,
    weights_path,
)

# Objects rebuilt from their constructor arguments, each stored as an attribute of its name.
# Only these classes are ever instantiated from a config: a config cannot name any other.
_SAVED_CLASSES = {f"sk3kg.augment.{cls.__name__}": cls for cls in (StandardAugment, ThreeKGAugment)}


class PretrainedMixin:
    """Mixin class for sk3kg estimators saved to and loaded from a folder, without pickle.

    The folder holds the parameters and fitted shapes as JSON and the
    weights as safetensors; nothing is pickled, so loading runs no code from
    the file. The layout is described in :mod:`sk3kg._pretrained`.

    An estimator using this mixin (listed first among its bases) implements
    two hooks:

    ``_pretrained_fitted(self) -> dict``
        Its fitted attributes as JSON values (shapes, names), e.g.
        ``{"n_leads_in_": 12, "n_timepoints_in_": 5000, ...}``; stored as
        ``config["fitted"]``. :meth:`_pretrained_shapes` gives the input
        shapes every sk3kg estimator has (``n_leads_in_`` among them).
    ``_restore_pretrained(self, fitted: dict) -> None``
        On an estimator built from the saved parameters: set the fitted
        attributes from ``fitted`` (:meth:`_restore_shapes` sets the
        shapes) and build and initialise the net as ``fit`` would, untrained.
        ``from_pretrained`` then loads the weights into
        ``_pretrained_module()`` with ``load_state_dict(strict=True)``.

    The weights are the ``state_dict`` of ``_pretrained_module()``, by default
    the module of the skorch net ``net_``.

    The training summary reads ``history_`` (a skorch History) and
    ``n_samples_fit_``; an estimator without them overrides
    ``_pretrained_training(self) -> dict``. Parameters listed in the class
    attribute ``_pretrained_unsaved_params`` are saved as None; those in
    ``_pretrained_removed_params`` (a name and why it went) are parameters of
    earlier versions, dropped with a warning when a file still holds them.
    """

    _pretrained_unsaved_params: tuple = ()
    _pretrained_removed_params: dict = {}
    _pretrained_shape_names = (
        "n_leads_in_",
        "n_timepoints_in_",
        "n_features_in_",
        "n_samples_fit_",
    )

    def save_pretrained(self, path) -> None:
        """Save the fitted estimator to a folder, as JSON and safetensors.

        Writes ``config.json`` (parameters, fitted shapes, training summary,
        versions, the weights' sha256) and ``model.safetensors`` (every
        weight and buffer, the projection head included) into a temporary
        folder beside ``path``, then renames it into place: an interrupted
        save leaves no half-written folder, and a previous save at ``path``
        stays whole until it is replaced.

        Parameters
        ----------
        path : str or path-like
            The folder to write; created with its parents when missing. An
            existing folder is replaced only when it holds a previous save
            (its two files and nothing else); any other non-empty folder is
            refused.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the estimator is not fitted.
        FileExistsError
            When ``path`` is a file or a non-empty folder of other files.

        See Also
        --------
        from_pretrained : Loads the folder back.
        sk3kg.nn.load_encoder : Loads only the encoder, with torch alone.

        Examples
        --------
        >>> import json, os, tempfile
        >>> import numpy as np
        >>> from sk3kg import ThreeKGEmbedder
        >>> X = np.random.default_rng(0).normal(size=(32, 12, 250)).astype(np.float32)
        >>> embedder = ThreeKGEmbedder(
        ...     max_epochs=1, batch_size=16, width=4, depth=1, random_state=0
        ... ).fit(X)
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     folder = os.path.join(tmp, "encoder")
        ...     embedder.save_pretrained(folder)
        ...     files = sorted(os.listdir(folder))
        ...     with open(os.path.join(folder, "config.json")) as file:
        ...         config = json.load(file)
        >>> files
        ['config.json', 'model.safetensors']
        >>> config["estimator"], config["params"]["width"], config["fitted"]["n_leads_in_"]
        ('ThreeKGEmbedder', 4, 12)
        >>> config["training"]["n_samples"], config["training"]["epochs"]
        (32, 1)
        """
        check_is_fitted(self)
        folder = Path(os.path.abspath(path))
        _check_target(folder)
        state = _cpu_state(self._pretrained_module())
        config = self._pretrained_config()
        folder.parent.mkdir(parents=True, exist_ok=True)
        partial = folder.with_name(f".{folder.name}.{uuid.uuid4().hex[:8]}.partial")
        partial.mkdir()
        try:
            save_file(state, partial / WEIGHTS_FILE)
            sha256 = file_sha256(partial / WEIGHTS_FILE)
            config["weights"] = {"file": WEIGHTS_FILE, "sha256": sha256}
            text = json.dumps(config, indent=2) + "\n"
            (partial / CONFIG_FILE).write_text(text, encoding="utf-8")
            for name in (WEIGHTS_FILE, CONFIG_FILE):
                fsync_file(partial / name)
            _replace_folder(partial, folder)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise

    @classmethod
    def from_pretrained(cls, path, *, device=None):
        """Load a fitted estimator saved by :meth:`save_pretrained`.

        The folder is checked before anything is built: its two files are
        present and no others, its format is not newer than this sk3kg's, it
        holds this class, the weights file has the sha256 the config recorded
        and its tensors fit the architecture the config describes. The
        estimator is then rebuilt from the saved parameters, its net built
        and initialised as ``fit`` builds it, and the weights loaded.

        ``from_pretrained(path).set_params(warm_start=True).fit(X)`` continues
        pretraining from the saved weights.

        Parameters
        ----------
        path : str or path-like
            The folder written by :meth:`save_pretrained`.
        device : str, default=None
            Torch device of the loaded estimator (its ``device`` parameter).
            ``None`` keeps the saved one, except that a saved CUDA device
            becomes ``"cpu"`` on a machine without CUDA.

        Returns
        -------
        estimator : object
            The fitted estimator, of this class. Parameters that were not
            saved (a custom ``augment``, ``callbacks``: see the warning)
            are None, and ``checkpoint_dir`` is None.

        Raises
        ------
        FileNotFoundError
            When the folder, ``config.json`` or the weights file is missing.
        ValueError
            When the config is not valid JSON or of a newer format, the folder
            holds other files, it holds another estimator, the weights file
            was truncated or edited, or its tensors do not fit the
            architecture in the config.

        See Also
        --------
        save_pretrained : Writes the folder.
        sk3kg.nn.load_encoder : Loads only the encoder, with torch alone.

        Examples
        --------
        >>> import tempfile
        >>> import numpy as np
        >>> from sk3kg import ThreeKGEmbedder
        >>> X = np.random.default_rng(0).normal(size=(32, 12, 250)).astype(np.float32)
        >>> embedder = ThreeKGEmbedder(
        ...     max_epochs=1, batch_size=16, width=4, depth=1, random_state=0
        ... ).fit(X)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     embedder.save_pretrained(folder)
        ...     loaded = ThreeKGEmbedder.from_pretrained(folder)
        >>> np.array_equal(loaded.transform(X), embedder.transform(X))
        True

        Continue pretraining from the loaded weights:

        >>> len(loaded.set_params(warm_start=True, max_epochs=2).fit(X).history_)
        2
        """
        folder = Path(path)
        config = read_config(folder)
        weights = _check_files(folder, config)
        if config["estimator"] != cls.__name__:
            raise ValueError(
                f"{folder} holds a {config['estimator']}, not a {cls.__name__}; load it with "
                f"{config['estimator']}.from_pretrained({str(folder)!r})."
            )
        check_sha256(weights, config)
        state = read_weights(weights)
        unsaved = []
        estimator = _build(cls, config["params"], device, unsaved)
        _warn_unsaved(cls, unsaved)
        estimator._validate_params()
        try:
            estimator._restore_pretrained(config["fitted"])
        except KeyError as error:
            raise ValueError(
                f"{folder / CONFIG_FILE} lacks fitted.{error.args[0]}: it was edited or not "
                "written by save_pretrained. Save the model again."
            ) from None
        module = estimator._pretrained_module()
        load_state_strictly(
            module,
            state,
            f"{weights} does not fit the architecture described in {CONFIG_FILE} "
            "({mismatch}): the two files come from different models. Save the model again.",
        )
        # Kept on the module, not the estimator: a later fit builds a new module and
        # reports its own history, while saving the loaded model again keeps this summary.
        module._sk3kg_training = config["training"]
        return estimator

    def _pretrained_module(self) -> torch.nn.Module:
        """The module whose weights are saved: the net's (encoder and head)."""
        check_is_fitted(self, "net_")
        return self.net_.module_

    def _pretrained_shapes(self) -> dict:
        """The fitted input shapes (and feature names) every sk3kg estimator saves."""
        fitted = {name: getattr(self, name) for name in self._pretrained_shape_names}
        if hasattr(self, "feature_names_in_"):
            fitted["feature_names_in_"] = self.feature_names_in_.tolist()
        return fitted

    def _restore_shapes(self, fitted: dict) -> None:
        """Set what :meth:`_pretrained_shapes` saved."""
        for name in self._pretrained_shape_names:
            setattr(self, name, fitted[name])
        if "feature_names_in_" in fitted:
            self.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)

    def _pretrained_config(self) -> dict:
        return {
            "format_version": FORMAT_VERSION,
            "estimator": type(self).__name__,
            "sk3kg_version": __version__,
            "torch_version": str(torch.__version__),
            "params": _encode_params(self),
            "fitted": _encode_dict(self._pretrained_fitted()),
            "training": _encode_dict(self._training_summary()),
        }

    def _training_summary(self) -> dict:
        loaded = getattr(self._pretrained_module(), "_sk3kg_training", None)
        return loaded if loaded is not None else self._pretrained_training()

    def _pretrained_training(self) -> dict:
        """Samples, epochs and last training loss of the fit that gave the weights."""
        history = self.history_
        return {
            "n_samples": self.n_samples_fit_,
            "epochs": len(history),
            "final_loss": history[-1].get("train_loss") if len(history) else None,
        }


class _Unsaved(Exception):
    """Raised by :func:`_encode` for a value that has no JSON form."""


def _encode(value):
    """The JSON form of a parameter or fitted value; raises ``_Unsaved`` when there is none."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list | tuple):
        return [_encode(item) for item in value]
    if isinstance(value, FrozenEstimator):  # an ECGClassifier's embedder: its architecture
        value = value.estimator
    if isinstance(value, PretrainedMixin):
        return {"estimator": type(value).__name__, "params": _encode_params(value)}
    name = f"sk3kg.augment.{type(value).__name__}"
    if _SAVED_CLASSES.get(name) is type(value):
        arguments = inspect.signature(type(value)).parameters
        return {"class": name, "params": {key: _encode(getattr(value, key)) for key in arguments}}
    # Dicts included: a plain dict could pass for one of the records above.
    raise _Unsaved


def _encode_params(estimator) -> dict:
    params = {}
    for name, value in estimator.get_params(deep=False).items():
        if name in estimator._pretrained_unsaved_params:
            value = None
        try:
            params[name] = _encode(value)
        except _Unsaved:
            params[name] = {"unsaved": repr(value)}
    return params


def _encode_dict(values: dict) -> dict:
    try:
        return {
            key: _encode_dict(value) if isinstance(value, dict) else _encode(value)
            for key, value in values.items()
        }
    except _Unsaved:
        raise TypeError(f"Not all of {values!r} are JSON values (a bug in the hooks).") from None


def _build(cls, params: dict, device: str | None, unsaved: list, prefix: str = ""):
    """An estimator of ``cls`` from saved ``params``; notes ``(name, repr)`` of unsaved ones."""
    removed = cls._pretrained_removed_params
    for name in sorted(set(params) & set(removed)):
        warnings.warn(
            f"The saved {cls.__name__} sets {name}={params[name]!r}, which this sk3kg "
            f"removed ({removed[name]}); it is ignored.",
            UserWarning,
            stacklevel=4,
        )
    params = {name: value for name, value in params.items() if name not in removed}
    unknown = sorted(set(params) - set(cls._get_param_names()))
    if unknown:
        raise ValueError(
            f"The saved {cls.__name__} has parameters {unknown} that this sk3kg's "
            f"{cls.__name__} does not know; upgrade sk3kg."
        )
    decoded = {
        name: _decode(value, device, unsaved, f"{prefix}{name}") for name, value in params.items()
    }
    if "device" in decoded:
        decoded["device"] = device if device is not None else _available(decoded["device"])
    target = resolve_device(decoded.get("device", "auto"))
    if decoded.get("precision") == "16" and not target.startswith("cuda"):
        warnings.warn(
            f'{cls.__name__} was saved with precision="16" (float16, CUDA only) and loads on '
            f"{target}, where it computes in float32.",
            UserWarning,
            stacklevel=4,
        )
        decoded["precision"] = "32"
    return cls(**decoded)


def _decode(value, device: str | None, unsaved: list, name: str):
    if isinstance(value, list):
        return [_decode(item, device, unsaved, name) for item in value]
    if not isinstance(value, dict):
        return value
    if "unsaved" in value:
        unsaved.append((name, value["unsaved"]))
        return None
    if "estimator" in value:
        cls = _estimator_class(value["estimator"])
        return _build(cls, value["params"], device, unsaved, prefix=f"{name}__")
    if value.get("class") in _SAVED_CLASSES:
        arguments = value["params"].items()
        params = {key: _decode(item, device, unsaved, name) for key, item in arguments}
        return _SAVED_CLASSES[value["class"]](**params)
    raise ValueError(
        f"Parameter {name} is saved as {value!r}, which this sk3kg cannot rebuild; upgrade "
        "sk3kg or save the model again."
    )


def _warn_unsaved(cls, unsaved: list) -> None:
    for name, text in unsaved:
        warnings.warn(
            f"{cls.__name__}.from_pretrained: {name}={text} could not be saved (only JSON "
            f"values and sk3kg's own classes are), so it loads as None. Pass {name}= again "
            "(set_params) to continue pretraining with it.",
            UserWarning,
            stacklevel=3,
        )


def _estimator_class(name: str) -> type:
    package = importlib.import_module(__package__)
    cls = getattr(package, name, None) if name in package.__all__ else None
    if not (isinstance(cls, type) and issubclass(cls, PretrainedMixin)):
        raise ValueError(
            f"The config names an estimator {name!r}, which is not a sk3kg estimator that "
            "save_pretrained writes; upgrade sk3kg or save the model again."
        )
    return cls


def _available(device: str) -> str:
    """The saved device, or the CPU when it is CUDA and this machine has none."""
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        return "cpu"
    return device


def _cpu_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    state = {}
    for name, tensor in module.state_dict().items():
        # Integer buffers (BatchNorm's num_batches_tracked) keep their dtype.
        dtype = torch.float32 if tensor.is_floating_point() else tensor.dtype
        state[name] = tensor.detach().to("cpu", dtype).contiguous()
    return state


def _check_target(folder: Path) -> None:
    """Refuse to replace anything but an empty folder or a previous save."""
    if folder.is_file() or (folder.exists() and not folder.is_dir()):
        raise FileExistsError(f"{folder} is a file; pass a folder path to save_pretrained.")
    if not folder.is_dir():
        return
    present = {entry.name for entry in folder.iterdir()}
    if present and not (present <= {CONFIG_FILE, WEIGHTS_FILE} and _is_saved_config(folder)):
        raise FileExistsError(
            f"{folder} is a non-empty folder that save_pretrained did not write (it holds "
            f"{first_names(sorted(present), 5)}); pass a new or empty folder, or one of an "
            "earlier save to replace it."
        )


def _is_saved_config(folder: Path) -> bool:
    try:
        config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(config, dict) and "format_version" in config and "estimator" in config


def _check_files(folder: Path, config: dict) -> Path:
    """The weights file; refuses a folder without it or with files save_pretrained did not write."""
    weights = weights_path(folder, config)
    extra = {entry.name for entry in folder.iterdir()} - {CONFIG_FILE, weights.name}
    if extra:
        raise ValueError(
            f"{folder} holds {first_names(sorted(extra), 5)}, which save_pretrained did not "
            "write; remove them, or save the model again into a new folder."
        )
    return weights


def _replace_folder(partial: Path, folder: Path) -> None:
    """Rename ``partial`` to ``folder``; a previous save is replaced only by a whole new one."""
    if not folder.exists():
        os.replace(partial, folder)
        return
    # A folder cannot be renamed over a non-empty one: move the old save aside first.
    old = partial.with_suffix(".old")
    os.replace(folder, old)
    try:
        os.replace(partial, folder)
    except BaseException:
        os.replace(old, folder)
        raise
    shutil.rmtree(old, ignore_errors=True)
