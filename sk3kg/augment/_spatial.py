"""Random rotations and scalings of the vectorcardiogram, as batched 3x3 matrices."""

import math

import torch

from ._checks import check_choice
from ._random import uniform

ROTATION_ORDERS = ("random", "xyz")
SCALE_LAWS = ("reciprocal", "uniform")


def axis_rotations(angles: torch.Tensor) -> torch.Tensor:
    """Return the rotation matrices about the x, y and z axes for given angles.

    ``out[..., k, :, :]`` rotates by ``angles[..., k]`` about axis ``k``
    (counter-clockwise, right-handed, acting on column vectors).

    Parameters
    ----------
    angles : torch.Tensor of shape (..., 3)
        Angles about x, y and z, in radians.

    Returns
    -------
    rotations : torch.Tensor of shape (..., 3, 3, 3)
        One 3x3 rotation matrix per angle, of the dtype and device of ``angles``.

    See Also
    --------
    random_rotations : Random products of these rotations.

    Examples
    --------
    >>> import math
    >>> import torch
    >>> from sk3kg.augment import axis_rotations
    >>> rotations = axis_rotations(torch.tensor([0.0, 0.0, math.pi / 2]))
    >>> rotations.shape
    torch.Size([3, 3, 3])
    >>> x_axis, y_axis = torch.tensor([1.0, 0.0, 0.0]), torch.tensor([0.0, 1.0, 0.0])
    >>> torch.allclose(rotations[2] @ x_axis, y_axis, atol=1e-6)  # a quarter turn about z
    True
    >>> torch.equal(rotations[0], torch.eye(3))  # zero angle about x
    True
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
    """Draw ``n`` random 3D rotations, the rotations of 3KG's views.

    Each is the product of rotations about x, y and z by angles drawn from
    U(-angle, angle) degrees. With ``order="random"`` the three are applied in
    a random order per sample (the law of the 3KG authors' training code);
    with ``order="xyz"`` x is applied first, then y, then z.

    Parameters
    ----------
    n : int
        Number of rotations.
    angle : float
        Largest rotation about each axis, in degrees.
    order : {"random", "xyz"}, default="random"
        Order in which the three axis rotations are composed.
    like : torch.Tensor
        The rotations get its dtype and device.
    generator : torch.Generator, default=None
        Source of randomness; a seeded generator makes the rotations
        reproducible. ``None`` uses torch's global generator.

    Returns
    -------
    rotations : torch.Tensor of shape (n, 3, 3)
        Orthogonal matrices of determinant 1.

    See Also
    --------
    axis_rotations : The rotations about one axis.
    ThreeKGAugment : Applies these rotations to the heart's vector.

    Examples
    --------
    >>> import torch
    >>> from sk3kg.augment import random_rotations
    >>> x = torch.zeros(4, 12, 100, dtype=torch.float64)
    >>> rotations = random_rotations(4, 45.0, like=x, generator=torch.Generator().manual_seed(0))
    >>> rotations.shape, rotations.dtype
    (torch.Size([4, 3, 3]), torch.float64)
    >>> torch.allclose(rotations @ rotations.mT, torch.eye(3, dtype=torch.float64).expand(4, 3, 3))
    True
    >>> torch.allclose(torch.linalg.det(rotations), torch.ones(4, dtype=torch.float64))
    True
    """
    check_choice("order", order, ROTATION_ORDERS)
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
    """Draw ``n`` random scalings of the three VCG axes, as diagonal factors.

    Each factor is drawn from U(1, scale). With ``law="reciprocal"`` (the 3KG
    authors' training code) it is replaced by its reciprocal with probability
    1/2, so views shrink as often as they grow; with ``law="uniform"`` (the
    fairseq-signals reimplementation) views only grow.

    Parameters
    ----------
    n : int
        Number of scalings.
    scale : float
        Largest factor, at least 1.
    law : {"reciprocal", "uniform"}, default="reciprocal"
        Whether a factor is inverted with probability 1/2.
    like : torch.Tensor
        The factors get its dtype and device.
    generator : torch.Generator, default=None
        Source of randomness; a seeded generator makes the factors
        reproducible. ``None`` uses torch's global generator.

    Returns
    -------
    factors : torch.Tensor of shape (n, 3)
        Factors of the X, Y and Z axes, the diagonals of the scaling matrices;
        in ``[1 / scale, scale]`` (``"reciprocal"``) or ``[1, scale]``
        (``"uniform"``).

    See Also
    --------
    ThreeKGAugment : Applies these scalings to the heart's vector.

    Examples
    --------
    >>> import torch
    >>> from sk3kg.augment import random_scalings
    >>> x, generator = torch.zeros(8, 12, 100), torch.Generator().manual_seed(0)
    >>> factors = random_scalings(8, 1.5, like=x, generator=generator)
    >>> factors.shape
    torch.Size([8, 3])
    >>> bool(((factors >= 1 / 1.5) & (factors <= 1.5)).all())
    True
    >>> bool((factors < 1).any() and (factors > 1).any())  # views shrink and grow
    True
    >>> grow = random_scalings(8, 1.5, law="uniform", like=x, generator=generator)
    >>> bool((grow >= 1).all())
    True
    """
    check_choice("law", law, SCALE_LAWS)
    factors = uniform((n, 3), 1.0, scale, like=like, generator=generator)
    if law == "reciprocal":
        flip = uniform((n, 3), 0.0, 1.0, like=like, generator=generator) < 0.5
        factors = torch.where(flip, factors.reciprocal(), factors)
    return factors
