"""Metrics of multilabel ECG diagnosis: ROC AUC per class, per subgroup and macro, a
model-selection scorer, and the official PhysioNet/CinC Challenge 2020 score."""

from ._challenge import challenge_score
from ._ranking import macro_auc, multilabel_auc_scorer, per_class_auc, subgroup_auc

__all__ = [
    "challenge_score",
    "macro_auc",
    "multilabel_auc_scorer",
    "per_class_auc",
    "subgroup_auc",
]
