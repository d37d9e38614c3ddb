"""How ``ECGClassifier`` fine-tunes: the exact linear probe, the schedule, selection, thresholds.

Fine-tuning here is LP-FT (Kumar et al. 2022) in four steps, each a function or
callback of this module (``ECGClassifier.fit`` calls :func:`start_at_probe`,
:func:`schedule_and_selection` and :func:`train_and_select` in that order):

1. **The probe** (:func:`fit_linear_probe`): a scikit-learn logistic regression on
   the frozen encoder's standardised embeddings, ``C`` chosen on the validation
   split, the scaler folded into the weights. The head starts there.
2. **The schedule**: a constant learning rate (the default, measured better on the
   benchmark's validation split), or :class:`WarmupCosine`, which rises linearly
   over the first steps, then decays along a cosine to zero at ``max_epochs``; the
   encoder's rate is ``encoder_lr_scale`` of the head's.
3. **Selection** (:class:`SelectOnValidation`): epoch 0 (the probe) and every epoch
   after it are scored on the validation split (macro AUC, or the loss); training
   stops after ``patience`` epochs without a better score and the best epoch's
   weights are restored. The validation score therefore never ends below the
   probe's.
4. **Thresholds** (:func:`~sk3kg.metrics.f1_thresholds`): per label, on the
   validation predictions of the selected model.
"""

import copy
import math
from typing import NamedTuple

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_array
from skorch.callbacks import Callback, LRScheduler
from torch.optim.lr_scheduler import LambdaLR

from ._inference import forward_in_batches
from .metrics import macro_auc
from .metrics._ranking import _scorable

# The probe's inverse regularisation strengths, as the benchmark's linear evaluation.
PROBE_C = (0.01, 0.1, 1.0)
# ``C`` of the probe when there is no validation split to choose it on.
PROBE_C_WITHOUT_VALIDATION = 1.0
# Newton-Cholesky solves in about ten steps where records far outnumber features (an
# encoder's 128); L-BFGS where features are many. Both minimise the same objective.
_NEWTON_MAX_FEATURES = 256
# Intercept of a label with one value in the training data: its clipped log-odds.
_PREVALENCE_CLIP = 1e-4


class LinearProbe(NamedTuple):
    """A linear probe on raw (unstandardised) embeddings: ``logits = F @ coef.T + intercept``.

    Parameters
    ----------
    coef : ndarray of shape (n_outputs, n_features)
        Weights on the raw embeddings (the standardisation folded in).
    intercept : ndarray of shape (n_outputs,)
        Biases.
    C : float
        The inverse regularisation strength chosen.
    valid_score : float
        Its validation score (macro AUC, or minus the loss); NaN without
        validation.

    See Also
    --------
    fit_linear_probe : Fits it.

    Examples
    --------
    >>> import numpy as np
    >>> from sk3kg import fit_linear_probe
    >>> rng = np.random.default_rng(0)
    >>> F = rng.normal(size=(100, 3))
    >>> probe = fit_linear_probe(F, (F[:, :2] > 0).astype(int))
    >>> probe.logits(F[:2]).shape  # one logit per label
    (2, 2)
    """

    coef: np.ndarray
    intercept: np.ndarray
    C: float
    valid_score: float

    def logits(self, features: np.ndarray) -> np.ndarray:
        """The probe's logits of embeddings of shape ``(n_samples, n_features)``."""
        return features @ self.coef.T + self.intercept


def scorable_classes(y: np.ndarray, multilabel: bool, n_classes: int) -> np.ndarray:
    """Classes with both a positive and a negative ECG in ``y`` (their AUC is defined)."""
    return _scorable(y if multilabel else np.eye(n_classes, dtype=int)[y])


def validation_score(y, logits, *, multilabel: bool, metric: str) -> float:
    """Higher is better: macro AUC over scorable classes, or minus the mean loss.

    Parameters
    ----------
    y : ndarray
        0/1 indicator rows (multilabel) or class indices.
    logits : ndarray of shape (n_samples, n_classes)
        The model's logits.
    multilabel : bool
        Sigmoid per label (binary cross-entropy) or softmax (cross-entropy).
    metric : {"auc", "loss"}
        ``"auc"``: one-vs-rest macro AUC over the classes with both labels in
        ``y``; ``"loss"``: minus the unweighted mean loss.

    Examples
    --------
    >>> import numpy as np
    >>> from sk3kg._finetune import validation_score
    >>> y = np.array([[1, 0], [0, 1], [1, 1]])
    >>> logits = np.array([[2.0, -1.0], [-1.0, 1.0], [1.0, 0.5]])
    >>> validation_score(y, logits, multilabel=True, metric="auc")
    1.0
    """
    logits_t = torch.as_tensor(np.asarray(logits, dtype=np.float32))
    if metric == "loss":
        if multilabel:
            target = torch.as_tensor(np.asarray(y, dtype=np.float32))
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits_t, target)
        else:
            loss = torch.nn.functional.cross_entropy(logits_t, torch.as_tensor(y).long())
        return -float(loss)
    indicator = np.asarray(y) if multilabel else np.eye(logits_t.shape[1], dtype=int)[y]
    scores = torch.sigmoid(logits_t) if multilabel else torch.softmax(logits_t, dim=1)
    return macro_auc(indicator, scores.numpy(), return_excluded=True)[0]


