"""Argument and batch checks shared by the augmentations."""

from collections.abc import Sequence

import torch


def check_choice(name: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not one of {', '.join(map(repr, choices))}.")


def check_range(name: str, value: float, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValueError(f"{name} must be a number in [{low}, {high}], got {value!r}.")


def check_batch(x: torch.Tensor, n_leads: int | None, name: str) -> None:
    """Refuse anything but a floating-point ``(batch, n_leads, n_timepoints)`` tensor."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} takes a torch.Tensor, got {type(x).__name__}.")
    if not x.is_floating_point():
        raise TypeError(f"{name} takes a floating-point tensor, got {x.dtype}.")
    if x.ndim != 3:
        raise ValueError(
            f"{name} takes a batch of shape (batch, n_leads, n_timepoints), "
            f"got {x.ndim} dimension(s) {tuple(x.shape)}."
        )
    if n_leads is not None and x.shape[1] != n_leads:
        raise ValueError(
            f"{name} was built for {n_leads} leads, got {x.shape[1]} "
            f"(shape {tuple(x.shape)}); pass leads= matching the signal's rows."
        )
    # One reduction instead of a boolean copy of the batch: NaN and inf survive a sum.
    if not torch.isfinite(x.sum(dim=(1, 2))).all():
        finite = torch.isfinite(x).flatten(1).all(dim=1)
        if finite.all():  # the sum overflowed, the values are fine
            return
        bad = torch.nonzero(~finite).flatten()[:5].tolist()
        raise ValueError(
            f"{name} got NaN or infinite values in sample(s) {bad} of the batch; "
            "repair the signals (e.g. interpolate gaps) before augmenting them."
        )
