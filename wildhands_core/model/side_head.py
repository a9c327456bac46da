"""Side classifier: is this crop a right hand? (project option, not in the paper or the release).

The released model is told each hand's side (the detector's label) and decodes it with that side's head;
a wrong label gives a mirrored, wrong hand. The crop trunk's 7x7 features carry the hand's chirality in
their layout (on the demo's Lite0 features a pooled linear probe gets 57 % of held-out hands right, this
head 95.1 %: models/demo/README.md), so the estimator can check the label at almost no cost: the trunk
runs anyway.

Input: the crop trunk's features (N, C, 7, 7) (before the whole-image sum and the KPE: the crop alone).
Output: (N,) logit of P(right hand).
"""

from __future__ import annotations

import torch
from torch import nn

from wildhands_core.model.backbones import FEATURE_SIZE

__all__ = ["SideHead"]


class SideHead(nn.Module):
    """1x1 conv -> BN -> ReLU -> 3x3 conv -> BN -> ReLU -> flatten -> dropout -> fc -> ReLU -> fc(1)."""

    def __init__(
        self, in_channels: int, conv_dims: tuple[int, int] = (128, 64), hidden: int = 128,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        c1, c2 = conv_dims
        self.convs = nn.Sequential(
            nn.Conv2d(in_channels, c1, kernel_size=1), nn.BatchNorm2d(c1), nn.ReLU(inplace=True),
            nn.Conv2d(c1, c2, kernel_size=3, padding=1), nn.BatchNorm2d(c2), nn.ReLU(inplace=True),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(c2 * FEATURE_SIZE * FEATURE_SIZE, hidden),
            nn.ReLU(inplace=True), nn.Linear(hidden, 1),
        )

    def forward(self, crop_feats: torch.Tensor) -> torch.Tensor:
        """(N, C, 7, 7) crop trunk features -> (N,) logit of P(right)."""
        return self.classifier(self.convs(crop_feats))[:, 0]
