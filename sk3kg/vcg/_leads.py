"""Lead names, lead orders and the linear relations between the 12 standard leads."""

from collections.abc import Sequence

import numpy as np

#: The 12 standard leads in the usual order, that of PhysioNet records and
#: :func:`wfdb.rdrecord`: limb leads I, II, III, augmented limb leads aVR, aVL,
#: aVF, then precordial leads V1-V6.
STANDARD_LEADS = (
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6",
)  # fmt: skip

#: The 8 linearly independent leads I, II, V1-V6, the rows of :data:`DOWER` and the
#: columns of :data:`INVERSE_DOWER` and :data:`KORS`; III, aVR, aVL and aVF follow
#: from I and II by Einthoven's and Goldberger's laws.
INDEPENDENT_LEADS = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")

_CANONICAL = {name.upper(): name for name in STANDARD_LEADS}

# Einthoven's and Goldberger's laws: each limb lead as a combination of I and II.
_LIMB_LEADS = {
    "I": (1.0, 0.0),
    "II": (0.0, 1.0),
    "III": (-1.0, 1.0),
    "aVR": (-0.5, -0.5),
    "aVL": (1.0, -0.5),
    "aVF": (-0.5, 1.0),
}


def resolve_leads(leads: str | Sequence[str]) -> tuple[str, ...]:
    """Return the canonical lead names of a lead order.

    Parameters
    ----------
    leads : "standard" or sequence of str
        ``"standard"`` is I, II, III, aVR, aVL, aVF, V1-V6, the order of
        PhysioNet records and of :func:`wfdb.rdrecord`. A sequence names the
        leads in the order of the signal's rows; names are matched without
        regard to case (``"AVR"`` is ``"aVR"``).

    Returns
    -------
    leads : tuple of str
        The lead names, spelled as in :data:`STANDARD_LEADS`.

    Examples
    --------
    >>> from sk3kg.vcg import resolve_leads
    >>> resolve_leads(["i", "ii", "AVF"])
    ('I', 'II', 'aVF')
    """
    if isinstance(leads, str):
        if leads != "standard":
            raise ValueError(
                f"Unknown lead order {leads!r}: pass 'standard' "
                f"({', '.join(STANDARD_LEADS)}) or a list of lead names."
            )
        return STANDARD_LEADS
    names = list(leads)
    if not names:
        raise ValueError("The lead list is empty: name at least one lead.")
    unknown = [n for n in names if not isinstance(n, str) or n.upper() not in _CANONICAL]
    if unknown:
        raise ValueError(
            f"Unknown lead name(s) {unknown}; known leads are {', '.join(STANDARD_LEADS)}."
        )
    resolved = tuple(_CANONICAL[n.upper()] for n in names)
    repeated = sorted({n for n in resolved if resolved.count(n) > 1})
    if repeated:
        raise ValueError(f"Lead(s) {repeated} appear more than once in {names}.")
    return resolved


def independent_lead_index(leads: Sequence[str], purpose: str) -> list[int]:
    """Positions of I, II, V1-V6 in ``leads``, or an error naming the missing ones."""
    missing = [name for name in INDEPENDENT_LEADS if name not in leads]
    if missing:
        raise ValueError(
            f"{purpose} needs the 8 independent leads I, II, V1-V6; missing "
            f"{', '.join(missing)} from the given leads ({', '.join(leads)})."
        )
    return [leads.index(name) for name in INDEPENDENT_LEADS]


def lead_synthesis_matrix(leads: Sequence[str]) -> np.ndarray:
    """Matrix ``(len(leads), 8)`` expressing each lead from I, II, V1-V6.

    Limb leads follow Einthoven's and Goldberger's laws (III = II - I,
    aVR = -(I + II)/2, aVL = I - II/2, aVF = II - I/2); precordial leads are
    copied.
    """
    matrix = np.zeros((len(leads), len(INDEPENDENT_LEADS)))
    for row, name in enumerate(leads):
        if name in _LIMB_LEADS:
            matrix[row, :2] = _LIMB_LEADS[name]
        else:
            matrix[row, INDEPENDENT_LEADS.index(name)] = 1.0
    return matrix
