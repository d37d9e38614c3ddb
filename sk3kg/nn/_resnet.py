"""A 1D residual network that turns ECGs of any length into fixed-size embeddings."""

import torch
from torch import nn


def _conv(in_channels: int, out_channels: int, kernel_size: int, stride: int = 1) -> nn.Conv1d:
    return nn.Conv1d(
        in_channels, out_channels, kernel_size, stride, padding=kernel_size // 2, bias=False
    )


class BasicBlock1d(nn.Module):
    """Two convolutions with batch normalisation and an identity (or 1x1) shortcut.

    ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``, the basic block of
    He et al. (2016) in 1D. The shortcut is the identity when the shape is
    kept, else a strided 1x1 convolution with batch normalisation.

    Parameters
    ----------
    in_channels : int
        Channels of the input.
    out_channels : int
        Channels of the output.
    kernel_size : int, default=7
        Kernel size of both convolutions (odd, so that padding keeps the length).
    stride : int, default=1
        Stride of the first convolution and of the shortcut; 2 halves the
        time axis.

    See Also
    --------
    ResNet1d : The encoder built from these blocks.

    References
    ----------
    .. [1] K. He et al., "Deep Residual Learning for Image Recognition",
       Proc. CVPR, 770-778, 2016.

    Examples
    --------
    >>> import torch
    >>> from sk3kg.nn import BasicBlock1d
    >>> block = BasicBlock1d(8, 16, stride=2)
    >>> block(torch.zeros(2, 8, 64)).shape
    torch.Size([2, 16, 32])
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int = 7, stride: int = 1
    ) -> None:
        super().__init__()
        self.conv1 = _conv(in_channels, out_channels, kernel_size, stride)
        self.bn1 = nn.BatchNorm1d(out_channels)
        self.conv2 = _conv(out_channels, out_channels, kernel_size)
        self.bn2 = nn.BatchNorm1d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                _conv(in_channels, out_channels, 1, stride), nn.BatchNorm1d(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the block.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, in_channels, n_timepoints)
            The input features.

        Returns
        -------
        out : torch.Tensor of shape (batch, out_channels, ceil(n_timepoints / stride))
            The output features, non-negative (after the final ReLU).
        """
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNet1d(nn.Module):
    """1D ResNet encoder with global average pooling.

    A strided stem convolution and max pooling (downsampling by 4), then
    ``n_stages`` stages of ``depth`` basic blocks; each stage after the first
    halves the time axis and doubles the channels. Global average pooling
    makes the embedding independent of the signal length.

    Parameters
    ----------
    in_channels : int, default=12
        Number of input leads (channels).
    width : int, default=16
        Channels of the first stage; the embedding has
        ``width * 2 ** (n_stages - 1)`` dimensions.
    depth : int, default=2
        Basic blocks per stage.
    n_stages : int, default=4
        Number of stages.
    kernel_size : int, default=7
        Kernel size of the blocks' convolutions (odd).

    Attributes
    ----------
    embedding_dim : int
        Size of the output embedding.
    min_length : int
        Shortest input the estimator accepts, ``2 ** n_stages`` time steps
        (16 by default, 32 ms at 500 Hz): about where the last stage's input
        shrinks to a single time step. Every convolution pads, so shorter
        inputs still run, but on features made mostly of padding.

    See Also
    --------
    build_encoder : Builds this encoder, with its leads as channels or one by one.
    BasicBlock1d : The residual block.

    Notes
    -----
    The default size (``width=16, depth=2``: 0.58 M parameters with the
    projection head, 128-dimensional embeddings) was chosen by measurement on a
    2-core CPU at 12 x 1000: contrastive training (two views, forward and
    backward, batch 256) at 401 samples/s and inference at 3,400 samples/s
    (``benchmarks/speed.py``); ``width=32, depth=1`` trained at 207 samples/s
    and ``width=24, depth=1`` at 307. Raise ``width`` and ``depth`` on a GPU.

    Examples
    --------
    >>> import torch
    >>> from sk3kg.nn import ResNet1d
    >>> encoder = ResNet1d(in_channels=12)
    >>> encoder(torch.randn(2, 12, 1000)).shape
    torch.Size([2, 128])
    >>> encoder(torch.randn(2, 12, 5000)).shape
    torch.Size([2, 128])
    """

    def __init__(
        self,
        in_channels: int = 12,
        *,
        width: int = 16,
        depth: int = 2,
        n_stages: int = 4,
        kernel_size: int = 7,
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            _conv(in_channels, width, 2 * kernel_size + 1, stride=2),
            nn.BatchNorm1d(width),
            nn.ReLU(inplace=True),
            nn.MaxPool1d(3, stride=2, padding=1),
        )
        stages, channels = [], width
        for index in range(n_stages):
            out_channels = width * 2**index
            for block in range(depth):
                stride = 2 if index > 0 and block == 0 else 1
                stages.append(BasicBlock1d(channels, out_channels, kernel_size, stride))
                channels = out_channels
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.embedding_dim = channels
        self.min_length = 2**n_stages
        self._init_weights()

    def _init_weights(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv1d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        # Zero-init the last BN of each residual branch so every block starts as
        # an identity (Goyal et al. 2017, "Accurate, large minibatch SGD"), as
        # torchvision's ResNet does.
        for module in self.modules():
            if isinstance(module, BasicBlock1d):
                nn.init.zeros_(module.bn2.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Embed a batch of signals.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, in_channels, n_timepoints)
            The signals, of any length (at least ``min_length`` to be
            meaningful).

        Returns
        -------
        embeddings : torch.Tensor of shape (batch, embedding_dim)
            One embedding per signal.
        """
        return self.pool(self.stages(self.stem(x))).flatten(1)


class LeadSharedEncoder(nn.Module):
    """Apply one single-lead encoder to every lead and average the embeddings.

    This is how the 3KG authors' code feeds a 12-lead ECG: the same weights
    see each lead as a separate one-channel signal, so the encoder cannot
    rely on which lead is which, and its cost grows with the number of leads.

    Parameters
    ----------
    encoder : torch.nn.Module
        An encoder taking ``(batch, 1, n_timepoints)`` to
        ``(batch, embedding_dim)``, with ``embedding_dim`` and ``min_length``
        attributes (e.g. a :class:`ResNet1d` with ``in_channels=1``).

    Attributes
    ----------
    embedding_dim : int
        Size of the output embedding, that of ``encoder``.
    min_length : int
        Shortest meaningful input, that of ``encoder``.

    See Also
    --------
    build_encoder : Builds this encoder with ``lead_mode="shared"``.

    Examples
    --------
    >>> import torch
    >>> from sk3kg.nn import LeadSharedEncoder, ResNet1d
    >>> encoder = LeadSharedEncoder(ResNet1d(in_channels=1, width=4)).eval()
    >>> x = torch.randn(2, 12, 64, generator=torch.Generator().manual_seed(0))
    >>> encoder(x).shape
    torch.Size([2, 32])

    The embedding is the mean over leads, so it does not depend on their order:

    >>> torch.allclose(encoder(x), encoder(x.flip(1)), atol=1e-6)
    True
    """

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.embedding_dim = encoder.embedding_dim
        self.min_length = encoder.min_length

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Embed every lead with the shared encoder and average over leads.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_leads, n_timepoints)
            The ECGs.

        Returns
        -------
        embeddings : torch.Tensor of shape (batch, embedding_dim)
            The mean of the leads' embeddings.
        """
        batch, n_leads, length = x.shape
        per_lead = self.encoder(x.reshape(batch * n_leads, 1, length))
        return per_lead.view(batch, n_leads, -1).mean(dim=1)


#: The arguments of :func:`build_encoder` that set an encoder's size and lead handling.
ENCODER_SIZE = ("lead_mode", "width", "depth", "n_stages", "kernel_size")


def build_encoder(
    n_leads: int,
    *,
    lead_mode: str = "channels",
    width: int = 16,
    depth: int = 2,
    n_stages: int = 4,
    kernel_size: int = 7,
) -> nn.Module:
    """Build the ECG encoder for ``n_leads`` leads fed as channels or one by one.

    Parameters
    ----------
    n_leads : int
        Number of leads of the input.
    lead_mode : {"channels", "shared"}, default="channels"
        ``"channels"``: all leads are input channels of one :class:`ResNet1d`.
        ``"shared"``: one single-channel :class:`ResNet1d` applied to every
        lead, embeddings averaged (:class:`LeadSharedEncoder`).
    width : int, default=16
        Channels of the first stage of the :class:`ResNet1d`.
    depth : int, default=2
        Basic blocks per stage.
    n_stages : int, default=4
        Number of stages.
    kernel_size : int, default=7
        Kernel size of the blocks' convolutions (odd).

    Returns
    -------
    encoder : torch.nn.Module
        Maps ``(batch, n_leads, n_timepoints)`` to ``(batch, embedding_dim)``.

    Examples
    --------
    >>> import torch
    >>> from sk3kg.nn import build_encoder
    >>> encoder = build_encoder(12, lead_mode="shared", width=8)
    >>> type(encoder).__name__, encoder.embedding_dim
    ('LeadSharedEncoder', 64)
    >>> encoder(torch.zeros(2, 12, 64)).shape
    torch.Size([2, 64])
    """
    size = {"width": width, "depth": depth, "n_stages": n_stages, "kernel_size": kernel_size}
    if lead_mode == "channels":
        return ResNet1d(n_leads, **size)
    if lead_mode == "shared":
        return LeadSharedEncoder(ResNet1d(1, **size))
    raise ValueError(f"lead_mode={lead_mode!r} is not 'channels' or 'shared'.")
