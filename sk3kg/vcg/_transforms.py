"""Linear maps between the 12-lead ECG and the vectorcardiogram (VCG)."""

import sys
from collections.abc import Sequence

import numpy as np

from ._leads import (
    independent_lead_index,
    lead_synthesis_matrix,
    resolve_leads,
)

#: Dower matrix, shape (8, 3), unitless (mV per mV): leads I, II, V1-V6 (rows, in the
#: order of :data:`INDEPENDENT_LEADS`) from the Frank X, Y, Z leads (columns). From G. E.
#: Dower et al., Clin. Cardiol. 3(2):87-95, 1980, whose table lists V1-V6 before I, II.
DOWER = np.array(
    [
        [0.632, -0.235, 0.059],
        [0.235, 1.066, -0.132],
        [-0.515, 0.157, -0.917],
        [0.044, 0.164, -1.387],
        [0.882, 0.098, -1.277],
        [1.213, 0.127, -0.601],
        [1.125, 0.127, -0.086],
        [0.831, 0.076, 0.230],
    ]
)
DOWER.setflags(write=False)

#: Inverse Dower matrix, shape (3, 8), unitless: Frank X, Y, Z (rows) from I, II, V1-V6
#: (columns). From L. Edenbrandt and O. Pahlm, J. Electrocardiol. 21(4):361-367, 1988; the
#: pseudo-inverse of :data:`DOWER` to 3 decimals (``INVERSE_DOWER @ DOWER`` is I to 1e-3).
INVERSE_DOWER = np.array(
    [
        [0.156, -0.010, -0.172, -0.074, 0.122, 0.231, 0.239, 0.194],
        [-0.227, 0.887, 0.057, -0.019, -0.106, -0.022, 0.041, 0.048],
        [0.022, 0.102, -0.229, -0.310, -0.246, -0.063, 0.055, 0.108],
    ]
)
INVERSE_DOWER.setflags(write=False)

#: Kors regression matrix, shape (3, 8), unitless: Frank X, Y, Z (rows) from I, II, V1-V6
#: (columns). From J. A. Kors et al., Eur. Heart J. 11(12):1083-1092, 1990; fitted to
#: measured Frank leads, it tracks them more closely than :data:`INVERSE_DOWER`.
KORS = np.array(
    [
        [0.38, -0.07, -0.13, 0.05, -0.01, 0.14, 0.06, 0.54],
        [-0.07, 0.93, 0.06, -0.02, -0.05, 0.06, -0.17, 0.13],
        [0.11, -0.23, -0.43, -0.06, -0.14, -0.20, -0.11, 0.31],
    ]
)
KORS.setflags(write=False)

_ECG_TO_VCG = {"dower": INVERSE_DOWER, "kors": KORS}


def ecg_to_vcg_matrix(leads: Sequence[str], method: str = "dower") -> np.ndarray:
    """Return the matrix that maps an ECG in ``leads`` order to Frank X, Y, Z.

    :func:`ecg_to_vcg` applies it; use the matrix itself to fold the transform
    into other linear maps, as :class:`~sk3kg.augment.ThreeKGAugment` does.
    Only I, II and V1-V6 carry weight; the derived limb leads (III, aVR, aVL,
    aVF) get zero columns.

    Parameters
    ----------
    leads : "standard" or sequence of str
        Names of the ECG's rows (see :func:`resolve_leads`); they must include
        I, II and V1-V6.
    method : {"dower", "kors"}, default="dower"
        ``"dower"`` places the columns of :data:`INVERSE_DOWER`, ``"kors"``
        those of :data:`KORS`.

    Returns
    -------
    matrix : ndarray of shape (3, n_leads)
        ``matrix @ ecg`` is the VCG of an ECG of shape ``(n_leads, n_timepoints)``.

    See Also
    --------
    ecg_to_vcg : Apply this matrix to arrays or tensors.
    vcg_to_ecg_matrix : The matrix of the inverse direction.

    Examples
    --------
    >>> import numpy as np
    >>> from sk3kg.vcg import INVERSE_DOWER, ecg_to_vcg_matrix
    >>> matrix = ecg_to_vcg_matrix("standard")
    >>> matrix.shape
    (3, 12)
    >>> np.array_equal(matrix[:, 2:6], np.zeros((3, 4)))  # III, aVR, aVL, aVF
    True
    >>> np.array_equal(matrix[:, [0, 1, 6, 7, 8, 9, 10, 11]], INVERSE_DOWER)
    True
    """
    if method not in _ECG_TO_VCG:
        raise ValueError(f"Unknown method {method!r}: use 'dower' or 'kors'.")
    leads = resolve_leads(leads)
    columns = independent_lead_index(leads, "The ECG-to-VCG transform")
    matrix = np.zeros((3, len(leads)))
    matrix[:, columns] = _ECG_TO_VCG[method]
    return matrix


def vcg_to_ecg_matrix(leads: Sequence[str]) -> np.ndarray:
    """Return the Dower matrix that maps Frank X, Y, Z to the ECG in ``leads`` order.

    Rows of I, II and V1-V6 are those of :data:`DOWER`; rows of III, aVR, aVL
    and aVF are combined from those of I and II, so the limb-lead laws hold
    exactly. :func:`vcg_to_ecg` applies it.

    Parameters
    ----------
    leads : "standard" or sequence of str
        Names of the ECG leads to produce, in this order (see
        :func:`resolve_leads`); any of the 12 standard leads.

    Returns
    -------
    matrix : ndarray of shape (n_leads, 3)
        ``matrix @ vcg`` is the ECG of a VCG of shape ``(3, n_timepoints)``.

    See Also
    --------
    vcg_to_ecg : Apply this matrix to arrays or tensors.
    ecg_to_vcg_matrix : The matrix of the inverse direction.

    Examples
    --------
    >>> import numpy as np
    >>> from sk3kg.vcg import ecg_to_vcg_matrix, vcg_to_ecg_matrix
    >>> to_ecg = vcg_to_ecg_matrix(["I", "II", "III"])
    >>> to_ecg.shape
    (3, 3)
    >>> np.allclose(to_ecg[2], to_ecg[1] - to_ecg[0])  # III = II - I
    True

    Round trip through the 12 leads: the inverse Dower matrix undoes it to 1e-3.

    >>> round_trip = ecg_to_vcg_matrix("standard") @ vcg_to_ecg_matrix("standard")
    >>> np.allclose(round_trip, np.eye(3), atol=1e-3)
    True
    """
    return lead_synthesis_matrix(resolve_leads(leads)) @ DOWER


