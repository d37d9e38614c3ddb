"""Batched random draws that honour an optional ``torch.Generator``."""

import torch


def uniform(
    shape: tuple[int, ...],
    low: float,
    high: float,
    *,
    like: torch.Tensor,
    generator: torch.Generator | None,
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Draw U(low, high) on the generator's device, returned on ``like``'s device.

    Drawing where the generator lives keeps a seeded CPU generator reproducible
    whatever device the signal is on.
    """
    device = generator.device if generator is not None else like.device
    draw = torch.rand(shape, generator=generator, device=device, dtype=torch.float32)
    draw = draw.to(device=like.device, dtype=dtype or like.dtype)
    return low + (high - low) * draw
