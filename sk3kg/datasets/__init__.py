"""Datasets: three public 12-lead ECG collections, a simulator, and their label facts.

Each public dataset has a fetcher, which downloads it from PhysioNet (verified against
its checksums, resumable, once) and loads it, and a loader for a copy already on disk.
Both return a :class:`~sklearn.utils.Bunch` with ``data`` (records, 12 leads, samples;
in mV), ``target``, ``target_names`` and ``DESCR``, the signals cached under
:func:`get_data_home`:

- **PhysioNet/CinC Challenge 2020** (43,101 records from six sources; SNOMED CT
  diagnoses): :func:`fetch_physionet2020` and :func:`load_physionet2020`;
  :func:`write_physionet2020` writes arrays in the challenge's format.
- **PhysioNet/CinC Challenge 2021** (88,253 records: the 2020 sources, Chapman-Shaoxing
  and Ningbo): :func:`fetch_physionet2021` and :func:`load_physionet2021`.
- **PTB-XL** (21,799 records; SCP-ECG statements): :func:`fetch_ptbxl` and
  :func:`load_ptbxl`, with the six label sets of its benchmark (:data:`PTBXL_TASKS`)
  and its recommended split (:func:`ptbxl_split`).

Any other folder of WFDB records (a hospital's export, another PhysioNet database)
loads with :func:`load_wfdb_folder`, into the same cached arrays; **MIMIC-IV-ECG**
(800,035 unlabelled records, for pretraining) with :func:`fetch_mimic_iv_ecg` and
:func:`load_mimic_iv_ecg`, which keep each record's subject (``groups``) and machine
report.

The **simulator**, :func:`make_synthetic_ecgs`, draws labelled records with the
challenge's diagnoses and needs no download. The challenges' label tables are plain
data: scored SNOMED CT codes of each year (:data:`SCORED_CODES`,
:data:`SCORED_CODES_2021`), equivalent codes, class sets (:func:`get_class_set`,
:func:`code_to_index`), subgroups (:data:`CLASS_SUBGROUPS`), sources (:data:`SOURCES`,
:data:`SOURCES_2021`) and the metrics' reward matrices (:func:`challenge_weights`).
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
from ._folder import load_wfdb_folder
from ._mimic import MIMIC_IV_ECG_URL, fetch_mimic_iv_ecg, load_mimic_iv_ecg
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
    "MIMIC_IV_ECG_URL",
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
    "fetch_mimic_iv_ecg",
    "fetch_physionet2020",
    "fetch_physionet2021",
    "fetch_ptbxl",
    "get_class_set",
    "get_data_home",
    "load_mimic_iv_ecg",
    "load_physionet2020",
    "load_physionet2021",
    "load_ptbxl",
    "load_wfdb_folder",
    "make_synthetic_ecgs",
    "ptbxl_split",
    "write_physionet2020",
]
