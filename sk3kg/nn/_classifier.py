"""The classification network: an encoder and a linear head, fine-tuned together."""

import torch
from torch import nn


class ClassifierModel(nn.Module):
    """An encoder followed by a linear layer: the network a classifier fine-tunes.

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps ECGs to ``(batch, encoder.embedding_dim)``, e.g. a pretrained
        ``ThreeKGEmbedder``'s ``encoder_``.
    n_outputs : int
        Number of logits: classes (softmax) or labels (one sigmoid each).

    Attributes
    ----------
    encoder : torch.nn.Module
        The encoder.
    head : torch.nn.Linear
        The linear layer on the embeddings; trained alone it is a linear probe.

    See Also
    --------
    ContrastiveModel : The encoder with the projection head of pretraining.
    build_encoder : Builds the encoder.

    Examples
    --------
    >>> import torch
    >>> from sk3kg.nn import ClassifierModel, ResNet1d
    >>> model = ClassifierModel(ResNet1d(12, width=4), n_outputs=5)
    >>> model(torch.zeros(2, 12, 64)).shape  # logits
    torch.Size([2, 5])
    """

    def __init__(self, encoder: nn.Module, n_outputs: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.embedding_dim, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Compute the logits of a batch of ECGs.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_leads, n_timepoints)
            The ECGs.

        Returns
        -------
        logits : torch.Tensor of shape (batch, n_outputs)
            One logit per class or label.
        """
        return self.head(self.encoder(x))
