"""Metrics of multilabel ECG diagnosis: ROC AUC per class, per subgroup and macro, a
model-selection scorer, F1-maximising thresholds, the official PhysioNet/CinC Challenge
2020 and 2021 scores, and a paired bootstrap of the difference in macro AUC between two methods."""

from ._bootstrap import bootstrap_macro_auc, paired_bootstrap_auc
from ._challenge import challenge_score
from ._ranking import macro_auc, multilabel_auc_scorer, per_class_auc, subgroup_auc
from ._thresholds import f1_thresholds

__all__ = [
    "challenge_score",
    "f1_thresholds",
    "macro_auc",
    "multilabel_auc_scorer",
    "bootstrap_macro_auc",
    "paired_bootstrap_auc",
    "per_class_auc",
    "subgroup_auc",
]
