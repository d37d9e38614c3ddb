"""The projection head and the NT-Xent loss of contrastive pretraining."""

import torch
import torch.nn.functional as F
from torch import nn


class ProjectionHead(nn.Module):
    """MLP mapping embeddings to the space where the contrastive loss is computed.

    ``Linear -> BatchNorm -> ReLU -> Linear``, as in the 3KG authors' code
    (after SimCLR, Chen et al. 2020); used only during pretraining.

    Parameters
    ----------
    in_features : int
        Size of the encoder's embedding.
    out_features : int, default=128
        Size of the projection.

    See Also
    --------
    ContrastiveModel : An encoder followed by this head.

    References
    ----------
    .. [1] T. Chen et al., "A Simple Framework for Contrastive Learning of
       Visual Representations", Proc. ICML, PMLR 119:1597-1607, 2020.

    Examples
    --------
    >>> import torch
    >>> from sk3kg.nn import ProjectionHead
    >>> head = ProjectionHead(128, out_features=32)
    >>> head(torch.zeros(4, 128)).shape
    torch.Size([4, 32])
    """

    def __init__(self, in_features: int, out_features: int = 128) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(in_features, in_features, bias=False),
            nn.BatchNorm1d(in_features),
            nn.ReLU(inplace=True),
            nn.Linear(in_features, out_features),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Project a batch of embeddings.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, in_features)
            Embeddings; in training mode, batch normalisation needs
            ``batch >= 2``.

        Returns
        -------
        projections : torch.Tensor of shape (batch, out_features)
            The projections the contrastive loss compares.
        """
        return self.layers(x)


class ContrastiveModel(nn.Module):
    """An encoder followed by a projection head; ``encoder`` alone gives embeddings.

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps ECGs to ``(batch, encoder.embedding_dim)``.
    projection_dim : int, default=128
        Output size of the :class:`ProjectionHead`.

    Attributes
    ----------
    encoder : torch.nn.Module
        The encoder; after pretraining, it alone embeds ECGs.
    head : ProjectionHead
        The projection head, used only by the contrastive loss.

    See Also
    --------
    build_encoder : Builds the encoder.
    NTXentLoss : The loss computed on the projections.

    Examples
    --------
    >>> import torch
    >>> from sk3kg.nn import ContrastiveModel, ResNet1d
    >>> model = ContrastiveModel(ResNet1d(12, width=4), projection_dim=16)
    >>> x = torch.zeros(2, 12, 64)
    >>> model(x).shape  # projections, for the loss
    torch.Size([2, 16])
    >>> model.encoder(x).shape  # embeddings, for downstream tasks
    torch.Size([2, 32])
    """

    def __init__(self, encoder: nn.Module, projection_dim: int = 128) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = ProjectionHead(encoder.embedding_dim, projection_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode and project a batch of ECGs.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_leads, n_timepoints)
            The ECGs (or their augmented views).

        Returns
        -------
        projections : torch.Tensor of shape (batch, projection_dim)
            The projections of their embeddings.
        """
        return self.head(self.encoder(x))


class NTXentLoss(nn.Module):
    """Normalised-temperature cross-entropy loss over two views of a batch.

    ``projections`` stacks the first views of a batch of ``n`` samples, then
    their second views (``2n`` rows). Each row's positives are the other
    rows of the same group (by default: the other view of the same sample);
    every other row is a negative. The loss of a row is the mean over its
    positives of ``-log softmax(cos_sim / temperature)``, taken over all rows
    but itself. Without groups this is SimCLR's NT-Xent; with groups
    (recording or patient ids) it is the supervised-contrastive form that the
    3KG authors' code uses for crops of one recording and CLOCS for patients.

    Parameters
    ----------
    temperature : float, default=0.1
        Softmax temperature.

    See Also
    --------
    ContrastiveModel : Computes the projections.
    sk3kg.ThreeKGEmbedder : Pretrains an encoder with this loss.

    References
    ----------
    .. [1] T. Chen et al., "A Simple Framework for Contrastive Learning of
       Visual Representations", Proc. ICML, PMLR 119:1597-1607, 2020.
    .. [2] P. Khosla et al., "Supervised Contrastive Learning", NeurIPS 2020.

    Examples
    --------
    >>> import torch
    >>> from sk3kg.nn import NTXentLoss
    >>> z = torch.randn(4, 16, generator=torch.Generator().manual_seed(0))
    >>> loss = NTXentLoss(temperature=0.1)
    >>> bool(loss(torch.cat([z, z])) < loss(torch.cat([z, z.flip(0)])))
    True
    """

    def __init__(self, temperature: float = 0.1) -> None:
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature!r}.")
        self.temperature = temperature

    def forward(
        self, projections: torch.Tensor, groups: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Compute the mean loss over the ``2 * n`` rows.

        Parameters
        ----------
        projections : torch.Tensor of shape (2 * n, dim)
            The projections of the first views of ``n`` samples, then of their
            second views, in the same sample order.
        groups : array-like of shape (n,), default=None
            Group id of each sample; rows of samples in the same group are
            positives of each other. ``None`` gives each sample its own group.

        Returns
        -------
        loss : torch.Tensor of shape ()
            The loss, averaged over rows; differentiable.

        Examples
        --------
        >>> import torch
        >>> from sk3kg.nn import NTXentLoss
        >>> z = torch.randn(4, 16, generator=torch.Generator().manual_seed(0))
        >>> loss = NTXentLoss(temperature=0.1)
        >>> loss(torch.cat([z, z])).shape
        torch.Size([])

        Samples 0 and 1 share a group: each row then has three positives.

        >>> bool(loss(torch.cat([z, z]), groups=[0, 0, 1, 2]) > loss(torch.cat([z, z])))
        True
        """
        if not isinstance(projections, torch.Tensor) or not projections.is_floating_point():
            what = getattr(projections, "dtype", type(projections).__name__)
            raise TypeError(f"NTXentLoss takes a floating-point torch.Tensor, got {what}.")
        n_rows = projections.shape[0] if projections.ndim else 0
        if projections.ndim != 2 or n_rows % 2 or n_rows == 0:
            raise ValueError(
                "NTXentLoss takes (2 * n, dim) projections, two views of n >= 1 samples; "
                f"got shape {tuple(projections.shape)}."
            )
        n = n_rows // 2
        if groups is None:
            groups = torch.arange(n, device=projections.device)
        groups = torch.as_tensor(groups, device=projections.device).reshape(-1)
        if groups.shape[0] != n:
            raise ValueError(f"groups has {groups.shape[0]} entries for {n} samples.")
        # normalize's default eps (1e-12) is 0 in float16, which makes 0 / 0 of a zero row.
        eps = max(1e-12, torch.finfo(projections.dtype).tiny)
        z = F.normalize(projections, dim=1, eps=eps)
        itself = torch.eye(n_rows, dtype=torch.bool, device=z.device)
        logits = (z @ z.T / self.temperature).masked_fill(itself, float("-inf"))
        row_groups = torch.cat([groups, groups])
        positive = (row_groups[:, None] == row_groups[None, :]) & ~itself
        log_prob = logits.log_softmax(dim=1).masked_fill(~positive, 0.0)
        return -(log_prob.sum(dim=1) / positive.sum(dim=1)).mean()

    def extra_repr(self) -> str:
        """Return the settings shown in the module's ``repr``.

        Returns
        -------
        settings : str
            The settings, as ``name=value`` pairs.
        """
        return f"temperature={self.temperature}"
