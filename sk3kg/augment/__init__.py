"""Augmentations: the 3KG views and the generic per-lead views they are compared with.

All of them are batched torch modules that run on the input's device and take
an optional ``torch.Generator`` for reproducible views.
"""

from ._crop import CropPair, crop_at
from ._masking import mask_time, time_masks
from ._spatial import axis_rotations, random_rotations, random_scalings
from ._standard import StandardAugment
from ._threekg import ThreeKGAugment

__all__ = [
    "CropPair",
    "StandardAugment",
    "ThreeKGAugment",
    "axis_rotations",
    "crop_at",
    "mask_time",
    "random_rotations",
    "random_scalings",
    "time_masks",
]
