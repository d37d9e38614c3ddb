"""``ThreeKGEmbedder``: 3KG contrastive pretraining as a scikit-learn transformer."""

import copy
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from skorch.callbacks import ProgressBar
from skorch.dataset import ValidSplit, unpack_data

from ._contrastive_net import ContrastiveNet
from .augment import ThreeKGAugment
from .nn import ContrastiveModel, NTXentLoss, build_encoder
from .vcg import resolve_leads


def _contrastive_model(
    *, n_leads, lead_mode, width, depth, n_stages, kernel_size, projection_dim
) -> ContrastiveModel:
    encoder = build_encoder(
        n_leads,
        lead_mode=lead_mode,
        width=width,
        depth=depth,
        n_stages=n_stages,
        kernel_size=kernel_size,
    )
    return ContrastiveModel(encoder, projection_dim)


def _resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


class ThreeKGEmbedder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Learn ECG embeddings without labels by 3KG contrastive pretraining.

    ``fit`` trains a 1D ResNet encoder so that two random 3KG views of the
    same ECG (the heart's vector rotated and scaled, then a time block of
    each lead masked; see :class:`~sk3kg.augment.ThreeKGAugment`) have
    similar projections and views of different ECGs do not (NT-Xent loss).
    ``transform`` returns the encoder's embeddings, ready for a linear
    classifier. Training runs through a skorch ``NeuralNet`` (``net_``).

    Parameters
    ----------
    angle : float, default=45.0
        Largest rotation of the heart's vector about each axis, in degrees.
    scale : float, default=1.5
        Largest scaling of each VCG axis (a factor from U(1, scale), inverted
        with probability 1/2 under ``scale_law="reciprocal"``).
    mask_ratio : float, default=0.5
        Fraction of each lead hidden by one contiguous time mask.
    augment_mode : {"project", "residual"}, default="project"
        ``"project"``: the paper's ``D S R D^-1 x``. ``"residual"``: keep the
        non-dipolar residual, ``x + D (S R - I) D^-1 x``.
    rotation_order : {"random", "xyz"}, default="random"
        Order in which the three axis rotations are composed.
    scale_law : {"reciprocal", "uniform"}, default="reciprocal"
        Whether scaling factors are inverted with probability 1/2.
    augment : torch.nn.Module, default=None
        A custom view generator, called as ``augment(x, generator)`` on
        batches ``(batch, n_leads, T)``, e.g.
        :class:`~sk3kg.augment.StandardAugment` for a SimCLR baseline. When
        given, ``angle``, ``scale``, ``mask_ratio``, ``augment_mode``,
        ``rotation_order`` and ``scale_law`` are ignored.
    leads : "standard" or list of str, default="standard"
        Names of the input's rows. 3KG's spatial augmentation needs I, II and
        V1-V6; other lead sets train with ``angle=0, scale=1`` (masking only).
    lead_mode : {"channels", "shared"}, default="channels"
        ``"channels"``: all leads are input channels of one encoder.
        ``"shared"``: one single-lead encoder applied to every lead and the
        embeddings averaged (the 3KG authors' code; ``n_leads`` times slower).
    width : int, default=16
        Channels of the encoder's first stage, doubled at each stage.
    depth : int, default=2
        Residual blocks per stage.
    n_stages : int, default=4
        Stages of the encoder; the embedding has
        ``width * 2 ** (n_stages - 1)`` dimensions and inputs need at least
        ``2 ** n_stages`` time steps.
    kernel_size : int, default=7
        Kernel size of the residual blocks.
    projection_dim : int, default=128
        Output size of the projection head used during pretraining.
    temperature : float, default=0.1
        Temperature of the NT-Xent loss.
    max_epochs : int, default=30
        Training epochs. ``0`` initialises the encoder without training it:
        the "random encoder" baseline of self-supervised learning.
    batch_size : int, default=256
        Samples per batch (each gives two views, so the loss sees twice as
        many rows).
    lr : float, default=1e-3
        Learning rate of AdamW.
    weight_decay : float, default=0.0
        Decoupled weight decay of AdamW (0 is the authors' plain Adam).
    validation_fraction : float, default=None
        Fraction of the samples held out to report a validation loss each
        epoch (``history_[:, "valid_loss"]``), e.g. for early stopping via
        ``callbacks``. ``None`` trains on everything.
    device : str, default="auto"
        Torch device; ``"auto"`` picks ``"cuda"`` when available.
    num_workers : int, default=0
        DataLoader worker processes.
    callbacks : list of skorch callbacks, default=None
        Extra skorch callbacks (checkpoints, early stopping, schedulers).
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, batch order and augmentations. On a CPU,
        the same integer gives bit-identical embeddings.
    verbose : int, default=0
        When positive, print a per-epoch table and show a progress bar.

    Attributes
    ----------
    net_ : sk3kg.ContrastiveNet
        The trained skorch net (encoder, projection head, optimizer).
    encoder_ : torch.nn.Module
        The trained encoder, without the projection head.
    history_ : skorch.History
        Per-epoch and per-batch training log (``history_[:, "train_loss"]``).
    n_features_in_ : int
        ``n_leads_in_ * n_timepoints_in_``, the size of one flattened input.
    n_leads_in_ : int
        Number of leads seen during fit.
    n_timepoints_in_ : int
        Signal length seen during fit.
    embedding_dim_ : int
        Size of the embeddings ``transform`` returns.

    See Also
    --------
    sk3kg.augment.ThreeKGAugment : The view generator.
    sk3kg.nn.ResNet1d : The encoder.
    sk3kg.nn.NTXentLoss : The loss.

    References
    ----------
    .. [1] B. Gopal et al., "3KG: Contrastive Learning of 12-Lead
       Electrocardiograms using Physiologically-Inspired Augmentations",
       Proc. Machine Learning for Health, PMLR 158:156-167, 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from sk3kg import ThreeKGEmbedder
    >>> X = np.random.default_rng(0).normal(size=(64, 12, 500)).astype(np.float32)
    >>> embedder = ThreeKGEmbedder(max_epochs=1, batch_size=32, random_state=0)
    >>> embedder.fit_transform(X).shape
    (64, 128)
    """

    _parameter_constraints: dict = {
        "angle": [Interval(Real, 0, 180, closed="both")],
        "scale": [Interval(Real, 1, None, closed="left")],
        "mask_ratio": [Interval(Real, 0, 1, closed="both")],
        "augment_mode": [StrOptions({"project", "residual"})],
        "rotation_order": [StrOptions({"random", "xyz"})],
        "scale_law": [StrOptions({"reciprocal", "uniform"})],
        "augment": [None, HasMethods(["forward"])],
        "leads": [StrOptions({"standard"}), list, tuple],
        "lead_mode": [StrOptions({"channels", "shared"})],
        "width": [Interval(Integral, 1, None, closed="left")],
        "depth": [Interval(Integral, 1, None, closed="left")],
        "n_stages": [Interval(Integral, 1, None, closed="left")],
        "kernel_size": [Interval(Integral, 1, None, closed="left")],
        "projection_dim": [Interval(Integral, 1, None, closed="left")],
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "max_epochs": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "validation_fraction": [None, Interval(Real, 0, 1, closed="neither")],
        "device": [str],
        "num_workers": [Interval(Integral, 0, None, closed="left")],
        "callbacks": [None, list],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        angle=45.0,
        *,
        scale=1.5,
        mask_ratio=0.5,
        augment_mode="project",
        rotation_order="random",
        scale_law="reciprocal",
        augment=None,
        leads="standard",
        lead_mode="channels",
        width=16,
        depth=2,
        n_stages=4,
        kernel_size=7,
        projection_dim=128,
        temperature=0.1,
        max_epochs=30,
        batch_size=256,
        lr=1e-3,
        weight_decay=0.0,
        validation_fraction=None,
        device="auto",
        num_workers=0,
        callbacks=None,
        random_state=None,
        verbose=0,
    ):
        self.angle = angle
        self.scale = scale
        self.mask_ratio = mask_ratio
        self.augment_mode = augment_mode
        self.rotation_order = rotation_order
        self.scale_law = scale_law
        self.augment = augment
        self.leads = leads
        self.lead_mode = lead_mode
        self.width = width
        self.depth = depth
        self.n_stages = n_stages
        self.kernel_size = kernel_size
        self.projection_dim = projection_dim
        self.temperature = temperature
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.device = device
        self.num_workers = num_workers
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, groups=None):
        """Pretrain the encoder on unlabelled ECGs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_leads, n_timepoints)
            The ECGs, rows in the order of ``leads``; or flattened lead by
            lead, ``(n_samples, n_leads * n_timepoints)``.
        y : None
            Ignored (any labels, multilabel included, are accepted so the
            embedder works inside a supervised Pipeline).
        groups : array-like of shape (n_samples,), default=None
            Group ids (recording or patient). Views of samples that share a
            group are positives of each other; ``None`` makes only the two
            views of one sample positives.

        Returns
        -------
        self : ThreeKGEmbedder
            The fitted embedder.
        """
        signals = self._validate_signals(X, reset=True)
        n_samples = signals.shape[0]
        if n_samples < 2:
            raise ValueError(
                f"Got {n_samples} sample; contrastive pretraining needs at least 2 "
                "samples (the other samples are the negatives)."
            )
        codes = self._encode_groups(groups, n_samples)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        self.net_ = self._build_net(seed, n_samples)
        if self.max_epochs == 0:
            self.net_.initialize()
        else:
            self.net_.fit(signals, codes)
        return self

    def transform(self, X):
        """Embed ECGs with the trained encoder (no projection head).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_leads, n_timepoints)
            ECGs of the same leads and length as in ``fit``, or flattened.

        Returns
        -------
        embeddings : ndarray of shape (n_samples, embedding_dim_), float32
        """
        check_is_fitted(self, "net_")
        signals = self._validate_signals(X, reset=False)
        net, encoder = self.net_, self.encoder_
        was_training = encoder.training
        encoder.eval()
        embeddings = np.empty((signals.shape[0], self.embedding_dim_), dtype=np.float32)
        start = 0
        try:
            with torch.inference_mode():
                for batch in net.get_iterator(net.get_dataset(signals), training=False):
                    x = torch.as_tensor(unpack_data(batch)[0], device=net.device)
                    chunk = encoder(x).float().cpu().numpy()
                    embeddings[start : start + len(chunk)] = chunk
                    start += len(chunk)
        finally:
            encoder.train(was_training)
        return embeddings

    @property
    def encoder_(self) -> torch.nn.Module:
        check_is_fitted(self, "net_")
        return self.net_.module_.encoder

    @property
    def history_(self):
        check_is_fitted(self, "net_")
        return self.net_.history

    @property
    def embedding_dim_(self) -> int:
        return self.encoder_.embedding_dim

    @property
    def _n_features_out(self) -> int:
        return self.embedding_dim_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    def _build_net(self, seed: int, n_samples: int) -> ContrastiveNet:
        leads = resolve_leads(self.leads)
        device = _resolve_device(self.device)
        callbacks = copy.deepcopy(list(self.callbacks or []))
        if self.verbose:
            callbacks.append(ProgressBar())
        train_split = None
        if self.validation_fraction is not None:
            train_split = ValidSplit(self.validation_fraction, stratified=False)
        loader = {"batch_size": min(self.batch_size, n_samples), "num_workers": self.num_workers}
        return ContrastiveNet(
            _contrastive_model,
            augment=(
                self._default_augment(leads)
                if self.augment is None
                else copy.deepcopy(self.augment)
            ),
            seed=seed,
            module__n_leads=len(leads),
            module__lead_mode=self.lead_mode,
            module__width=self.width,
            module__depth=self.depth,
            module__n_stages=self.n_stages,
            module__kernel_size=self.kernel_size,
            module__projection_dim=self.projection_dim,
            criterion=NTXentLoss,
            criterion__temperature=self.temperature,
            optimizer=torch.optim.AdamW,
            lr=self.lr,
            optimizer__weight_decay=self.weight_decay,
            max_epochs=self.max_epochs,
            batch_size=loader["batch_size"],
            iterator_train__shuffle=True,
            iterator_train__num_workers=self.num_workers,
            iterator_train__generator=torch.Generator().manual_seed(seed + 3),
            iterator_valid__num_workers=self.num_workers,
            train_split=train_split,
            callbacks=callbacks,
            device=device,
            verbose=self.verbose,
        )

    def _default_augment(self, leads) -> ThreeKGAugment:
        return ThreeKGAugment(
            self.angle,
            self.scale,
            self.mask_ratio,
            leads=leads,
            mode=self.augment_mode,
            rotation_order=self.rotation_order,
            scale_law=self.scale_law,
        )

    def _validate_signals(self, X, *, reset: bool) -> np.ndarray:
        """Check ``X`` and return a float32 array ``(n_samples, n_leads, n_timepoints)``."""
        if reset:
            n_leads = len(resolve_leads(self.leads))
        else:
            n_leads = self.n_leads_in_
        if getattr(X, "ndim", None) == 3 or (isinstance(X, list | tuple) and np.ndim(X) == 3):
            X = check_array(X, dtype=np.float32, allow_nd=True, input_name="X")
            if X.shape[1] != n_leads:
                raise ValueError(
                    f"X has {X.shape[1]} leads (shape {X.shape}) but the embedder "
                    f"{'expects' if reset else 'was fitted on'} {n_leads}; "
                    "set leads= to the names of X's rows."
                )
            if not reset and X.shape[2] != self.n_timepoints_in_:
                raise ValueError(
                    f"X has signals of {X.shape[2]} time steps but the embedder was "
                    f"fitted on {self.n_timepoints_in_}; crop, pad or resample to "
                    f"{self.n_timepoints_in_}."
                )
            flat = validate_data(self, X.reshape(X.shape[0], -1), reset=reset, dtype=np.float32)
        else:
            flat = validate_data(self, X, reset=reset, dtype=np.float32)
            if flat.shape[1] % n_leads:
                raise ValueError(
                    f"X has {flat.shape[1]} columns, not a multiple of its {n_leads} leads; "
                    "pass (n_samples, n_leads, n_timepoints) or leads flattened one "
                    "after the other."
                )
        signals = flat.reshape(flat.shape[0], n_leads, -1)
        if reset:
            min_length = 2**self.n_stages
            if signals.shape[2] < min_length:
                raise ValueError(
                    f"Signals of {signals.shape[2]} time step(s) per lead (X has "
                    f"{flat.shape[1]} feature(s)) are shorter than the encoder's minimum of "
                    f"{min_length} (2 ** n_stages); pass longer signals or lower n_stages."
                )
            self.n_leads_in_, self.n_timepoints_in_ = signals.shape[1:]
        return signals

    def _encode_groups(self, groups, n_samples: int) -> np.ndarray:
        if groups is None:
            return np.arange(n_samples)
        groups = np.asarray(groups)
        if groups.shape != (n_samples,):
            raise ValueError(
                f"groups must have one id per sample, shape ({n_samples},); "
                f"got shape {groups.shape}."
            )
        return np.unique(groups, return_inverse=True)[1].reshape(-1)
