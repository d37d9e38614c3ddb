"""The 12-lead ECG as printed on ECG paper."""

from collections.abc import Sequence
from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np

from ..vcg import STANDARD_LEADS
from ._paper import (
    CALIBRATION,
    GAIN,
    MM_PER_INCH,
    PAPER,
    SPEED,
    TRACE,
    amplitude_limits,
    check_ecg,
    draw_calibration,
    lead_rows,
    paper_axes,
)

#: Rows of the printed 12-lead ECG; column k shows the k-th quarter of the record.
STANDARD_LAYOUT = (
    ("I", "aVR", "V1", "V4"),
    ("II", "aVL", "V2", "V5"),
    ("III", "aVF", "V3", "V6"),
)
PRINT_SECONDS = 10.0
MARGINS = {"left": 8.0, "right": 8.0, "top": 6.0, "bottom": 10.0}  # mm
TITLE_SPACE = 14.0  # mm, top margin with a title


class Panel(NamedTuple):
    lead: str
    label: str
    start: float  # seconds shown, from start to end
    end: float
    first: int  # samples shown, first:stop
    stop: int


def _layout(leads: tuple[str, ...], n: int, fs: float, rhythm_lead: str | None):
    """Rows of panels: the 3 x 4 clinical layout (+ rhythm strip), or one row per lead."""
    seconds = n / fs
    if sorted(leads) != sorted(STANDARD_LEADS):
        return [[Panel(lead, lead, 0.0, seconds, 0, n)] for lead in leads]
    if rhythm_lead is not None:
        rhythm_lead = leads[lead_rows(rhythm_lead, leads, "rhythm_lead")[0]]
    bounds = np.linspace(0.0, seconds, len(STANDARD_LAYOUT[0]) + 1)
    samples = [min(round(b * fs), n - 1) for b in bounds]
    rows = [
        [
            Panel(lead, lead, bounds[k], bounds[k + 1], samples[k], samples[k + 1] + 1)
            for k, lead in enumerate(row)
        ]
        for row in STANDARD_LAYOUT
    ]
    if rhythm_lead is not None:
        rows.append([Panel(rhythm_lead, f"rhythm strip {rhythm_lead}", 0.0, seconds, 0, n)])
    return rows


def _draw_panel(ax, panel: Panel, trace: np.ndarray, fs: float, first_column: bool) -> None:
    t = np.arange(panel.first, panel.stop) / fs
    ax.plot(t, trace, color=TRACE, linewidth=0.8, solid_joinstyle="round")
    if first_column:
        draw_calibration(ax, end=panel.start)
    else:  # the printout's mark where one lead group ends and the next begins
        ax.plot([panel.start] * 2, [-0.3, 0.3], color=TRACE, linewidth=1.2, clip_on=False)
    low, high = ax.get_ylim()
    ax.text(
        panel.start + 0.04,
        high - 0.1,
        panel.lead,
        fontsize=9,
        fontweight="bold",
        va="top",
        bbox={"boxstyle": "square,pad=0.15", "facecolor": PAPER, "edgecolor": "none"},
    )


def _traces(row, signal: np.ndarray, leads: tuple[str, ...]) -> list[np.ndarray]:
    return [signal[leads.index(p.lead), p.first : p.stop] for p in row]


def _draw(fig, rows, limits, signal, leads, fs, margins) -> None:
    """Place the panels row by row from the top margin down, the grid continuous."""
    top = fig.get_size_inches()[1] * MM_PER_INCH - margins["top"]
    for row, ylim in zip(rows, limits, strict=True):
        height = (ylim[1] - ylim[0]) * GAIN
        top -= height
        for k, (panel, trace) in enumerate(zip(row, _traces(row, signal, leads), strict=True)):
            xlim = (panel.start - CALIBRATION if k == 0 else panel.start, panel.end)
            left = margins["left"] + (xlim[0] + CALIBRATION) * SPEED
            rect = (left, top, (xlim[1] - xlim[0]) * SPEED, height)
            ax = paper_axes(fig, rect, xlim, ylim, label=panel.label)
            _draw_panel(ax, panel, trace, fs, first_column=k == 0)


