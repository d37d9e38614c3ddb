"""The label tables of sk3kg.datasets agree with the challenge's own files."""

import csv
from pathlib import Path

import numpy as np
import pytest

from sk3kg.datasets import (
    CLASS_SUBGROUPS,
    EQUIVALENT_CODES,
    NORMAL_CODE,
    SCORED_CODES,
    SCORED_CODES_2021,
    SOURCES,
    SOURCES_2021,
    challenge_weights,
    class_prevalence,
    code_to_index,
    get_class_set,
)

TABLES = Path(__file__).parents[2] / "shared" / "data" / "physionet2020-tables"
needs_tables = pytest.mark.skipif(not TABLES.is_dir(), reason="shared challenge tables absent")
SOURCE_COLUMNS = ["CPSC", "CPSC-Extra", "StPetersburg", "PTB", "PTB-XL", "Georgia"]


def read_csv(name):
    with open(TABLES / name, newline="") as f:
        return list(csv.reader(f))


@needs_tables
def test_scored_codes_names_abbreviations_and_counts_match_official_table():
    rows = read_csv("dx_mapping_scored.csv")
    header, rows = rows[0], rows[1:]
    assert [row[header.index("SNOMED CT Code")] for row in rows] == list(SCORED_CODES)
    codes, names, abbreviations = get_class_set("scored")
    assert names == [row[header.index("Dx")] for row in rows]
    assert abbreviations == [row[header.index("Abbreviation")] for row in rows]
    counts = np.array([[int(row[header.index(c)]) for c in SOURCE_COLUMNS] for row in rows])
    total = sum(s.n_records for s in SOURCES.values())
    expected = counts.sum(axis=1) / total
    np.testing.assert_allclose(class_prevalence("scored"), expected)


@needs_tables
def test_challenge_weights_equal_official_weights_csv():
    rows = read_csv("weights.csv")
    assert rows[0][1:] == list(SCORED_CODES)
    official = np.array([[float(v) for v in row[1:]] for row in rows[1:]])
    np.testing.assert_array_equal(challenge_weights(), official)


def test_challenge_weights_spot_values_and_symmetry():
    w = challenge_weights()
    i = {code: k for k, code in enumerate(SCORED_CODES)}
    assert w[i["270492004"], i["164889003"]] == 0.3  # IAVB vs AF
    assert w[i["164917005"], i[NORMAL_CODE]] == 0.15  # QAb vs NSR
    assert w[i["284470004"], i["164934002"]] == 0.3375  # PAC vs TAb
    assert w[i["59118001"], i["713427006"]] == 1.0  # RBBB = CRBBB
    np.testing.assert_array_equal(w, w.T)
    np.testing.assert_array_equal(np.diag(w), 1.0)


def test_sources_total_the_43101_training_records_of_version_1_0_2():
    assert sum(s.n_records for s in SOURCES.values()) == 43101
    assert SOURCES["st_petersburg_incart"].fs == 257
    assert SOURCES["ptb"].fs == 1000


@pytest.mark.parametrize(
    ("name", "n_classes", "scored"),
    [("scored", 27, SCORED_CODES), ("merged", 24, SCORED_CODES), ("3kg", 23, SCORED_CODES),
     ("scored2021", 30, SCORED_CODES_2021), ("merged2021", 26, SCORED_CODES_2021)],
)  # fmt: skip
def test_class_sets_have_their_sizes_and_index_every_scored_code(name, n_classes, scored):
    codes, names, abbreviations = get_class_set(name)
    assert len(codes) == len(names) == len(abbreviations) == n_classes
    index = code_to_index(name)
    assert set(index) == set(scored)
    assert sorted(set(index.values())) == list(range(n_classes))
    for code in codes:
        assert index[code] == codes.index(code)


@pytest.mark.parametrize(
    ("member", "representative"),
    [("59118001", "713427006"), ("63593006", "284470004"), ("17338001", "427172004")],
)
def test_equivalent_codes_share_a_class_in_merged_and_3kg(member, representative):
    for name in ("merged", "3kg"):
        assert code_to_index(name)[member] == code_to_index(name)[representative]
    assert code_to_index("scored")[member] != code_to_index("scored")[representative]


def test_3kg_folds_prolonged_pr_into_first_degree_av_block_only():
    assert set(EQUIVALENT_CODES["3kg"]) - set(EQUIVALENT_CODES["merged"]) == {"164947007"}
    index = code_to_index("3kg")
    assert index["164947007"] == index["270492004"]
    assert "164947007" in get_class_set("merged").codes
    assert "164947007" not in get_class_set("3kg").codes


