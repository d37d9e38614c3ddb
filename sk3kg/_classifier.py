"""``ECGClassifier``: a (pretrained) encoder and a linear head, fine-tuned as a classifier."""

import copy
import json
import math
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit, StratifiedShuffleSplit
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import column_or_1d
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_array, check_is_fitted
from skorch.callbacks import ProgressBar
from skorch.helper import predefined_split
from torch.utils.data import Subset

from ._callbacks import StopOnDivergence, TerminalPrintLog
from ._data import SignalDataset
from ._distributed import resolve_device
from ._embedder import ThreeKGEmbedder
from ._finetune import (
    schedule_and_selection,
    scorable_classes,
    start_at_probe,
    train_and_select,
)
from ._finetune_net import FineTuneNet
from ._inference import forward_in_batches
from ._onnx import OnnxExportMixin
from ._precision import PRECISIONS, resolve_precision
from ._pretrained import PretrainedMixin
from ._seeding import draw_seed
from ._signals import check_groups, validate_signals
from .metrics import f1_thresholds
from .nn import ENCODER_SIZE, ClassifierModel, build_encoder
from .vcg import resolve_leads


def _classifier_model(*, n_outputs: int, **encoder_size) -> ClassifierModel:
    """The encoder of ``build_encoder(**encoder_size)`` with a linear head of ``n_outputs``."""
    return ClassifierModel(build_encoder(**encoder_size), n_outputs)


def _is_fitted(embedder) -> bool:
    """Whether an embedder holds a trained net (a failed fit leaves shapes but no ``net_``)."""
    try:
        check_is_fitted(embedder, "net_")
    except NotFittedError:
        return False
    return True


def _label_array(y, name: str, x_name: str, n_samples: int, *, ravel_column: bool):
    """Labels checked by scikit-learn, a single column raveled (with its warning), one per ECG."""
    y = check_array(y, ensure_2d=False, dtype=None, input_name=name)
    if ravel_column and y.ndim == 2 and y.shape[1] == 1:
        y = column_or_1d(y, warn=True)
    if len(y) != n_samples:
        raise ValueError(
            f"{name} has {len(y)} labels but {x_name} has {n_samples} ECGs; pass one each."
        )
    return y


def _n_valid(fraction: float, n_samples: int) -> int:
    return int(np.ceil(fraction * n_samples))


def _validation_indices(n_samples, fraction, seed, labels, groups):
    """Train and validation indices: grouped when groups are given, else stratified if possible."""
    if groups is not None:
        splitter = GroupShuffleSplit(1, test_size=fraction, random_state=seed)
        return next(splitter.split(np.zeros(n_samples), groups=groups))
    n_valid = _n_valid(fraction, n_samples)
    counts = np.bincount(labels) if labels is not None else None
    both_sides = counts is not None and min(n_valid, n_samples - n_valid) >= len(counts)
    if both_sides and counts.min() >= 2:
        splitter = StratifiedShuffleSplit(1, test_size=fraction, random_state=seed)
        return next(splitter.split(np.zeros(n_samples), labels))
    splitter = ShuffleSplit(1, test_size=fraction, random_state=seed)
    return next(splitter.split(np.zeros(n_samples)))


