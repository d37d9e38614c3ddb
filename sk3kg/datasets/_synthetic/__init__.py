"""The ECG simulator: labelled 12-lead records from a model of the heart's vector.

:func:`make_synthetic_ecgs` (``_make``) draws patients and records. Each record is
built (``_record``) from a rhythm (``_rhythm``: beat times, ectopy, pacing), the
shapes of the heart's dipole (``_heart``, from the wave kernels of ``_waves``), the
labels that decide them (``_labels``) and the noise of real electrodes (``_noise``).
"""

from ._make import make_synthetic_ecgs

__all__ = ["make_synthetic_ecgs"]
