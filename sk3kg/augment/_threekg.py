"""The 3KG augmentation: rotate and scale the VCG, project back, mask in time."""

import math
from collections.abc import Sequence

import torch
from torch import nn

from ..vcg import ecg_to_vcg_matrix, resolve_leads, vcg_to_ecg_matrix
from ._checks import check_batch, check_choice, check_range
from ._masking import block_windows, mask_time, window_rows
from ._spatial import ROTATION_ORDERS, SCALE_LAWS, random_rotations, random_scalings

MODES = ("project", "residual")

# On a CPU the mask is applied in blocks of about 2 MiB of samples, whose 0/1
# factors are gathered and used while they are in the L2 cache: 1.2x faster than
# one whole-batch pass on 256 x 12 x 2500 (benchmarks/speed.py, 2-core EPYC).
CPU_BLOCK_BYTES = 2**21


class ThreeKGAugment(nn.Module):
    """Physiologically-inspired views of 12-lead ECGs (3KG).

    Each call draws, per sample, a random rotation ``R`` and axis scaling
    ``S`` of the heart's vector and applies ``ECG' = D S R D^-1 ECG`` on the
    leads (``D`` the Dower matrix, ``D^-1`` the inverse Dower matrix), as one
    batched matrix product; then it zeroes one random contiguous block of
    ``floor(mask_ratio * T)`` time steps in every lead of every sample.

    Parameters
    ----------
    angle : float, default=45.0
        Largest rotation about each of the x, y and z axes, in degrees; each
        angle is drawn from U(-angle, angle).
    scale : float, default=1.5
        Largest scaling of each VCG axis; each factor is drawn from
        U(1, scale) (then inverted with probability 1/2 under
        ``scale_law="reciprocal"``).
    mask_ratio : float, default=0.5
        Fraction of each lead's time steps hidden by the contiguous mask.
    leads : "standard" or list of str, default="standard"
        Names of the input's rows. The spatial part needs I, II and V1-V6;
        without them, use ``angle=0`` and ``scale=1`` (masking only).
    mode : {"project", "residual"}, default="project"
        ``"project"`` is the paper's formula ``D S R D^-1 x``, which keeps
        only the dipolar part of the ECG. ``"residual"`` computes
        ``x + D (S R - I) D^-1 x``: the dipolar part is transformed and the
        non-dipolar residual of a real ECG is kept, so zero strength is an
        exact identity.
    rotation_order : {"random", "xyz"}, default="random"
        Order in which the three axis rotations are composed: a random order
        per sample (the 3KG authors' training code) or x, then y, then z.
    scale_law : {"reciprocal", "uniform"}, default="reciprocal"
        ``"reciprocal"``: a factor from U(1, scale) is inverted with
        probability 1/2, so views shrink as well as grow (the 3KG authors'
        training code). ``"uniform"``: factors from U(1, scale), views only
        grow (the fairseq-signals reimplementation).

    See Also
    --------
    StandardAugment : The per-lead augmentations of ECG SimCLR baselines.
    sk3kg.vcg.ecg_to_vcg : The ECG-to-VCG transform used here.

    References
    ----------
    .. [1] B. Gopal et al., "3KG: Contrastive Learning of 12-Lead
       Electrocardiograms using Physiologically-Inspired Augmentations",
       Proc. Machine Learning for Health, PMLR 158:156-167, 2021.

    Examples
    --------
    >>> import torch
    >>> from sk3kg.augment import ThreeKGAugment
    >>> augment = ThreeKGAugment(angle=45.0, scale=1.5, mask_ratio=0.5)
    >>> generator = torch.Generator().manual_seed(0)
    >>> ecg = torch.randn(8, 12, 1000, generator=generator)
    >>> views = augment(ecg, generator=generator)
    >>> views.shape
    torch.Size([8, 12, 1000])
    >>> bool(((views == 0).sum(dim=2) >= 500).all())  # half of every lead is masked
    True
    """

    def __init__(
        self,
        angle: float = 45.0,
        scale: float = 1.5,
        mask_ratio: float = 0.5,
        *,
        leads: str | Sequence[str] = "standard",
        mode: str = "project",
        rotation_order: str = "random",
        scale_law: str = "reciprocal",
    ) -> None:
        super().__init__()
        check_range("angle", angle, 0.0, 180.0)
        check_range("scale", scale, 1.0, float("inf"))
        check_range("mask_ratio", mask_ratio, 0.0, 1.0)
        check_choice("mode", mode, MODES)
        check_choice("rotation_order", rotation_order, ROTATION_ORDERS)
        check_choice("scale_law", scale_law, SCALE_LAWS)
        self.angle, self.scale, self.mask_ratio = float(angle), float(scale), mask_ratio
        self.leads = resolve_leads(leads)
        self.mode, self.rotation_order, self.scale_law = mode, rotation_order, scale_law
        self.spatial = angle > 0 or scale > 1
        to_vcg = to_ecg = torch.empty(0)
        if self.spatial:
            try:
                to_vcg = torch.as_tensor(ecg_to_vcg_matrix(self.leads))
            except ValueError as error:
                raise ValueError(f"{error} For masking only, set angle=0 and scale=1.") from None
            to_ecg = torch.as_tensor(vcg_to_ecg_matrix(self.leads))
        self.register_buffer("to_vcg", to_vcg, persistent=False)
        self.register_buffer("to_ecg", to_ecg, persistent=False)

    def spatial_operators(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Draw the spatial part of one call: a lead-space matrix per sample.

        The matrix is ``D S R D^-1`` (or ``I + D (S R - I) D^-1`` in
        ``"residual"`` mode) for a random rotation ``R`` and scaling ``S``;
        :meth:`forward` multiplies each ECG by its matrix, then masks.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_leads, n_timepoints)
            The batch; only its size, dtype and device are used.
        generator : torch.Generator, default=None
            Source of randomness; ``None`` uses torch's global generator.

        Returns
        -------
        operators : torch.Tensor of shape (batch, n_leads, n_leads)
            One matrix per sample, of the dtype and device of ``x``.

        Examples
        --------
        >>> import torch
        >>> from sk3kg.augment import ThreeKGAugment
        >>> augment = ThreeKGAugment(mask_ratio=0.0)
        >>> x = torch.randn(2, 12, 250, generator=torch.Generator().manual_seed(0))
        >>> operators = augment.spatial_operators(x, torch.Generator().manual_seed(1))
        >>> operators.shape
        torch.Size([2, 12, 12])
        >>> views = augment(x, torch.Generator().manual_seed(1))  # same draws, no mask
        >>> torch.allclose(views, operators @ x, atol=1e-5)
        True
        >>> torch.allclose(views[:, 2], views[:, 1] - views[:, 0], atol=1e-5)  # III = II - I
        True
        """
        n = x.shape[0]
        rotation = random_rotations(
            n, self.angle, order=self.rotation_order, like=x, generator=generator
        )
        factors = random_scalings(n, self.scale, law=self.scale_law, like=x, generator=generator)
        dipole_map = factors[:, :, None] * rotation  # S @ R
        to_vcg, to_ecg = self.to_vcg.to(x.dtype), self.to_ecg.to(x.dtype)
        if self.mode == "residual":
            dipole_map = dipole_map - torch.eye(3, dtype=x.dtype, device=x.device)
        operator = to_ecg @ dipole_map @ to_vcg
        if self.mode == "residual":
            operator = operator + torch.eye(len(self.leads), dtype=x.dtype, device=x.device)
        return operator

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Return one random 3KG view of each ECG in the batch.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_leads, n_timepoints)
            The ECGs, rows in the order of ``leads``.
        generator : torch.Generator, default=None
            Source of randomness; a seeded generator makes the views
            reproducible. ``None`` uses torch's global generator.

        Returns
        -------
        views : torch.Tensor of shape (batch, n_leads, n_timepoints)
            The views, of the dtype and device of ``x``.
        """
        check_batch(x, len(self.leads), type(self).__name__)
        if x.numel() == 0:
            return x.clone()
        if not self.spatial:
            return mask_time(x, self.mask_ratio, generator)
        views = torch.bmm(self.spatial_operators(x, generator), x)
        if self.mask_ratio == 0:
            return views
        return self._mask_in_blocks_(views, window_rows(x, generator))

    def _mask_in_blocks_(self, views: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """Zero each lead's block in place, a cache-sized block of samples at a time on a CPU."""
        batch, n_leads, length = views.shape
        width = math.floor(self.mask_ratio * length)
        keep = block_windows(length, width, views.dtype, views.device, hidden=False)
        sample_bytes = n_leads * length * views.element_size()
        step = batch if views.device.type != "cpu" else max(1, CPU_BLOCK_BYTES // sample_bytes)
        for start in range(0, batch, step):
            block = views[start : start + step]
            # Multiplying by 0/1 factors is ~10x faster than masked_fill_ on CPUs.
            block.mul_(keep.index_select(0, rows[start : start + step].flatten()).view_as(block))
        return views

    def extra_repr(self) -> str:
        """Return the settings shown in the module's ``repr``.

        Returns
        -------
        settings : str
            The settings, as ``name=value`` pairs.
        """
        return (
            f"angle={self.angle}, scale={self.scale}, mask_ratio={self.mask_ratio}, "
            f"mode={self.mode!r}, rotation_order={self.rotation_order!r}, "
            f"scale_law={self.scale_law!r}, n_leads={len(self.leads)}"
        )
