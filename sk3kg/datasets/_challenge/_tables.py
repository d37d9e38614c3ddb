"""Facts about the PhysioNet/CinC Challenge 2020 data, as tables.

Everything here is a figure from the challenge's own documents, typed in once:

- the six public training sources of version 1.0.2, their file-name prefixes,
  sampling rates and record counts (Perez Alday et al. 2020, Table 1);
- the 27 scored SNOMED CT codes with names, abbreviations and per-source counts
  (``dx_mapping_scored.csv`` of physionetchallenges/evaluation-2020 @ 8ad0242);
- the three pairs the challenge scores as one class, and the fourth pair the
  3KG authors also merge;
- the reward matrix of the challenge metric (``weights.csv``, same commit).

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
    "SOURCES",
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
    """One public training source of the 2020 challenge.

    The figures are those of version 1.0.2 of the challenge data (Perez Alday
    et al. 2020, Table 1); :data:`SOURCES` holds the six sources.

    Parameters
    ----------
    name : str
        Folder name of the source in version 1.0.2, e.g. ``"ptb-xl"``.
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

    Examples
    --------
    >>> from sk3kg.datasets import SOURCES
    >>> ptbxl = SOURCES["ptb-xl"]
    >>> ptbxl.prefix, ptbxl.fs, ptbxl.n_records
    ('HR', 500, 21837)
    >>> sum(source.n_records for source in SOURCES.values())
    43101
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

#: SNOMED CT code of sinus rhythm (``"426783006"``, abbreviated NSR): the class that the
#: challenge metric's "inactive" reference classifier always outputs.
NORMAL_CODE = "426783006"

# code: (name, abbreviation, weight position, counts in CPSC, CPSC-Extra, StPetersburg,
# PTB, PTB-XL, Georgia). Row order is the official one (dx_mapping_scored.csv and
# weights.csv). The official reward matrix is exactly W[i, j] = 1 when i and j are the
# same or equivalent codes and 0.5 * (1 - |p_i - p_j|) otherwise, with p the weight
# position below; tests/test_datasets_tables.py checks this against weights.csv itself.
_SCORED = {
    "270492004": ("1st degree av block", "IAVB", 0.1, (722, 106, 0, 0, 797, 769)),
    "164889003": ("atrial fibrillation", "AF", 0.5, (1221, 153, 2, 15, 1514, 570)),
    "164890007": ("atrial flutter", "AFL", 0.5, (0, 54, 0, 1, 73, 186)),
    "426627000": ("bradycardia", "Brady", 0.1, (0, 271, 11, 0, 0, 6)),
    "713427006": ("complete right bundle branch block", "CRBBB", 0.3, (0, 113, 0, 0, 542, 28)),
    "713426002": ("incomplete right bundle branch block", "IRBBB", 0.1, (0, 86, 0, 0, 1118, 407)),
    "445118002": ("left anterior fascicular block", "LAnFB", 0.2, (0, 0, 0, 0, 1626, 180)),
    "39732003": ("left axis deviation", "LAD", 0.2, (0, 0, 0, 0, 5146, 940)),
    "164909002": ("left bundle branch block", "LBBB", 0.45, (236, 38, 0, 0, 536, 231)),
    "251146004": ("low qrs voltages", "LQRSV", 0.35, (0, 0, 0, 0, 182, 374)),
    "698252002": (
        "nonspecific intraventricular conduction disorder",
        "NSIVCB",
        0.2,
        (0, 4, 1, 0, 789, 203),
    ),
    "10370003": ("pacing rhythm", "PR", 0.25, (0, 3, 0, 0, 296, 0)),
    "284470004": ("premature atrial contraction", "PAC", 0.175, (616, 73, 3, 0, 398, 639)),
    "427172004": ("premature ventricular contractions", "PVC", 0.25, (0, 188, 0, 0, 0, 0)),
    "164947007": ("prolonged pr interval", "LPR", 0.1, (0, 0, 0, 0, 340, 0)),
    "111975006": ("prolonged qt interval", "LQT", 0.4, (0, 4, 0, 0, 118, 1391)),
    "164917005": ("qwave abnormal", "QAb", 0.7, (0, 1, 0, 0, 548, 464)),
    "47665007": ("right axis deviation", "RAD", 0.2, (0, 1, 0, 0, 343, 83)),
    "59118001": ("right bundle branch block", "RBBB", 0.3, (1857, 1, 2, 0, 0, 542)),
    "427393009": ("sinus arrhythmia", "SA", 0.1, (0, 11, 2, 0, 772, 455)),
    "426177001": ("sinus bradycardia", "SB", 0.1, (0, 45, 0, 0, 637, 1677)),
    "426783006": ("sinus rhythm", "NSR", 0.0, (918, 4, 0, 80, 18092, 1752)),
    "427084000": ("sinus tachycardia", "STach", 0.25, (0, 303, 11, 1, 826, 1261)),
    "63593006": ("supraventricular premature beats", "SVPB", 0.175, (0, 53, 4, 0, 157, 1)),
    "164934002": ("t wave abnormal", "TAb", 0.5, (0, 22, 0, 0, 2345, 2306)),
    "59931005": ("t wave inversion", "TInv", 0.5, (0, 5, 1, 0, 294, 812)),
    "17338001": ("ventricular premature beats", "VPB", 0.25, (0, 8, 0, 0, 0, 357)),
}