def _binary_probe(weight: float, n_features: int, seed: int) -> LogisticRegression:
    solver = "newton-cholesky" if n_features <= _NEWTON_MAX_FEATURES else "lbfgs"
    class_weight = None if weight == 1.0 else {0: 1.0, 1: float(weight)}
    return LogisticRegression(
        solver=solver, max_iter=2000, class_weight=class_weight, random_state=seed, warm_start=True
    )


def _probe_at(c, Z, y, n_outputs, multilabel, weights, models, seed) -> tuple[np.ndarray, ...]:
    """Weights and biases on standardised embeddings ``Z`` for one ``C``.

    ``models`` keeps each label's (or the softmax's) model from one ``C`` to the next:
    with ``warm_start``, each fit starts from the previous ``C``'s solution.
    """
    coef, intercept = np.zeros((n_outputs, Z.shape[1])), np.zeros(n_outputs)
    if not multilabel:
        present = np.unique(y)
        if "softmax" not in models:
            class_weight = None if weights is None else {k: weights[k] for k in present}
            models["softmax"] = LogisticRegression(
                max_iter=2000, class_weight=class_weight, random_state=seed, warm_start=True
            )
        model = models["softmax"].set_params(C=c).fit(Z, y)
        if len(present) == 2:  # one logit z for classes (a, b): logits (0, z) give softmax
            coef[present[1]], intercept[present[1]] = model.coef_[0], model.intercept_[0]
        else:
            coef[present], intercept[present] = model.coef_, model.intercept_
        intercept[np.setdiff1d(np.arange(n_outputs), present)] = math.log(_PREVALENCE_CLIP)
        return coef, intercept
    for column in range(n_outputs):
        target = y[:, column]
        positives = target.mean()
        if 0 < positives < 1:
            if column not in models:
                weight = 1.0 if weights is None else weights[column]
                models[column] = _binary_probe(weight, Z.shape[1], seed)
            model = models[column].set_params(C=c).fit(Z, target)
            coef[column], intercept[column] = model.coef_[0], model.intercept_[0]
        else:
            p = np.clip(positives, _PREVALENCE_CLIP, 1 - _PREVALENCE_CLIP)
            intercept[column] = math.log(p / (1 - p))
    return coef, intercept


def _checked(features, y, features_name: str, y_name: str) -> tuple[np.ndarray, np.ndarray]:
    """Finite 2-D float64 features (scikit-learn's check, naming the array) and one label
    row per embedding."""
    features = check_array(features, dtype=np.float64, input_name=features_name)
    y = check_array(y, ensure_2d=False, dtype=None, input_name=y_name)
    if len(y) != len(features):
        raise ValueError(
            f"{y_name} has {len(y)} labels but {features_name} has {len(features)} "
            "embeddings; pass one label (row) per embedding."
        )
    return features, y


