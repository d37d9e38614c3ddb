"""Lead geometry: the 12-lead ECG and the heart's 3D vector (vectorcardiogram).

The 3KG augmentations act on the vectorcardiogram (VCG), the heart's electrical
dipole as Frank X (left), Y (down, feet) and Z (back) leads. This subpackage
holds the lead orders and the published linear transforms between the eight
independent ECG leads (I, II, V1-V6) and the VCG: :data:`DOWER`,
:data:`INVERSE_DOWER` and :data:`KORS`.
"""

from ._leads import INDEPENDENT_LEADS, STANDARD_LEADS, resolve_leads
from ._transforms import (
    DOWER,
    INVERSE_DOWER,
    KORS,
    ecg_to_vcg,
    ecg_to_vcg_matrix,
    vcg_to_ecg,
    vcg_to_ecg_matrix,
)

__all__ = [
    "DOWER",
    "INDEPENDENT_LEADS",
    "INVERSE_DOWER",
    "KORS",
    "STANDARD_LEADS",
    "ecg_to_vcg",
    "ecg_to_vcg_matrix",
    "resolve_leads",
    "vcg_to_ecg",
    "vcg_to_ecg_matrix",
]
