"""The label-efficiency protocol: split, labelled subsets, linear probe, scores."""

import numpy as np
from _methods import TRAINED_ON_LABELS
from sklearn.model_selection import StratifiedGroupKFold

from sk3kg import fit_linear_probe
from sk3kg.metrics import challenge_score, f1_thresholds, macro_auc, per_class_auc, subgroup_auc

# The paired comparisons of a run: every method against the 3KG probe, and fine-tuned 3KG
# against the same network trained from random weights (what pretraining buys). None:
# every other method.
COMPARISONS = (("3kg", None), ("supervised", ("3kg-finetune",)))


def rarest_label(target: np.ndarray) -> np.ndarray:
    """A single-label proxy for stratifying multilabel data: each record's rarest class.

    Records without any class get their own stratum (-1).
    """
    counts = target.sum(axis=0)
    rarity = np.where(target > 0, counts[None, :], np.inf)
    proxy = rarity.argmin(axis=1)
    return np.where(np.isfinite(rarity.min(axis=1)), proxy, -1)


def split_by_patient(target: np.ndarray, patients: np.ndarray, seed: int) -> dict:
    """Train / validation / test indices, 8/1/1 folds of a 10-fold grouped split.

    Records of one patient stay in one split; folds are stratified on each
    record's rarest class (``StratifiedGroupKFold``), which is as close to
    multilabel stratification as a grouped split allows.
    """
    folds = StratifiedGroupKFold(n_splits=10, shuffle=True, random_state=seed)
    fold_of = np.empty(len(target), dtype=int)
    for fold, (_, test) in enumerate(folds.split(target, rarest_label(target), patients)):
        fold_of[test] = fold
    return {
        "train": np.flatnonzero(fold_of < 8),
        "valid": np.flatnonzero(fold_of == 8),
        "test": np.flatnonzero(fold_of == 9),
    }


def runs(method: str, class_sets: list[str], config: dict):
    """The (class set, fraction, seeds) a method is scored on.

    The 100 % subset is the same for every seed, so every method is fitted on it
    once (seed 0). Networks trained on the labels (``supervised``, ``3kg-finetune``)
    cost minutes per fit: they are trained on the primary class set only, and on
    the first ``network_seeds`` seeds' subsets.
    """
    trained = method in TRAINED_ON_LABELS
    for class_set in class_sets[:1] if trained else class_sets:
        for fraction in config["fractions"]:
            seeds = config["seeds"][: config["network_seeds"]] if trained else config["seeds"]
            yield class_set, fraction, seeds[:1] if fraction == 1.0 else seeds


def labelled_subset(target: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Positions (into ``target``) of a random labelled subset of ``fraction`` of the rows.

    One random positive of every class that has one is taken first, so each
    class can be learnt where the data allows; the rest is drawn uniformly.
    The subset has ``max(round(fraction * n), n_classes_present)`` rows.
    """
    rng = np.random.default_rng(seed)
    n = len(target)
    size = max(1, round(fraction * n))
    chosen = {int(rng.choice(np.flatnonzero(column))) for column in target.T if column.any()}
    rest = rng.permutation(np.setdiff1d(np.arange(n), list(chosen)))
    fill = rest[: max(0, size - len(chosen))]
    return np.sort(np.concatenate([np.fromiter(chosen, int, len(chosen)), fill]))


def fit_probe(features: dict, target: dict, seed: int = 0) -> tuple[np.ndarray, np.ndarray, float]:
    """Fit the linear probe, choosing C by validation macro AUC; never looks at test.

    The probe is sk3kg's exact linear probe (``sk3kg.fit_linear_probe``, the head
    ``3kg-finetune`` starts from): standardised features, one binary L2 logistic
    regression per class, one C in {0.01, 0.1, 1} for all classes. A class with a single
    label value in the training subset scores a constant (its training prevalence,
    clipped), so it counts as chance where it is evaluated.

    Returns the test scores, the validation scores and the chosen C.
    """
    probe = fit_linear_probe(
        features["train"], target["train"], features["valid"], target["valid"], random_state=seed
    )

    def scores(X):
        return 1.0 / (1.0 + np.exp(-probe.logits(np.asarray(X, dtype=np.float64))))

    return scores(features["test"]), scores(features["valid"]), probe.C


def evaluate(y_true: np.ndarray, y_score: np.ndarray, codes, names: list, valid) -> dict:
    """Every number the report needs, for one method, fraction and seed.

    ``codes`` are the classes' SNOMED CT codes, for the challenge's subgroups and
    metric; None (PTB-XL's SCP statements) leaves those out. ``valid`` is the
    validation split's ``(labels, scores)``: the challenge score thresholds each
    class where F1 is highest on validation (``f1_thresholds``), for every method.
    """
    auc, excluded = macro_auc(y_true, y_score, target_names=names, return_excluded=True)
    row = {
        "macro_auc": auc,
        "auc_excluded_classes": excluded,
        "per_class_auc": dict(zip(names, map(float, per_class_auc(y_true, y_score)), strict=True)),
    }
    if codes is not None:
        predicted = (y_score >= f1_thresholds(*valid)).astype(int)
        row["subgroup_auc"] = subgroup_auc(y_true, y_score, codes)
        row["challenge_score"] = challenge_score(y_true, predicted, codes)
    return row
