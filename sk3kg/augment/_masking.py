"""Contiguous time masking, one block per sample and lead."""

import math

import torch

from ._random import uniform


def time_masks(
    x: torch.Tensor, mask_ratio: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Boolean masks ``(batch, n_leads, n_timepoints)``, True where a sample is hidden.

    Each lead of each sample hides one block of ``floor(mask_ratio * T)``
    consecutive time steps, starting at a position drawn uniformly from
    ``[0, T)`` and wrapping around the end.
    """
    batch, n_leads, length = x.shape
    width = math.floor(mask_ratio * length)
    starts = uniform(
        (batch, n_leads), 0.0, float(length), like=x, generator=generator, dtype=torch.float32
    )
    starts = starts.floor().long().clamp_(max=length - 1)
    # Row k of `windows` is the mask of a block starting at length - k: gathering
    # rows copies bytes instead of computing (t - start) mod T for every sample.
    pattern = torch.arange(2 * length, device=x.device).remainder_(length) < width
    windows = pattern.unfold(0, length, 1)
    return windows[length - starts]


def mask_time(
    x: torch.Tensor, mask_ratio: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Zero one random contiguous block of each lead (see :func:`time_masks`)."""
    if mask_ratio == 0:
        return x
    return x.masked_fill(time_masks(x, mask_ratio, generator), 0.0)


def mask_time_(
    x: torch.Tensor, mask_ratio: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """In-place :func:`mask_time`, for a tensor the caller owns."""
    if mask_ratio == 0:
        return x
    return x.masked_fill_(time_masks(x, mask_ratio, generator), 0.0)
