"""The methods compared by the label-efficiency study, each as features of records."""

import importlib.util
import time

import numpy as np
from _progress import SampleProgress

from sk3kg import ECGClassifier, ThreeKGEmbedder
from sk3kg.augment import StandardAugment, ThreeKGAugment

SELF_SUPERVISED = ("3kg", "3kg-spatial", "3kg-temporal", "3kg-shared", "simclr", "cmsc")
TRAINED_ON_LABELS = ("supervised", "3kg-finetune")
ALL_METHODS = (*SELF_SUPERVISED, "random", *TRAINED_ON_LABELS, "minirocket")


def has_minirocket() -> bool:
    return importlib.util.find_spec("aeon") is not None


def sample_schedule(budget: int, n_records: int) -> tuple[int, int]:
    """Epochs and records per epoch that spend a budget of ``budget`` training samples.

    A budget under one pass over the ``n_records`` is one epoch over a random subset
    of them (a partial epoch); a larger one is whole epochs (rounded).
    """
    if budget <= n_records:
        return 1, budget
    return max(1, round(budget / n_records)), n_records


def crop_settings(method: str, config: dict, n_timepoints: int) -> dict:
    """The embedder's crop parameters for ``method``: CMSC's adjacent halves of each record,
    else ``config["crop"]`` seconds (None: whole records) at ``config["crop_placement"]``."""
    if method == "cmsc":
        return {"crop": n_timepoints // 2, "crop_placement": "adjacent"}
    if config["crop"] is None or method == "random":
        return {}
    return {"crop": round(config["crop"] * config["fs"]),
            "crop_placement": config["crop_placement"]}  # fmt: skip


def embedder_for(method: str, config: dict, device: str, epochs: int, n_timepoints: int):
    """The ``ThreeKGEmbedder`` that pretrains ``method`` (or the untrained ``random``)."""
    common = {
        "max_epochs": epochs,
        "batch_size": config["batch_size"],
        "lr": config["lr"],
        "lead_mode": config["lead_mode"],
        "width": config["width"],
        "depth": config["depth"],
        "temperature": config["temperature"],
        "device": device,
        "precision": config["precision"],
        "random_state": 0,
        "verbose": config["verbose"],
        **crop_settings(method, config, n_timepoints),
    }
    common["callbacks"] = [SampleProgress(f"[{method}] pretraining")]
    if config.get("callbacks"):
        common["callbacks"] += config["callbacks"]()
        common["validation_fraction"] = config["validation_fraction"]
    identity = ThreeKGAugment(angle=0.0, scale=1.0, mask_ratio=0.0)
    variants = {
        "3kg": {},
        "3kg-spatial": {"mask_ratio": 0.0},
        "3kg-temporal": {"angle": 0.0, "scale": 1.0},
        "3kg-shared": {"lead_mode": "shared"},
        "simclr": {"augment": StandardAugment(fs=config["fs"])},
        # CLOCS's CMSC: no augmentation; two adjacent segments of a recording are positives.
        "cmsc": {"augment": identity},
        "random": {"max_epochs": 0},
    }
    return ThreeKGEmbedder(**{**common, **variants[method]})


def pretrain_and_embed(method, config, X_train, splits_X, device):
    """Pretrain on the unlabelled training records; embed every split.

    Pretraining sees ``config["pretrain_records"]`` training records in all
    (``sample_schedule``), each giving its two views from windows of it
    (``crop_settings``); a record's features are then the mean over its windows.
    """
    epochs, n_records = sample_schedule(config["pretrain_records"], len(X_train))
    X_train = X_train[_draw(len(X_train), n_records, seed=0)]  # the same for every method
    embedder = embedder_for(method, config, device, epochs, X_train.shape[2])
    embedder.fit(X_train)
    return embedder, {name: embedder.transform(X) for name, X in splits_X.items()}


def minirocket_features(config: dict, X_train: np.ndarray, splits_X: dict) -> dict:
    """aeon's MiniRocket (multivariate) features, fitted on the training records."""
    from aeon.transformations.collection.convolution_based import MiniRocket

    rocket = MiniRocket(n_kernels=config["minirocket_kernels"], random_state=0, n_jobs=-1)
    rocket.fit(X_train.astype(np.float32))
    return {name: rocket.transform(X.astype(np.float32)) for name, X in splits_X.items()}


def _draw(n: int, size: int, seed: int) -> np.ndarray:
    """Sorted positions of a random ``size`` of ``n`` records (all of them if size >= n)."""
    if size >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).permutation(n)[:size])


def label_epochs(config: dict, fraction: float) -> int:
    """Most epochs a network trains on ``fraction`` of the labels (early stopping may stop
    it sooner): ``config["label_epochs"]``, one number or one per fraction (the nearest
    fraction's, on a log scale, for a fraction it does not list)."""
    epochs = config["label_epochs"]
    if not isinstance(epochs, dict):
        return int(epochs)
    nearest = min(epochs, key=lambda known: abs(np.log(known / fraction)))
    return int(epochs[nearest])


def classifier_scores(config, X, target, seed, device, fraction, embedder=None):
    """Train an ``ECGClassifier`` on the labelled subset; its validation and test scores.

    ``embedder=None`` trains an encoder of the benchmark's size from random weights, end
    to end, with a random head (``supervised``). A pretrained embedder is fine-tuned
    from its exact linear probe (LP-FT, ``head_init="probe"``; ``3kg-finetune``). Both
    train at most ``label_epochs(config, fraction)`` epochs with ECGClassifier's
    default recipe (learning rate and schedule, chosen by ``finetune_recipe.py`` on
    the validation split), scoring ``config["stop_records"]`` random validation records
    (all when None) after every epoch: the epoch with the best macro AUC there (epoch
    0 included: the probe, or the untrained network) is kept, and training stops
    after ``config["patience"]`` epochs without a better one. Returns the test and
    validation probabilities and what the fit chose.
    """
    supervised = embedder is None
    if supervised:
        size = {k: config[k] for k in ("lead_mode", "width", "depth")}
        embedder = ThreeKGEmbedder(max_epochs=0, **size, device=device, random_state=seed)
    stop = _draw(len(X["valid"]), config["stop_records"] or len(X["valid"]), seed=0)
    clf = ECGClassifier(
        embedder,
        head_init="random" if supervised else "probe",
        # A random encoder learns at the head's rate; a pretrained one at the default share.
        **({"encoder_lr_scale": 1.0} if supervised else {}),
        max_epochs=label_epochs(config, fraction),
        patience=config["patience"],
        batch_size=config["batch_size"],
        device=device,
        precision=config["precision"],
        callbacks=[SampleProgress(f"  fit, {len(X['train'])} labelled")],
        random_state=seed,
    )
    start = time.perf_counter()
    clf.fit(X["train"], target["train"], X_val=X["valid"][stop], y_val=target["valid"][stop])
    chosen = {"epochs_kept": clf.best_epoch_, "epochs_run": len(clf.history_),
              "max_epochs": clf.max_epochs, "probe_C": clf.probe_C_,
              "valid_score_start": clf.valid_scores_[0],
              "valid_score_kept": clf.valid_scores_[clf.best_epoch_],
              "fit_seconds": time.perf_counter() - start}  # fmt: skip
    return clf.predict_proba(X["test"]), clf.predict_proba(X["valid"]), chosen
