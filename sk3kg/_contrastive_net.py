"""The skorch net that runs contrastive pretraining, customised through skorch's hooks."""

import torch
from skorch import NeuralNet
from skorch.dataset import unpack_data
from skorch.utils import to_tensor


class ContrastiveNet(NeuralNet):
    """A skorch ``NeuralNet`` whose training step contrasts two augmented views.

    ``y`` holds integer group ids (one per sample; the sample's own index
    when there are no groups); the criterion receives the projections of the
    two views stacked, and the group ids.

    Parameters
    ----------
    module : callable
        Builds the :class:`~sk3kg.nn.ContrastiveModel` from ``module__*``.
    augment : torch.nn.Module
        Called as ``augment(x, generator)`` to draw one view of a batch.
    seed : int
        Seeds the weight initialisation (without touching torch's global
        generator) and the generators of the augmentations.
    **kwargs
        Passed to :class:`skorch.NeuralNet`.
    """

    def __init__(self, module, *args, augment, seed, **kwargs):
        self.augment = augment
        self.seed = seed
        super().__init__(module, *args, **kwargs)

    def initialize_module(self):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            super().initialize_module()
        self.augment_ = self.augment
        self.train_generator_ = torch.Generator(self.device).manual_seed(self.seed + 1)
        self.valid_generator_ = torch.Generator(self.device)
        return self

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        # The same validation views every epoch, so the valid loss is comparable.
        self.valid_generator_.manual_seed(self.seed + 2)
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)

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
        return self.criterion_(y_pred, groups)
