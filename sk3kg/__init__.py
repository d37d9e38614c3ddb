"""sk3kg: 3KG contrastive pretraining of 12-lead ECGs, for scikit-learn.

The estimator :class:`ThreeKGEmbedder` learns ECG embeddings without labels;
the subpackages hold its parts: :mod:`sk3kg.vcg` (lead geometry),
:mod:`sk3kg.augment` (the 3KG views), :mod:`sk3kg.nn` (encoder and loss).
"""

from ._contrastive_net import ContrastiveNet
from ._embedder import ThreeKGEmbedder

__version__ = "0.1.0.dev0"

__all__ = ["ContrastiveNet", "ThreeKGEmbedder", "__version__"]