#: The 27 SNOMED CT codes the challenge scores, as strings, in the official order of
#: ``dx_mapping_scored.csv`` and ``weights.csv`` (physionetchallenges/evaluation-2020).
SCORED_CODES: tuple[str, ...] = tuple(_SCORED)

#: Codes counted as one class, per class set: set name -> {member code: representative
#: code}. ``"scored"`` merges none, ``"merged"`` the challenge's three pairs, and ``"3kg"``
#: also prolonged PR interval into first-degree AV block, as the 3KG authors' code does.
EQUIVALENT_CODES: dict[str, dict[str, str]] = {
    "scored": {},
    "merged": {"59118001": "713427006", "63593006": "284470004", "17338001": "427172004"},
}
EQUIVALENT_CODES["3kg"] = {**EQUIVALENT_CODES["merged"], "164947007": "270492004"}

#: Names of the class sets, ``("scored", "merged", "3kg")``: the 27 scored codes, the 24
#: classes of the challenge metric and the 23 classes of 3KG (see :func:`get_class_set`).
CLASS_SETS = tuple(EQUIVALENT_CODES)

#: Scored codes by subgroup, for per-group reporting (our grouping; the challenge defines
#: none): "rhythm" (rate, origin of beats), "conduction" (delays, blocks) and "morphology"
#: (wave shape, axis, amplitude, repolarisation); each of the 27 codes is in one group.
CLASS_SUBGROUPS: dict[str, tuple[str, ...]] = {
    "rhythm": (
        "164889003", "164890007", "426627000", "10370003", "284470004", "427172004",
        "427393009", "426177001", "426783006", "427084000", "63593006", "17338001",
    ),
    "conduction": (
        "270492004", "713427006", "713426002", "445118002", "164909002", "698252002",
        "164947007", "59118001",
    ),
    "morphology": ("39732003", "251146004", "111975006", "164917005", "47665007",
                   "164934002", "59931005"),
}  # fmt: skip


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
    name : {"3kg", "merged", "scored"}, default="3kg"
        ``"scored"``: the 27 scored codes. ``"merged"``: the 24 classes of the
        challenge metric (713427006 = 59118001, 284470004 = 63593006,
        427172004 = 17338001). ``"3kg"``: 23 classes, ``"merged"`` with prolonged PR
        interval (164947007) also folded into first-degree AV block (270492004), as the
        3KG authors' public training code does (the paper's text lists no classes).

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
    """
    _check_class_set(name)
    merged = EQUIVALENT_CODES[name]
    codes = [code for code in SCORED_CODES if code not in merged]
    return ClassSet(codes, [_SCORED[c][0] for c in codes], [_SCORED[c][1] for c in codes])


def code_to_index(name: str = "3kg") -> dict[str, int]:
    """Map every scored code, merged ones included, to its class index in a set.

    Parameters
    ----------
    name : {"3kg", "merged", "scored"}, default="3kg"
        Class set, see :func:`get_class_set`.

    Returns
    -------
    mapping : dict of str to int
        All 27 scored codes; equivalent codes share an index.

    Examples
    --------
    >>> from sk3kg.datasets import code_to_index
    >>> index = code_to_index("merged")
    >>> index["59118001"] == index["713427006"], len(set(index.values()))
    (True, 24)
    """
    codes = get_class_set(name).codes
    position = {code: i for i, code in enumerate(codes)}
    merged = EQUIVALENT_CODES[name]
    return {code: position[merged.get(code, code)] for code in SCORED_CODES}


def class_prevalence(name: str = "3kg", sources: list[str] | None = None) -> np.ndarray:
    """Fraction of training records carrying each class, from the official counts.

    A merged class counts the records of each member code; a record carrying both
    codes of a pair is counted twice, so these are upper bounds (clipped at 1).

    Parameters
    ----------
    name : {"3kg", "merged", "scored"}, default="3kg"
        Class set, see :func:`get_class_set`.
    sources : list of str, default=None
        Source names (keys of :data:`SOURCES`); all six when None.

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
    """
    sources = list(SOURCES) if sources is None else list(sources)
    unknown = sorted(set(sources) - set(SOURCES))
    if unknown:
        raise ValueError(f"Unknown sources {unknown}; choose from {list(SOURCES)}.")
    columns = [list(SOURCES).index(s) for s in sources]
    n_records = sum(SOURCES[s].n_records for s in sources)
    counts = np.zeros(len(get_class_set(name).codes))
    for code, index in code_to_index(name).items():
        counts[index] += sum(_SCORED[code][3][c] for c in columns)
    return np.minimum(counts / n_records, 1.0)


def challenge_weights(codes: list[str] | None = None) -> np.ndarray:
    """Reward matrix of the 2020 challenge metric (rows: true, columns: predicted).

    Parameters
    ----------
    codes : list of str, default=None
        Scored codes giving the rows and columns; the 27 scored codes when None.

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
    """
    codes = list(SCORED_CODES) if codes is None else list(codes)
    unknown = [c for c in codes if c not in _SCORED]
    if unknown:
        raise ValueError(f"Codes {unknown} are not scored by the 2020 challenge.")
    position = np.array([_SCORED[c][2] for c in codes])
    # Rounded so that the figures are the official ones, not their float neighbours.
    weights = np.round(0.5 * (1.0 - np.abs(position[:, None] - position[None, :])), 4)
    same = code_to_index("merged")
    group = np.array([same[c] for c in codes])
    weights[group[:, None] == group[None, :]] = 1.0
    return weights
