"""The skorch net that runs contrastive pretraining, customised through skorch's hooks."""

import torch
from skorch import NeuralNet
from skorch.dataset import unpack_data
from skorch.utils import to_tensor
from torch.utils.data import DistributedSampler

from ._distributed import (
    broadcast_buffers,
    gather_views,
    rank_and_world_size,
    wrap_data_parallel,
)
from ._groups import GroupBatchSampler, group_codes
from ._precision import MixedPrecisionMixin
from ._seeding import derived_seed, seeded_weights


class ContrastiveNet(MixedPrecisionMixin, NeuralNet):
    """A skorch ``NeuralNet`` whose training step contrasts two augmented views.

    ``y`` holds integer group ids (one per sample; the sample's own index
    when there are no groups); the criterion receives the projections of the
    two views stacked, and the group ids. With ``group_size > 1`` the training
    batches keep ``group_size`` members of each group together
    (:class:`~sk3kg.GroupBatchSampler`), so every sample meets positives of its
    group; with ``crop``, each view starts from its own window of the record.

    Randomness comes from ``seed`` and leaves torch's global generator as it
    was: the weights from a reseeded fork of it, the augmentations from
    ``train_generator_``, the batch order from the DataLoader's
    ``iterator_train__generator``. The generators' states are saved with
    checkpoints (:meth:`generator_states`), so a resumed run draws what the
    uninterrupted run would have drawn.

    Under ``torch.distributed`` (``distributed=True``), each process trains on
    its shard of the samples (``DistributedSampler``, reshuffled per epoch),
    the module is wrapped in ``DistributedDataParallel`` while training, and
    with ``gather_negatives`` the projections of all processes are gathered so
    the loss contrasts every sample against the global batch. Each process
    then reseeds its augmentations from ``(seed, epoch, rank)`` every epoch,
    so a resumed run needs no per-process generator states.

    Parameters
    ----------
    module : callable or torch.nn.Module
        Builds the :class:`~sk3kg.nn.ContrastiveModel` from ``module__*``.
    *args
        Further positional arguments of :class:`skorch.NeuralNet`, starting
        with ``criterion`` (:class:`~sk3kg.nn.NTXentLoss` or a loss with the
        same call signature).
    augment : torch.nn.Module
        Called as ``augment(x, generator)`` to draw one view of a batch.
    crop : sk3kg.augment.CropPair, default=None
        Cuts the windows the two views start from; ``None`` starts both views
        from the whole record.
    group_size : int, default=1
        Members of each group kept together in a training batch; 1 shuffles
        the samples freely.
    seed : int
        Seeds the weight initialisation (without touching torch's global
        generator), the batch order and the augmentations.
    distributed : bool, default=False
        Train data-parallel in the default ``torch.distributed`` process group
        (it must be initialised when ``distributed=True``).
    gather_negatives : bool, default=True
        When distributed, compute the loss over the views of all processes
        (SimCLR's global batch) rather than each process's own.
    precision : {"32", "bf16", "16"}, default="32"
        The precision of the encoder's forward and backward passes
        (:class:`~sk3kg._precision.MixedPrecisionMixin`); the views and the
        loss are computed in float32.
    **kwargs
        Passed to :class:`skorch.NeuralNet`.

    Attributes
    ----------
    augment_ : torch.nn.Module
        The view generator used while training.
    train_generator_ : torch.Generator
        Draws the training views; seeded from ``seed``.
    valid_generator_ : torch.Generator
        Draws the validation views, reseeded every epoch so that they are the
        same each epoch.
    train_sampler_ : DistributedSampler, GroupBatchSampler or None
        Orders the training samples while training distributed or by groups.

    See Also
    --------
    ThreeKGEmbedder : The scikit-learn estimator that builds and trains this net.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from sk3kg import ContrastiveNet
    >>> from sk3kg.augment import ThreeKGAugment
    >>> from sk3kg.nn import ContrastiveModel, NTXentLoss, ResNet1d
    >>> net = ContrastiveNet(
    ...     ContrastiveModel,
    ...     module__encoder=ResNet1d(12, width=4, depth=1),
    ...     module__projection_dim=8,
    ...     criterion=NTXentLoss,
    ...     augment=ThreeKGAugment(),
    ...     seed=0,
    ...     max_epochs=2,
    ...     batch_size=8,
    ...     train_split=None,
    ...     iterator_train__shuffle=True,
    ...     iterator_train__generator=torch.Generator().manual_seed(1),
    ...     verbose=0,
    ... )
    >>> X = np.random.default_rng(0).normal(size=(16, 12, 64)).astype(np.float32)
    >>> groups = np.arange(16)  # each sample its own group
    >>> len(net.fit(X, groups).history)
    2
    >>> net.project_views(X[:4], torch.Generator().manual_seed(0)).shape  # two views each
    torch.Size([8, 8])

    Saving and restoring the generators replays the same views, as a resumed
    run does:

    >>> states = net.generator_states()
    >>> first = net.project_views(X[:4], net.train_generator_)
    >>> net.load_generator_states(states)
    >>> torch.equal(first, net.project_views(X[:4], net.train_generator_))
    True
    """

    def __init__(
        self,
        module,
        *args,
        augment,
        seed,
        crop=None,
        group_size=1,
        distributed=False,
        gather_negatives=True,
        precision="32",
        **kwargs,
    ):
        self.augment = augment
        self.seed = seed
        self.crop = crop
        self.group_size = group_size
        self.distributed = distributed
        self.gather_negatives = gather_negatives
        self.precision = precision
        super().__init__(module, *args, **kwargs)

    def initialize_module(self):
        """Initialise the module from ``seed`` and create the view generators.

        The weights are drawn from a fork of torch's global generator seeded
        with ``seed``, so the global generator is left as it was.

        Returns
        -------
        self : ContrastiveNet
            The net, with ``module_``, ``augment_`` and the generators set.
        """
        with seeded_weights(self.seed):
            super().initialize_module()
        self.augment_ = self.augment
        self.train_generator_ = torch.Generator(self.device).manual_seed(self.seed + 1)
        self.valid_generator_ = torch.Generator(self.device)
        return self

    def generator_states(self) -> dict:
        """Return the states of the augmentation and batch-order generators.

        Saved with checkpoints, so that a resumed run draws the views and
        batches the uninterrupted run would have drawn.

        Returns
        -------
        states : dict of str to torch.Tensor
            ``"train"``: the state of ``train_generator_``; ``"shuffle"``: that
            of ``iterator_train__generator``, when one was given.
        """
        states = {"train": self.train_generator_.get_state()}
        shuffle = self.get_params_for("iterator_train").get("generator")
        if shuffle is not None:
            states["shuffle"] = shuffle.get_state()
        return states

    def load_generator_states(self, states: dict) -> None:
        """Restore the generators saved by :meth:`generator_states`.

        Parameters
        ----------
        states : dict of str to torch.Tensor
            What :meth:`generator_states` returned.
        """
        self.train_generator_.set_state(states["train"])
        shuffle = self.get_params_for("iterator_train").get("generator")
        if shuffle is not None and "shuffle" in states:
            shuffle.set_state(states["shuffle"])

    @property
    def rank(self) -> int:
        """This process's rank when distributed, else 0."""
        return rank_and_world_size()[0] if self.distributed else 0

    def get_iterator(self, dataset, training=False):
        """Return the DataLoader of ``dataset``, sharded when training distributed.

        Parameters
        ----------
        dataset : torch.utils.data.Dataset
            The samples and their group ids.
        training : bool, default=False
            Whether the loader is for training (shuffled; in batches of whole
            group chunks when ``group_size > 1``; sharded across processes
            when ``distributed``).

        Returns
        -------
        iterator : torch.utils.data.DataLoader
            Yields batches ``(Xi, groups)``.
        """
        if not training or (self.group_size == 1 and not self.distributed):
            return super().get_iterator(dataset, training=training)
        rank, world_size = rank_and_world_size() if self.distributed else (0, 1)
        kwargs = {"batch_size": self.batch_size, **self.get_params_for("iterator_train")}
        kwargs.pop("shuffle", None)
        if self.group_size > 1:
            self.train_sampler_ = GroupBatchSampler(
                group_codes(dataset), kwargs.pop("batch_size"), self.group_size,
                seed=self.seed + 3, num_replicas=world_size, rank=rank,
            )  # fmt: skip
            return self.iterator_train(dataset, batch_sampler=self.train_sampler_, **kwargs)
        self.train_sampler_ = DistributedSampler(
            dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=self.seed
        )
        return self.iterator_train(dataset, sampler=self.train_sampler_, **kwargs)

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Wrap the module in ``DistributedDataParallel`` when distributed.

        Parameters
        ----------
        net : ContrastiveNet
            This net (skorch's callback signature).
        X, y : array-like, default=None
            The training data and group ids.
        **kwargs
            Passed to :meth:`skorch.NeuralNet.on_train_begin`.
        """
        super().on_train_begin(net, X=X, y=y, **kwargs)
        if self.distributed:
            self.module_ = wrap_data_parallel(self.module_)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """Unwrap the module, synchronise its buffers and drop the sampler.

        Parameters
        ----------
        net : ContrastiveNet
            This net (skorch's callback signature).
        X, y : array-like, default=None
            The training data and group ids.
        **kwargs
            Passed to :meth:`skorch.NeuralNet.on_train_end`.
        """
        if self.distributed:
            self.module_ = self.module_.module
            broadcast_buffers(self.module_)
        # The sampler holds the training data; a pickled net must not.
        self.train_sampler_ = None
        super().on_train_end(net, X=X, y=y, **kwargs)

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """Reseed the validation views; set the epoch of the training batches' order.

        When distributed, the training views are reseeded from
        ``(seed, epoch, rank)`` too.

        Parameters
        ----------
        net : ContrastiveNet
            This net (skorch's callback signature).
        dataset_train, dataset_valid : torch.utils.data.Dataset, default=None
            The training and validation data of the epoch.
        **kwargs
            Passed to :meth:`skorch.NeuralNet.on_epoch_begin`.
        """
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        epoch = len(self.history)
        if getattr(self, "train_sampler_", None) is not None:
            self.train_sampler_.set_epoch(epoch)
        if self.distributed:
            self.train_generator_.manual_seed(derived_seed(self.seed, epoch, self.rank))
        # The same validation views every epoch, so the valid loss is comparable.
        self.valid_generator_.manual_seed(self.seed + 2)

    def project_views(self, Xi, generator: torch.Generator) -> torch.Tensor:
        """Project two random views of each ECG of a batch.

        Parameters
        ----------
        Xi : array-like of shape (batch, n_leads, n_timepoints)
            The batch of ECGs.
        generator : torch.Generator
            Draws the views.

        Returns
        -------
        projections : torch.Tensor of shape (2 * batch, projection_dim)
            The first views of the batch, then the second views.
        """
        x = to_tensor(Xi, device=self.device)
        first, second = (x, x) if self.crop is None else self.crop(x, generator)
        views = torch.cat([self.augment_(first, generator), self.augment_(second, generator)])
        return self.infer(views)

    def train_step_single(self, batch, **fit_params):
        """Compute the loss of one training batch and its gradients.

        Parameters
        ----------
        batch : tuple
            ``(Xi, groups)`` from the training DataLoader.
        **fit_params
            Ignored.

        Returns
        -------
        step : dict
            ``"loss"``: the NT-Xent loss; ``"y_pred"``: the projections.
        """
        self._set_training(True)
        Xi, groups = unpack_data(batch)
        projections = self.project_views(Xi, self.train_generator_)
        loss = self.get_loss(projections, groups, X=Xi, training=True)
        self.backward(loss)
        return {"loss": loss, "y_pred": projections}

    def validation_step(self, batch, **fit_params):
        """Compute the loss of one validation batch, on this epoch's fixed views.

        Parameters
        ----------
        batch : tuple
            ``(Xi, groups)`` from the validation DataLoader.
        **fit_params
            Ignored.

        Returns
        -------
        step : dict
            ``"loss"``: the NT-Xent loss; ``"y_pred"``: the projections.
        """
        self._set_training(False)
        Xi, groups = unpack_data(batch)
        with torch.no_grad():
            projections = self.project_views(Xi, self.valid_generator_)
            loss = self.get_loss(projections, groups, X=Xi, training=False)
        return {"loss": loss, "y_pred": projections}

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Compute the contrastive loss, over all processes' views if asked to.

        Parameters
        ----------
        y_pred : torch.Tensor of shape (2 * batch, projection_dim)
            The projections of the two views, from :meth:`project_views`.
        y_true : array-like of shape (batch,) or None
            The group ids of the batch.
        X : array-like, default=None
            The batch (unused).
        training : bool, default=False
            Whether this is a training step; only then are the views of all
            processes gathered (``gather_negatives`` and ``distributed``).

        Returns
        -------
        loss : torch.Tensor of shape ()
            The criterion's loss.
        """
        groups = None if y_true is None else to_tensor(y_true, device=self.device)
        if training and self.gather_negatives and self.distributed:
            if groups is None:  # each sample its own group, numbered across processes
                n = y_pred.shape[0] // 2
                groups = torch.arange(n, device=y_pred.device) + self.rank * n
            y_pred, groups = gather_views(y_pred, groups)
        return self.criterion_(y_pred, groups)