def test_subgroups_partition_the_codes_scored_in_either_year():
    members = [code for group in CLASS_SUBGROUPS.values() for code in group]
    assert sorted(members) == sorted(SCORED_CODES_2021)
    assert set(SCORED_CODES) < set(SCORED_CODES_2021)
    assert set(CLASS_SUBGROUPS) == {"rhythm", "conduction", "morphology"}


def test_unknown_class_set_raises_with_the_choices():
    with pytest.raises(ValueError, match="choose one of scored, merged, 3kg"):
        get_class_set("cinc2021")


# --- 2021 -------------------------------------------------------------------------------
# Figures from physionetchallenges/evaluation-2021 @ e2a75fc (weights.csv,
# dx_mapping_scored.csv), typed in here independently of the package's tables.


@pytest.mark.parametrize(
    ("true", "predicted", "weight"),
    [("164889003", "6374002", 0.475),  # AF vs BBB
     ("6374002", "733534002", 0.475),  # BBB vs CLBBB: not what the positions give (0.5)
     ("6374002", "164909002", 0.475),  # BBB vs LBBB, the same class as CLBBB
     ("251146004", "365413008", 0.475),  # LQRSV vs PRWP: not 0.5 either
     ("365413008", "426783006", 0.325),  # PRWP vs NSR
     ("284470004", "365413008", 0.4125),  # PAC vs PRWP
     ("164917005", "6374002", 0.375),  # QAb vs BBB
     ("164909002", "733534002", 1.0),  # LBBB = CLBBB
     ("17338001", "427172004", 1.0)],  # VPB = PVC
)  # fmt: skip
def test_challenge_weights_2021_spot_values(true, predicted, weight):
    w = challenge_weights(year=2021)
    i, j = SCORED_CODES_2021.index(true), SCORED_CODES_2021.index(predicted)
    assert w[i, j] == w[j, i] == weight


def test_challenge_weights_2021_agree_with_2020_on_the_codes_both_score():
    np.testing.assert_array_equal(challenge_weights(list(SCORED_CODES), year=2021),
                                  challenge_weights())  # fmt: skip
    np.testing.assert_array_equal(np.diag(challenge_weights(year=2021)), 1.0)


def test_challenge_weights_refuse_codes_of_another_year_and_unknown_years():
    with pytest.raises(ValueError, match=r"\['365413008'\] are not scored by the 2020"):
        challenge_weights(["426783006", "365413008"])
    with pytest.raises(ValueError, match="year must be one of"):
        challenge_weights(year=2022)


@pytest.mark.parametrize(
    ("member", "representative"),
    [("59118001", "713427006"), ("63593006", "284470004"), ("17338001", "427172004"),
     ("164909002", "733534002")],
)  # fmt: skip
def test_merged2021_scores_the_four_official_pairs_as_one_class(member, representative):
    index = code_to_index("merged2021")
    assert index[member] == index[representative]
    assert code_to_index("scored2021")[member] != code_to_index("scored2021")[representative]


def test_merged2021_classes_follow_the_official_weights_order():
    abbreviations = get_class_set("merged2021").abbreviations
    assert abbreviations == [
        "AF", "AFL", "BBB", "Brady", "CLBBB", "CRBBB", "IAVB", "IRBBB", "LAD", "LAnFB",
        "LPR", "LQRSV", "LQT", "NSIVCB", "NSR", "PAC", "PR", "PRWP", "PVC", "QAb", "RAD",
        "SA", "SB", "STach", "TAb", "TInv",
    ]  # fmt: skip


def test_sources_2021_add_chapman_shaoxing_and_ningbo_to_the_2020_six():
    assert list(SOURCES_2021)[:6] == list(SOURCES)
    assert SOURCES_2021["chapman_shaoxing"].n_records == 10247
    assert SOURCES_2021["ningbo"].n_records == 34905
    assert sum(s.n_records for s in SOURCES_2021.values()) == 88253


@pytest.mark.parametrize(
    ("code", "total"),
    [("426783006", 28971), ("164889003", 5255), ("365413008", 638), ("6374002", 522)],
)
def test_class_prevalence_2021_uses_the_official_totals(code, total):
    codes = get_class_set("scored2021").codes
    assert class_prevalence("scored2021")[codes.index(code)] == pytest.approx(total / 88253)


def test_class_prevalence_of_the_new_sources_alone():
    codes = get_class_set("merged2021").codes
    p = class_prevalence("merged2021", sources=["ningbo"])
    assert p[codes.index("426783006")] == pytest.approx(6299 / 34905)
    with pytest.raises(ValueError, match="Unknown sources"):
        class_prevalence("merged", sources=["shaoxing"])