def _apply(matrix: np.ndarray, signal, n_in: int, what: str):
    """``matrix @ signal`` over the last two axes, for numpy arrays and tensors."""
    # torch is looked up, not imported: a tensor exists only if torch is loaded, and
    # readers that need only numpy (dataset workers) stay free of torch's start-up.
    torch = sys.modules.get("torch")
    is_tensor = torch is not None and isinstance(signal, torch.Tensor)
    if is_tensor:
        if not signal.is_floating_point():
            raise TypeError(f"{what} must be a floating-point tensor, got {signal.dtype}.")
        op = torch.as_tensor(matrix, dtype=signal.dtype, device=signal.device)
    else:
        signal = np.asarray(signal)
        if not np.issubdtype(signal.dtype, np.number):
            raise TypeError(f"{what} must be numeric, got dtype {signal.dtype}.")
        op = matrix.astype(np.result_type(signal.dtype, np.float32), copy=False)
    if signal.ndim < 2 or signal.shape[-2] != n_in:
        raise ValueError(
            f"{what} must have shape (..., {n_in}, n_timepoints), got {tuple(signal.shape)}."
        )
    finite = torch.isfinite(signal) if is_tensor else np.isfinite(signal)
    if not finite.all():
        raise ValueError(
            f"{what} contains NaN or infinite values; repair it (e.g. interpolate gaps) first."
        )
    return op @ signal


def ecg_to_vcg(ecg, leads: str | Sequence[str] = "standard", method: str = "dower"):
    """Reconstruct the vectorcardiogram (Frank X, Y, Z) from a 12-lead ECG.

    Parameters
    ----------
    ecg : ndarray or torch.Tensor of shape (..., n_leads, n_timepoints)
        The ECG; it must contain I, II and V1-V6 (other leads are ignored).
    leads : "standard" or list of str, default="standard"
        The names of the rows of ``ecg``.
    method : {"dower", "kors"}, default="dower"
        ``"dower"`` uses :data:`INVERSE_DOWER` (the transform of the 3KG
        paper); ``"kors"`` uses the :data:`KORS` regression, which tracks the
        measured Frank leads more closely.

    Returns
    -------
    vcg : ndarray or torch.Tensor of shape (..., 3, n_timepoints)
        The X, Y, Z leads, of the input's type, dtype and device.

    See Also
    --------
    vcg_to_ecg : The inverse direction, with the Dower matrix.

    References
    ----------
    .. [1] L. Edenbrandt and O. Pahlm, "Vectorcardiogram synthesized from a
       12-lead ECG: superiority of the inverse Dower matrix", J.
       Electrocardiol. 21(4), 361-367, 1988.
    .. [2] J. A. Kors et al., "Reconstruction of the Frank vectorcardiogram
       from standard electrocardiographic leads: diagnostic comparison of
       different methods", Eur. Heart J. 11(12), 1083-1092, 1990.

    Examples
    --------
    >>> import numpy as np
    >>> from sk3kg.vcg import ecg_to_vcg, vcg_to_ecg
    >>> vcg = np.array([[1.0], [0.0], [0.0]])  # a unit dipole along X
    >>> ecg = vcg_to_ecg(vcg)
    >>> ecg.shape
    (12, 1)
    >>> ecg_to_vcg(ecg).round(2).ravel()
    array([1., 0., 0.])
    """
    leads = resolve_leads(leads)
    return _apply(ecg_to_vcg_matrix(leads, method), ecg, len(leads), "ecg")


def vcg_to_ecg(vcg, leads: str | Sequence[str] = "standard"):
    """Project a vectorcardiogram onto ECG leads with the Dower matrix.

    I, II and V1-V6 come from :data:`DOWER`; III, aVR, aVL and aVF are
    computed from I and II (III = II - I, aVR = -(I + II)/2, aVL = I - II/2,
    aVF = II - I/2), so the limb-lead laws hold exactly.

    Parameters
    ----------
    vcg : ndarray or torch.Tensor of shape (..., 3, n_timepoints)
        The X, Y, Z leads.
    leads : "standard" or list of str, default="standard"
        The leads to produce, in this order.

    Returns
    -------
    ecg : ndarray or torch.Tensor of shape (..., n_leads, n_timepoints)
        The ECG, of the input's type, dtype and device.

    See Also
    --------
    ecg_to_vcg : The inverse direction.

    References
    ----------
    .. [1] G. E. Dower et al., "On deriving the electrocardiogram from
       vectorcardiographic leads", Clin. Cardiol. 3(2), 87-95, 1980.

    Examples
    --------
    >>> import torch
    >>> from sk3kg.vcg import vcg_to_ecg
    >>> ecg = vcg_to_ecg(torch.zeros(4, 3, 500), leads=["I", "II", "III"])
    >>> ecg.shape
    torch.Size([4, 3, 500])
    """
    return _apply(vcg_to_ecg_matrix(leads), vcg, 3, "vcg")
