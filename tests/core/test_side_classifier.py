"""The optional side classifier (``ModelConfig.side_head``): what it reads, what it outputs, and how the
estimator carries it (``HandEstimate.right_prob``) through torch and ONNX Runtime alike."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_estimator import _scene
from test_model_net import make_inputs, small_cfg

from wildhands_core.config import ModelConfig
from wildhands_core.estimator import EstimatorConfig, HandPoseEstimator
from wildhands_core.model import WildHandsNet
from wildhands_core.model.wildhands import WildHands


def test_it_reads_the_crop_alone_not_the_side_it_is_told_nor_the_whole_image_or_box():
    torch.manual_seed(0)
    net = WildHandsNet(small_cfg(side_head=True)).eval()
    images, crops, fi, is_right, boxes, K = make_inputs(2, [0, 1, 1], [True, False, True])
    with torch.no_grad():
        a = net(images, crops, fi, is_right, boxes, K)["side_logit"]
        b = net(images + 1.0, crops, fi, ~is_right, boxes + 5.0, K)["side_logit"]  # other side, image, box
        c = net(images, crops.flip(-1), fi, is_right, boxes, K)["side_logit"]  # the crops mirrored
    assert a.shape == (3,)
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)


def test_zero_hands_give_an_empty_side_output_and_no_side_head_gives_none():
    net = WildHandsNet(small_cfg(side_head=True)).eval()
    out = net(*make_inputs(1, [], []))
    assert out["side_logit"].shape == (0,)
    assert "side_logit" not in WildHandsNet(small_cfg()).eval()(*make_inputs(1, [0], [True]))


def test_the_released_structure_is_unchanged_and_the_side_head_needs_crops():
    assert not any(k.startswith("side_classifier") for k in WildHandsNet().state_dict())
    with pytest.raises(ValueError, match="side_head"):
        ModelConfig(variant="arcticnet_sf", side_head=True)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return WildHands(WildHandsNet(ModelConfig(backbone="resnet18", side_head=True))).eval()


def test_the_estimate_carries_sigmoid_of_the_logit_in_torch_and_onnxruntime(model, tmp_path):
    img, K, boxes = _scene()
    est = HandPoseEstimator(EstimatorConfig(allow_random_weights=True), model=model)
    ort = HandPoseEstimator(
        EstimatorConfig(allow_random_weights=True, backend="onnxruntime", cache_dir=str(tmp_path)),
        model=model,
    )
    prep = est.prepare([(img, K, boxes)])
    with torch.no_grad():
        logit = model.net(*(torch.from_numpy(prep.inputs[k]) for k in
                            ("images", "crops", "frame_idx", "is_right", "boxes_224", "K_224")))["side_logit"]
    want = 1.0 / (1.0 + np.exp(-logit.numpy().astype(np.float64)))
    got_torch = [h.right_prob for h in est.estimate(img, K, boxes)]
    got_ort = [h.right_prob for h in ort.estimate(img, K, boxes)]
    np.testing.assert_allclose(got_torch, want, atol=1e-6)
    np.testing.assert_allclose(got_ort, want, atol=1e-4)


def test_a_network_without_a_side_classifier_gives_no_side_probability():
    torch.manual_seed(0)
    plain = WildHands(WildHandsNet(ModelConfig(backbone="resnet18"))).eval()
    img, K, boxes = _scene()
    est = HandPoseEstimator(EstimatorConfig(allow_random_weights=True), model=plain)
    assert [h.right_prob for h in est.estimate(img, K, boxes)] == [None, None]
