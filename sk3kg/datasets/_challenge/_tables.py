"""Facts about the PhysioNet/CinC Challenge 2020 and 2021 data, as tables.

Everything here is a figure from the challenges' own documents, typed in once:

- the six public training sources of the 2020 data (version 1.0.2), their
  file-name prefixes, sampling rates and record counts (Perez Alday et al. 2020,
  Table 1), and the two the 2021 data (version 1.0.3) add (Reyna et al. 2021);
- the 27 SNOMED CT codes scored in 2020 and the 30 scored in 2021, with names,
  abbreviations and per-source counts (``dx_mapping_scored.csv`` of
  physionetchallenges/evaluation-2020 @ 8ad0242 and evaluation-2021 @ e2a75fc);
- the pairs each challenge scores as one class, and the pair the 3KG authors
  also merge;
- the reward matrices of the two challenge metrics (``weights.csv``, same commits).

Nothing here reads a file at run time.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ...vcg import STANDARD_LEADS

__all__ = [
    "CHALLENGE_LEADS",
    "CLASS_SETS",
    "CLASS_SUBGROUPS",
    "EQUIVALENT_CODES",
    "NORMAL_CODE",
    "SCORED_CODES",
    "SCORED_CODES_2021",
    "SOURCES",
    "SOURCES_2021",
    "ClassSet",
    "Source",
    "challenge_weights",
    "class_prevalence",
    "code_to_index",
    "get_class_set",
]

#: Lead order of every challenge record (and of the arrays the readers return): the 12
#: standard leads I, II, III, aVR, aVL, aVF, V1-V6, the same tuple as
#: :data:`sk3kg.vcg.STANDARD_LEADS`.
CHALLENGE_LEADS = STANDARD_LEADS


class Source(NamedTuple):
    """One public training source of the 2020 or 2021 challenge.

    The figures are those of version 1.0.2 of the 2020 data (Perez Alday et al.
    2020, Table 1) and version 1.0.3 of the 2021 data, which holds the same six
    sources and two more; :data:`SOURCES` holds the six, :data:`SOURCES_2021`
    the eight.

    Parameters
    ----------
    name : str
        Folder name of the source in both versions, e.g. ``"ptb-xl"``.
    prefix : str
        First letters of its record names, e.g. ``"HR"`` for ``HR00001``.
    fs : int
        Sampling rate of its records, in Hz.
    n_records : int
        Number of its public training records.
    description : str
        The database it comes from.

    See Also
    --------
    class_prevalence : Class frequencies, per source.

    References
    ----------
    .. [1] E. A. Perez Alday et al., "Classification of 12-lead ECGs: the
       PhysioNet/Computing in Cardiology Challenge 2020", Physiol. Meas.
       41(12):124003, 2020.
    .. [2] M. A. Reyna et al., "Will Two Do? Varying Dimensions in
       Electrocardiography: The PhysioNet/Computing in Cardiology Challenge
       2021", Computing in Cardiology 48, 2021.

    Examples
    --------
    >>> from sk3kg.datasets import SOURCES, SOURCES_2021
    >>> ptbxl = SOURCES["ptb-xl"]
    >>> ptbxl.prefix, ptbxl.fs, ptbxl.n_records
    ('HR', 500, 21837)
    >>> sum(source.n_records for source in SOURCES.values())
    43101
    >>> sum(source.n_records for source in SOURCES_2021.values())
    88253
    """

    name: str
    prefix: str
    fs: int
    n_records: int
    description: str


#: The six public training sources of version 1.0.2: folder name -> :class:`Source`
#: (record-name prefix, sampling rate in Hz, number of records, database), in the
#: challenge's order (Perez Alday et al. 2020, Table 1); 43,101 records in all.
SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source("cpsc_2018", "A", 500, 6877, "China Physiological Signal Challenge 2018"),
        Source("cpsc_2018_extra", "Q", 500, 3453, "unused CPSC 2018 data (China 12-lead)"),
        Source("st_petersburg_incart", "I", 257, 74, "St Petersburg INCART 12-lead arrhythmia"),
        Source("ptb", "S", 1000, 516, "PTB Diagnostic ECG Database"),
        Source("ptb-xl", "HR", 500, 21837, "PTB-XL electrocardiography database"),
        Source("georgia", "E", 500, 10344, "Georgia 12-lead ECG Challenge database (Emory)"),
    )
}

#: The eight public training sources of the 2021 challenge (version 1.0.3): the six of
#: :data:`SOURCES` and the Chapman University, Shaoxing People's Hospital and Ningbo
#: First Hospital database in its two parts; 88,253 records in all. Both parts name
#: their records ``JS`` and a number: JS00001-JS10646 are Chapman-Shaoxing's,
#: JS10647-JS45551 Ningbo's.
SOURCES_2021: dict[str, Source] = {
    **SOURCES,
    "chapman_shaoxing": Source("chapman_shaoxing", "JS", 500, 10247,
                               "Chapman University and Shaoxing People's Hospital"),
    "ningbo": Source("ningbo", "JS", 500, 34905, "Ningbo First Hospital"),
}  # fmt: skip

# The two 2021 sources sharing the prefix "JS" are told apart by record number: in
# version 1.0.3, Chapman-Shaoxing holds JS00001-JS10646 and Ningbo JS10647-JS45551.
RECORD_NUMBERS = {"chapman_shaoxing": (1, 10646), "ningbo": (10647, 45551)}

#: SNOMED CT code of sinus rhythm (``"426783006"``, abbreviated NSR): the class that the
#: "inactive" reference classifier of both challenge metrics always outputs.
NORMAL_CODE = "426783006"

# code: (name, abbreviation, weight position): the 27 codes scored in 2020, in the
# official order of 2020 (dx_mapping_scored.csv and weights.csv), then the three that
# 2021 adds. Both years' reward matrices are exactly W[i, j] = 1 when i and j are the
# same or equivalent codes and 0.5 * (1 - |p_i - p_j|) otherwise, with p the weight
# position below (the same in both years), except for the two 2021 pairs in
# _WEIGHT_EXCEPTIONS; tests/test_datasets_tables.py checks this against weights.csv.
_DX = {
    "270492004": ("1st degree av block", "IAVB", 0.1),
    "164889003": ("atrial fibrillation", "AF", 0.5),
    "164890007": ("atrial flutter", "AFL", 0.5),
    "426627000": ("bradycardia", "Brady", 0.1),
    "713427006": ("complete right bundle branch block", "CRBBB", 0.3),
    "713426002": ("incomplete right bundle branch block", "IRBBB", 0.1),
    "445118002": ("left anterior fascicular block", "LAnFB", 0.2),
    "39732003": ("left axis deviation", "LAD", 0.2),
    "164909002": ("left bundle branch block", "LBBB", 0.45),
    "251146004": ("low qrs voltages", "LQRSV", 0.35),
    "698252002": ("nonspecific intraventricular conduction disorder", "NSIVCB", 0.2),
    "10370003": ("pacing rhythm", "PR", 0.25),
    "284470004": ("premature atrial contraction", "PAC", 0.175),
    "427172004": ("premature ventricular contractions", "PVC", 0.25),
    "164947007": ("prolonged pr interval", "LPR", 0.1),
    "111975006": ("prolonged qt interval", "LQT", 0.4),
    "164917005": ("qwave abnormal", "QAb", 0.7),
    "47665007": ("right axis deviation", "RAD", 0.2),
    "59118001": ("right bundle branch block", "RBBB", 0.3),
    "427393009": ("sinus arrhythmia", "SA", 0.1),
    "426177001": ("sinus bradycardia", "SB", 0.1),
    "426783006": ("sinus rhythm", "NSR", 0.0),
    "427084000": ("sinus tachycardia", "STach", 0.25),
    "63593006": ("supraventricular premature beats", "SVPB", 0.175),
    "164934002": ("t wave abnormal", "TAb", 0.5),
    "59931005": ("t wave inversion", "TInv", 0.5),
    "17338001": ("ventricular premature beats", "VPB", 0.25),
    # Scored from 2021 on:
    "6374002": ("bundle branch block", "BBB", 0.45),
    "733534002": ("complete left bundle branch block", "CLBBB", 0.45),
    "365413008": ("poor R wave Progression", "PRWP", 0.35),
}
_ADDED_2021 = ("6374002", "733534002", "365413008")

# Records carrying each code, per source of SOURCES_2021, in its order: CPSC, CPSC-Extra,
# StPetersburg, PTB, PTB-XL, Georgia, Chapman-Shaoxing, Ningbo (dx_mapping_scored.csv of
# evaluation-2021, whose first six columns equal those of evaluation-2020).
_COUNTS = {
    "270492004": (  722,   106,     0,     0,   797,   769,   247,   893),  # IAVB
    "164889003": ( 1221,   153,     2,    15,  1514,   570,  1780,     0),  # AF
    "164890007": (    0,    54,     0,     1,    73,   186,   445,  7615),  # AFL
    "426627000": (    0,   271,    11,     0,     0,     6,     0,     7),  # Brady
    "713427006": (    0,   113,     0,     0,   542,    28,     0,  1096),  # CRBBB
    "713426002": (    0,    86,     0,     0,  1118,   407,     0,   246),  # IRBBB
    "445118002": (    0,     0,     0,     0,  1626,   180,     0,   380),  # LAnFB
    "39732003":  (    0,     0,     0,     0,  5146,   940,   382,  1163),  # LAD
    "164909002": (  236,    38,     0,     0,   536,   231,   205,    35),  # LBBB
    "251146004": (    0,     0,     0,     0,   182,   374,   249,   794),  # LQRSV
    "698252002": (    0,     4,     1,     0,   789,   203,   235,   536),  # NSIVCB
    "10370003":  (    0,     3,     0,     0,   296,     0,     0,  1182),  # PR
    "284470004": (  616,    73,     3,     0,   398,   639,   258,  1054),  # PAC
    "427172004": (    0,   188,     0,     0,     0,     0,     0,  1091),  # PVC
    "164947007": (    0,     0,     0,     0,   340,     0,    12,    40),  # LPR
    "111975006": (    0,     4,     0,     0,   118,  1391,    57,   337),  # LQT
    "164917005": (    0,     1,     0,     0,   548,   464,   235,   828),  # QAb
    "47665007":  (    0,     1,     0,     0,   343,    83,   215,   638),  # RAD
    "59118001":  ( 1857,     1,     2,     0,     0,   542,   454,   195),  # RBBB
    "427393009": (    0,    11,     2,     0,   772,   455,     0,  2550),  # SA
    "426177001": (    0,    45,     0,     0,   637,  1677,  3889, 12670),  # SB
    "426783006": (  918,     4,     0,    80, 18092,  1752,  1826,  6299),  # NSR
    "427084000": (    0,   303,    11,     1,   826,  1261,  1568,  5687),  # STach
    "63593006":  (    0,    53,     4,     0,   157,     1,     0,     9),  # SVPB
    "164934002": (    0,    22,     0,     0,  2345,  2306,  1876,  5167),  # TAb
    "59931005":  (    0,     5,     1,     0,   294,   812,   157,  2720),  # TInv
    "17338001":  (    0,     8,     0,     0,     0,   357,   294,     0),  # VPB
    "6374002":   (    0,     0,     1,    20,     0,   116,     0,   385),  # BBB
    "733534002": (    0,     0,     0,     0,     0,     0,     0,   213),  # CLBBB
    "365413008": (    0,     0,     0,     0,     0,     0,     0,   638),  # PRWP
}  # fmt: skip

# Entries of the 2021 reward matrix that the weight positions do not give (they would
# give 0.5): pairs of classes, each named by its representative code.
_WEIGHT_EXCEPTIONS = {
    2020: {},
    2021: {("6374002", "733534002"): 0.475, ("251146004", "365413008"): 0.475},
}

#: The 27 SNOMED CT codes the 2020 challenge scores, as strings, in the official order of
#: ``dx_mapping_scored.csv`` and ``weights.csv`` (physionetchallenges/evaluation-2020).
SCORED_CODES: tuple[str, ...] = tuple(c for c in _DX if c not in _ADDED_2021)

#: The 30 SNOMED CT codes the 2021 challenge scores: those of 2020 and bundle branch block
#: (6374002), complete left bundle branch block (733534002) and poor R wave progression
#: (365413008), in the official order of ``weights.csv`` (physionetchallenges/
#: evaluation-2021), where each pair of equivalent codes is one class and the second
#: code of the pair follows the first here.
SCORED_CODES_2021: tuple[str, ...] = (
    "164889003", "164890007", "6374002", "426627000", "733534002", "164909002",
    "713427006", "59118001", "270492004", "713426002", "39732003", "445118002",
    "164947007", "251146004", "111975006", "698252002", "426783006", "284470004",
    "63593006", "10370003", "365413008", "427172004", "17338001", "164917005",
    "47665007", "427393009", "426177001", "427084000", "164934002", "59931005",
)  # fmt: skip

#: Codes counted as one class, per class set: set name -> {member code: representative
#: code}. ``"scored"`` merges none, ``"merged"`` the 2020 challenge's three pairs, and
#: ``"3kg"`` also prolonged PR interval into first-degree AV block, as the 3KG authors'
#: code does; ``"scored2021"`` merges none of the 2021 codes and ``"merged2021"`` the 2021
#: challenge's four pairs, the three of 2020 and complete left bundle branch block with
#: left bundle branch block.
EQUIVALENT_CODES: dict[str, dict[str, str]] = {
    "scored": {},
    "merged": {"59118001": "713427006", "63593006": "284470004", "17338001": "427172004"},
}
EQUIVALENT_CODES["3kg"] = {**EQUIVALENT_CODES["merged"], "164947007": "270492004"}
EQUIVALENT_CODES["scored2021"] = {}
EQUIVALENT_CODES["merged2021"] = {"164909002": "733534002", **EQUIVALENT_CODES["merged"]}

#: Names of the class sets, ``("scored", "merged", "3kg", "scored2021", "merged2021")``:
#: the 27 codes scored in 2020, the 24 classes of the 2020 metric, the 23 classes of 3KG,
#: the 30 codes scored in 2021 and the 26 classes of the 2021 metric (see
#: :func:`get_class_set`).
CLASS_SETS = tuple(EQUIVALENT_CODES)

#: Scored codes by subgroup, for per-group reporting (our grouping; the challenges define
#: none): "rhythm" (rate, origin of beats), "conduction" (delays, blocks) and "morphology"
#: (wave shape, axis, amplitude, repolarisation); each of the 30 codes scored in 2020 or
#: 2021 is in one group.
CLASS_SUBGROUPS: dict[str, tuple[str, ...]] = {
    "rhythm": (
        "164889003", "164890007", "426627000", "10370003", "284470004", "427172004",
        "427393009", "426177001", "426783006", "427084000", "63593006", "17338001",
    ),
    "conduction": (
        "270492004", "713427006", "713426002", "445118002", "164909002", "698252002",
        "164947007", "59118001", "6374002", "733534002",
    ),
    "morphology": ("39732003", "251146004", "111975006", "164917005", "47665007",
                   "164934002", "59931005", "365413008"),
}  # fmt: skip

# Per challenge year: its scored codes, its sources and the class set of its metric.
_YEARS = {
    2020: (SCORED_CODES, SOURCES, "merged"),
    2021: (SCORED_CODES_2021, SOURCES_2021, "merged2021"),
}


def _year_of(name: str) -> int:
    """The challenge year whose scored codes make up a class set."""
    return 2021 if name.endswith("2021") else 2020


class ClassSet(NamedTuple):
    """Representative SNOMED CT codes, names and abbreviations of a class set.

    What :func:`get_class_set` returns; the three lists are aligned, one entry
    per class, in the official order.

    Parameters
    ----------
    codes : list of str
        SNOMED CT code of each class (for a merged class, its representative
        code, see :data:`EQUIVALENT_CODES`).
    names : list of str
        The diagnoses' names, lower case, as in ``dx_mapping_scored.csv``.
    abbreviations : list of str
        Their abbreviations, e.g. ``"AF"``.

    See Also
    --------
    get_class_set : Build the class set of a name in :data:`CLASS_SETS`.

    Examples
    --------
    >>> from sk3kg.datasets import get_class_set
    >>> class_set = get_class_set("merged")
    >>> len(class_set.codes), class_set.codes[1], class_set.names[1], class_set.abbreviations[1]
    (24, '164889003', 'atrial fibrillation', 'AF')
    """

    codes: list[str]
    names: list[str]
    abbreviations: list[str]


def _check_class_set(name: str) -> None:
    if name not in EQUIVALENT_CODES:
        raise ValueError(f"Unknown class set {name!r}; choose one of {', '.join(CLASS_SETS)}.")


def get_class_set(name: str = "3kg") -> ClassSet:
    """Return the classes of a class set, in the official order.

    Parameters
    ----------
    name : {"3kg", "merged", "scored", "merged2021", "scored2021"}, default="3kg"
        ``"scored"``: the 27 codes scored in 2020. ``"merged"``: the 24 classes of
        the 2020 metric (713427006 = 59118001, 284470004 = 63593006,
        427172004 = 17338001). ``"3kg"``: 23 classes, ``"merged"`` with prolonged PR
        interval (164947007) also folded into first-degree AV block (270492004), as the
        3KG authors' public training code does (the paper's text lists no classes).
        ``"scored2021"``: the 30 codes scored in 2021. ``"merged2021"``: the 26 classes
        of the 2021 metric, whose pairs are those of ``"merged"`` and
        733534002 = 164909002 (complete and plain left bundle branch block).

    Returns
    -------
    class_set : ClassSet
        Named tuple ``(codes, names, abbreviations)``; a merged class is named by its
        representative code, the one that comes first in the official order.

    Examples
    --------
    >>> from sk3kg.datasets import get_class_set
    >>> codes, names, abbreviations = get_class_set("3kg")
    >>> len(codes), abbreviations[:3]
    (23, ['IAVB', 'AF', 'AFL'])
    >>> codes, names, abbreviations = get_class_set("merged2021")
    >>> len(codes), abbreviations[:6]
    (26, ['AF', 'AFL', 'BBB', 'Brady', 'CLBBB', 'CRBBB'])
    """
    _check_class_set(name)
    merged = EQUIVALENT_CODES[name]
    codes = [code for code in _YEARS[_year_of(name)][0] if code not in merged]
    return ClassSet(codes, [_DX[c][0] for c in codes], [_DX[c][1] for c in codes])


def code_to_index(name: str = "3kg") -> dict[str, int]:
    """Map every scored code, merged ones included, to its class index in a set.

    Parameters
    ----------
    name : {"3kg", "merged", "scored", "merged2021", "scored2021"}, default="3kg"
        Class set, see :func:`get_class_set`.

    Returns
    -------
    mapping : dict of str to int
        All codes scored in the set's year (the 27 of :data:`SCORED_CODES`, or the
        30 of :data:`SCORED_CODES_2021` for the sets ending in 2021); equivalent
        codes share an index.

    Examples
    --------
    >>> from sk3kg.datasets import code_to_index
    >>> index = code_to_index("merged")
    >>> index["59118001"] == index["713427006"], len(set(index.values()))
    (True, 24)
    >>> index = code_to_index("merged2021")
    >>> index["164909002"] == index["733534002"], len(index), len(set(index.values()))
    (True, 30, 26)
    """
    codes = get_class_set(name).codes
    position = {code: i for i, code in enumerate(codes)}
    merged = EQUIVALENT_CODES[name]
    return {code: position[merged.get(code, code)] for code in _YEARS[_year_of(name)][0]}


def class_prevalence(name: str = "3kg", sources: list[str] | None = None) -> np.ndarray:
    """Fraction of training records carrying each class, from the official counts.

    A merged class counts the records of each member code; a record carrying both
    codes of a pair is counted twice, so these are upper bounds (clipped at 1).

    Parameters
    ----------
    name : {"3kg", "merged", "scored", "merged2021", "scored2021"}, default="3kg"
        Class set, see :func:`get_class_set`.
    sources : list of str, default=None
        Source names (keys of :data:`SOURCES_2021`, which include those of
        :data:`SOURCES`); when None, the sources of the set's year: the six of
        2020, or the eight of 2021 for the sets ending in 2021.

    Returns
    -------
    prevalence : ndarray of shape (n_classes,)
        Fraction of the sources' records carrying each class of the set, in
        the order of :func:`get_class_set`.

    Examples
    --------
    >>> from sk3kg.datasets import class_prevalence, get_class_set
    >>> p = class_prevalence("scored")
    >>> round(float(p[get_class_set("scored").codes.index("426783006")]), 3)
    0.484
    >>> p = class_prevalence("scored2021")
    >>> round(float(p[get_class_set("scored2021").codes.index("426783006")]), 3)
    0.328
    """
    year_sources = _YEARS[_year_of(name)][1]
    sources = list(year_sources) if sources is None else list(sources)
    unknown = sorted(set(sources) - set(SOURCES_2021))
    if unknown:
        raise ValueError(f"Unknown sources {unknown}; choose from {list(SOURCES_2021)}.")
    columns = [list(SOURCES_2021).index(s) for s in sources]
    n_records = sum(SOURCES_2021[s].n_records for s in sources)
    counts = np.zeros(len(get_class_set(name).codes))
    for code, index in code_to_index(name).items():
        counts[index] += sum(_COUNTS[code][c] for c in columns)
    return np.minimum(counts / n_records, 1.0)


def _check_year(year: int) -> None:
    if year not in _YEARS:
        raise ValueError(f"year must be one of {list(_YEARS)}, got {year!r}.")


def challenge_weights(codes: list[str] | None = None, *, year: int = 2020) -> np.ndarray:
    """Reward matrix of a challenge metric (rows: true, columns: predicted).

    Parameters
    ----------
    codes : list of str, default=None
        Codes scored in ``year`` giving the rows and columns; all of them
        (:data:`SCORED_CODES` or :data:`SCORED_CODES_2021`) when None.
    year : {2020, 2021}, default=2020
        The challenge whose matrix to give (``weights.csv`` of its evaluation code).

    Returns
    -------
    weights : ndarray of shape (n_codes, n_codes)
        1 on the diagonal and between equivalent codes, less the further apart the
        diagnoses are in treatment and risk.

    Examples
    --------
    >>> from sk3kg.datasets import challenge_weights
    >>> challenge_weights(["270492004", "164889003", "426783006"])
    array([[1.  , 0.3 , 0.45],
           [0.3 , 1.  , 0.25],
           [0.45, 0.25, 1.  ]])
    >>> challenge_weights(["6374002", "164909002", "733534002"], year=2021)
    array([[1.   , 0.475, 0.475],
           [0.475, 1.   , 1.   ],
           [0.475, 1.   , 1.   ]])
    """
    _check_year(year)
    scored, _, metric_set = _YEARS[year]
    codes = list(scored) if codes is None else list(codes)
    unknown = [c for c in codes if c not in scored]
    if unknown:
        raise ValueError(f"Codes {unknown} are not scored by the {year} challenge.")
    position = np.array([_DX[c][2] for c in codes])
    # Rounded so that the figures are the official ones, not their float neighbours.
    weights = np.round(0.5 * (1.0 - np.abs(position[:, None] - position[None, :])), 4)
    same, representatives = code_to_index(metric_set), get_class_set(metric_set).codes
    group = np.array([same[c] for c in codes])
    for pair, value in _WEIGHT_EXCEPTIONS[year].items():
        is_class = [np.isin(group, representatives.index(code)) for code in pair]
        both = is_class[0][:, None] & is_class[1][None, :]
        weights[both | both.T] = value
    weights[group[:, None] == group[None, :]] = 1.0
    return weights
