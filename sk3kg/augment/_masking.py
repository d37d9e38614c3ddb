"""Contiguous time masking, one block per sample and lead."""

import math

import torch

from ._random import uniform


def time_masks(
    x: torch.Tensor, mask_ratio: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Draw one contiguous time mask per lead and sample, True where hidden.

    Each lead of each sample hides one block of ``floor(mask_ratio * T)``
    consecutive time steps, starting at a position drawn uniformly from
    ``[0, T)`` and wrapping around the end.

    Parameters
    ----------
    x : torch.Tensor of shape (batch, n_leads, n_timepoints)
        The batch to mask; only its shape and device are used.
    mask_ratio : float
        Fraction of each lead's time steps to hide, in [0, 1].
    generator : torch.Generator, default=None
        Source of randomness; a seeded generator makes the masks
        reproducible. ``None`` uses torch's global generator.

    Returns
    -------
    masks : torch.Tensor of shape (batch, n_leads, n_timepoints), dtype bool
        True at the hidden time steps, on the device of ``x``.

    See Also
    --------
    mask_time : Zero the masked time steps.

    Examples
    --------
    >>> import torch
    >>> from sk3kg.augment import time_masks
    >>> masks = time_masks(torch.zeros(2, 12, 100), 0.25, torch.Generator().manual_seed(0))
    >>> masks.shape, masks.dtype
    (torch.Size([2, 12, 100]), torch.bool)
    >>> masks.sum(dim=2).unique()  # every lead hides floor(0.25 * 100) steps
    tensor([25])
    """
    length = x.shape[-1]
    rows = window_rows(x, generator)
    hidden = block_windows(length, math.floor(mask_ratio * length), torch.bool, x.device)
    return hidden[rows]


def window_rows(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw each lead's block start; return it as a row index of :func:`block_windows`."""
    batch, n_leads, length = x.shape
    starts = uniform(
        (batch, n_leads), 0.0, float(length), like=x, generator=generator, dtype=torch.float32
    )
    return length - starts.floor().long().clamp_(max=length - 1)


def block_windows(
    length: int, width: int, dtype: torch.dtype, device: torch.device, *, hidden: bool = True
) -> torch.Tensor:
    """Every wrapped block pattern as rows of a ``(length + 1, length)`` view.

    Row ``length - start`` is 1 (or True) on the block of ``width`` steps that
    starts at ``start``, 0 elsewhere; ``hidden=False`` gives the complement.
    Gathering rows copies bytes instead of computing ``(t - start) mod T`` for
    every sample.
    """
    pattern = torch.arange(2 * length, device=device).remainder_(length) < width
    if not hidden:
        pattern = ~pattern
    return pattern.to(dtype).unfold(0, length, 1)


def mask_time(
    x: torch.Tensor, mask_ratio: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Zero one random contiguous block of each lead of each sample.

    The blocks are those of :func:`time_masks`: ``floor(mask_ratio * T)``
    consecutive steps per lead, starting anywhere and wrapping around the end.

    Parameters
    ----------
    x : torch.Tensor of shape (batch, n_leads, n_timepoints)
        The ECGs to mask.
    mask_ratio : float
        Fraction of each lead's time steps to zero, in [0, 1].
    generator : torch.Generator, default=None
        Source of randomness; a seeded generator makes the masks
        reproducible. ``None`` uses torch's global generator.

    Returns
    -------
    masked : torch.Tensor of shape (batch, n_leads, n_timepoints)
        A masked copy of ``x``; ``x`` itself when ``mask_ratio`` is 0.

    See Also
    --------
    time_masks : The boolean masks.

    Examples
    --------
    >>> import torch
    >>> from sk3kg.augment import mask_time
    >>> x = torch.ones(2, 12, 100)
    >>> masked = mask_time(x, 0.5, torch.Generator().manual_seed(0))
    >>> (masked == 0).sum(dim=2).unique()  # half of every lead is zeroed
    tensor([50])
    >>> bool((x == 1).all())  # the input is left as it was
    True
    """
    if mask_ratio == 0:
        return x
    return x.masked_fill(time_masks(x, mask_ratio, generator), 0.0)
