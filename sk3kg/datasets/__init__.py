"""Datasets: the PhysioNet/CinC Challenge 2020 and 2021 ECGs and the facts about their labels.

:func:`fetch_physionet2020` downloads and loads the 2020 challenge's training data,
:func:`load_physionet2020` loads a copy already on disk, :func:`fetch_physionet2021`
and :func:`load_physionet2021` do the same for the 2021 challenge's (two more
sources), :func:`write_physionet2020` writes arrays in the same format, and
:func:`make_synthetic_ecgs` simulates labelled records in it. The label tables
(scored SNOMED CT codes of each year, equivalent classes, class sets, subgroups, the
metrics' reward matrices) are plain data: :func:`get_class_set`,
:func:`code_to_index`, :data:`CLASS_SUBGROUPS`, :func:`challenge_weights`.

:func:`fetch_ptbxl` and :func:`load_ptbxl` do the same for PTB-XL, with the label
sets of its benchmark (:data:`PTBXL_TASKS`) and its recommended split
(:func:`ptbxl_split`).
"""

from ._base import get_data_home
from ._challenge._fetch import (
    PHYSIONET2020_URL,
    PHYSIONET2021_URL,
    fetch_physionet2020,
    fetch_physionet2021,
)
from ._challenge._format import write_physionet2020
from ._challenge._physionet2020 import load_physionet2020
from ._challenge._physionet2021 import load_physionet2021
from ._challenge._tables import (
    CHALLENGE_LEADS,
    CLASS_SETS,
    CLASS_SUBGROUPS,
    EQUIVALENT_CODES,
    NORMAL_CODE,
    SCORED_CODES,
    SCORED_CODES_2021,
    SOURCES,
    SOURCES_2021,
    ClassSet,
    Source,
    challenge_weights,
    class_prevalence,
    code_to_index,
    get_class_set,
)
from ._ptbxl._fetch import PTBXL_URL, fetch_ptbxl
from ._ptbxl._labels import PTBXL_TASKS
from ._ptbxl._load import load_ptbxl
from ._ptbxl._split import ptbxl_split
from ._synthetic import make_synthetic_ecgs

__all__ = [
    "CHALLENGE_LEADS",
    "CLASS_SETS",
    "CLASS_SUBGROUPS",
    "EQUIVALENT_CODES",
    "NORMAL_CODE",
    "PHYSIONET2020_URL",
    "PHYSIONET2021_URL",
    "PTBXL_TASKS",
    "PTBXL_URL",
    "SCORED_CODES",
    "SCORED_CODES_2021",
    "SOURCES",
    "SOURCES_2021",
    "ClassSet",
    "Source",
    "challenge_weights",
    "class_prevalence",
    "code_to_index",
    "fetch_physionet2020",
    "fetch_physionet2021",
    "fetch_ptbxl",
    "get_class_set",
    "get_data_home",
    "load_physionet2020",
    "load_physionet2021",
    "load_ptbxl",
    "make_synthetic_ecgs",
    "ptbxl_split",
    "write_physionet2020",
]
