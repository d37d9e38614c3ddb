"""Random rotations and scalings of the vectorcardiogram, as batched 3x3 matrices."""

import math

import torch

from ._random import uniform

ROTATION_ORDERS = ("random", "xyz")
SCALE_LAWS = ("reciprocal", "uniform")


def axis_rotations(angles: torch.Tensor) -> torch.Tensor:
    """Rotation matrices about x, y and z: ``(..., 3)`` radians to ``(..., 3, 3, 3)``.

    ``out[..., k, :, :]`` rotates by ``angles[..., k]`` about axis ``k``.
    """
    cos, sin = torch.cos(angles), torch.sin(angles)
    one, zero = torch.ones_like(cos[..., 0]), torch.zeros_like(cos[..., 0])
    cx, cy, cz = cos.unbind(-1)
    sx, sy, sz = sin.unbind(-1)
    rows = [
        [one, zero, zero, zero, cx, -sx, zero, sx, cx],
        [cy, zero, sy, zero, one, zero, -sy, zero, cy],
        [cz, -sz, zero, sz, cz, zero, zero, zero, one],
    ]
    per_axis = [torch.stack(r, dim=-1).unflatten(-1, (3, 3)) for r in rows]
    return torch.stack(per_axis, dim=-3)


def random_rotations(
    n: int,
    angle: float,
    *,
    order: str = "random",
    like: torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``n`` random 3D rotations, ``(n, 3, 3)``.

    Each is the product of rotations about x, y and z by angles drawn from
    U(-angle, angle) degrees. With ``order="random"`` the three are applied in
    a random order per sample (the law of the 3KG authors' training code);
    with ``order="xyz"`` x is applied first, then y, then z.
    """
    radians = math.radians(angle)
    angles = uniform((n, 3), -radians, radians, like=like, generator=generator)
    per_axis = axis_rotations(angles)
    if order == "xyz":
        permutation = torch.arange(3, device=like.device).expand(n, 3)
    else:
        keys = uniform((n, 3), 0.0, 1.0, like=like, generator=generator)
        permutation = keys.argsort(dim=1)
    rows = torch.arange(n, device=like.device)[:, None]
    first, second, third = per_axis[rows, permutation].unbind(1)
    return third @ second @ first


def random_scalings(
    n: int,
    scale: float,
    *,
    law: str = "reciprocal",
    like: torch.Tensor,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``n`` random diagonal scalings of the three VCG axes, ``(n, 3)`` factors.

    Each factor is drawn from U(1, scale). With ``law="reciprocal"`` (the 3KG
    authors' training code) it is replaced by its reciprocal with probability
    1/2, so views shrink as often as they grow; with ``law="uniform"`` (the
    fairseq-signals reimplementation) views only grow.
    """
    factors = uniform((n, 3), 1.0, scale, like=like, generator=generator)
    if law == "reciprocal":
        flip = uniform((n, 3), 0.0, 1.0, like=like, generator=generator) < 0.5
        factors = torch.where(flip, factors.reciprocal(), factors)
    return factors