class ECGClassifier(PretrainedMixin, OnnxExportMixin, ClassifierMixin, BaseEstimator):
    """Fine-tune a (3KG-pretrained) ECG encoder with a linear head, as a classifier.

    ``fit`` puts a linear layer on an encoder and trains both on labelled
    ECGs (through a skorch net, ``net_``). The encoder comes from
    ``embedder``: ``None`` starts from random weights (the fully supervised
    baseline), an unfitted :class:`ThreeKGEmbedder` is first pretrained on
    ``X`` without labels, a fitted one is the starting point (its weights are
    copied; it is never changed).

    Fine-tuning a pretrained encoder is LP-FT (``sk3kg/_finetune.py``): the
    head starts at the exact linear probe (scikit-learn's logistic regression
    on the frozen, standardised embeddings, ``C`` chosen on the validation
    split), then encoder and head train together (AdamW; the encoder at
    ``encoder_lr_scale`` of the head's rate, ``lr_schedule``). Epoch 0
    (the probe) and every later epoch are scored on the validation split
    (macro AUC by default); the best epoch is restored, so the fine-tuned
    model never scores below its probe on validation.
    ``ECGClassifier(embedder, freeze_encoder=True, max_epochs=0)`` is that
    probe alone.

    ``y`` is either a 0/1 indicator matrix (multilabel, as in the PhysioNet
    challenge: one sigmoid per label, binary cross-entropy, and
    ``predict_proba`` of shape ``(n_samples, n_classes)`` as
    ``OneVsRestClassifier`` returns) or one label per ECG (softmax,
    cross-entropy).

    :meth:`save_pretrained` writes the fitted classifier to a folder (JSON and
    safetensors, no pickle), :meth:`from_pretrained` loads it back on any
    machine, and :meth:`export_onnx` writes encoder and head for deployment.

    Parameters
    ----------
    embedder : ThreeKGEmbedder or None, default=None
        Owns the encoder's architecture (``lead_mode``, ``width``, ``depth``,
        ``n_stages``, ``kernel_size``) and ``leads``. ``None``: an untrained
        encoder of the default size. Unfitted: cloned and pretrained on
        ``X`` (with ``groups``) before fine-tuning. Fitted (or wrapped in
        ``sklearn.frozen.FrozenEstimator``, which keeps it fitted through
        ``clone`` and grid searches): its encoder's weights are the start.
    freeze_encoder : bool, default=False
        Train the head alone, with the encoder's weights and batch-norm
        statistics fixed.
    head_init : {"auto", "probe", "random"}, default="auto"
        Where the head starts. ``"probe"``: the exact linear probe on the
        encoder's embeddings of the training ECGs (one binary L2 logistic
        regression per label, or a multinomial one; ``C`` in {0.01, 0.1, 1}
        chosen by the validation ``selection`` score, ``C=1`` without
        validation). ``"random"``: random weights (fine-tuning directly).
        ``"auto"``: the probe for a pretrained ``embedder``, random for
        ``embedder=None`` (the supervised baseline). The probe replaces the
        SGD epochs of the former ``linear_probe_epochs``: it is the optimum
        those epochs approach, in seconds.
    max_epochs : int, default=30
        Epochs of training after the head's start.
    batch_size : int, default=128
        Samples per batch.
    lr : float, default=3e-3
        Learning rate of AdamW for the head.
    encoder_lr_scale : float, default=1.0
        The encoder's learning rate is ``lr * encoder_lr_scale``; below 1, a
        pretrained encoder moves less than the head.
    weight_decay : float, default=0.0
        Decoupled weight decay of AdamW.
    lr_schedule : {"constant", "cosine"}, default="constant"
        ``"constant"``: ``lr`` throughout. ``"cosine"``: a linear warm-up over
        the first 5 % of the steps, then a cosine decay to zero at
        ``max_epochs`` (stepped every batch).
    selection : {"auc", "loss"}, default="auc"
        What chooses ``C``, the epoch kept and when to stop: the validation
        macro AUC (one-vs-rest over the classes with both labels in the
        validation split) or the validation loss (unweighted).

        The defaults of ``lr``, ``encoder_lr_scale``, ``weight_decay``,
        ``lr_schedule`` and ``patience`` were chosen on the validation split of
        the benchmark's quick-preset data, fine-tuning its 3KG encoder on 345
        and 3,448 labelled records (``benchmarks/finetune_recipe.py``; the table
        of every variant is in ``docs/benchmark.rst``): a higher, constant
        learning rate was better there than 1e-3 or a cosine decay (validation
        macro AUC 0.868 against 0.855 at 345 records, 0.975 against 0.961 at
        3,448), and a smaller ``encoder_lr_scale`` (0.3, 0.1) or weight decay
        (0.05) did not help.
    class_weight : "balanced", dict or None, default=None
        Weights of the loss. Multilabel: ``"balanced"`` weighs each label's
        positives by ``n_negative / n_positive`` (1 for a label without
        positives); a dict maps column indices to such weights. One label per
        ECG: as in scikit-learn, a dict maps classes to weights.
    threshold : float or "auto", default=0.5
        Multilabel ``predict`` calls a label positive when its probability is
        at least this. ``"auto"``: one threshold per label, maximising F1 on
        the validation data (:func:`sk3kg.metrics.f1_thresholds`). Not used
        with one label per ECG (``predict`` takes the most probable class).
    validation_fraction : float or None, default=0.1
        Fraction of the training ECGs held out (seeded; whole groups when
        ``groups`` are given; stratified by class when possible) for the
        probe's ``C``, the epoch selection and ``threshold="auto"``, unless
        ``fit`` gets ``X_val`` and ``y_val``. ``None``: no validation; the
        probe takes ``C=1``, training runs all ``max_epochs`` and keeps the
        last (``threshold="auto"`` is refused).
    patience : int, default=10
        Epochs without a better validation ``selection`` score before
        training stops; the weights of the best epoch (0: the start) are kept.
        On small sets an epoch is a few steps: 5 epochs (15 steps at 345
        records) stopped fine-tuning in the dip that follows the probe, before
        it climbed past it.
    augment : torch.nn.Module or None, default=None
        Applied as ``augment(x, generator)`` to training batches, e.g.
        :class:`~sk3kg.augment.ThreeKGAugment` (views of the ECG as training
        data augmentation). ``None``: train on the ECGs as they are.
    device : str, default="auto"
        Torch device; ``"auto"`` picks ``"cuda"`` when available.
    precision : {"32", "bf16", "16", "auto"}, default="32"
        Precision of the encoder's forward and backward passes (training
        and inference). ``"bf16"``: bfloat16 under ``torch.autocast``, about
        1.8x faster on CPUs with native bfloat16 (AVX-512 BF16, AMX) and on
        recent GPUs; ``"16"``: float16 with a gradient scaler, CUDA only;
        ``"auto"``: ``"bf16"`` where the hardware runs it natively, else
        ``"32"``. Weights, optimizer state, batch-norm statistics, the loss
        and the returned probabilities stay float32 (see ``docs/scaling.rst``).
    num_workers : int, default=0
        DataLoader worker processes that read and collate batches.
    callbacks : list of skorch callbacks, default=None
        Extra skorch callbacks (learning-rate schedulers, logging).
    random_state : int, RandomState instance or None, default=None
        Seeds the head's (and an untrained encoder's) weights, the validation
        split, the batch order and the augmentations. Pretraining an unfitted
        ``embedder`` uses the embedder's own ``random_state``.
    verbose : int, default=0
        When positive, print a per-epoch table and show a progress bar.

    Attributes
    ----------
    net_ : sk3kg.FineTuneNet
        The trained skorch net (encoder, head, optimizer).
    embedder_ : ThreeKGEmbedder or None
        The fitted embedder whose encoder was the starting point: the clone
        pretrained on ``X``, or the fitted ``embedder`` itself (unchanged);
        ``None`` when ``embedder`` is None, and after :meth:`from_pretrained`
        (the fine-tuned encoder is in ``net_``; the embedder is not saved).
    encoder_ : torch.nn.Module
        The fine-tuned encoder, without the head.
    classes_ : ndarray of shape (n_classes,)
        The class labels; for multilabel ``y``, the column indices
        ``0 .. n_classes - 1`` (as ``OneVsRestClassifier``).
    thresholds_ : ndarray of shape (n_classes,)
        Multilabel only: the per-label thresholds ``predict`` applies.
    history_ : skorch.History
        Per-epoch log: ``train_loss``, ``valid_loss``, ``valid_score`` (the
        ``selection`` score) and ``valid_score_best``.
    probe_C_ : float or None
        The ``C`` of the probe the head started from; None for a random head.
    valid_scores_ : list of float
        The validation ``selection`` score of epoch 0 (the start), 1, 2, ...;
        empty without validation.
    best_epoch_ : int or None
        The epoch whose weights were kept (0: the start, e.g. the probe);
        None without validation (the last epoch is kept).
    selection_ : {"auc", "loss"}
        The criterion used: ``selection``, or ``"loss"`` (with a warning) when
        no class has both labels in the validation split, where the macro AUC
        is undefined.
    n_features_in_ : int
        ``n_leads_in_ * n_timepoints_in_``.
    n_leads_in_ : int
        Number of leads seen during fit.
    n_timepoints_in_ : int
        Signal length seen during fit.
    n_samples_fit_ : int
        Number of ECGs trained on (without the validation ones).
    multilabel_ : bool
        Whether ``y`` was a 0/1 indicator matrix.

    See Also
    --------
    ThreeKGEmbedder : Pretrains the encoder without labels.
    sk3kg.metrics.macro_auc : Scores multilabel ``predict_proba``.

    References
    ----------
    .. [1] A. Kumar et al., "Fine-Tuning can Distort Pretrained Features and
       Underperform Out-of-Distribution", ICLR 2022 (LP-FT).

    Examples
    --------
    >>> import numpy as np
    >>> from sk3kg import ECGClassifier, ThreeKGEmbedder
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(64, 12, 250)).astype(np.float32)
    >>> y = (rng.random((64, 3)) < 0.3).astype(int)  # multilabel
    >>> small = dict(width=4, depth=1, batch_size=16, random_state=0)
    >>> embedder = ThreeKGEmbedder(max_epochs=1, **small).fit(X)  # pretrained
    >>> clf = ECGClassifier(embedder, max_epochs=2, batch_size=16, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape, clf.predict(X[:2]).shape
    ((2, 3), (2, 3))
    >>> clf.valid_scores_[clf.best_epoch_] >= clf.valid_scores_[0]  # never below the probe
    True

    One label per ECG gives a softmax classifier:

    >>> labels = np.array(["AF", "NSR"])[rng.integers(0, 2, 64)]
    >>> clf = ECGClassifier(max_epochs=1, batch_size=16, random_state=0).fit(X, labels)
    >>> clf.classes_
    array(['AF', 'NSR'], dtype='<U3')
    """

    _pretrained_removed_params = {
        "linear_probe_epochs": "the head now starts at the exact linear probe; see head_init"
    }

    _parameter_constraints: dict = {
        "embedder": [None, HasMethods(["fit", "transform"])],
        "freeze_encoder": ["boolean"],
        "head_init": [StrOptions({"auto", "probe", "random"})],
        "max_epochs": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "encoder_lr_scale": [Interval(Real, 0, None, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "lr_schedule": [StrOptions({"cosine", "constant"})],
        "selection": [StrOptions({"auc", "loss"})],
        "class_weight": [StrOptions({"balanced"}), dict, None],
        "threshold": [Interval(Real, 0, 1, closed="both"), StrOptions({"auto"})],
        "validation_fraction": [None, Interval(Real, 0, 1, closed="neither")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "augment": [None, HasMethods(["forward"])],
        "device": [str],
        "precision": [StrOptions(set(PRECISIONS))],
        "num_workers": [Interval(Integral, 0, None, closed="left")],
        "callbacks": [None, list],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        embedder=None,
        *,
        freeze_encoder=False,
        head_init="auto",
        max_epochs=30,
        batch_size=128,
        lr=3e-3,
        encoder_lr_scale=1.0,
        weight_decay=0.0,
        lr_schedule="constant",
        selection="auc",
        class_weight=None,
        threshold=0.5,
        validation_fraction=0.1,
        patience=10,
        augment=None,
        device="auto",
        precision="32",
        num_workers=0,
        callbacks=None,
        random_state=None,
        verbose=0,
    ):
        self.embedder = embedder
        self.freeze_encoder = freeze_encoder
        self.head_init = head_init
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.encoder_lr_scale = encoder_lr_scale
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.selection = selection
        self.class_weight = class_weight
        self.threshold = threshold
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.augment = augment
        self.device = device
        self.precision = precision
        self.num_workers = num_workers
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, groups=None, X_val=None, y_val=None):
        """Pretrain (if asked), then train the encoder and head on labelled ECGs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_leads, n_timepoints) or Dataset
            The ECGs, rows in the order of the embedder's ``leads``; or
            flattened lead by lead. Memory-mapped arrays and Datasets are
            streamed batch by batch.
        y : array-like of shape (n_samples,) or (n_samples, n_classes)
            One label per ECG, or a 0/1 indicator matrix (multilabel).
        groups : array-like of shape (n_samples,), default=None
            Patient or recording ids: the validation split keeps each group
            on one side, and an unfitted ``embedder`` pretrains with them.
        X_val, y_val : array-like, default=None
            Validation ECGs and labels for early stopping and
            ``threshold="auto"``, instead of holding out
            ``validation_fraction`` of ``X``.

        Returns
        -------
        self : ECGClassifier
            The fitted classifier.
        """
        template = self._embedder_template()
        reader, streamed = validate_signals(
            self, X, n_leads=self._n_leads(template), min_length=2**template.n_stages, reset=True
        )
        targets = self._encode_targets(y, len(reader))
        self._check_validation(X_val, y_val, groups, len(reader))
        # Checked before pretraining, which may take hours.
        given_valid = None if X_val is None else self._validation_data(X_val, y_val)
        seed = draw_seed(self.random_state)
        dataset = SignalDataset(reader, targets, check_finite=streamed)
        train, y_train, valid, y_valid = self._split(dataset, targets, groups, given_valid, seed)
        self.selection_ = self._selection_metric(y_valid, given_valid is not None)
        self.embedder_ = self._pretrained_embedder(X, groups)
        encoder_size = {k: getattr(template, k) for k in ENCODER_SIZE}
        net = self._build_net(encoder_size, y_train, seed, valid, n_train=len(train))
        net.initialize()
        net.encoder_state = None  # copied into the module; a pickled net need not hold it
        self.probe_C_ = self._start_head(net, train, y_train, valid, y_valid, seed)
        self._train(net, train, valid, y_valid)
        self.net_, self.n_samples_fit_ = net, len(train)
        if self.multilabel_:
            self.thresholds_ = self._fit_thresholds(valid, y_valid)
        return self

    def decision_function(self, X):
        """Return the logits of ECGs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_leads, n_timepoints) or Dataset
            ECGs of the leads and length seen in ``fit``.

        Returns
        -------
        logits : ndarray of shape (n_samples, n_classes) or (n_samples,)
            One logit per class; for two classes given as one label per ECG,
            the logit of ``classes_[1]`` minus that of ``classes_[0]``.
        """
        logits = self._logits(X)
        if not self.multilabel_ and logits.shape[1] == 2:
            return logits[:, 1] - logits[:, 0]
        return logits

    def predict_proba(self, X):
        """Return the probability of each class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_leads, n_timepoints) or Dataset
            ECGs of the leads and length seen in ``fit``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Multilabel: each label's sigmoid (rows need not sum to 1). One
            label per ECG: the softmax over ``classes_``.
        """
        return self._probabilities(self._logits(X))

    def predict(self, X):
        """Predict labels: thresholded probabilities, or the most probable class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_leads, n_timepoints) or Dataset
            ECGs of the leads and length seen in ``fit``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_classes) or (n_samples,)
            Multilabel: 0/1, each label at its ``thresholds_``. Otherwise the
            labels, from ``classes_``.
        """
        proba = self.predict_proba(X)
        if self.multilabel_:
            return (proba >= self.thresholds_).astype(int)
        return self.classes_[proba.argmax(axis=1)]

    @property
    def history_(self):
        """Per-epoch and per-batch training log of the net (``skorch.History``)."""
        check_is_fitted(self, "net_")
        return self.net_.history

    @property
    def encoder_(self) -> torch.nn.Module:
        """The fine-tuned encoder, without the head (``torch.nn.Module``)."""
        check_is_fitted(self, "net_")
        return self.net_.module_.encoder

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.classifier_tags.multi_label = True
        return tags

    def _embedder_template(self) -> ThreeKGEmbedder:
        """The embedder that owns the architecture (the default one for ``None``)."""
        embedder = self.embedder
        if isinstance(embedder, FrozenEstimator):
            embedder = embedder.estimator
        if embedder is None:
            return ThreeKGEmbedder(max_epochs=0)
        if not isinstance(embedder, ThreeKGEmbedder):
            raise TypeError(
                f"embedder must be a ThreeKGEmbedder (it owns the encoder's architecture), "
                f"got {type(embedder).__name__}. Pass None for an untrained encoder."
            )
        return embedder

    def _n_leads(self, template: ThreeKGEmbedder) -> int:
        if _is_fitted(template):
            return template.n_leads_in_
        return len(resolve_leads(template.leads))

    def _pretrained_embedder(self, X, groups) -> ThreeKGEmbedder | None:
        if self.embedder is None:
            return None
        template = self._embedder_template()
        if _is_fitted(template):
            return template
        return clone(template).fit(X, groups=groups)

    def _encode_targets(self, y, n_samples: int) -> np.ndarray:
        """Check ``y``; set ``multilabel_`` and ``classes_``; return float rows or class indices."""
        if y is None:
            raise ValueError(
                "ECGClassifier requires y to be passed, but the target y is None: pass the "
                "labels (one per ECG, or a 0/1 indicator matrix); for embeddings without "
                "labels, use ThreeKGEmbedder."
            )
        y = _label_array(y, "y", "X", n_samples, ravel_column=True)
        check_classification_targets(y)
        self.multilabel_ = type_of_target(y) == "multilabel-indicator"
        if self.multilabel_:
            self.classes_ = np.arange(y.shape[1])
            return y.astype(np.float32)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(
                f"y has only one class ({self.classes_[0]!r}); a classifier needs at least 2."
            )
        return encoder.transform(y).astype(np.int64)

    def _check_validation(self, X_val, y_val, groups, n_samples: int) -> None:
        if (X_val is None) != (y_val is None):
            raise ValueError("Pass X_val and y_val together, or neither.")
        if groups is not None:
            check_groups(groups, n_samples)
        if self.threshold == "auto" and not self.multilabel_:
            raise ValueError(
                'threshold="auto" chooses per-label thresholds of multilabel y; with one '
                "label per ECG, predict takes the most probable class. Leave threshold at 0.5."
            )
        no_validation = X_val is None and self.validation_fraction is None
        if self.threshold == "auto" and no_validation:
            raise ValueError(
                'threshold="auto" needs validation data: set validation_fraction or pass '
                "X_val and y_val to fit."
            )
        if X_val is None and not no_validation:
            self._check_split_possible(groups, n_samples)

    def _check_split_possible(self, groups, n_samples: int) -> None:
        """Refuse, before any pretraining, a validation split that cannot be held out."""
        fraction = self.validation_fraction
        if n_samples < 2:
            raise ValueError(
                f"Got {n_samples} sample; holding out a validation split needs at least 2 "
                "samples (or set validation_fraction=None)."
            )
        if _n_valid(fraction, n_samples) >= n_samples:
            raise ValueError(
                f"validation_fraction={fraction} of {n_samples} ECGs leaves none to train on; "
                "lower it, pass X_val and y_val, or set validation_fraction=None."
            )
        if groups is not None and len(np.unique(groups)) < 2:
            raise ValueError(
                "All ECGs are in one group, so no group can be held out for validation; "
                "pass X_val and y_val or set validation_fraction=None."
            )

    def _selection_metric(self, y_valid, given: bool) -> str:
        """``selection``, or the loss (with a warning) where the validation AUC is undefined."""
        if y_valid is None or self.selection != "auc":
            return self.selection
        if scorable_classes(y_valid, self.multilabel_, len(self.classes_)).any():
            return "auc"
        where = "y_val" if given else "The held-out validation split"
        warnings.warn(
            f"{where} ({len(y_valid)} ECGs) has no class with both positive and negative "
            "ECGs, so its macro AUC is undefined; the probe's C and the epoch kept are chosen "
            "by the validation loss instead (selection='loss'). Pass X_val and y_val holding "
            "both labels of at least one class, or raise validation_fraction, to select by AUC.",
            UserWarning,
            stacklevel=3,
        )
        return "loss"

    def _validation_data(self, X_val, y_val) -> tuple[SignalDataset, np.ndarray]:
        """The given validation ECGs and their encoded targets, checked like ``X`` and ``y``."""
        reader, streamed = validate_signals(
            self, X_val, n_leads=self.n_leads_in_, min_length=1, reset=False
        )
        y_valid = self._encode_validation_targets(y_val, len(reader))
        return SignalDataset(reader, y_valid, check_finite=streamed), y_valid

    def _split(self, dataset, targets, groups, given_valid, seed: int):
        """Training data and targets, validation data and targets (None without validation)."""
        if given_valid is not None:
            return (dataset, targets, *given_valid)
        if self.validation_fraction is None:
            return dataset, targets, None, None
        labels = None if self.multilabel_ else targets
        train, valid = _validation_indices(
            len(dataset), self.validation_fraction, seed, labels, groups
        )
        return Subset(dataset, train), targets[train], Subset(dataset, valid), targets[valid]

    def _encode_validation_targets(self, y_val, n_samples: int) -> np.ndarray:
        y_val = _label_array(y_val, "y_val", "X_val", n_samples, ravel_column=not self.multilabel_)
        if self.multilabel_:
            if y_val.shape[1:] != (len(self.classes_),):
                raise ValueError(
                    f"y_val has shape {y_val.shape}; y had {len(self.classes_)} label columns."
                )
            return y_val.astype(np.float32)
        unknown = np.setdiff1d(y_val, self.classes_)
        if len(unknown):
            raise ValueError(f"y_val holds classes not in y: {unknown[:5].tolist()}.")
        return np.searchsorted(self.classes_, y_val).astype(np.int64)

    def _criterion(self, targets: np.ndarray | None) -> dict:
        """The loss and its class weights (none for a loaded model: ``targets`` is None)."""
        criterion = torch.nn.BCEWithLogitsLoss if self.multilabel_ else torch.nn.CrossEntropyLoss
        weights = None if targets is None else self._class_weights(targets)
        if weights is None:
            return {"criterion": criterion}
        name = "criterion__pos_weight" if self.multilabel_ else "criterion__weight"
        return {"criterion": criterion, name: torch.as_tensor(weights, dtype=torch.float32)}

    def _class_weights(self, targets: np.ndarray) -> np.ndarray | None:
        """Each label's positive weight (multilabel) or each class's weight; None unweighted."""
        if self.class_weight is None:
            return None
        if self.multilabel_:
            return self._label_weights(targets)
        if isinstance(self.class_weight, dict):
            # scikit-learn's own check: keys must be classes of y.
            labels = self.classes_[targets]
            return compute_class_weight(self.class_weight, classes=self.classes_, y=labels)
        indices = np.arange(len(self.classes_))
        return compute_class_weight("balanced", classes=indices, y=targets)

    def _label_weights(self, targets: np.ndarray) -> np.ndarray:
        """Per-label positive weights of the multilabel loss."""
        if isinstance(self.class_weight, dict):
            n_labels = targets.shape[1]
            columns = list(self.class_weight)
            if not all(isinstance(c, Integral) and 0 <= c < n_labels for c in columns):
                raise ValueError(
                    f"class_weight keys of multilabel y must be column indices 0 to "
                    f"{n_labels - 1}; got {columns}."
                )
            weights = np.ones(n_labels)
            weights[columns] = list(self.class_weight.values())
            return weights
        positives = targets.sum(axis=0)
        negatives = len(targets) - positives
        return np.where(positives > 0, negatives / np.maximum(positives, 1), 1.0)

    def _build_net(self, encoder_size: dict, targets, seed: int, valid, n_train=0) -> FineTuneNet:
        # load_state_dict copies these tensors into the new module; the embedder keeps its own.
        encoder_state = None if self.embedder_ is None else self.embedder_.encoder_.state_dict()
        n_outputs = len(self.classes_)
        param_groups = []
        if self.encoder_lr_scale != 1.0:
            param_groups = [("encoder.*", {"lr": self.lr * self.encoder_lr_scale})]
        device = resolve_device(self.device)
        return FineTuneNet(
            _classifier_model,
            **self._criterion(targets),
            seed=seed,
            encoder_state=encoder_state,
            augment=copy.deepcopy(self.augment),
            **{f"module__{k}": v for k, v in encoder_size.items()},
            module__n_leads=self.n_leads_in_,
            module__n_outputs=n_outputs,
            optimizer=torch.optim.AdamW,
            optimizer__param_groups=param_groups,
            lr=self.lr,
            optimizer__weight_decay=self.weight_decay,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            iterator_train__shuffle=True,
            iterator_train__num_workers=self.num_workers,
            iterator_train__generator=torch.Generator().manual_seed(seed + 3),
            iterator_valid__num_workers=self.num_workers,
            iterator_valid__generator=torch.Generator().manual_seed(seed + 4),
            train_split=None if valid is None else predefined_split(valid),
            callbacks=self._callbacks(valid is not None, n_train),
            callbacks__print_log=TerminalPrintLog(),
            predict_nonlinearity=None,
            device=device,
            precision=resolve_precision(self.precision, device),
            verbose=self.verbose,
        )

    def _callbacks(self, validated: bool, n_train: int) -> list:
        """The user's callbacks, progress, schedule, epoch selection and divergence check."""
        callbacks = copy.deepcopy(list(self.callbacks or []))
        if self.verbose:
            callbacks.append(ProgressBar())
        callbacks += schedule_and_selection(
            schedule=self.lr_schedule, steps=self.max_epochs * math.ceil(n_train / self.batch_size),
            multilabel=self.multilabel_, metric=self.selection_, patience=self.patience,
            validated=validated,
        )  # fmt: skip
        callbacks.append(StopOnDivergence())
        return callbacks

    def _start_head(self, net, train, y_train, valid, y_valid, seed: int) -> float | None:
        """Set the head to the exact linear probe (``head_init``); return its ``C``, or None."""
        head_init = self.head_init
        if head_init == "auto":
            head_init = "random" if self.embedder_ is None else "probe"
        if head_init == "random":
            return None
        probe = start_at_probe(
            net, train, y_train, valid, y_valid, multilabel=self.multilabel_,
            n_classes=len(self.classes_), class_weights=self._class_weights(y_train),
            metric=self.selection_, random_state=seed,
        )  # fmt: skip
        return probe.C

    def _train(self, net: FineTuneNet, train, valid, y_valid) -> None:
        """Score the start on validation, train ``max_epochs``, keep the best epoch."""
        net.freeze_encoder(self.freeze_encoder)
        self.valid_scores_, self.best_epoch_ = train_and_select(
            net, train, valid, y_valid, self.max_epochs
        )

    def _fit_thresholds(self, valid, y_valid) -> np.ndarray:
        if self.threshold != "auto":
            return np.full(len(self.classes_), float(self.threshold))
        return f1_thresholds(y_valid, self._probabilities(self._forward(valid)))

    def _logits(self, X) -> np.ndarray:
        check_is_fitted(self, "net_")
        reader, streamed = validate_signals(
            self, X, n_leads=self.n_leads_in_, min_length=1, reset=False
        )
        return self._forward(SignalDataset(reader, check_finite=streamed))

    def _probabilities(self, logits: np.ndarray) -> np.ndarray:
        """Sigmoid per label (multilabel) or softmax over classes."""
        logits = torch.from_numpy(logits)
        if self.multilabel_:
            return torch.sigmoid(logits).numpy()
        return torch.softmax(logits, dim=1).numpy()

    def _forward(self, dataset) -> np.ndarray:
        return forward_in_batches(self.net_, self.net_.module_, dataset, len(self.classes_))

    def _onnx_module(self) -> tuple[torch.nn.Module, list[str]]:
        """The network ``export_onnx`` writes: encoder and head, whose output is the logits."""
        return self.net_.module_, ["logits"]

    def _onnx_leads(self) -> list[str]:
        """Names of the exported model's input rows, in order."""
        return list(resolve_leads(self._embedder_template().leads))

    def _onnx_metadata(self) -> dict[str, str]:
        """The classes and how logits become probabilities, for whoever runs the model."""
        return {
            "classes": json.dumps(self.classes_.tolist()),
            "output": "sigmoid per class" if self.multilabel_ else "softmax over classes",
            **({"thresholds": json.dumps(self.thresholds_.tolist())} if self.multilabel_ else {}),
        }

    def _pretrained_fitted(self) -> dict:
        """Fitted attributes saved by ``save_pretrained`` (a hook of ``PretrainedMixin``)."""
        fitted = {
            **self._pretrained_shapes(),
            "multilabel_": self.multilabel_,
            "classes_": self.classes_.tolist(),
            "leads": self._onnx_leads(),
            "encoder_size": {k: self.net_.get_params()[f"module__{k}"] for k in ENCODER_SIZE},
        }
        if self.multilabel_:
            fitted["thresholds_"] = self.thresholds_.tolist()
        return fitted

    def _restore_pretrained(self, fitted: dict) -> None:
        """Set the fitted attributes and build the untrained net, as ``fit`` would."""
        self._restore_shapes(fitted)
        self.multilabel_ = fitted["multilabel_"]
        self.classes_ = np.asarray(fitted["classes_"])
        if self.multilabel_:
            self.thresholds_ = np.asarray(fitted["thresholds_"], dtype=np.float64)
        self.embedder_ = None  # the fine-tuned encoder is in net_; the embedder is not saved
        self.selection_ = self.selection
        seed = draw_seed(self.random_state)
        self.net_ = self._build_net(fitted["encoder_size"], None, seed, None).initialize()
