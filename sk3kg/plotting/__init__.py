"""Plotting: ECGs on ECG paper, their augmented views and their vector loops.

Needs matplotlib (``pip install sk3kg[plotting]``).

:func:`plot_ecg` draws a record as a clinical printout. ECG paper is ruled in
1 mm squares, with a heavier line every 5 mm; the trace runs at 25 mm/s, so a
small square is 0.04 s and a large one 0.2 s, and at a gain of 10 mm/mV, so a
small square is 0.1 mV and a large one 0.5 mV. The 1 mV calibration pulse at
the start of each row, 10 mm tall, shows the gain. The figure is sized in
millimetres, so that saved or printed at its own size it can be read with an
ECG ruler.

:func:`plot_views` sets an ECG beside the views an augmentation draws from it,
with the time spans the augmentation masked shaded; :func:`plot_vcg` draws the
heart's vector (Frank X left, Y feet, Z back) as a 3D loop and in the frontal,
transverse and sagittal planes, optionally beside a rotated copy.
"""

try:
    import matplotlib  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "sk3kg.plotting needs matplotlib; install it with pip install 'sk3kg[plotting]'."
    ) from error

from ._ecg import plot_ecg
from ._vcg import plot_vcg
from ._views import plot_views

__all__ = ["plot_ecg", "plot_vcg", "plot_views"]
