"""Network and loss: the 1D ResNet encoder, the projection head, NT-Xent, the classifier."""

from ._classifier import ClassifierModel
from ._contrastive import ContrastiveModel, NTXentLoss, ProjectionHead
from ._pretrained import load_encoder
from ._resnet import ENCODER_SIZE, BasicBlock1d, LeadSharedEncoder, ResNet1d, build_encoder
from ._windows import WindowMean, window_starts

__all__ = [
    "ENCODER_SIZE",
    "BasicBlock1d",
    "ClassifierModel",
    "ContrastiveModel",
    "LeadSharedEncoder",
    "NTXentLoss",
    "ProjectionHead",
    "ResNet1d",
    "WindowMean",
    "build_encoder",
    "load_encoder",
    "window_starts",
]
