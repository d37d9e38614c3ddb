"""Time windows of a record: the two crops a contrastive pair starts from."""

import torch

from ._checks import check_batch, check_choice
from ._random import uniform

PLACEMENTS = ("random", "adjacent", "same")


def check_crop_length(length: int, n_timepoints: int, *, needed: int = 1) -> None:
    """Refuse a crop that ``needed`` windows of ``length`` steps cannot fit in the records.

    The one message for fit, transform and the augmentation itself.
    """
    if needed * length > n_timepoints:
        what = f"crop={length}" if needed == 1 else f"{needed} adjacent windows of crop={length}"
        raise ValueError(
            f"{what} time steps do not fit in records of {n_timepoints} time steps; set crop "
            f"to at most {n_timepoints // needed} (or None to use whole records), or pass "
            "longer records."
        )


def crop_at(x: torch.Tensor, starts: torch.Tensor, length: int) -> torch.Tensor:
    """The window ``x[i, :, starts[i] : starts[i] + length]`` of every sample ``i``.

    Parameters
    ----------
    x : torch.Tensor of shape (batch, n_leads, n_timepoints)
        The records.
    starts : torch.Tensor of shape (batch,), integer
        The first time step of each sample's window.
    length : int
        Time steps per window.

    Returns
    -------
    windows : torch.Tensor of shape (batch, n_leads, length)
        The windows, gathered in one batched operation.

    Examples
    --------
    >>> import torch
    >>> from sk3kg.augment import crop_at
    >>> x = torch.arange(10.0).repeat(2, 1, 1)  # two samples, one lead
    >>> crop_at(x, torch.tensor([0, 6]), 3)
    tensor([[[0., 1., 2.]],
    <BLANKLINE>
            [[6., 7., 8.]]])
    """
    batch, n_leads, _ = x.shape
    steps = starts.to(x.device).view(-1, 1) + torch.arange(length, device=x.device)
    return x.gather(2, steps.unsqueeze(1).expand(batch, n_leads, length))


class CropPair:
    """Cut the two windows of a contrastive pair from each record of a batch.

    ``"random"``: the two windows start at independent uniform positions (the
    3KG authors' 5-s crops, where any two crops of a record are positives);
    they may overlap. ``"adjacent"``: the second window starts where the first
    ends (CMSC, Kiyasseh et al. 2021: adjacent non-overlapping segments of a
    recording are positives), the pair placed uniformly in the record.
    ``"same"``: both views start from one random window (crops only to make
    each view cheaper; the views share every beat's timing).

    Parameters
    ----------
    length : int
        Time steps per window.
    placement : {"random", "adjacent", "same"}, default="random"
        Where the second window lies relative to the first.

    See Also
    --------
    crop_at : Cut given windows.
    sk3kg.ThreeKGEmbedder : Its ``crop`` and ``crop_placement`` parameters.

    References
    ----------
    .. [1] D. Kiyasseh, T. Zhu and D. Clifton, "CLOCS: Contrastive Learning of
       Cardiac Signals Across Space, Time, and Patients", Proc. ICML, PMLR
       139:5606-5615, 2021.

    Examples
    --------
    >>> import torch
    >>> from sk3kg.augment import CropPair
    >>> x = torch.arange(10.0).repeat(3, 12, 1)  # three records of 10 steps
    >>> first, second = CropPair(4, "adjacent")(x, torch.Generator().manual_seed(0))
    >>> first.shape
    torch.Size([3, 12, 4])
    >>> bool((second[:, :, 0] == first[:, :, -1] + 1).all())  # second starts after first
    True
    """

    def __init__(self, length: int, placement: str = "random") -> None:
        check_choice("placement", placement, PLACEMENTS)
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            raise ValueError(f"length must be a positive integer, got {length!r}.")
        self.length, self.placement = length, placement

    def __call__(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the first and the second window of every record.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, n_leads, n_timepoints)
            The records.
        generator : torch.Generator, default=None
            Draws the windows' positions; ``None`` uses torch's global generator.

        Returns
        -------
        first, second : torch.Tensor of shape (batch, n_leads, length)
            The two windows of each record.
        """
        check_batch(x, None, type(self).__name__)
        adjacent = self.placement == "adjacent"
        span = self.length * (2 if adjacent else 1)
        check_crop_length(self.length, x.shape[-1], needed=2 if adjacent else 1)
        first = self._starts(x, x.shape[-1] - span, generator)
        if self.placement == "random":
            second = self._starts(x, x.shape[-1] - span, generator)
        else:
            second = first + self.length if adjacent else first
        return crop_at(x, first, self.length), crop_at(x, second, self.length)

    @staticmethod
    def _starts(x: torch.Tensor, last: int, generator: torch.Generator | None) -> torch.Tensor:
        """Uniform integer starts in ``[0, last]``, one per sample."""
        draw = uniform((len(x),), 0.0, float(last + 1), like=x, generator=generator,
                       dtype=torch.float32)  # fmt: skip
        return draw.floor().long().clamp_(max=last)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.length}, placement={self.placement!r})"
