"""Read a folder written by ``save_pretrained`` with torch alone: no scikit-learn, no skorch.

The folder holds ``config.json`` and ``model.safetensors``; the layout is
described in :mod:`sk3kg._pretrained`, which writes it. The helpers here read
and check the config and the weights file; :func:`load_encoder` rebuilds the
bare encoder from them, and the estimators' ``from_pretrained`` runs the same
checks before rebuilding a fitted estimator.
"""

import json
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from .._files import file_sha256
from ._resnet import ENCODER_SIZE, build_encoder

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
#: Version of the folder layout written now; readers refuse newer ones.
FORMAT_VERSION = 1
#: Prefix of the encoder's tensors in the weights file, whatever the estimator.
ENCODER_PREFIX = "encoder."
_REQUIRED = {"estimator": str, "params": dict, "fitted": dict, "training": dict, "weights": dict}


def read_config(folder: Path) -> dict:
    """Check that ``folder`` is a saved model of a format this sk3kg reads; return its config."""
    if not folder.exists():
        raise FileNotFoundError(
            f"No saved model at {folder}: the folder does not exist. Pass the folder that "
            "save_pretrained wrote."
        )
    if not folder.is_dir():
        raise NotADirectoryError(
            f"{folder} is a file, not a folder written by save_pretrained; pass the folder "
            f"that holds {CONFIG_FILE} and {WEIGHTS_FILE}."
        )
    if not (folder / CONFIG_FILE).is_file():
        missing = [name for name in (CONFIG_FILE, WEIGHTS_FILE) if not (folder / name).exists()]
        raise FileNotFoundError(
            f"{folder} lacks {', '.join(missing)}: it is not a complete folder written by "
            "save_pretrained. Copy the missing file(s) or save the model again."
        )
    try:
        config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(
            f"{folder / CONFIG_FILE} is not valid JSON ({error}): it was damaged or edited. "
            "Save the model again."
        ) from None
    _check_format(config, folder)
    return config


def _check_format(config, folder: Path) -> None:
    version = config.get("format_version") if isinstance(config, dict) else None
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(
            f"{folder / CONFIG_FILE} has no valid format_version: it was not written by "
            "save_pretrained. Save the model again."
        )
    # Checked before anything else: a newer format may lay out its files differently.
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{folder} was saved by a newer sk3kg (format {version}); upgrade sk3kg "
            f"(this version reads format {FORMAT_VERSION})."
        )
    missing = [key for key, kind in _REQUIRED.items() if not isinstance(config.get(key), kind)]
    if isinstance(config.get("weights"), dict):
        weights = config["weights"]
        missing += [
            f"weights.{key}" for key in ("file", "sha256") if not isinstance(weights.get(key), str)
        ]
    if missing:
        raise ValueError(
            f"{folder / CONFIG_FILE} lacks {', '.join(missing)}: it was edited or not written "
            "by save_pretrained. Save the model again."
        )


def weights_path(folder: Path, config: dict) -> Path:
    """The weights file that ``config`` names, refused when it is missing."""
    name = config["weights"]["file"]
    if Path(name).name != name:
        raise ValueError(
            f"{folder / CONFIG_FILE} names the weights file {name!r}, which is not a file "
            "name inside the folder; save the model again."
        )
    if not (folder / name).is_file():
        raise FileNotFoundError(
            f"{folder} lacks {name}: it is not a complete folder written by save_pretrained. "
            "Copy the missing file or save the model again."
        )
    return folder / name


def check_sha256(path: Path, config: dict) -> None:
    """Refuse a weights file whose sha256 is not the one ``config`` recorded."""
    if file_sha256(path) != config["weights"]["sha256"]:
        raise ValueError(
            f"{path} does not match the sha256 recorded in {CONFIG_FILE}: it was truncated or "
            "edited; save it again from the fitted model."
        )


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file, as a ValueError naming the file when unreadable."""
    try:
        return load_file(path)
    except (SafetensorError, OSError, ValueError) as error:
        raise ValueError(
            f"Could not read {path} ({error}); it is damaged. Save the model again."
        ) from None


def describe_mismatch(
    expected: Mapping[str, torch.Tensor], state: Mapping[str, torch.Tensor]
) -> str | None:
    """Say which tensors of ``state`` do not fit a module's ``expected`` state; None if all do."""
    missing = [name for name in expected if name not in state]
    unexpected = [name for name in state if name not in expected]
    shapes = [
        f"{name} {tuple(state[name].shape)} where the model has {tuple(expected[name].shape)}"
        for name in expected
        if name in state and state[name].shape != expected[name].shape
    ]
    parts = [
        f"{what} {first_names(names)}"
        for what, names in [("missing", missing), ("unexpected", unexpected), ("shape", shapes)]
        if names
    ]
    return "; ".join(parts) or None


