"""Which diagnoses a simulated patient and record carry, drawn with the challenge's prevalences.

Findings of the heart's structure (pacing, bundle-branch and fascicular blocks, the
QRS axis, scar, low voltage) belong to the patient and so persist across a
patient's records; findings of the moment (rhythm, premature beats, PR and QT
intervals, T waves) are drawn per record. The draws respect physiology: one base
rhythm per record; no P-wave findings without P waves; at most one ventricular
conduction pattern; a paced heart has none; no Q-wave finding in a paced or
left-bundle-branch-blocked QRS; a fascicular block brings its axis.
Each finding's probability is its share of the 43,101 training records of the
2020 challenge (``class_prevalence``), divided by the share of records that can
carry it, so that the marginal frequencies match the challenge's.
"""

from typing import NamedTuple

import numpy as np

from .._challenge._tables import class_prevalence, get_class_set

_SCORED = get_class_set("scored")
CODE = dict(zip(_SCORED.abbreviations, _SCORED.codes, strict=True))
_PREVALENCE = dict(zip(_SCORED.abbreviations, class_prevalence("scored"), strict=True))

# The pairs the challenge scores as one class (and prolonged PR, which 3KG merges into
# IAVB): a record showing the finding carries one code of the pair, in the proportion
# in which the training data uses them.
PAIRS = {
    "RBBB": ("RBBB", "CRBBB"),
    "PAC": ("PAC", "SVPB"),
    "PVC": ("PVC", "VPB"),
    "LongPR": ("IAVB", "LPR"),
}
RHYTHMS = ("NSR", "SB", "STach", "SA", "Brady", "AF", "AFL")
SINUS_RHYTHMS = ("NSR", "SB", "STach", "SA")
CONDUCTION = ("RBBB", "IRBBB", "LBBB", "NSIVCB")
INFARCT_REGIONS = ("inferior", "anterior", "lateral")
T_REGIONS = ("lateral", "inferior", "anterior")


def prevalence(finding: str) -> float:
    """Share of training records with ``finding`` (a pair counts both its codes)."""
    return sum(_PREVALENCE[abbreviation] for abbreviation in PAIRS.get(finding, (finding,)))


_P_PACED = prevalence("PR")
_RHYTHM_SHARE = np.array([prevalence(r) for r in RHYTHMS])
_RHYTHM_SHARE /= _RHYTHM_SHARE.sum()
_P_SINUS = (1 - _P_PACED) * _RHYTHM_SHARE[: len(SINUS_RHYTHMS)].sum()


class PatientFindings(NamedTuple):
    paced: bool
    conduction: str | None  # one of CONDUCTION
    fascicular_block: bool  # left anterior
    axis: float  # target frontal QRS axis, degrees
    infarct: str | None  # region of pathological Q waves
    low_voltage: bool


class RecordFindings(NamedTuple):
    rhythm: str  # one of RHYTHMS, or "PR" (paced)
    n_pac: int
    n_pvc: int
    long_pr: bool
    long_qt: bool
    t_inversion: str | None  # region
    t_flat: bool


def _draw_axis(rng, fascicular_block: bool, paced: bool) -> float:
    p_lanfb = prevalence("LAnFB")
    p_lad = (prevalence("LAD") - p_lanfb) / (1 - p_lanfb)
    if fascicular_block:
        return rng.uniform(-80, -50)
    if (paced and rng.random() < 0.7) or (not paced and rng.random() < p_lad):
        return rng.uniform(-60, -36)
    if not paced and rng.random() < prevalence("RAD") / (1 - prevalence("LAD")):
        return rng.uniform(98, 150)
    while True:  # normal axis, away from the -30 and +90 degree thresholds
        axis = rng.normal(50, 25)
        if -20 <= axis <= 82:
            return axis


def draw_patient_findings(rng) -> PatientFindings:
    """The structural findings of one patient."""
    paced = rng.random() < _P_PACED
    conduction = None
    if not paced:
        shares = np.array([prevalence(c) for c in CONDUCTION]) / (1 - _P_PACED)
        pick = rng.choice(len(CONDUCTION) + 1, p=[*shares, 1 - shares.sum()])
        conduction = CONDUCTION[pick] if pick < len(CONDUCTION) else None
    eligible = 1 - _P_PACED - prevalence("LBBB")
    fascicular = not paced and conduction != "LBBB"
    fascicular = fascicular and rng.random() < prevalence("LAnFB") / eligible
    infarct = None  # Q-wave criteria do not apply to a left-bundle-branch-blocked or paced QRS
    if conduction != "LBBB" and not paced and rng.random() < prevalence("QAb") / eligible:
        infarct = INFARCT_REGIONS[rng.choice(3, p=[0.45, 0.35, 0.2])]
    low_voltage = bool(rng.random() < prevalence("LQRSV"))
    axis = _draw_axis(rng, fascicular, paced)
    return PatientFindings(bool(paced), conduction, bool(fascicular), axis, infarct, low_voltage)


def draw_record_findings(rng, patient: PatientFindings) -> RecordFindings:
    """The findings of one record of ``patient``."""
    if patient.paced:
        return RecordFindings("PR", 0, 0, False, False, None, False)
    rhythm = RHYTHMS[rng.choice(len(RHYTHMS), p=_RHYTHM_SHARE)]
    sinus = rhythm in SINUS_RHYTHMS
    free = 1 - _P_PACED
    n_pac = int(rng.integers(1, 4)) if sinus and rng.random() < prevalence("PAC") / _P_SINUS else 0
    n_pvc = int(rng.integers(1, 4)) if rng.random() < prevalence("PVC") / free else 0
    long_pr = sinus and rng.random() < prevalence("LongPR") / _P_SINUS
    long_qt = rng.random() < prevalence("LQT") / free
    t_inversion = None
    if rng.random() < prevalence("TInv") / free:
        t_inversion = T_REGIONS[rng.integers(3)]
    t_flat = rng.random() < prevalence("TAb") / free
    return RecordFindings(rhythm, n_pac, n_pvc, bool(long_pr), bool(long_qt), t_inversion,
                          bool(t_flat))  # fmt: skip


def _pair_code(rng, finding: str) -> str:
    first, second = PAIRS[finding]
    p_first = _PREVALENCE[first] / (_PREVALENCE[first] + _PREVALENCE[second])
    return CODE[first if rng.random() < p_first else second]


def record_codes(rng, patient: PatientFindings, record: RecordFindings, axis: float) -> list:
    """SNOMED CT codes of a record; the axis labels follow the measured ``axis``."""
    names = [record.rhythm]
    names += [patient.conduction] if patient.conduction not in (None, "RBBB") else []
    names += ["LAnFB"] * patient.fascicular_block + ["QAb"] * (patient.infarct is not None)
    names += ["LQRSV"] * patient.low_voltage + ["LQT"] * record.long_qt
    names += ["TInv"] * (record.t_inversion is not None) + ["TAb"] * record.t_flat
    names += ["LAD"] * (-90 <= axis < -30) + ["RAD"] * (axis > 90)
    codes = [CODE[name] for name in names]
    pairs = [
        ("RBBB", patient.conduction == "RBBB"),
        ("PAC", record.n_pac > 0),
        ("PVC", record.n_pvc > 0),
        ("LongPR", record.long_pr),
    ]
    codes += [_pair_code(rng, finding) for finding, present in pairs if present]
    return codes