def fit_linear_probe(
    train_features,
    y_train,
    valid_features=None,
    y_valid=None,
    *,
    multilabel: bool = True,
    n_classes: int | None = None,
    class_weights=None,
    Cs=PROBE_C,
    metric: str = "auc",
    random_state: int = 0,
) -> LinearProbe:
    """The exact linear probe: logistic regression on standardised embeddings, ``C`` on validation.

    Multilabel ``y`` gets one binary L2 logistic regression per label (a label
    with a single value in the training data gets zero weights and its
    clipped log-odds as bias: a constant, chance-level score); one label per
    ECG gets a multinomial one. The ``C`` with the best
    :func:`validation_score` is kept (ties: the smallest); without
    validation data, ``C=1.0``. The scaler is folded into the result, whose
    ``logits`` apply to raw embeddings: it is the head a network can start from.

    Parameters
    ----------
    train_features : ndarray of shape (n_samples, n_features)
        Embeddings of the training ECGs.
    y_train : ndarray
        0/1 indicator rows (multilabel) or class indices ``0 .. n_classes - 1``.
    valid_features, y_valid : ndarray, default=None
        The validation split that chooses ``C``.
    multilabel : bool, default=True
        Whether ``y`` is an indicator matrix.
    n_classes : int, default=None
        Outputs of the probe; default: ``y``'s columns (multilabel) or its
        largest class index plus one.
    class_weights : ndarray of shape (n_classes,), default=None
        Multilabel: each label's positive weight; otherwise each class's weight.
    Cs : tuple of float, default=(0.01, 0.1, 1.0)
        The candidates for ``C``, fitted from the smallest up, each fit
        starting from the previous solution.
    metric : {"auc", "loss"}, default="auc"
        How validation ranks them (:func:`validation_score`).
    random_state : int, default=0
        Passed to ``LogisticRegression``.

    Returns
    -------
    probe : LinearProbe
        Weights and biases on raw embeddings, the chosen ``C`` and its score.

    Examples
    --------
    >>> import numpy as np
    >>> from sk3kg import fit_linear_probe
    >>> rng = np.random.default_rng(0)
    >>> F = rng.normal(loc=5.0, scale=3.0, size=(200, 4))
    >>> y = np.stack([F[:, 0] > 5, F[:, 1] > 5], axis=1).astype(int)
    >>> probe = fit_linear_probe(F[:150], y[:150], F[150:], y[150:])
    >>> probe.coef.shape, probe.C, round(probe.valid_score, 2)  # ties: the smallest C
    ((2, 4), 0.01, 1.0)
    """
    train_features, y_train = _checked(train_features, y_train, "train_features", "y_train")
    if (valid_features is None) != (y_valid is None):
        raise ValueError("Pass valid_features and y_valid together, or neither.")
    if valid_features is not None:
        valid_features, y_valid = _checked(valid_features, y_valid, "valid_features", "y_valid")
        if valid_features.shape[1] != train_features.shape[1]:
            raise ValueError(
                f"valid_features has {valid_features.shape[1]} features but train_features "
                f"has {train_features.shape[1]}; embed both with the same encoder."
            )
    if n_classes is None:
        n_classes = y_train.shape[1] if multilabel else int(y_train.max()) + 1
    scaler = StandardScaler().fit(train_features)
    Z = scaler.transform(train_features)
    has_valid = valid_features is not None
    best, models = None, {}
    for c in sorted(Cs) if has_valid else (PROBE_C_WITHOUT_VALIDATION,):
        coef, intercept = _probe_at(
            c, Z, y_train, n_classes, multilabel, class_weights, models, random_state
        )
        coef, intercept = coef / scaler.scale_, intercept - (coef / scaler.scale_) @ scaler.mean_
        score = math.nan
        if has_valid:
            logits = valid_features @ coef.T + intercept
            score = validation_score(y_valid, logits, multilabel=multilabel, metric=metric)
        if best is None or score > best.valid_score:
            best = LinearProbe(coef, intercept, float(c), score)
    return best


