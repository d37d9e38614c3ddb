"""ECG paper: its scale, its grid, the calibration pulse and the checks of a signal to draw."""

import numbers
import sys
from collections.abc import Sequence

import numpy as np
from matplotlib.collections import LineCollection

from ..vcg import resolve_leads

MM_PER_INCH = 25.4
SPEED = 25.0  # mm per second
GAIN = 10.0  # mm per mV
PAPER = "#fffbfb"
MINOR_GRID = "#f6c6c6"
MAJOR_GRID = "#e57f7f"
TRACE = "#1a1a1a"
CALIBRATION = 0.4  # seconds of paper (10 mm) left of t=0 for the 1 mV pulse


def to_numpy(ecg) -> np.ndarray:
    """A numpy view of an array or (possibly gradient-tracking, GPU) torch tensor."""
    # Looked up, not imported: a tensor exists only if torch is loaded already.
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(ecg, torch.Tensor):
        return ecg.detach().cpu().numpy()
    return np.asarray(ecg)


def check_ecg(ecg, fs: float, leads: str | Sequence[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """Refuse anything but one finite ``(n_leads, n_timepoints)`` ECG matching ``leads``."""
    if isinstance(fs, bool) or not isinstance(fs, numbers.Real) or not fs > 0:
        raise ValueError(f"fs must be a positive sampling rate in Hz, got {fs!r}.")
    leads = resolve_leads(leads)
    signal = to_numpy(ecg)
    if not np.issubdtype(signal.dtype, np.number):
        raise TypeError(f"ecg must be numeric, got dtype {signal.dtype}.")
    if signal.ndim != 2:
        hint = " Plot one record of a batch, e.g. ecg[0]." if signal.ndim == 3 else ""
        raise ValueError(
            f"ecg must have shape (n_leads, n_timepoints), got {signal.ndim} dimension(s) "
            f"{signal.shape}.{hint}"
        )
    if signal.shape[0] != len(leads):
        raise ValueError(
            f"ecg has {signal.shape[0]} leads (rows) but leads names {len(leads)} "
            f"({', '.join(leads)}); pass leads= matching the signal's rows."
        )
    if signal.shape[1] < 2:
        raise ValueError(f"ecg needs at least 2 time points to draw, got {signal.shape[1]}.")
    if not np.isfinite(signal).all():
        bad = [leads[i] for i in np.flatnonzero(~np.isfinite(signal).all(axis=1))]
        raise ValueError(
            f"ecg contains NaN or infinite values in lead(s) {', '.join(bad)}; "
            "repair it (e.g. interpolate gaps) before plotting."
        )
    return signal.astype(np.float64, copy=False), leads


def lead_rows(names, leads: tuple[str, ...], what: str) -> list[int]:
    """Rows of ``leads`` that ``names`` (one name or several) refer to, ignoring case.

    ``leads`` come from :func:`~sk3kg.vcg.resolve_leads`, so matching upper-cased
    names is the same case-insensitive lookup.
    """
    requested = [names] if isinstance(names, str) else list(names)
    rows = {lead.upper(): i for i, lead in enumerate(leads)}
    unknown = [name for name in requested if str(name).upper() not in rows]
    if not requested or unknown:
        raise ValueError(
            f"{what}={names!r} must name leads of the ECG ({', '.join(leads)}); "
            f"unknown: {unknown!r}."
        )
    return [rows[str(name).upper()] for name in requested]


def amplitude_limits(*traces: np.ndarray, headroom: float = 0.4) -> tuple[float, float]:
    """mV limits on 0.5 mV (5 mm) lines holding the traces and a 1 mV pulse from 0."""
    low = min(min(float(trace.min()) for trace in traces), 0.0) - 0.2
    high = max(max(float(trace.max()) for trace in traces), 1.0) + headroom
    return np.floor(low / 0.5) * 0.5, np.ceil(high / 0.5) * 0.5


def paper_axes(fig, rect_mm, xlim, ylim, label: str):
    """Axes at ``rect_mm`` (left, bottom, width, height in mm) ruled as ECG paper.

    The rectangle's size must equal ``xlim`` at :data:`SPEED` by ``ylim`` at
    :data:`GAIN`, so that the axes' data are to scale on the figure.
    """
    width_mm, height_mm = (size * MM_PER_INCH for size in fig.get_size_inches())
    left, bottom, width, height = rect_mm
    ax = fig.add_axes(
        (left / width_mm, bottom / height_mm, width / width_mm, height / height_mm), label=label
    )
    ax.set(xlim=xlim, ylim=ylim, facecolor=PAPER, xticks=[], yticks=[])
    for spine in ax.spines.values():
        spine.set_visible(False)
    _rule(ax, xlim, ylim)
    return ax


def _lines_at(low: float, high: float, step: float) -> np.ndarray:
    """Multiples of ``step`` in ``[low, high]``, robust to rounding of the limits."""
    return np.arange(np.ceil(low / step - 1e-6), np.floor(high / step + 1e-6) + 1) * step


def _rule(ax, xlim, ylim) -> None:
    """The 1 mm and 5 mm grid, as two line collections (ticks would cost ~1 s per figure)."""
    for step_s, step_mv, color, width in (
        (0.04, 0.1, MINOR_GRID, 0.4),
        (0.2, 0.5, MAJOR_GRID, 0.8),
    ):
        vertical = [((t, ylim[0]), (t, ylim[1])) for t in _lines_at(*xlim, step_s)]
        horizontal = [((xlim[0], v), (xlim[1], v)) for v in _lines_at(*ylim, step_mv)]
        grid = LineCollection(vertical + horizontal, colors=color, linewidths=width, zorder=0)
        ax.add_collection(grid, autolim=False)


def draw_calibration(ax, end: float = 0.0) -> None:
    """The 1 mV, 0.2 s calibration pulse (10 mm by 5 mm) ending ``0.04 s`` before ``end``."""
    t = end - np.array([0.36, 0.32, 0.32, 0.12, 0.12, 0.04])
    ax.plot(t, [0, 0, 1, 1, 0, 0], color=TRACE, linewidth=0.9, gid="calibration")
