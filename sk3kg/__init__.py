"""sk3kg: 3KG contrastive pretraining of 12-lead ECGs, for scikit-learn.

The estimator :class:`ThreeKGEmbedder` learns ECG embeddings without labels and
:class:`ECGClassifier` fine-tunes them (or trains from scratch) on labelled ECGs,
starting from the exact linear probe of :func:`fit_linear_probe`;
the subpackages hold its parts: :mod:`sk3kg.vcg` (lead geometry),
:mod:`sk3kg.augment` (the 3KG views), :mod:`sk3kg.nn` (encoder and loss),
:mod:`sk3kg.datasets` (PhysioNet 2020 and the simulator), :mod:`sk3kg.metrics`.
"""

import importlib

#: Version of sk3kg, a :pep:`440` string (``".devN"`` marks an unreleased version).
__version__ = "0.1.0.dev0"

__all__ = [
    "ContrastiveNet",
    "ECGClassifier",
    "FineTuneNet",
    "GroupBatchSampler",
    "LinearProbe",
    "ThreeKGEmbedder",
    "__version__",
    "fit_linear_probe",
]

# Imported on first use: the estimator needs torch, whose import takes seconds and
# ~0.4 GiB, which dataset readers and their worker processes do not need.
_LAZY = {
    "ContrastiveNet": "._contrastive_net",
    "ECGClassifier": "._classifier",
    "FineTuneNet": "._finetune_net",
    "GroupBatchSampler": "._groups",
    "LinearProbe": "._finetune",
    "ThreeKGEmbedder": "._embedder",
    "fit_linear_probe": "._finetune",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_LAZY))
