"""``ThreeKGEmbedder``: 3KG contrastive pretraining as a scikit-learn transformer."""

import copy
import os
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import ProgressBar
from skorch.dataset import ValidSplit

from ._callbacks import (
    StopOnDivergence,
    TerminalPrintLog,
    TrainingCheckpoint,
    restore_checkpoint,
)
from ._contrastive_net import ContrastiveNet
from ._data import SignalDataset
from ._distributed import join_process_group, local_device, rank_and_world_size, resolve_device
from ._groups import GroupValidSplit, warn_small_groups
from ._inference import forward_in_batches
from ._onnx import OnnxExportMixin
from ._precision import PRECISIONS, resolve_precision
from ._pretrained import PretrainedMixin
from ._seeding import draw_seed
from ._signals import check_groups, validate_signals
from .augment import CropPair, ThreeKGAugment
from .augment._crop import PLACEMENTS, check_crop_length
from .nn import ENCODER_SIZE, ContrastiveModel, NTXentLoss, WindowMean, build_encoder
from .nn._pretrained import load_state_strictly
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


_MODEL_SIZE = (*ENCODER_SIZE, "projection_dim")


def _check_embeddings(embeddings: np.ndarray) -> None:
    finite = np.isfinite(embeddings).all(axis=1)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise ValueError(
            f"The encoder gave NaN or infinite embeddings for {len(bad)} sample(s) (first: "
            f"{bad[:5].tolist()}): their values overflow float32 arithmetic. Rescale X "
            "(ECGs in millivolts) and check it for extreme values."
        )


def _load_warm_start(net: ContrastiveNet, state: dict) -> None:
    """Start ``net`` from the weights of the previous fit (``warm_start=True``)."""
    load_state_strictly(
        net.module_,
        state,
        "warm_start=True, but the fitted model differs from the one fit builds now "
        f"({{mismatch}}). Keep the leads and {', '.join(_MODEL_SIZE)} of the fitted "
        "model, or set warm_start=False to start from new weights.",
    )


