"""The skorch net that runs contrastive pretraining, customised through skorch's hooks."""

import threading

import numpy as np
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

# Weights are initialised from torch's global generator, forked and reseeded; the
# lock keeps two fits in threads of one process (e.g. joblib's threading or Dask
# backends) from reseeding it under each other.
_GLOBAL_RNG = threading.Lock()


def _derived_seed(*entropy: int) -> int:
    """A seed for one (run, epoch, process): a resumed run draws as the original."""
    return int(np.random.SeedSequence(list(entropy)).generate_state(1)[0])


class ContrastiveNet(NeuralNet):
    """A skorch ``NeuralNet`` whose training step contrasts two augmented views.

    ``y`` holds integer group ids (one per sample; the sample's own index
    when there are no groups); the criterion receives the projections of the
    two views stacked, and the group ids.

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
    module : callable
        Builds the :class:`~sk3kg.nn.ContrastiveModel` from ``module__*``.
    augment : torch.nn.Module
        Called as ``augment(x, generator)`` to draw one view of a batch.
    seed : int
        Seeds the weight initialisation (without touching torch's global
        generator), the batch order and the augmentations.
    distributed : bool, default=False
        Train data-parallel in the default ``torch.distributed`` process group
        (it must be initialised when ``distributed=True``).
    gather_negatives : bool, default=True
        When distributed, compute the loss over the views of all processes
        (SimCLR's global batch) rather than each process's own.
    **kwargs
        Passed to :class:`skorch.NeuralNet`.
    """

    def __init__(
        self, module, *args, augment, seed, distributed=False, gather_negatives=True, **kwargs
    ):
        self.augment = augment
        self.seed = seed
        self.distributed = distributed
        self.gather_negatives = gather_negatives
        super().__init__(module, *args, **kwargs)

    def initialize_module(self):
        with _GLOBAL_RNG, torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            super().initialize_module()
        self.augment_ = self.augment
        self.train_generator_ = torch.Generator(self.device).manual_seed(self.seed + 1)
        self.valid_generator_ = torch.Generator(self.device)
        return self

    def generator_states(self) -> dict:
        """States of the augmentation and batch-order generators, for checkpoints."""
        states = {"train": self.train_generator_.get_state()}
        shuffle = self.get_params_for("iterator_train").get("generator")
        if shuffle is not None:
            states["shuffle"] = shuffle.get_state()
        return states

    def load_generator_states(self, states: dict) -> None:
        """Restore the generators saved by :meth:`generator_states`."""
        self.train_generator_.set_state(states["train"])
        shuffle = self.get_params_for("iterator_train").get("generator")
        if shuffle is not None and "shuffle" in states:
            shuffle.set_state(states["shuffle"])

    @property
    def rank(self) -> int:
        """This process's rank when distributed, else 0."""
        return rank_and_world_size()[0] if self.distributed else 0

    def get_iterator(self, dataset, training=False):
        if not (training and self.distributed):
            return super().get_iterator(dataset, training=training)
        rank, world_size = rank_and_world_size()
        self.train_sampler_ = DistributedSampler(
            dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=self.seed
        )
        kwargs = {"batch_size": self.batch_size, **self.get_params_for("iterator_train")}
        kwargs.pop("shuffle", None)
        return self.iterator_train(dataset, sampler=self.train_sampler_, **kwargs)

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        if self.distributed:
            self.module_ = wrap_data_parallel(self.module_)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        if self.distributed:
            self.module_ = self.module_.module
            broadcast_buffers(self.module_)
        # The sampler holds the training data; a pickled net must not.
        self.train_sampler_ = None
        super().on_train_end(net, X=X, y=y, **kwargs)

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        if self.distributed:
            epoch = len(self.history)
            self.train_sampler_.set_epoch(epoch)
            self.train_generator_.manual_seed(_derived_seed(self.seed, epoch, self.rank))
        # The same validation views every epoch, so the valid loss is comparable.
        self.valid_generator_.manual_seed(self.seed + 2)

    def project_views(self, Xi, generator: torch.Generator) -> torch.Tensor:
        """Project two random views of the batch, stacked: ``(2 * batch, dim)``."""
        x = to_tensor(Xi, device=self.device)
        views = torch.cat([self.augment_(x, generator), self.augment_(x, generator)])
        return self.infer(views)

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, groups = unpack_data(batch)
        projections = self.project_views(Xi, self.train_generator_)
        loss = self.get_loss(projections, groups, X=Xi, training=True)
        loss.backward()
        return {"loss": loss, "y_pred": projections}

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        Xi, groups = unpack_data(batch)
        with torch.no_grad():
            projections = self.project_views(Xi, self.valid_generator_)
            loss = self.get_loss(projections, groups, X=Xi, training=False)
        return {"loss": loss, "y_pred": projections}

    def get_loss(self, y_pred, y_true, X=None, training=False):
        groups = None if y_true is None else to_tensor(y_true, device=self.device)
        if training and self.gather_negatives and self.distributed:
            if groups is None:  # each sample its own group, numbered across processes
                n = y_pred.shape[0] // 2
                groups = torch.arange(n, device=y_pred.device) + self.rank * n
            y_pred, groups = gather_views(y_pred, groups)
        return self.criterion_(y_pred, groups)