def plot_ecg(
    ecg,
    fs: float = 500,
    leads: str | Sequence[str] = "standard",
    *,
    rhythm_lead: str | None = "II",
    title: str | None = None,
    fig=None,
):
    """Draw an ECG as a clinical printout on millimetre ECG paper.

    The 12 standard leads are laid out as a printed ECG: three rows of four
    columns (I, aVR, V1, V4 / II, aVL, V2, V5 / III, aVF, V3, V6), each column
    showing its own consecutive quarter of the record (0-2.5, 2.5-5, 5-7.5 and
    7.5-10 s of a 10 s record), and a rhythm strip of one lead over the whole
    record underneath. Any other lead list is drawn one full-length row per
    lead. Traces are at 25 mm/s and 10 mm/mV on a 1 mm / 5 mm grid, and the
    figure is sized in millimetres, so a figure printed or saved at its own
    size (without ``bbox_inches="tight"``) is to scale. Each row starts with a
    1 mV calibration pulse.

    Parameters
    ----------
    ecg : array-like or torch.Tensor of shape (n_leads, n_timepoints)
        One ECG in mV. Only its first 10 s are drawn (slice it to show
        another part). A record shorter than 10 s fills the same layout with
        narrower columns: each column still shows a quarter of the record.
    fs : float, default=500
        Sampling rate in Hz.
    leads : "standard" or list of str, default="standard"
        Names of the rows of ``ecg``. The 12 standard leads, in any order,
        get the clinical layout; other lists (e.g. the 8 independent leads,
        or one lead) get one row per lead.
    rhythm_lead : str or None, default="II"
        Lead of the full-length rhythm strip under the 12-lead layout; None
        omits it. Not used by the one-row-per-lead layout.
    title : str, default=None
        Text printed above the grid.
    fig : matplotlib.figure.Figure, default=None
        An empty figure to draw on; its size is set to the printout's and its
        layout engine removed. None creates one with
        :func:`matplotlib.pyplot.figure`.

    Returns
    -------
    fig : matplotlib.figure.Figure
        One axes per panel, labelled with its lead name (``ax.get_label()``,
        ``"rhythm strip II"`` for the rhythm strip); time is in seconds and
        amplitude in mV in every axes.

    See Also
    --------
    plot_views : The ECG beside augmented views of it.
    plot_vcg : The heart's vector loop behind the 12 leads.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sk3kg.datasets import make_synthetic_ecgs
    >>> from sk3kg.plotting import plot_ecg
    >>> ecg = make_synthetic_ecgs(1, random_state=2).data[0]
    >>> fig = plot_ecg(ecg, fs=500, title="Synthetic ECG")
    >>> [ax.get_label() for ax in fig.axes[:4]]
    ['I', 'aVR', 'V1', 'V4']
    >>> len(fig.axes)  # 12 leads and the rhythm strip
    13
    >>> width_mm = fig.get_size_inches()[0] * 25.4  # 10 s at 25 mm/s, pulse, margins
    >>> round(width_mm)
    276
    >>> plt.close(fig)
    """
    signal, leads = check_ecg(ecg, fs, leads)
    n = min(signal.shape[1], round(PRINT_SECONDS * fs))
    signal = signal[:, :n]
    rows = _layout(leads, n, fs, rhythm_lead)
    limits = [amplitude_limits(*_traces(row, signal, leads)) for row in rows]
    margins = MARGINS if title is None else {**MARGINS, "top": TITLE_SPACE}
    size = (
        margins["left"] + (CALIBRATION + n / fs) * SPEED + margins["right"],
        margins["top"] + sum(high - low for low, high in limits) * GAIN + margins["bottom"],
    )
    if fig is None:
        fig = plt.figure(figsize=(size[0] / MM_PER_INCH, size[1] / MM_PER_INCH))
    else:
        fig.set_size_inches(size[0] / MM_PER_INCH, size[1] / MM_PER_INCH)
    fig.set_layout_engine("none")  # a layout engine would move the panels off scale
    _draw(fig, rows, limits, signal, leads, fs, margins)
    left, bottom = margins["left"] / size[0], margins["bottom"] / size[1]
    fig.text(left, bottom / 2, f"{SPEED:g} mm/s   {GAIN:g} mm/mV   {fs:g} Hz", fontsize=8)
    if title is not None:
        fig.text(left, 1 - 0.5 * margins["top"] / size[1], title, fontsize=11, va="center")
    return fig
