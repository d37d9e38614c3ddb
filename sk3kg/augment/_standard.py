"""Per-lead augmentations of the ECG SimCLR baselines, for comparison with 3KG."""

import math

import torch
from torch import nn

from ._checks import check_batch, check_range
from ._random import uniform


class StandardAugment(nn.Module):
    """Generic time-series views of ECGs, as used by ECG SimCLR baselines.

    Applied in this order to each sample of a batch, all batched:

    1. time shift: a circular shift of all leads by up to ``shift * T``
       steps either way;
    2. amplitude scaling: each lead multiplied by a factor drawn
       log-uniformly from ``[1 / amplitude, amplitude]``;
    3. baseline wander: each lead gets a sinusoid of 0.05-0.5 Hz (respiration
       and electrode drift), random phase, amplitude up to ``wander`` times
       the lead's standard deviation;
    4. Gaussian noise of standard deviation ``noise`` times the lead's
       standard deviation.

    This is the family of per-lead transformations that Mehari and
    Strodthoff [1]_ found best for SimCLR on 12-lead ECGs (noise, baseline
    wander, amplitude or "channel resize", shift or crop) and that CLOCS [2]_
    used (Gaussian noise); unlike 3KG they ignore the leads' common 3D origin.

    Parameters
    ----------
    noise : float, default=0.05
        Standard deviation of the additive noise, relative to each lead's.
    amplitude : float, default=1.5
        Largest per-lead amplitude factor (and its reciprocal the smallest).
    shift : float, default=0.1
        Largest circular time shift, as a fraction of the signal length.
    wander : float, default=0.1
        Largest baseline-wander amplitude, relative to each lead's standard
        deviation.
    fs : float, default=500.0
        Sampling frequency in Hz, to place the wander in 0.05-0.5 Hz.

    See Also
    --------
    ThreeKGAugment : The physiologically-inspired 3KG views.

    References
    ----------
    .. [1] T. Mehari and N. Strodthoff, "Self-supervised representation
       learning from 12-lead ECG data", Comput. Biol. Med. 141:105114, 2022.
    .. [2] D. Kiyasseh, T. Zhu and D. A. Clifton, "CLOCS: Contrastive
       Learning of Cardiac Signals Across Space, Time, and Patients",
       Proc. ICML, PMLR 139:5606-5615, 2021.

    Examples
    --------
    >>> import torch
    >>> from sk3kg.augment import StandardAugment
    >>> generator = torch.Generator().manual_seed(0)
    >>> ecg = torch.randn(4, 12, 500, generator=generator)
    >>> views = StandardAugment()(ecg, generator)
    >>> views.shape
    torch.Size([4, 12, 500])
    >>> ratio = views.std(dim=2) / ecg.std(dim=2)  # per-lead amplitude factors, noise aside
    >>> bool(ratio.min() > 1 / 1.6 and ratio.max() < 1.6)
    True
    """

    def __init__(
        self,
        noise: float = 0.05,
        amplitude: float = 1.5,
        shift: float = 0.1,
        wander: float = 0.1,
        *,
        fs: float = 500.0,
    ) -> None:
        super().__init__()
        check_range("noise", noise, 0.0, float("inf"))
        check_range("amplitude", amplitude, 1.0, float("inf"))
        check_range("shift", shift, 0.0, 1.0)
        check_range("wander", wander, 0.0, float("inf"))
        check_range("fs", fs, 1e-9, float("inf"))
        self.noise, self.amplitude, self.shift, self.wander = noise, amplitude, shift, wander
        self.fs = float(fs)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Return one random view of each ECG in the batch.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_leads, n_timepoints)
            The ECGs.
        generator : torch.Generator, default=None
            Source of randomness; a seeded generator makes the views
            reproducible. ``None`` uses torch's global generator.

        Returns
        -------
        views : torch.Tensor of shape (batch, n_leads, n_timepoints)
            The views, of the dtype and device of ``x``.
        """
        check_batch(x, None, type(self).__name__)
        batch, n_leads, length = x.shape

        def draw(shape: tuple[int, ...], low: float, high: float) -> torch.Tensor:
            return uniform(shape, low, high, like=x, generator=generator)

        steps = torch.arange(length, device=x.device)
        max_shift = math.floor(self.shift * length)
        offsets = draw((batch, 1, 1), -max_shift, max_shift + 1).floor().long()
        x = x.gather(2, (steps - offsets).remainder(length).expand(batch, n_leads, length))

        log_amp = math.log(self.amplitude)
        x = x * draw((batch, n_leads, 1), -log_amp, log_amp).exp()

        lead_std = x.std(dim=2, keepdim=True, correction=0)
        seconds = steps.to(x.dtype) / self.fs
        freq = draw((batch, n_leads, 1), 0.05, 0.5)
        phase = draw((batch, n_leads, 1), 0.0, 2 * math.pi)
        wander = draw((batch, n_leads, 1), 0.0, self.wander) * lead_std
        x = x + wander * torch.sin(2 * math.pi * freq * seconds + phase)

        noise = torch.randn(x.shape, generator=generator, device=_device(x, generator))
        return x + self.noise * lead_std * noise.to(x.device, x.dtype)

    def extra_repr(self) -> str:
        """Return the settings shown in the module's ``repr``.

        Returns
        -------
        settings : str
            The settings, as ``name=value`` pairs.
        """
        return (
            f"noise={self.noise}, amplitude={self.amplitude}, shift={self.shift}, "
            f"wander={self.wander}, fs={self.fs}"
        )


def _device(x: torch.Tensor, generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else x.device
