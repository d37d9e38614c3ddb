"""Embed a record as the mean over its time windows, as an encoder pretrained on crops sees it."""

import torch
from torch import nn


def window_starts(n_timepoints: int, length: int, stride: int) -> list[int]:
    """First time steps of the windows that cover a record of ``n_timepoints`` steps.

    Windows start every ``stride`` steps; when the last of them ends before the
    record does, one more window ends at the record's end, so every time step
    is seen.

    Parameters
    ----------
    n_timepoints : int
        Length of the record, at least ``length``.
    length : int
        Time steps per window.
    stride : int
        Steps between window starts.

    Returns
    -------
    starts : list of int
        Increasing starts, the last one ``n_timepoints - length``.

    Examples
    --------
    >>> from sk3kg.nn import window_starts
    >>> window_starts(1000, 500, 500)
    [0, 500]
    >>> window_starts(1000, 400, 400)  # a last window ends at the record's end
    [0, 400, 600]
    """
    if length > n_timepoints:
        raise ValueError(
            f"Records of {n_timepoints} time steps are shorter than the window of {length}; "
            "pass longer records or a shorter window."
        )
    starts = list(range(0, n_timepoints - length + 1, stride))
    if starts[-1] + length < n_timepoints:
        starts.append(n_timepoints - length)
    return starts


class WindowMean(nn.Module):
    """Apply an encoder to every time window of a record and average the embeddings.

    How a record longer than the crops an encoder was pretrained on is
    embedded (the 3KG authors' 5-s crops; the sliding windows of the PTB-XL
    benchmark, Strodthoff et al. 2021): windows of ``length`` steps every
    ``stride`` steps (:func:`window_starts`), all encoded in one batch.

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps ``(batch, n_leads, length)`` to ``(batch, embedding_dim)`` and has
        an ``embedding_dim`` attribute.
    length : int
        Time steps per window.
    stride : int, default=None
        Steps between window starts; ``None`` is ``length`` (non-overlapping).

    Attributes
    ----------
    embedding_dim : int
        Size of the output embedding, that of ``encoder``.

    Examples
    --------
    >>> import torch
    >>> from sk3kg.nn import ResNet1d, WindowMean
    >>> encoder = ResNet1d(12, width=4).eval()
    >>> x = torch.randn(2, 12, 200, generator=torch.Generator().manual_seed(0))
    >>> windowed = WindowMean(encoder, 100)
    >>> windowed(x).shape
    torch.Size([2, 32])
    >>> halves = (encoder(x[:, :, :100]) + encoder(x[:, :, 100:])) / 2
    >>> torch.allclose(windowed(x), halves, atol=1e-6)
    True
    """

    def __init__(self, encoder: nn.Module, length: int, stride: int | None = None) -> None:
        super().__init__()
        self.encoder, self.length, self.stride = encoder, length, stride or length
        self.embedding_dim = encoder.embedding_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Embed each record as the mean of its windows' embeddings.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_leads, n_timepoints)
            The records, at least ``length`` steps long.

        Returns
        -------
        embeddings : torch.Tensor of shape (batch, embedding_dim)
            The mean over windows.
        """
        batch, n_leads, n_timepoints = x.shape
        starts = window_starts(n_timepoints, self.length, self.stride)
        windows = torch.stack([x[:, :, s : s + self.length] for s in starts], dim=1)
        embedded = self.encoder(windows.reshape(batch * len(starts), n_leads, self.length))
        return embedded.view(batch, len(starts), -1).mean(dim=1)
