"""Bring a record read from disk to the sampling rate and length a loader was asked for."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly

__all__ = ["fit_length", "resample"]


def resample(signal: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """Resample ``signal`` (..., n_samples) from ``fs_in`` to ``fs_out`` Hz, polyphase filter.

    Examples
    --------
    >>> import numpy as np
    >>> resample(np.ones((12, 5000)), 500, 100).shape
    (12, 1000)
    """
    if fs_in == fs_out:
        return signal
    ratio = Fraction(fs_out).limit_denominator(10**6) / Fraction(fs_in).limit_denominator(10**6)
    return resample_poly(signal, ratio.numerator, ratio.denominator, axis=-1)


def fit_length(signal: np.ndarray, n_samples: int, crop: str = "start") -> np.ndarray:
    """Crop (from the ``"start"`` or the ``"center"``) or zero-pad to ``n_samples``, float32.

    Examples
    --------
    >>> import numpy as np
    >>> fit_length(np.arange(6.0)[None], 4, "center"), fit_length(np.ones((1, 2)), 3)
    (array([[1., 2., 3., 4.]], dtype=float32), array([[1., 1., 0.]], dtype=float32))
    """
    out = np.zeros((signal.shape[0], n_samples), dtype=np.float32)
    length = signal.shape[-1]
    start = (length - n_samples) // 2 if crop == "center" and length > n_samples else 0
    kept = signal[:, start : start + n_samples]
    out[:, : kept.shape[-1]] = kept
    return out
