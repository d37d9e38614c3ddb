"""AUC metrics, the model-selection scorer and the challenge score."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold, cross_val_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.multioutput import MultiOutputClassifier

from sk3kg.datasets import SCORED_CODES, SCORED_CODES_2021, challenge_weights, get_class_set
from sk3kg.metrics import (
    challenge_score,
    macro_auc,
    multilabel_auc_scorer,
    per_class_auc,
    subgroup_auc,
)

NSR, AF, IAVB = "426783006", "164889003", "270492004"
CRBBB, RBBB = "713427006", "59118001"
QAB = "164917005"
BBB, LBBB, CLBBB = "6374002", "164909002", "733534002"
LQRSV, PRWP = "251146004", "365413008"


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def random_multilabel(rng, n=80, k=5):
    y = (rng.random((n, k)) < 0.3).astype(int)
    return y, y + rng.normal(scale=0.8, size=y.shape)


# --- AUC ------------------------------------------------------------------------------


def test_per_class_auc_equals_scikit_learn_per_column(rng):
    y, score = random_multilabel(rng)
    expected = [roc_auc_score(y[:, j], score[:, j]) for j in range(y.shape[1])]
    np.testing.assert_allclose(per_class_auc(y, score), expected)


def test_macro_auc_leaves_out_single_label_classes_and_reports_them(rng):
    y, score = random_multilabel(rng)
    y[:, 1], y[:, 3] = 0, 1
    names = ["a", "b", "c", "d", "e"]
    expected = np.mean([roc_auc_score(y[:, j], score[:, j]) for j in (0, 2, 4)])
    assert macro_auc(y, score, target_names=names, return_excluded=True) == (
        pytest.approx(expected), ["b", "d"])  # fmt: skip
    with pytest.warns(UserWarning, match=r"undefined for 2 of 5 classes.*\['b', 'd'\]"):
        assert macro_auc(y, score, target_names=names) == pytest.approx(expected)


def test_macro_auc_is_nan_when_no_class_has_both_labels():
    auc, excluded = macro_auc([[0, 1], [0, 1]], [[0.1, 0.2], [0.3, 0.4]], return_excluded=True)
    assert np.isnan(auc) and excluded == [0, 1]


def test_macro_auc_rejects_mismatched_shapes_and_non_binary_labels():
    with pytest.raises(ValueError, match="shape"):
        macro_auc([[0, 1]], [[0.1, 0.2, 0.3]])
    with pytest.raises(ValueError, match="indicator matrix of 0 and 1"):
        macro_auc([[0, 2]], [[0.1, 0.2]])


def test_subgroup_auc_averages_the_classes_of_each_group(rng):
    codes, _, _ = get_class_set("3kg")
    y, score = random_multilabel(rng, n=200, k=len(codes))
    groups = subgroup_auc(y, score, codes)
    per_class = per_class_auc(y, score)
    rhythm = [codes.index(c) for c in (AF, NSR, "427084000", "426177001", "284470004",
                                       "164890007", "426627000", "10370003", "427172004",
                                       "427393009")]  # fmt: skip
    assert groups["rhythm"] == pytest.approx(per_class[rhythm].mean())
    assert set(groups) == {"rhythm", "conduction", "morphology"}


@pytest.mark.filterwarnings("ignore:Label not 2 is present:UserWarning")
@pytest.mark.filterwarnings("ignore:Only one class is present:UserWarning")
def test_scorer_skips_classes_absent_from_a_fold_in_cross_validation(rng):
    X = rng.normal(size=(90, 4))
    y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0, np.arange(90) < 5]).astype(int)
    model = OneVsRestClassifier(LogisticRegression())
    scores = cross_val_score(model, X, y, scoring=multilabel_auc_scorer, cv=KFold(3))
    assert np.isfinite(scores).all() and (scores > 0.8).all()
    # The rare class sits in the first fold only; scikit-learn's own scorer fails there.
    builtin = cross_val_score(model, X, y, scoring="roc_auc", cv=KFold(3), error_score=np.nan)
    assert np.isnan(builtin).any()


def test_scorer_stacks_per_label_probabilities_of_multioutput_models(rng):
    X = rng.normal(size=(60, 3))
    y = np.column_stack([X[:, 0] > 0, X[:, 2] > 0]).astype(int)
    model = MultiOutputClassifier(LogisticRegression()).fit(X, y)
    proba = np.column_stack([p[:, 1] for p in model.predict_proba(X)])
    assert multilabel_auc_scorer(model, X, y) == pytest.approx(macro_auc(y, proba))


# --- challenge score ------------------------------------------------------------------
# Weights used below (official table): w(NSR, AF) = 0.25, w(NSR, IAVB) = 0.45,
# w(AF, IAVB) = 0.3, w(CRBBB, NSR) = 0.35; 1 on the diagonal and for CRBBB = RBBB.


def test_challenge_score_of_a_hand_worked_case_is_minus_0_4():
    # Record 1: true {AF}, predicted {IAVB}: union 2, reward 0.3 / 2 = 0.15.
    # Record 2: true {NSR}, predicted {NSR, AF}: union 2, reward (1 + 0.25) / 2 = 0.625.
    # Observed 0.775; perfect 2; always-NSR 0.25 / 2 + 1 = 1.125.
    # Normalised: (0.775 - 1.125) / (2 - 1.125) = -0.4.
    y_true = [[0, 1, 0], [1, 0, 0]]
    y_pred = [[0, 0, 1], [1, 1, 0]]
    assert challenge_score(y_true, y_pred, [NSR, AF, IAVB]) == pytest.approx(-0.4)


def test_challenge_score_gives_partial_credit_for_a_similar_diagnosis():
    # True {AF, IAVB}, predicted {AF}: union 2, reward (1 + 0.3) / 2 = 0.65.
    # Perfect: union 2, (1 + 0.3 + 0.3 + 1) / 2 = 1.3. Always NSR: union 3,
    # (0.25 + 0.45) / 3 = 0.2333. Normalised: (0.65 - 0.2333) / (1.3 - 0.2333) = 0.390625.
    score = challenge_score([[0, 1, 1]], [[0, 1, 0]], [NSR, AF, IAVB])
    assert score == pytest.approx((0.65 - 0.7 / 3) / (1.3 - 0.7 / 3))
    assert score == pytest.approx(0.390625)


def test_challenge_score_counts_equivalent_codes_as_one_class():
    # True RBBB, predicted CRBBB: the same class, reward 1 (union of one class).
    # Always NSR: union 2, 0.35 / 2. Normalised (1 - 0.175) / (1 - 0.175) = 1.
    assert challenge_score([[0, 0, 1]], [[0, 1, 0]], [NSR, CRBBB, RBBB]) == 1.0


@pytest.mark.parametrize(
    ("classes", "year"),
    [("scored", 2020), ("merged", 2020), ("3kg", 2020), ("scored2021", 2021),
     ("merged2021", 2021)],
)  # fmt: skip
def test_challenge_score_is_1_for_truth_and_0_for_always_sinus_rhythm(rng, classes, year):
    codes, _, _ = get_class_set(classes)
    y = (rng.random((50, len(codes))) < 0.15).astype(int)
    always_nsr = np.zeros_like(y)
    always_nsr[:, codes.index(NSR)] = 1
    assert challenge_score(y, y, codes, year=year) == pytest.approx(1.0)
    assert challenge_score(y, always_nsr, codes, year=year) == pytest.approx(0.0, abs=1e-12)


# --- the 2021 score, by hand ------------------------------------------------------------
# Weights of the 2021 table used below: w(BBB, LBBB) = w(LQRSV, PRWP) = 0.475 (two entries
# the weight positions do not give), w(BBB, NSR) = 0.275, w(PRWP, NSR) = 0.325; 1 for
# CLBBB = LBBB.


def test_challenge_score_2021_counts_complete_and_plain_lbbb_as_one_class():
    # True LBBB, predicted CLBBB: one class, reward 1; the NSR record is right too.
    y_true, y_pred = [[0, 1, 0], [1, 0, 0]], [[0, 0, 1], [1, 0, 0]]
    assert challenge_score(y_true, y_pred, [NSR, LBBB, CLBBB], year=2021) == 1.0
    with pytest.raises(ValueError, match=r"\['733534002'\] are not scored by the 2020 "
                                         r"challenge\. .* pass year=2021"):  # fmt: skip
        challenge_score(y_true, y_pred, [NSR, LBBB, CLBBB])


def test_challenge_score_2021_of_a_hand_worked_case_is_8_69ths():
    # Record 1: true {BBB}, predicted {LBBB}: union 2, reward 0.475 / 2 = 0.2375.
    # Record 2: true {NSR}, predicted {NSR}: reward 1. Observed 1.2375; perfect 2;
    # always-NSR 0.275 / 2 + 1 = 1.1375. Normalised 0.1 / 0.8625 = 8 / 69.
    score = challenge_score([[0, 1, 0], [1, 0, 0]], [[0, 0, 1], [1, 0, 0]],
                            [NSR, BBB, LBBB], year=2021)  # fmt: skip
    assert score == pytest.approx(8 / 69, rel=0, abs=1e-15)


def test_challenge_score_2021_uses_the_tables_exceptional_weight():
    # True {PRWP}, predicted {LQRSV, PRWP}: union 2, reward (0.475 + 1) / 2 = 0.7375;
    # perfect 1; always-NSR 0.325 / 2 = 0.1625. Normalised 0.575 / 0.8375 = 46 / 67
    # (the weight positions alone would give 0.5 for the pair, hence 48 / 67).
    score = challenge_score([[0, 0, 1]], [[0, 1, 1]], [NSR, LQRSV, PRWP], year=2021)
    assert score == pytest.approx(46 / 67, rel=0, abs=1e-15)


def test_challenge_score_of_2020_codes_is_the_same_under_both_years(rng):
    # The 2021 table equals the 2020 one on the codes both years score.
    for _ in range(20):
        y_true, y_pred, codes = random_challenge_case(rng, 30)
        assert challenge_score(y_true, y_pred, codes, year=2021) == pytest.approx(
            challenge_score(y_true, y_pred, codes), rel=0, abs=1e-12
        )


def test_challenge_score_rejects_an_unknown_year():
    with pytest.raises(ValueError, match=r"year must be one of \[2020, 2021\], got 2019"):
        challenge_score([[1]], [[1]], [NSR], year=2019)


@pytest.mark.parametrize(
    ("codes", "y", "message"),
    [([AF, IAVB], [[1, 0]], "must include sinus rhythm"),
     ([NSR, "251238007"], [[1, 0]], "not scored by the 2020 challenge"),
     ([NSR, AF], [[1, 0.7]], "threshold scores first"),
     ([NSR, AF, IAVB], [[1, 0]], "one column per target code")],
)  # fmt: skip
def test_challenge_score_rejects_bad_input_with_a_clear_message(codes, y, message):
    with pytest.raises(ValueError, match=message):
        challenge_score(y, y, codes)


# --- challenge score against the official code -----------------------------------------
# Reference: compute_challenge_metric of evaluate_12ECG_score.py (physionetchallenges/
# evaluation-2020) and of evaluate_model.py (evaluation-2021), the same computation,
# re-derived from its formula record by record, without sk3kg's code. Only the reward
# tables come from sk3kg; tests/test_datasets_tables.py checks them against the official
# weights.csv.

# The official equivalent pairs; the first code of each stands for both.
OFFICIAL_EQUIVALENT = {
    2020: {RBBB: CRBBB, "63593006": "284470004", "17338001": "427172004"},
    2021: {RBBB: CRBBB, "63593006": "284470004", "17338001": "427172004", LBBB: CLBBB},
}


def reference_rewards(y_true, y_pred, codes, year=2020):
    """Observed, perfect and always-sinus-rhythm totals: each record adds W[true, predicted]
    over its (true, predicted) pairs, divided by the size of the union of both sets."""
    merged = [OFFICIAL_EQUIVALENT[year].get(c, c) for c in codes]
    classes = sorted(set(merged))
    weights = challenge_weights(classes, year=year)
    w = {(a, b): weights[i, j] for i, a in enumerate(classes) for j, b in enumerate(classes)}
    truth = [{merged[j] for j in np.flatnonzero(row)} for row in np.asarray(y_true)]
    predicted = [{merged[j] for j in np.flatnonzero(row)} for row in np.asarray(y_pred)]

    def total(outputs):
        result = 0.0
        for labels, output in zip(truth, outputs, strict=True):
            union = max(len(labels | output), 1)
            result += sum(w[a, b] for a in labels for b in output) / union
        return result

    return total(predicted), total(truth), total([{NSR}] * len(truth))


def reference_challenge_score(y_true, y_pred, codes, year=2020):
    observed, correct, inactive = reference_rewards(y_true, y_pred, codes, year)
    # The official rule: 0.0 when perfect and always-normal predictions score the same.
    if correct != inactive:
        return (observed - inactive) / (correct - inactive)
    return 0.0


def random_challenge_case(rng, n, scored=SCORED_CODES):
    """Random class subset with sinus rhythm, labels and predictions of random density;
    every third case predicts the truth with a few flips."""
    others = [c for c in scored if c != NSR]
    codes = [NSR, *rng.choice(others, size=rng.integers(1, len(others) + 1), replace=False)]
    rng.shuffle(codes)
    y_true = (rng.random((n, len(codes))) < rng.uniform(0.05, 0.4)).astype(int)
    y_pred = (rng.random((n, len(codes))) < rng.uniform(0.05, 0.4)).astype(int)
    if rng.random() < 1 / 3:
        y_pred = y_true ^ (rng.random(y_true.shape) < 0.05)
    return y_true, y_pred, codes


@pytest.mark.parametrize("n", [1, 2, 10, 100, 1000])
@pytest.mark.parametrize(("year", "scored"), [(2020, SCORED_CODES), (2021, SCORED_CODES_2021)])
def test_challenge_score_equals_the_official_formula_on_random_cases(rng, n, year, scored):
    for _ in range(10):
        y_true, y_pred, codes = random_challenge_case(rng, n, scored)
        expected = reference_challenge_score(y_true, y_pred, codes, year)
        score = challenge_score(y_true, y_pred, codes, year=year)
        assert score == pytest.approx(expected, rel=0, abs=1e-12)


def _nsr_only(n):
    y = np.zeros((n, 4), dtype=int)
    y[:, 0] = 1
    return y


@pytest.mark.parametrize(
    ("y_true", "y_pred"),
    [(np.zeros((5, 4), int), np.zeros((5, 4), int)),
     (np.zeros((5, 4), int), np.eye(5, 4, dtype=int)),
     (_nsr_only(5), _nsr_only(5)),
     (_nsr_only(5), np.eye(5, 4, dtype=int)),
     (_nsr_only(5), np.zeros((5, 4), int)),
     (np.vstack([_nsr_only(3), np.zeros((2, 4), int)]), np.ones((5, 4), int))],
    ids=["no-positives", "no-true-labels", "all-nsr-always-nsr", "all-nsr-any-prediction",
         "all-nsr-nothing-predicted", "nsr-or-unlabelled"],
)  # fmt: skip
@pytest.mark.parametrize(
    ("year", "codes"), [(2020, [NSR, AF, IAVB, CRBBB]), (2021, [NSR, BBB, CLBBB, PRWP])]
)
def test_challenge_score_is_0_like_the_official_code_when_no_record_is_abnormal(
    y_true, y_pred, year, codes
):
    # Perfect and always-NSR predictions then score the same; the official code returns 0.0.
    score = challenge_score(y_true, y_pred, codes, year=year)
    assert score == 0.0 and type(score) is float
    assert reference_challenge_score(y_true, y_pred, codes, year) == 0.0


def test_challenge_score_is_finite_on_a_large_set_with_a_single_abnormal_record(rng):
    # 57,500 records NSR only and one NSR + Q wave abnormal: perfect and always-NSR totals
    # differ by (1 + 0.15) / 2 = 0.575 on 57,500.575, equal for np.isclose's rtol=1e-5
    # (the score used to be NaN). The classifier adds codes to 400 normal records and
    # drops NSR on 100 of them: a clearly negative score.
    n, codes = 57_501, [NSR, AF, IAVB, QAB, CRBBB, RBBB, "284470004"]
    y_true = np.zeros((n, len(codes)), dtype=int)
    y_true[:, 0] = 1
    odd = rng.integers(n)
    y_true[odd, 3] = 1
    y_pred = y_true.copy()
    wrong = rng.choice(np.delete(np.arange(n), odd), size=400, replace=False)
    y_pred[wrong, rng.integers(1, len(codes), size=400)] = 1
    y_pred[wrong[:200], rng.integers(1, len(codes), size=200)] = 1
    y_pred[wrong[::4], 0] = 0
    observed, correct, inactive = reference_rewards(y_true, y_pred, codes)
    assert np.isclose(correct, inactive) and correct != inactive
    expected = (observed - inactive) / (correct - inactive)
    score = challenge_score(y_true, y_pred, codes)
    assert np.isfinite(score) and score < -100
    # The denominator is 1e-5 of the totals it is the difference of, so rounding in their
    # last place moves the score by ~1e-11 relative, in the official code as here.
    assert score == pytest.approx(expected, rel=1e-10)
