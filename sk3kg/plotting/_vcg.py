"""The vectorcardiogram: the heart's vector loop in 3D and in the three body planes."""

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from ..vcg import ecg_to_vcg
from ._paper import check_ecg

TRANSFORMS = {"dower": "inverse Dower", "kors": "Kors"}
LOOP_COLORS = {"original": "#1f4e9c", "rotated": "#d1495b"}

# Planes as drawn clinically (American Heart Association): the frontal plane seen
# from the front, the transverse plane from above (anterior down), the sagittal
# plane from the patient's left. Each entry: title, (horizontal, vertical) Frank
# axes, their labels, and whether the vertical axis is flipped so feet are down.
PLANES = (
    ("frontal plane (X-Y), from the front", (0, 1), ("X (mV), left →", "Y (mV), feet ↓"), True),
    ("transverse plane (X-Z), from above", (0, 2), ("X (mV), left →", "Z (mV), back ↑"), False),
    ("sagittal plane (Z-Y), from the left", (2, 1), ("Z (mV), back →", "Y (mV), feet ↓"), True),
)


def rotation_matrix(angles: Sequence[float]) -> np.ndarray:
    """``Rz @ Ry @ Rx`` for ``angles`` in degrees, the matrices of :func:`axis_rotations`."""
    import torch

    from ..augment import axis_rotations

    values = np.asarray(angles, dtype=float) if np.ndim(angles) == 1 else np.array([np.nan])
    if values.shape != (3,) or not np.isfinite(values).all():
        raise ValueError(f"angles must be 3 finite angles (x, y, z) in degrees, got {angles!r}.")
    about_x, about_y, about_z = axis_rotations(torch.from_numpy(np.radians(values))).numpy()
    return about_z @ about_y @ about_x


def _draw_3d(ax, loops: dict[str, np.ndarray], limit: float) -> None:
    """Frank X, Z, Y on matplotlib's x, y, z: seen from the front, head up, feet down."""
    for name, (x, y, z) in loops.items():
        ax.plot(x, z, y, color=LOOP_COLORS[name], linewidth=0.8, label=name)
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit), zlim=(limit, -limit))
    for axis, label in ((ax.xaxis, "X, left"), (ax.yaxis, "Z, back"), (ax.zaxis, "Y, feet")):
        axis.set_major_locator(MaxNLocator(4))
        axis.set_label_text(label, fontsize=9)
        axis.labelpad = 2
    ax.tick_params(labelsize=7, pad=0)
    ax.set_box_aspect((1, 1, 1), zoom=0.85)
    ax.view_init(elev=15, azim=-60)
    ax.set_title("3D loop")


def _draw_plane(ax, loops: dict[str, np.ndarray], plane, limit: float) -> None:
    title, (h, v), (h_label, v_label), flip = plane
    ax.axhline(0, color="0.75", linewidth=0.6)
    ax.axvline(0, color="0.75", linewidth=0.6)
    for name, vcg in loops.items():
        ax.plot(vcg[h], vcg[v], color=LOOP_COLORS[name], linewidth=0.8, label=name)
    ax.set(xlim=(-limit, limit), ylim=(limit, -limit) if flip else (-limit, limit))
    ax.set(aspect="equal", title=title, xlabel=h_label, ylabel=v_label)


def plot_vcg(
    ecg,
    fs: float = 500,
    leads: str | Sequence[str] = "standard",
    *,
    angles: Sequence[float] | None = None,
    method: str = "dower",
    fig=None,
):
    """Draw the vectorcardiogram of an ECG: its 3D loop and its three planes.

    The VCG is reconstructed with :func:`~sk3kg.vcg.ecg_to_vcg` as the Frank
    leads X (towards the patient's left), Y (towards the feet) and Z
    (towards the back). The planes are drawn as clinicians draw them: the
    frontal plane (X-Y) seen from the front, left to the right of the page
    and feet down; the transverse plane (X-Z) seen from above, back up and
    front down; the sagittal plane (Z-Y) seen from the patient's left, back
    to the right and feet down. With ``angles``, the loop rotated as by the
    3KG augmentation is drawn over the original.

    Parameters
    ----------
    ecg : array-like or torch.Tensor of shape (n_leads, n_timepoints)
        One ECG in mV, with leads I, II and V1-V6. All of it is drawn, its
        beats one over another; slice it to draw one beat.
    fs : float, default=500
        Sampling rate in Hz, shown with the duration in the title.
    leads : "standard" or list of str, default="standard"
        Names of the rows of ``ecg``.
    angles : tuple of 3 float, default=None
        Rotations about the X, Y and Z axes in degrees, applied X first, then
        Y, then Z (the matrices of :func:`~sk3kg.augment.axis_rotations`, the
        order of ``ThreeKGAugment(rotation_order="xyz")``). The rotated loop
        is overlaid in a second colour. None draws the original only.
    method : {"dower", "kors"}, default="dower"
        The ECG-to-VCG transform, as in :func:`~sk3kg.vcg.ecg_to_vcg`.
    fig : matplotlib.figure.Figure, default=None
        An empty figure to draw on. None creates one with
        :func:`matplotlib.pyplot.figure`.

    Returns
    -------
    fig : matplotlib.figure.Figure
        Four axes: the 3D loop (Frank X, Z, Y on matplotlib's x, y, z), then
        the frontal, transverse and sagittal planes. The loops are lines
        labelled ``"original"`` and ``"rotated"``.

    See Also
    --------
    plot_ecg : The 12 leads the loop projects onto.
    sk3kg.vcg.ecg_to_vcg : The reconstruction of the VCG.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sk3kg.datasets import make_synthetic_ecgs
    >>> from sk3kg.plotting import plot_vcg
    >>> ecg = make_synthetic_ecgs(1, noise=None, random_state=2).data[0]
    >>> fig = plot_vcg(ecg[:, :500], angles=(0, 0, 30))
    >>> [ax.get_title() for ax in fig.axes[1:]]
    ['frontal plane (X-Y), from the front', 'transverse plane (X-Z), from above',
     'sagittal plane (Z-Y), from the left']
    >>> [line.get_label() for line in fig.axes[1].get_lines()[2:]]
    ['original', 'rotated']
    >>> plt.close(fig)
    """
    signal, leads = check_ecg(ecg, fs, leads)
    loops = {"original": ecg_to_vcg(signal, leads, method=method)}
    if angles is not None:
        loops["rotated"] = rotation_matrix(angles) @ loops["original"]
    limit = 1.1 * max(np.abs(vcg).max() for vcg in loops.values()) or 1.0
    if fig is None:
        fig = plt.figure(figsize=(8.0, 8.0))
    fig.set_layout_engine("constrained")
    _draw_3d(fig.add_subplot(2, 2, 1, projection="3d"), loops, limit)
    for k, plane in enumerate(PLANES):
        _draw_plane(fig.add_subplot(2, 2, k + 2), loops, plane, limit)
    seconds = signal.shape[1] / fs
    fig.suptitle(f"Vectorcardiogram ({TRANSFORMS[method]} transform, {seconds:.3g} s)")
    if angles is not None:
        x, y, z = angles
        handles = fig.axes[1].get_lines()[2:]
        labels = ["original", f"rotated ({x:g}°, {y:g}°, {z:g}° about X, Y, Z)"]
        fig.legend(handles, labels, loc="outside lower center", ncols=2, frameon=False)
    return fig
