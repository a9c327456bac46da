"""The estimator API: shapes and frames of its outputs, backends' parity, resizing invariance, borders."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from wildhands_core.config import ModelConfig
from wildhands_core.estimate import HandBox
from wildhands_core.estimator import EstimatorConfig, HandPoseEstimator
from wildhands_core.model.wildhands import WildHands
from wildhands_core.model.wildhands_net import WildHandsNet


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return WildHands(WildHandsNet(ModelConfig(backbone="resnet18"))).eval()


@pytest.fixture(scope="module")
def est(model):
    return HandPoseEstimator(EstimatorConfig(allow_random_weights=True, return_vertices=True), model=model)


@pytest.fixture(scope="module")
def ort_est(model, tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    return HandPoseEstimator(
        EstimatorConfig(allow_random_weights=True, backend="onnxruntime", cache_dir=str(cache)), model=model
    )


def _scene(width=320, height=240, seed=0):
    rng = np.random.default_rng(seed)
    # smooth random image (so that resampling at 2x changes little)
    small = rng.integers(0, 255, (height // 8, width // 8, 3), dtype=np.uint8)
    import cv2

    img = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    K = np.array([[0.9 * width, 0, width / 2 - 3], [0, 0.9 * width, height / 2 + 2], [0, 0, 1.0]])
    boxes = [
        HandBox(np.array([40.0, 110, 120, 200]), True, 0.9),
        HandBox(np.array([200.0, 100, 290, 190]), False),
    ]
    return img, K, boxes


def test_outputs_have_documented_shapes_and_keypoints_are_the_projection_of_the_joints(est):
    img, K, boxes = _scene()
    hands = est.estimate(img, K, boxes)
    assert [h.is_right for h in hands] == [True, False]
    for h in hands:
        assert h.global_orient_aa.shape == (3,) and h.hand_pose_aa.shape == (45,) and h.betas.shape == (10,)
        assert (
            h.joints_m.shape == (21, 3) and h.keypoints_px.shape == (21, 2) and h.vertices_m.shape == (778, 3)
        )
        assert h.grasp_prob.shape == (9,) and h.grasp_prob.sum() == pytest.approx(1.0, abs=1e-5)
        uvw = h.joints_m @ K.T
        assert np.abs(uvw[:, :2] / uvw[:, 2:] - h.keypoints_px).max() < 1e-6
        assert 0.0 <= h.confidence <= 1.0
    # the crop is the box scaled 1.75 around its centre (square, not clipped: box inside the image), the box
    # rounded to whole pixels of the 224 frame as the release rounds it: 320x240 -> scale 0.7, offset (0, 28),
    # the box [28, 105, 84, 168]; corners trunc + 1 = 29, 106, 85, 169 (the float32 trip keeps them); centre
    # ((29 + 85) // 2, (106 + 169) // 2) = (57, 137), side max(56, 63) = 63 -> 1.75 x 63 / 0.7 = 157.5 px
    c0 = hands[0].crop_xyxy_px
    assert c0[2] - c0[0] == pytest.approx(1.75 * 90, abs=1e-6) and c0[3] - c0[1] == pytest.approx(
        1.75 * 90, abs=1e-6
    )
    assert (c0[0] + c0[2]) / 2 == pytest.approx(57 / 0.7) and (c0[1] + c0[3]) / 2 == pytest.approx(109 / 0.7)


def test_onnxruntime_matches_torch_within_1e4_for_both_sides_and_single_side_frames(est, ort_est):
    img, K, boxes = _scene()
    for subset in (boxes, boxes[:1], boxes[1:]):
        ref = est.estimate(img, K, subset)
        got = ort_est.estimate(img, K, subset)
        assert ort_est.backend_name == "onnxruntime-cpu"
        for r, g in zip(ref, got, strict=True):
            assert np.abs(r.joints_m - g.joints_m).max() < 1e-4
            assert np.abs(r.hand_pose_aa - g.hand_pose_aa).max() < 1e-4
            assert np.abs(r.keypoints_px - g.keypoints_px).max() < 1e-2


def test_the_mesh_is_computed_and_exported_only_when_asked(est, ort_est, model):
    read = (
        "joints_cam_m", "transl_cam_m", "global_orient_aa", "hand_pose_aa", "betas", "grasp_prob",
        "right_prob",
    )
    assert ort_est.backend.output_names == read  # the ONNX file itself has no mesh output
    assert est.backend.output_names == (*read, "vertices_cam_m")
    img, K, boxes = _scene()
    assert [h.vertices_m for h in ort_est.estimate(img, K, boxes)] == [None, None]
    # the export cache keys the outputs: asking for the mesh exports (and uses) another file
    cache = ort_est.backend.onnx_path.parent.parent
    cfg = EstimatorConfig(
        allow_random_weights=True, backend="onnxruntime", cache_dir=str(cache), return_vertices=True
    )
    with_mesh = HandPoseEstimator(cfg, model=model)
    assert with_mesh.backend.onnx_path != ort_est.backend.onnx_path
    assert with_mesh.backend.output_names == (*read, "vertices_cam_m")
    for r, g in zip(est.estimate(img, K, boxes), with_mesh.estimate(img, K, boxes), strict=True):
        assert g.vertices_m.shape == (778, 3) and np.abs(r.vertices_m - g.vertices_m).max() < 1e-4


def test_a_2x_larger_image_with_2x_focal_gives_the_same_3d_hands(est):
    img, K, boxes = _scene(seed=3)
    import cv2

    big = cv2.resize(img, (img.shape[1] * 2, img.shape[0] * 2), interpolation=cv2.INTER_LINEAR)
    # pixel-centre convention: u_big = 2 u + 0.5
    A = np.array([[2.0, 0, 0.5], [0, 2.0, 0.5], [0, 0, 1]])
    big_boxes = [HandBox(b.box_xyxy_px * 2 + 0.5, b.is_right, b.score) for b in boxes]
    small_hands = est.estimate(img, K, boxes)
    big_hands = est.estimate(big, A @ K, big_boxes)
    for s, b in zip(small_hands, big_hands, strict=True):
        rel = np.abs(s.joints_m - b.joints_m).max() / np.abs(s.joints_m).max()
        assert rel < 0.02, rel
        assert np.abs(b.keypoints_px - (s.keypoints_px * 2 + 0.5)).max() < 0.02 * img.shape[1]


def test_boxes_partly_outside_the_image_are_padded_without_error(est):
    img, K, _ = _scene()
    boxes = [HandBox(np.array([-60.0, -30, 40, 60]), True), HandBox(np.array([280.0, 200, 400, 300]), False)]
    hands = est.estimate(img, K, boxes)
    assert len(hands) == 2 and all(np.isfinite(h.joints_m).all() for h in hands)
    full = HandPoseEstimator(EstimatorConfig(allow_random_weights=True, crop_source="full"), model=est.model)
    hands_full = full.estimate(img, K, boxes)
    # the full-resolution crop is not clipped: it stays square around the box
    c = hands_full[0].crop_xyxy_px
    assert c[2] - c[0] == pytest.approx(c[3] - c[1]) and c[0] < 0


def test_zero_boxes_returns_empty_without_running_the_network(est):
    calls = []
    real_run = est.backend.run
    est.backend.run = lambda inputs: calls.append(1) or real_run(inputs)
    try:
        img, K, _ = _scene()
        t0 = time.perf_counter()
        assert est.estimate(img, K, []) == []
        assert est.estimate_batch([(img, K, []), (img, K, [])]) == [[], []]
        assert time.perf_counter() - t0 < 0.05
        assert calls == []
    finally:
        est.backend.run = real_run


def test_batch_of_frames_equals_frame_by_frame(est):
    a = _scene(seed=1)
    b = _scene(seed=2)
    batched = est.estimate_batch([a, (b[0], b[1], b[2][:1])])
    single = [est.estimate(*a), est.estimate(b[0], b[1], b[2][:1])]
    assert [len(x) for x in batched] == [2, 1]
    for fb, fs in zip(batched, single, strict=True):
        for hb, hs in zip(fb, fs, strict=True):
            assert np.abs(hb.joints_m - hs.joints_m).max() < 1e-5


@pytest.mark.parametrize(
    ("image", "K", "box", "match"),
    [
        (np.zeros((240, 320), np.uint8), None, [0, 0, 10, 10], "uint8 RGB"),
        (np.zeros((240, 320, 3), np.uint8), np.zeros((3, 3)), [0, 0, 10, 10], "positive focal"),
        (np.zeros((240, 320, 3), np.uint8), np.full((3, 3), np.nan), [0, 0, 10, 10], "finite"),
        (np.zeros((240, 320, 3), np.uint8), None, [10, 10, 5, 20], "x1 > x0"),
    ],
)
def test_bad_inputs_raise_clear_errors(est, image, K, box, match):
    with pytest.raises(ValueError, match=match):
        est.estimate(image, K, [HandBox(np.array(box, dtype=float), True)])


def test_config_rejects_unknown_backend_and_missing_checkpoint():
    with pytest.raises(ValueError, match="backend"):
        EstimatorConfig(backend="caffe", allow_random_weights=True)
    with pytest.raises(ValueError, match="checkpoint is required"):
        EstimatorConfig()
