"""The skorch net that fine-tunes an encoder and a linear head, customised through hooks."""

import torch
from skorch import NeuralNet
from skorch.dataset import unpack_data
from skorch.utils import to_tensor

from ._precision import MixedPrecisionMixin
from ._seeding import seeded_weights


class FineTuneNet(MixedPrecisionMixin, NeuralNet):
    """A skorch ``NeuralNet`` that trains a :class:`~sk3kg.nn.ClassifierModel`.

    It adds three things to skorch's training step: the encoder can start
    from pretrained weights (``encoder_state``), it can be frozen (its
    parameters get no gradient and its batch-norm layers stay in eval mode,
    so a frozen encoder computes exactly the features a linear probe sees),
    and training batches can be augmented (``augment``). Randomness comes from
    ``seed`` and leaves torch's global generator as it was.

    Parameters
    ----------
    module : callable or torch.nn.Module
        Builds the :class:`~sk3kg.nn.ClassifierModel` from ``module__*``.
    *args
        Further positional arguments of :class:`skorch.NeuralNet`, starting
        with ``criterion``.
    seed : int
        Seeds the weights of the head (and of the encoder when it starts
        untrained) and the augmentations.
    encoder_state : dict of str to torch.Tensor, default=None
        Weights the encoder starts from (a pretrained encoder's
        ``state_dict()``); copied into the module when it is initialised.
    augment : torch.nn.Module, default=None
        Called as ``augment(x, generator)`` on every training batch; ``None``
        trains on the ECGs as they are.
    precision : {"32", "bf16", "16"}, default="32"
        The precision of the forward and backward passes
        (:class:`~sk3kg._precision.MixedPrecisionMixin`); the loss is float32.
    **kwargs
        Passed to :class:`skorch.NeuralNet`.

    Attributes
    ----------
    train_generator_ : torch.Generator
        Draws the training augmentations; seeded from ``seed``.
    encoder_frozen_ : bool
        Whether the encoder is frozen (see :meth:`freeze_encoder`).

    See Also
    --------
    ECGClassifier : The scikit-learn estimator that builds and trains this net.
    ContrastiveNet : The net that pretrains the encoder.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from sk3kg import FineTuneNet
    >>> from sk3kg.nn import ClassifierModel, ResNet1d
    >>> net = FineTuneNet(
    ...     ClassifierModel,
    ...     module__encoder=ResNet1d(12, width=4, depth=1),
    ...     module__n_outputs=3,
    ...     criterion=torch.nn.CrossEntropyLoss,
    ...     seed=0,
    ...     max_epochs=2,
    ...     batch_size=8,
    ...     train_split=None,
    ...     verbose=0,
    ... )
    >>> X = np.random.default_rng(0).normal(size=(16, 12, 64)).astype(np.float32)
    >>> y = np.arange(16) % 3
    >>> net.initialize().freeze_encoder(True)  # a linear probe
    >>> len(net.partial_fit(X, y).history)
    2
    >>> net.predict_proba(X).shape  # logits
    (16, 3)
    """

    def __init__(
        self, module, *args, seed, encoder_state=None, augment=None, precision="32", **kwargs
    ):
        self.seed = seed
        self.encoder_state = encoder_state
        self.augment = augment
        self.precision = precision
        super().__init__(module, *args, **kwargs)

    def initialize_module(self):
        """Initialise the module from ``seed``, then load ``encoder_state`` into its encoder.

        Returns
        -------
        self : FineTuneNet
            The net, with ``module_`` and ``train_generator_`` set.
        """
        with seeded_weights(self.seed):
            super().initialize_module()
        if self.encoder_state is not None:
            self.module_.encoder.load_state_dict(self.encoder_state)
        self.train_generator_ = torch.Generator(self.device).manual_seed(self.seed + 1)
        self.encoder_frozen_ = False
        return self

    def freeze_encoder(self, frozen: bool) -> None:
        """Freeze the encoder (train the head alone) or unfreeze it.

        Parameters
        ----------
        frozen : bool
            ``True``: the encoder's parameters get no gradient and its
            batch-norm statistics are not updated. ``False``: train everything.
        """
        for parameter in self.module_.encoder.parameters():
            parameter.requires_grad_(not frozen)
        self.encoder_frozen_ = frozen

    def train_step_single(self, batch, **fit_params):
        """Compute the loss of one (augmented) training batch and its gradients.

        Parameters
        ----------
        batch : tuple
            ``(Xi, yi)`` from the training DataLoader.
        **fit_params
            Ignored.

        Returns
        -------
        step : dict
            ``"loss"``: the criterion's loss; ``"y_pred"``: the logits.
        """
        self._set_training(True)
        if self.encoder_frozen_:
            # A frozen encoder keeps the batch-norm statistics it was trained with.
            self.module_.encoder.eval()
        Xi, yi = unpack_data(batch)
        x = to_tensor(Xi, device=self.device)
        if self.augment is not None:
            x = self.augment(x, self.train_generator_)
        logits = self.infer(x)
        loss = self.get_loss(logits, yi, X=Xi, training=True)
        self.backward(loss)
        return {"loss": loss, "y_pred": logits}
