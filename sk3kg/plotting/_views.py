"""An ECG beside the augmented views a contrastive model is trained on."""

import numbers
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch

from ._paper import TRACE, check_ecg, lead_rows, to_numpy

MASK_COLOR = "#f0a030"


def _generator(random_state):
    """A torch.Generator: as given, seeded with an int, or drawn from a RandomState."""
    import torch

    if isinstance(random_state, torch.Generator):
        return random_state
    generator = torch.Generator()
    if random_state is None:  # fresh entropy, leaving the global generators alone
        generator.seed()
    elif isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        generator.manual_seed(int(random_state))
    else:
        from sklearn.utils import check_random_state

        generator.manual_seed(int(check_random_state(random_state).randint(2**31 - 1)))
    return generator


def _draw_views(augment, signal: np.ndarray, n_views: int, random_state) -> np.ndarray:
    """``n_views`` views ``(n_views, n_leads, T)`` of one ECG, from one batched call."""
    import torch

    batch = torch.as_tensor(signal, dtype=torch.float32).expand(n_views, -1, -1).contiguous()
    with torch.no_grad():
        views = augment(batch, generator=_generator(random_state))
    views = to_numpy(views)
    if views.shape != tuple(batch.shape):
        raise ValueError(
            f"augment returned shape {views.shape} for a batch of shape {tuple(batch.shape)}; "
            "it must return views of the same shape."
        )
    return views


def masked_spans(view: np.ndarray, active: np.ndarray) -> list[tuple[int, int]]:
    """``(first, stop)`` sample ranges where a view lead is masked.

    A masked span is a run of at least 2 exact zeros in ``view`` during which
    the original ECG is not silent (``active``: some lead non-zero); a view is
    also zero where the original is, as on the isoelectric line of a clean ECG.
    """
    edges = np.diff(np.concatenate([[0], (view == 0).astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(a, b) for a, b in zip(starts, stops, strict=True) if b - a >= 2 and active[a:b].any()]


def _draw_trace(ax, trace: np.ndarray, fs: float, active: np.ndarray | None) -> None:
    ax.plot(np.arange(trace.size) / fs, trace, color=TRACE, linewidth=0.7)
    if active is not None:
        for first, stop in masked_spans(trace, active):
            ax.axvspan(first / fs, stop / fs, color=MASK_COLOR, alpha=0.3, lw=0, gid="masked")
    ax.grid(color="#f2c4c4", linewidth=0.5)
    ax.set_axisbelow(True)


def plot_views(
    ecg,
    augment=None,
    *,
    n_views: int = 2,
    fs: float = 500,
    leads: str | Sequence[str] = "standard",
    show_leads: Sequence[str] | None = ("I", "II", "V1", "V4"),
    random_state=0,
    fig=None,
):
    """Draw an ECG beside random views of it from an augmentation.

    The columns are the original ECG and ``n_views`` views, drawn by one call
    of ``augment`` on a batch of ``n_views`` copies of the ECG; the rows are
    leads. The time masks of :class:`~sk3kg.augment.ThreeKGAugment` are
    shaded: the spans in which a view lead is exactly zero for at least 2
    samples while the original ECG is not silent (all leads zero) throughout.

    Parameters
    ----------
    ecg : array-like or torch.Tensor of shape (n_leads, n_timepoints)
        One ECG in mV.
    augment : callable, default=None
        Called as ``augment(batch, generator=generator)`` on a float32 torch
        tensor ``(n_views, n_leads, n_timepoints)``, it returns views of the
        same shape, such as :class:`~sk3kg.augment.ThreeKGAugment` or
        :class:`~sk3kg.augment.StandardAugment`. None uses
        ``ThreeKGAugment(leads=leads)``, the 3KG defaults.
    n_views : int, default=2
        Number of views.
    fs : float, default=500
        Sampling rate in Hz.
    leads : "standard" or list of str, default="standard"
        Names of the rows of ``ecg``.
    show_leads : list of str or None, default=("I", "II", "V1", "V4")
        Leads to draw, one row each, named in any case; None draws all.
    random_state : int, RandomState instance, torch.Generator or None, default=0
        Source of the views' randomness: an int seeds a new
        ``torch.Generator`` (``torch.Generator().manual_seed(random_state)``),
        a generator is used as is, None draws fresh entropy.
    fig : matplotlib.figure.Figure, default=None
        An empty figure to draw on. None creates one with
        :func:`matplotlib.pyplot.figure`.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Axes in row-major order, ``len(show_leads)`` rows by ``n_views + 1``
        columns; masked spans are patches with gid ``"masked"``.

    See Also
    --------
    plot_ecg : One ECG as a clinical printout.
    sk3kg.augment.ThreeKGAugment : The 3KG views.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sk3kg.datasets import make_synthetic_ecgs
    >>> from sk3kg.plotting import plot_views
    >>> ecg = make_synthetic_ecgs(1, random_state=2).data[0]
    >>> fig = plot_views(ecg, n_views=2, random_state=0)
    >>> [ax.get_title() for ax in fig.axes[:3]]
    ['original', 'view 1', 'view 2']
    >>> any(p.get_gid() == "masked" for p in fig.axes[1].patches)  # half of it is masked
    True
    >>> plt.close(fig)
    """
    signal, leads = check_ecg(ecg, fs, leads)
    rows = range(len(leads)) if show_leads is None else lead_rows(show_leads, leads, "show_leads")
    if isinstance(n_views, bool) or not isinstance(n_views, numbers.Integral) or n_views < 1:
        raise ValueError(f"n_views must be a positive integer, got {n_views!r}.")
    if augment is None:
        from ..augment import ThreeKGAugment

        augment = ThreeKGAugment(leads=leads)
    columns = [signal, *_draw_views(augment, signal, n_views, random_state)]
    if fig is None:
        fig = plt.figure(figsize=(1.0 + 3.2 * len(columns), 0.9 + 1.25 * len(rows)))
    axes = fig.subplots(len(rows), len(columns), sharex=True, sharey="row", squeeze=False)
    active = (signal != 0).any(axis=0)
    for j, column in enumerate(columns):
        axes[0, j].set_title("original" if j == 0 else f"view {j}")
        axes[-1, j].set_xlabel("time (s)")
        for i, lead in enumerate(rows):
            _draw_trace(axes[i, j], column[lead], fs, active if j > 0 else None)
    for i, lead in enumerate(rows):
        axes[i, 0].set_ylabel(f"{leads[lead]} (mV)")
    fig.set_layout_engine("constrained")
    if any(patch.get_gid() == "masked" for ax in axes.flat for patch in ax.patches):
        masked = Patch(color=MASK_COLOR, alpha=0.3, label="masked (set to zero)")
        fig.legend(handles=[masked], loc="outside lower right", frameon=False)
    return fig
