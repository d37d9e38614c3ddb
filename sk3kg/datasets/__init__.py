"""Datasets: the PhysioNet/CinC Challenge 2020 ECGs and the facts about their labels.

:func:`fetch_physionet2020` downloads and loads the challenge's training data,
:func:`load_physionet2020` loads a copy already on disk and
:func:`write_physionet2020` writes arrays in the same format, and
:func:`make_synthetic_ecgs` simulates labelled records in it. The label tables
(scored SNOMED CT codes, equivalent classes, class sets, subgroups, the metric's
reward matrix) are plain data: :func:`get_class_set`, :func:`code_to_index`,
:data:`CLASS_SUBGROUPS`, :func:`challenge_weights`.
"""

from ._base import get_data_home
from ._challenge._fetch import PHYSIONET2020_URL, fetch_physionet2020
from ._challenge._format import write_physionet2020
from ._challenge._physionet2020 import load_physionet2020
from ._challenge._tables import (
    CHALLENGE_LEADS,
    CLASS_SETS,
    CLASS_SUBGROUPS,
    EQUIVALENT_CODES,
    NORMAL_CODE,
    SCORED_CODES,
    SOURCES,
    ClassSet,
    Source,
    challenge_weights,
    class_prevalence,
    code_to_index,
    get_class_set,
)
from ._synthetic import make_synthetic_ecgs

__all__ = [
    "CHALLENGE_LEADS",
    "CLASS_SETS",
    "CLASS_SUBGROUPS",
    "EQUIVALENT_CODES",
    "NORMAL_CODE",
    "PHYSIONET2020_URL",
    "SCORED_CODES",
    "SOURCES",
    "ClassSet",
    "Source",
    "challenge_weights",
    "class_prevalence",
    "code_to_index",
    "fetch_physionet2020",
    "get_class_set",
    "get_data_home",
    "load_physionet2020",
    "make_synthetic_ecgs",
    "write_physionet2020",
]
