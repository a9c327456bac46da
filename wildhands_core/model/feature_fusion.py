"""Fusion of a hand's feature map (+ KPE channels) into one feature vector (release layout).

``feature_conv`` = Conv 1x1 C_in->c1, ReLU, Conv 3x3 (no padding) c1->c2, ReLU, Conv 3x3 (no padding)
c2->c3, ReLU, Flatten, Linear(c3*3*3 -> fc_dim), ReLU; no bias in the convolutions, no normalisation.
Spatially 7 -> 7 -> 5 -> 3. Released sizes: C_in = 2128 (2048 features + 80 KPE), (1024, 512, 256), 2048.
(The paper's text says three 3x3 convolutions; the release's first one is 1x1.)
"""

from __future__ import annotations

from torch import nn

__all__ = ["FeatureFusion"]


class FeatureFusion(nn.Sequential):
    """(N, C_in, 7, 7) -> (N, fc_dim). Children indices 0..8 match the release's ``feature_conv``."""

    def __init__(
        self,
        in_channels: int,
        conv_dims: tuple[int, int, int] = (1024, 512, 256),
        fc_dim: int = 2048,
        spatial: int = 7,
    ) -> None:
        c1, c2, c3 = conv_dims
        out_side = spatial - 4  # two 3x3 convolutions without padding
        super().__init__(
            nn.Conv2d(in_channels, c1, kernel_size=1, bias=False),
            nn.ReLU(inplace=True),
            nn.Conv2d(c1, c2, kernel_size=3, bias=False),
            nn.ReLU(inplace=True),
            nn.Conv2d(c2, c3, kernel_size=3, bias=False),
            nn.ReLU(inplace=True),
            nn.Flatten(1),
            nn.Linear(c3 * out_side * out_side, fc_dim),
            nn.ReLU(inplace=True),
        )
        self.out_features = fc_dim
