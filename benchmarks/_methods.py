"""The methods compared by the label-efficiency study, each as features of records."""

import importlib.util

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import EarlyStopping
from skorch.dataset import Dataset
from skorch.helper import predefined_split
from torch import nn

from sk3kg import ThreeKGEmbedder
from sk3kg.augment import StandardAugment, ThreeKGAugment
from sk3kg.nn import build_encoder

SELF_SUPERVISED = ("3kg", "3kg-spatial", "3kg-temporal", "3kg-shared", "simclr", "cmsc")
ALL_METHODS = (*SELF_SUPERVISED, "random", "supervised", "minirocket")


def has_minirocket() -> bool:
    return importlib.util.find_spec("aeon") is not None


def segments(X: np.ndarray, n_segments: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut each record into ``n_segments`` adjacent crops; return them and their record ids."""
    length = X.shape[2] // n_segments
    crops = X[:, :, : n_segments * length].reshape(len(X), X.shape[1], n_segments, length)
    crops = crops.transpose(0, 2, 1, 3).reshape(-1, X.shape[1], length)
    return np.ascontiguousarray(crops), np.repeat(np.arange(len(X)), n_segments)


def embedder_for(method: str, config: dict, device: str) -> ThreeKGEmbedder:
    """The ``ThreeKGEmbedder`` that pretrains ``method`` (or the untrained ``random``)."""
    common = {
        "max_epochs": config["epochs"],
        "batch_size": config["batch_size"],
        "lr": config["lr"],
        "width": config["width"],
        "depth": config["depth"],
        "temperature": config["temperature"],
        "device": device,
        "random_state": 0,
        "verbose": config["verbose"],
    }
    if config.get("callbacks"):
        common["callbacks"] = config["callbacks"]()
        common["validation_fraction"] = config["validation_fraction"]
    identity = ThreeKGAugment(angle=0.0, scale=1.0, mask_ratio=0.0)
    variants = {
        "3kg": {},
        "3kg-spatial": {"mask_ratio": 0.0},
        "3kg-temporal": {"angle": 0.0, "scale": 1.0},
        "3kg-shared": {"lead_mode": "shared"},
        "simclr": {"augment": StandardAugment(fs=config["fs"])},
        # CLOCS's CMSC: no augmentation; adjacent segments of a recording are positives.
        "cmsc": {"augment": identity},
        "random": {"max_epochs": 0},
    }
    return ThreeKGEmbedder(**{**common, **variants[method]})


def pretrain_and_embed(method, config, X_train, splits_X, device):
    """Pretrain on the unlabelled training records; embed every split.

    With ``config["n_segments"] > 1`` (and always for CMSC, at least 2), each
    record is cut into adjacent crops; the crops of one record are positives of
    each other during pretraining and a record's features are its crops' mean.
    """
    n_segments = max(2, config["n_segments"]) if method == "cmsc" else config["n_segments"]
    crops, groups = segments(X_train, n_segments)
    embedder = embedder_for(method, config, device)
    embedder.fit(crops, groups=groups if n_segments > 1 else None)
    features = {}
    for name, X in splits_X.items():
        embedded = embedder.transform(segments(X, n_segments)[0])
        features[name] = embedded.reshape(len(X), n_segments, -1).mean(axis=1)
    return embedder, features


def minirocket_features(config: dict, X_train: np.ndarray, splits_X: dict) -> dict:
    """aeon's MiniRocket (multivariate) features, fitted on the training records."""
    from aeon.transformations.collection.convolution_based import MiniRocket

    rocket = MiniRocket(n_kernels=config["minirocket_kernels"], random_state=0, n_jobs=-1)
    rocket.fit(X_train.astype(np.float32))
    return {name: rocket.transform(X.astype(np.float32)) for name, X in splits_X.items()}


class _Classifier(nn.Module):
    """The benchmark's encoder with a linear layer on top, trained end to end."""

    def __init__(self, n_leads: int, n_classes: int, width: int, depth: int) -> None:
        super().__init__()
        self.encoder = build_encoder(n_leads, width=width, depth=depth)
        self.linear = nn.Linear(self.encoder.embedding_dim, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.encoder(x))


def supervised_scores(config, X, target, seed, device) -> tuple[np.ndarray, np.ndarray]:
    """Train the same encoder end to end on the labelled subset; early-stop on validation.

    Returns sigmoid scores of the test and validation records. Classes absent
    from the labelled subset still get an output (the network learns they are
    rare), so every method is scored on the same classes.
    """
    n_classes = target["train"].shape[1]
    valid = Dataset(X["valid"], target["valid"].astype(np.float32))
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        net = NeuralNet(
            _Classifier,
            module__n_leads=X["train"].shape[1],
            module__n_classes=n_classes,
            module__width=config["width"],
            module__depth=config["depth"],
            criterion=nn.BCEWithLogitsLoss,
            optimizer=torch.optim.AdamW,
            lr=config["lr"],
            max_epochs=config["supervised_epochs"],
            batch_size=min(config["batch_size"], len(X["train"])),
            iterator_train__shuffle=True,
            train_split=predefined_split(valid),
            callbacks=[EarlyStopping(patience=config["patience"], load_best=True)],
            predict_nonlinearity=None,
            device=device,
            verbose=0,
        )
        net.fit(X["train"], target["train"].astype(np.float32))
    scores = {
        name: torch.sigmoid(torch.as_tensor(net.predict_proba(X[name]))).numpy()
        for name in ("test", "valid")
    }
    return scores["test"], scores["valid"]