class WarmupCosine:
    """Learning-rate factor per step: a linear warm-up, then a cosine decay to zero.

    A picklable ``lr_lambda`` for ``torch.optim.lr_scheduler.LambdaLR``, stepped
    once per batch.

    Parameters
    ----------
    total_steps : int
        Steps (batches) of the whole run.
    warmup_fraction : float, default=0.05
        Share of the steps over which the factor rises from ``1 / warmup`` to 1.

    Examples
    --------
    >>> from sk3kg._finetune import WarmupCosine
    >>> schedule = WarmupCosine(100)
    >>> [round(schedule(step), 2) for step in (0, 4, 5, 50, 99)]
    [0.2, 1.0, 1.0, 0.54, 0.0]
    """

    def __init__(self, total_steps: int, warmup_fraction: float = 0.05) -> None:
        self.total_steps = max(1, int(total_steps))
        self.warmup = max(1, round(warmup_fraction * self.total_steps))

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / self.warmup
        progress = (step - self.warmup) / max(1, self.total_steps - self.warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


class SelectOnValidation(Callback):
    """Keep the epoch with the best validation score, epoch 0 (the start) included.

    :meth:`score_start` scores the model before training (the linear probe
    when the head starts there); each epoch then scores the validation
    predictions the net already computes for its validation loss. The score
    and the best so far are written to the history (``valid_score``,
    ``valid_score_best``). After ``patience`` epochs without a better score
    training stops; at the end the best weights are restored, so the final
    validation score is never below the starting one.

    Parameters
    ----------
    multilabel : bool
        Sigmoid per label or softmax.
    metric : {"auc", "loss"}
        What :func:`validation_score` computes.
    patience : int
        Epochs without a better score before training stops.

    Attributes
    ----------
    scores_ : list of float
        The score of epoch 0, 1, 2, ...
    best_epoch_ : int
        The selected epoch (0: the starting model).
    """

    def __init__(self, multilabel: bool, metric: str, patience: int) -> None:
        self.multilabel = multilabel
        self.metric = metric
        self.patience = patience

    def initialize(self):
        self.scores_, self.best_epoch_, self.best_state_ = [], 0, None
        self._logits, self._targets = [], []
        return self

    def _score(self, y, logits) -> float:
        return validation_score(y, logits, multilabel=self.multilabel, metric=self.metric)

    def score_start(self, net, y_valid: np.ndarray, logits: np.ndarray) -> float:
        """Score the untrained-yet model (epoch 0) from its validation logits."""
        score = self._score(y_valid, logits)
        self.scores_, self.best_epoch_ = [score], 0
        self.best_state_ = copy.deepcopy(net.module_.state_dict())
        return score

    def on_epoch_begin(self, net, **kwargs):
        self._logits, self._targets = [], []

    def on_batch_end(self, net, batch=None, training=False, y_pred=None, **kwargs):
        if not training:
            self._logits.append(y_pred.detach().float().cpu().numpy())
            self._targets.append(np.asarray(batch[1]))

    def on_epoch_end(self, net, **kwargs):
        if not self._logits:
            return
        score = self._score(np.concatenate(self._targets), np.concatenate(self._logits))
        self.scores_.append(score)
        if score > self.scores_[self.best_epoch_]:
            self.best_epoch_ = len(self.scores_) - 1
            self.best_state_ = copy.deepcopy(net.module_.state_dict())
        net.history.record("valid_score", score)
        net.history.record("valid_score_best", self.best_epoch_ == len(self.scores_) - 1)
        if len(self.scores_) - 1 - self.best_epoch_ >= self.patience:
            raise KeyboardInterrupt  # skorch ends training here and calls on_train_end

    def on_train_end(self, net, **kwargs):
        if self.best_state_ is not None:
            net.module_.load_state_dict(self.best_state_)
            self.best_state_ = None  # a pickled net need not carry a second copy


def start_at_probe(net, train, y_train, valid, y_valid, **probe_options) -> LinearProbe:
    """Step 1: set an initialised net's head to the exact probe on its encoder's embeddings.

    The encoder embeds ``train`` and ``valid`` (datasets) once, in eval mode;
    ``probe_options`` go to :func:`fit_linear_probe`.
    """
    encoder = net.module_.encoder

    def embed(data):
        return forward_in_batches(net, encoder, data, encoder.embedding_dim)

    valid_features = None if valid is None else embed(valid)
    probe = fit_linear_probe(embed(train), y_train, valid_features, y_valid, **probe_options)
    with torch.no_grad():
        net.module_.head.weight.copy_(torch.as_tensor(probe.coef))
        net.module_.head.bias.copy_(torch.as_tensor(probe.intercept))
    return probe


def schedule_and_selection(
    *, schedule, steps, multilabel, metric, patience, validated
) -> list[tuple[str, Callback]]:
    """Steps 2 and 3 as named skorch callbacks: the learning-rate schedule (for ``steps``
    batches in all) and, with validation data, the epoch selection."""
    callbacks = []
    if schedule == "cosine" and steps:
        lr_lambda = WarmupCosine(steps)
        callbacks.append(("lr_schedule", LRScheduler(LambdaLR, lr_lambda=lr_lambda,
                                                     step_every="batch")))  # fmt: skip
    if validated:
        callbacks.append(("select", SelectOnValidation(multilabel, metric, patience)))
    return callbacks


def train_and_select(net, train, valid, y_valid, epochs: int) -> tuple[list[float], int | None]:
    """Step 3: score the start on ``valid``, train ``epochs``, keep the best epoch.

    Returns the validation scores from epoch 0 and the epoch kept; ``([], None)``
    without validation (every epoch runs, the last is kept).
    """
    selector = dict(net.callbacks_).get("select")
    if selector is not None:
        n_outputs = net.module_.head.out_features
        selector.score_start(net, y_valid, forward_in_batches(net, net.module_, valid, n_outputs))
    if epochs:
        net.partial_fit(train, epochs=epochs)
    if selector is None:
        return [], None
    return list(selector.scores_), selector.best_epoch_
