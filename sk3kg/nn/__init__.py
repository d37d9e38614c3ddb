"""Network and loss: the 1D ResNet encoder, the projection head and NT-Xent."""

from ._contrastive import ContrastiveModel, NTXentLoss, ProjectionHead
from ._resnet import BasicBlock1d, LeadSharedEncoder, ResNet1d, build_encoder

__all__ = [
    "BasicBlock1d",
    "ContrastiveModel",
    "LeadSharedEncoder",
    "NTXentLoss",
    "ProjectionHead",
    "ResNet1d",
    "build_encoder",
]