def load_state_strictly(module: torch.nn.Module, state: Mapping[str, torch.Tensor], message: str):
    """Load ``state`` into ``module``, or raise ``ValueError(message)`` naming what does not fit.

    ``message`` is a format string with a ``{mismatch}`` field, filled by
    :func:`describe_mismatch`.
    """
    mismatch = describe_mismatch(module.state_dict(), state)
    if mismatch:
        raise ValueError(message.format(mismatch=mismatch))
    module.load_state_dict(state, strict=True)


def first_names(names: list[str], n: int = 3) -> str:
    """The first ``n`` names, comma-separated, and how many more there are."""
    more = f" and {len(names) - n} more" if len(names) > n else ""
    return ", ".join(names[:n]) + more


def _encoder_size(config: dict, folder: Path) -> dict:
    """``build_encoder``'s arguments: ``fitted.encoder_size``, or the embedder's params."""
    params = config["params"]
    if "encoder_size" in config["fitted"]:  # a classifier records its encoder's size
        params = config["fitted"]["encoder_size"]
    elif config["estimator"] != "ThreeKGEmbedder":
        nested = params.get("embedder")
        if not (isinstance(nested, dict) and nested.get("estimator") == "ThreeKGEmbedder"):
            raise ValueError(
                f"{folder} holds a {config['estimator']} without a ThreeKGEmbedder "
                "(params.embedder), so it has no sk3kg encoder to load."
            )
        params = nested["params"]
    try:
        return {"n_leads": config["fitted"]["n_leads_in_"]} | {
            key: params[key] for key in ENCODER_SIZE
        }
    except KeyError as error:
        raise ValueError(
            f"{folder / CONFIG_FILE} lacks {error.args[0]}, needed to rebuild the encoder; "
            "save the model again."
        ) from None


def load_encoder(path) -> nn.Module:
    """Rebuild the bare torch encoder of a saved sk3kg model.

    Reads the ``config.json`` and ``model.safetensors`` that
    ``save_pretrained`` wrote (of a :class:`~sk3kg.ThreeKGEmbedder`, or of an
    estimator holding one as its ``embedder`` parameter), builds the encoder
    with :func:`build_encoder` and loads its weights: plain PyTorch, without
    scikit-learn or skorch. The projection head and any other weights are
    left out.

    Parameters
    ----------
    path : str or path-like
        The folder written by ``save_pretrained``.

    Returns
    -------
    encoder : torch.nn.Module
        The trained encoder on the CPU, in eval mode; it maps
        ``(batch, n_leads, n_timepoints)`` float32 tensors to
        ``(batch, embedding_dim)`` embeddings, those of ``transform``.

    Raises
    ------
    FileNotFoundError
        When the folder, its config or its weights file is missing.
    ValueError
        When the config is not sk3kg's or of a newer format, the weights file
        is not the one the config recorded (sha256), or its encoder tensors do
        not fit the encoder the config describes.

    See Also
    --------
    build_encoder : Builds the encoder (with random weights).
    sk3kg.ThreeKGEmbedder.from_pretrained : Loads the whole fitted estimator.

    Notes
    -----
    The encoder is described by ``params`` (``lead_mode``, ``width``,
    ``depth``, ``n_stages``, ``kernel_size``; for a classifier, by
    ``fitted.encoder_size``, else by ``params.embedder.params``) and
    ``fitted.n_leads_in_``;
    its tensors are those of the weights file named ``encoder.<name>``, with
    ``<name>`` as in the encoder's ``state_dict``.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> import torch
    >>> from sk3kg import ThreeKGEmbedder
    >>> from sk3kg.nn import load_encoder
    >>> X = np.random.default_rng(0).normal(size=(32, 12, 250)).astype(np.float32)
    >>> embedder = ThreeKGEmbedder(
    ...     max_epochs=1, batch_size=16, width=4, depth=1, random_state=0
    ... ).fit(X)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     embedder.save_pretrained(folder)
    ...     encoder = load_encoder(folder)
    >>> type(encoder).__name__, encoder.training
    ('ResNet1d', False)
    >>> with torch.no_grad():
    ...     embeddings = encoder(torch.from_numpy(X)).numpy()
    >>> np.allclose(embeddings, embedder.transform(X), atol=1e-5)
    True
    """
    folder = Path(path)
    config = read_config(folder)
    weights = weights_path(folder, config)
    check_sha256(weights, config)
    state = read_weights(weights)
    size = _encoder_size(config, folder)
    # The random initial weights are overwritten: draw them without touching torch's generator.
    with torch.random.fork_rng(devices=[]):
        encoder = build_encoder(size.pop("n_leads"), **size)
    start = len(ENCODER_PREFIX)
    encoder_state = {k[start:]: v for k, v in state.items() if k.startswith(ENCODER_PREFIX)}
    load_state_strictly(
        encoder,
        encoder_state,
        f"The {ENCODER_PREFIX}* tensors of {weights} do not fit the encoder described in "
        f"{CONFIG_FILE} ({{mismatch}}); save the model again.",
    )
    return encoder.eval()