class ThreeKGEmbedder(
    PretrainedMixin,
    OnnxExportMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    BaseEstimator,
):
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
    crop : int, default=None
        Length, in time steps, of the windows the two views start from: each
        view is its own random window of the record, then augmented, so the
        two views of a pair come from different moments of the record (the
        3KG authors' 5-s crops). ``transform`` then embeds a record as the
        mean over its windows of this length (see ``crop_stride``). ``None``
        gives both views the whole record. (A length in time steps: the
        embedder does not know the sampling rate; 500 is 5 s at 100 Hz.)
    crop_placement : {"random", "adjacent", "same"}, default="random"
        ``"random"``: the two windows start at independent random positions
        (they may overlap). ``"adjacent"``: the second window starts where the
        first ends (CMSC's adjacent segments; records need ``2 * crop`` steps).
        ``"same"``: both views start from one random window.
    crop_stride : int, default=None
        Steps between the windows ``transform`` averages over, ``None`` for
        ``crop`` (non-overlapping); a last window ends at the record's end
        when the others do not reach it (:func:`sk3kg.nn.window_starts`).
    group_size : int, default=2
        When ``fit`` gets ``groups``: members of a group put together in each
        training batch (:class:`~sk3kg.GroupBatchSampler`), so every sample
        meets at least ``group_size - 1`` positives of its group (a smaller
        group, all of its members; ``fit`` warns, naming such groups). ``1``
        shuffles freely (members of a group then meet only by chance).
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
        Fraction of the samples (of the groups, when ``fit`` gets ``groups``)
        held out to report a validation loss each epoch
        (``history_[:, "valid_loss"]``), e.g. for early stopping via
        ``callbacks``. ``None`` trains on everything.
    device : str, default="auto"
        Torch device; ``"auto"`` picks ``"cuda"`` when available.
    precision : {"32", "bf16", "16", "auto"}, default="32"
        Precision of the encoder's forward and backward passes (training
        and inference). ``"bf16"``: bfloat16 under ``torch.autocast``, about
        1.8x faster on CPUs with native bfloat16 (AVX-512 BF16, AMX) and on
        recent GPUs; ``"16"``: float16 with a gradient scaler, CUDA only;
        ``"auto"``: ``"bf16"`` where the hardware runs it natively, else
        ``"32"``. Weights, optimizer state, batch-norm statistics, the loss
        and the returned embeddings stay float32 (see ``docs/scaling.rst``).
    num_workers : int, default=0
        DataLoader worker processes that read and collate batches (useful
        with memory-mapped arrays and Datasets, see Notes).
    callbacks : list of skorch callbacks, default=None
        Extra skorch callbacks (early stopping, learning-rate schedulers).
    warm_start : bool, default=False
        When the embedder is already fitted (or loaded with
        :meth:`from_pretrained`), ``fit`` starts from its current weights,
        projection head included, instead of new random ones (the optimizer
        and the history start anew). The model size and the number of leads
        must be those of the fitted model.
    checkpoint_dir : str or path-like, default=None
        Folder where the run is saved after every epoch (weights, optimizer,
        history, learning-rate schedules; written atomically, by rank 0 only).
        When it already holds a checkpoint of the same data and model size,
        ``fit`` resumes from it and trains up to ``max_epochs`` epochs in all.
    distributed : "auto" or bool, default="auto"
        Data-parallel training with ``torch.distributed``. ``"auto"``: when
        this process belongs to a process group (started by ``torchrun`` or
        ``accelerate launch``, or after ``init_process_group``), train on this
        process's shard of the samples and average gradients across
        processes. ``True``: require such a group. ``False``: train alone.
    gather_negatives : bool, default=True
        When distributed, contrast each sample against the views of all
        processes (the global batch, as SimCLR does) rather than only against
        its own process's batch; ``batch_size`` is per process either way.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, batch order and augmentations. On a CPU,
        the same integer gives bit-identical embeddings for the same number of
        torch threads (a different thread count changes the order of float
        sums, so the last digits).
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
    n_samples_fit_ : int
        Number of samples seen during fit.
    embedding_dim_ : int
        Size of the embeddings ``transform`` returns.

    See Also
    --------
    sk3kg.augment.ThreeKGAugment : The view generator.
    sk3kg.nn.ResNet1d : The encoder.
    sk3kg.nn.NTXentLoss : The loss.

    Notes
    -----
    ``X`` may be larger than memory: a memory-mapped array (``np.load(path,
    mmap_mode="r")``, what :mod:`sk3kg.datasets` returns) or a map-style
    ``torch.utils.data.Dataset`` whose items are ``(n_leads, n_timepoints)``
    arrays is read one batch at a time, and its values are checked for NaN and
    infinity batch by batch as they are read. A NaN or infinite loss stops
    ``fit`` with an error naming the epoch and batch. See ``docs/scaling.rst``
    for ``torchrun`` commands, Dask searches and resuming.

    :meth:`save_pretrained` writes the fitted embedder to a folder (JSON and
    safetensors, no pickle) and :meth:`from_pretrained` loads it back;
    ``ThreeKGEmbedder.from_pretrained(path).set_params(warm_start=True).fit(X)``
    continues pretraining from the saved weights, and
    :func:`sk3kg.nn.load_encoder` rebuilds the bare torch encoder.

    References
    ----------
    .. [1] B. Gopal et al., "3KG: Contrastive Learning of 12-Lead
       Electrocardiograms using Physiologically-Inspired Augmentations",
       Proc. Machine Learning for Health, PMLR 158:156-167, 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from sk3kg import ThreeKGEmbedder
    >>> X = np.random.default_rng(0).normal(size=(32, 12, 250)).astype(np.float32)
    >>> embedder = ThreeKGEmbedder(max_epochs=1, batch_size=16, random_state=0)
    >>> embedder.fit_transform(X).shape
    (32, 128)
    >>> embedder.n_leads_in_, embedder.n_timepoints_in_, len(embedder.history_)
    (12, 250, 1)
    >>> embedder.get_feature_names_out()[:3]
    array(['threekgembedder0', 'threekgembedder1', 'threekgembedder2'], dtype=object)

    The same ``random_state`` gives the same embeddings (on a CPU):

    >>> again = ThreeKGEmbedder(max_epochs=1, batch_size=16, random_state=0).fit(X)
    >>> np.array_equal(again.transform(X[:4]), embedder.transform(X[:4]))
    True
    """

    # A checkpoint folder belongs to the machine that trained: not saved by save_pretrained.
    _pretrained_unsaved_params = ("checkpoint_dir",)

    _parameter_constraints: dict = {
        "angle": [Interval(Real, 0, 180, closed="both")],
        "scale": [Interval(Real, 1, None, closed="left")],
        "mask_ratio": [Interval(Real, 0, 1, closed="both")],
        "augment_mode": [StrOptions({"project", "residual"})],
        "rotation_order": [StrOptions({"random", "xyz"})],
        "scale_law": [StrOptions({"reciprocal", "uniform"})],
        "augment": [None, HasMethods(["forward"])],
        "crop": [None, Interval(Integral, 1, None, closed="left")],
        "crop_placement": [StrOptions(set(PLACEMENTS))],
        "crop_stride": [None, Interval(Integral, 1, None, closed="left")],
        "group_size": [Interval(Integral, 1, None, closed="left")],
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
        "precision": [StrOptions(set(PRECISIONS))],
        "num_workers": [Interval(Integral, 0, None, closed="left")],
        "callbacks": [None, list],
        "warm_start": ["boolean"],
        "checkpoint_dir": [None, str, os.PathLike],
        "distributed": [StrOptions({"auto"}), "boolean"],
        "gather_negatives": ["boolean"],
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
        crop=None,
        crop_placement="random",
        crop_stride=None,
        group_size=2,
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
        precision="32",
        num_workers=0,
        callbacks=None,
        warm_start=False,
        checkpoint_dir=None,
        distributed="auto",
        gather_negatives=True,
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
        self.crop = crop
        self.crop_placement = crop_placement
        self.crop_stride = crop_stride
        self.group_size = group_size
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
        self.precision = precision
        self.num_workers = num_workers
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.checkpoint_dir = checkpoint_dir
        self.distributed = distributed
        self.gather_negatives = gather_negatives
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, groups=None):
        """Pretrain the encoder on unlabelled ECGs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_leads, n_timepoints) or Dataset
            The ECGs, rows in the order of ``leads``; or flattened lead by
            lead, ``(n_samples, n_leads * n_timepoints)``. Memory-mapped
            arrays and ``torch.utils.data.Dataset`` objects whose items are
            ``(n_leads, n_timepoints)`` arrays are streamed batch by batch.
        y : None
            Ignored (any labels, multilabel included, are accepted so the
            embedder works inside a supervised Pipeline).
        groups : array-like of shape (n_samples,), default=None
            Group ids (recording or patient). Views of samples that share a
            group are positives of each other, and each training batch holds
            ``group_size`` members of every group it draws; ``None`` makes
            only the two views of one sample positives.

        Returns
        -------
        self : ThreeKGEmbedder
            The fitted embedder.
        """
        previous = self._warm_start_state()
        reader, streamed = self._validate_signals(X, reset=True)
        n_samples = len(reader)
        if n_samples < 2:
            raise ValueError(
                f"Got {n_samples} sample; contrastive pretraining needs at least 2 "
                "samples (the other samples are the negatives)."
            )
        self._check_crop(self.n_timepoints_in_, fitting=True)
        codes = self._encode_groups(groups, n_samples)
        distributed = self.distributed is not False and join_process_group(
            required=self.distributed is True
        )
        group_size = 1 if groups is None else self.group_size
        net = self._build_net(draw_seed(self.random_state), n_samples, distributed, group_size)
        net.initialize()
        if previous is not None:
            _load_warm_start(net, previous)
        epochs_done = restore_checkpoint(net)
        if epochs_done < self.max_epochs:
            dataset = SignalDataset(reader, codes, check_finite=streamed)
            net.partial_fit(dataset, epochs=self.max_epochs - epochs_done)
        # Set only now: a fit that raised (e.g. diverged) leaves no fitted model behind.
        self.net_, self.n_samples_fit_ = net, n_samples
        return self

    def transform(self, X):
        """Embed ECGs with the trained encoder (no projection head).

        With ``crop``, a record's embedding is the mean of the embeddings of
        its windows of ``crop`` steps, every ``crop_stride`` steps (the way the
        3KG authors and the PTB-XL benchmark evaluate crop-trained encoders).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_leads, n_timepoints) or Dataset
            ECGs of the same leads and length as in ``fit``, or flattened;
            memory-mapped arrays and Datasets are streamed batch by batch.

        Returns
        -------
        embeddings : ndarray of shape (n_samples, embedding_dim)
            The float32 embeddings, one row per ECG, ``embedding_dim_`` columns.
        """
        check_is_fitted(self, "net_")
        reader, streamed = self._validate_signals(X, reset=False)
        self._check_crop(self.n_timepoints_in_, fitting=False)
        dataset = SignalDataset(reader, check_finite=streamed)
        embeddings = forward_in_batches(self.net_, self._embedding_module(), dataset,
                                        self.embedding_dim_)  # fmt: skip
        _check_embeddings(embeddings)
        return embeddings

    @property
    def encoder_(self) -> torch.nn.Module:
        """The trained encoder, without the projection head (``torch.nn.Module``)."""
        check_is_fitted(self, "net_")
        return self.net_.module_.encoder

    @property
    def history_(self):
        """Per-epoch and per-batch training log of the net (``skorch.History``)."""
        check_is_fitted(self, "net_")
        return self.net_.history

    @property
    def embedding_dim_(self) -> int:
        """Size of the embeddings ``transform`` returns (int)."""
        return self.encoder_.embedding_dim

    @property
    def _n_features_out(self) -> int:
        return self.embedding_dim_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    def _build_net(
        self, seed: int, n_samples: int, distributed: bool, group_size: int = 1
    ) -> ContrastiveNet:
        leads = resolve_leads(self.leads)
        device = resolve_device(self.device)
        # Only one process of a distributed run prints and writes checkpoints.
        is_main = not distributed or rank_and_world_size()[0] == 0
        if distributed:
            device = local_device(device)
        augment = self.augment
        augment = self._default_augment(leads) if augment is None else copy.deepcopy(augment)
        return ContrastiveNet(
            _contrastive_model,
            augment=augment,
            seed=seed,
            crop=None if self.crop is None else CropPair(self.crop, self.crop_placement),
            group_size=group_size,
            distributed=distributed,
            gather_negatives=self.gather_negatives,
            **{f"module__{k}": getattr(self, k) for k in _MODEL_SIZE},
            module__n_leads=len(leads),
            criterion=NTXentLoss,
            criterion__temperature=self.temperature,
            optimizer=torch.optim.AdamW,
            lr=self.lr,
            optimizer__weight_decay=self.weight_decay,
            max_epochs=self.max_epochs,
            batch_size=min(self.batch_size, n_samples),
            iterator_train__shuffle=True,
            iterator_train__num_workers=self.num_workers,
            iterator_train__generator=torch.Generator().manual_seed(seed + 3),
            iterator_valid__num_workers=self.num_workers,
            # The loaders draw their workers' seeds from it, not from torch's global generator.
            iterator_valid__generator=torch.Generator().manual_seed(seed + 4),
            train_split=self._train_split(seed, grouped=group_size > 1),
            callbacks=self._callbacks(
                n_samples, bool(self.verbose) and is_main, distributed or group_size > 1
            ),  # fmt: skip
            callbacks__print_log=TerminalPrintLog(),
            device=device,
            precision=resolve_precision(self.precision, device),
            verbose=self.verbose if is_main else 0,
        )

    def _train_split(self, seed: int, grouped: bool):
        if self.validation_fraction is None:
            return None
        # A seeded split: every process and every resumed run holds out the same samples.
        if grouped:  # whole groups, so the training batches keep every group whole
            return GroupValidSplit(self.validation_fraction, random_state=seed)
        return ValidSplit(self.validation_fraction, stratified=False, random_state=seed)

    def _callbacks(self, n_samples: int, show_progress: bool, count_batches: bool) -> list:
        callbacks = copy.deepcopy(list(self.callbacks or []))
        if show_progress:
            # "auto" would count the batches of all processes, not of this one's shard, and
            # full batches where the group-aware ones are smaller.
            callbacks.append(ProgressBar(batches_per_epoch="count" if count_batches else "auto"))
        callbacks.append(StopOnDivergence())
        if self.checkpoint_dir is not None:
            meta = {
                "n_samples": n_samples,
                "n_leads": self.n_leads_in_,
                "n_timepoints": self.n_timepoints_in_,
                **{k: getattr(self, k) for k in _MODEL_SIZE},
            }
            callbacks.append(TrainingCheckpoint(self.checkpoint_dir, meta=meta))
        return callbacks

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

    def _validate_signals(self, X, *, reset: bool):
        """Check ``X``; return a reader of its float32 samples and whether it streams."""
        n_leads = len(resolve_leads(self.leads)) if reset else self.n_leads_in_
        return validate_signals(self, X, n_leads=n_leads, min_length=2**self.n_stages, reset=reset)

    def _check_crop(self, n_timepoints: int, *, fitting: bool) -> None:
        """Refuse a crop the records cannot hold, or shorter than the encoder takes."""
        if self.crop is None:
            return
        adjacent = fitting and self.crop_placement == "adjacent"
        check_crop_length(self.crop, n_timepoints, needed=2 if adjacent else 1)
        if self.crop < 2**self.n_stages:
            raise ValueError(
                f"crop={self.crop} is shorter than the encoder's minimum of "
                f"{2**self.n_stages} time steps (2 ** n_stages); raise crop or lower n_stages."
            )

    def _encode_groups(self, groups, n_samples: int) -> np.ndarray:
        if groups is None:
            return np.arange(n_samples)
        names, codes = np.unique(check_groups(groups, n_samples), return_inverse=True)
        codes = codes.reshape(-1)
        warn_small_groups(codes, self.group_size, names)
        return codes

    def _embedding_module(self) -> torch.nn.Module:
        """The encoder as ``transform`` applies it: over windows when pretrained on crops."""
        if self.crop is None:
            return self.encoder_
        return WindowMean(self.encoder_, self.crop, self.crop_stride)

    def _onnx_module(self) -> tuple[torch.nn.Module, list[str]]:
        """The network ``export_onnx`` writes: what ``transform`` applies, output the embedding."""
        return self._embedding_module(), ["embedding"]

    def _onnx_leads(self) -> list[str]:
        """Names of the exported model's input rows, in order."""
        return list(resolve_leads(self.leads))

    def _warm_start_state(self) -> dict | None:
        """Weights that ``fit`` starts from: the fitted model's under ``warm_start``."""
        if not (self.warm_start and hasattr(self, "net_")):
            return None
        return self.net_.module_.state_dict()

    def _pretrained_fitted(self) -> dict:
        """Fitted shapes saved by ``save_pretrained`` (a hook of ``PretrainedMixin``)."""
        return {
            **self._pretrained_shapes(),
            "embedding_dim_": self.embedding_dim_,
            "leads": self._onnx_leads(),
        }

    def _restore_pretrained(self, fitted: dict) -> None:
        """Set the fitted attributes and build the untrained net, as ``fit`` would."""
        self._restore_shapes(fitted)
        net = self._build_net(draw_seed(self.random_state), self.n_samples_fit_, distributed=False)
        self.net_ = net.initialize()
