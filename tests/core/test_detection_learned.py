"""The learned detector: config, checkpoint round trip, thresholds, pixel convention, ONNX parity."""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from wildhands_core.detection.base import HandDetector
from wildhands_core.detection.learned import (
    LABEL_LEFT,
    LABEL_RIGHT,
    DetectorModelConfig,
    LearnedHandDetector,
    build_detector_model,
    export_detector_onnx,
    load_detector_checkpoint,
    save_detector_checkpoint,
    suppress_cross_side,
)

# A small input keeps the network cheap; the architecture is the default one.
CFG = DetectorModelConfig(input_wh=(96, 72), model_score_threshold=0.0)


def _perturbed_model() -> torch.nn.Module:
    """A randomly initialised SSDlite outputs exactly 1/3 for every class; noise on every parameter gives
    distinct scores, so ordering and thresholds are testable."""
    torch.manual_seed(0)
    model = build_detector_model(CFG).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return model


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    return _perturbed_model()


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return (np.random.default_rng(0).random((60, 80, 3)) * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def checkpoint(model, tmp_path_factory) -> Path:
    return save_detector_checkpoint(tmp_path_factory.mktemp("det") / "det.pt", model, CFG, {"step": 7})


def test_config_round_trips_through_a_plain_dict():
    cfg = DetectorModelConfig(arch="fasterrcnn_mobilenet_v3_large_320_fpn", input_wh=(64, 48), nms_iou=0.4)
    assert DetectorModelConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown detector arch"):
        DetectorModelConfig(arch="yolo")


def test_checkpoint_loads_with_weights_only_and_gives_identical_outputs(model, checkpoint, image):
    payload = torch.load(checkpoint, weights_only=True)
    assert payload["format"] == "wildhands-hand-detector" and payload["config"]["input_wh"] == [96, 72]
    _, cfg, meta = load_detector_checkpoint(checkpoint)
    assert cfg == CFG and meta == {"step": 7}
    a = LearnedHandDetector.from_model(model, CFG, score_threshold=0.0).raw(image)
    b = LearnedHandDetector(checkpoint, score_threshold=0.0).raw(image)
    assert len(a[0]) == CFG.detections_per_image
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_loading_a_file_of_another_format_raises(tmp_path):
    torch.save({"state_dict": {}}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a wildhands-hand-detector checkpoint"):
        load_detector_checkpoint(tmp_path / "other.pt")


def test_detect_returns_full_image_pixel_boxes_above_threshold_best_first(model, image):
    det = LearnedHandDetector.from_model(model, CFG, score_threshold=0.0, cross_side_iou=1.1)
    assert isinstance(det, HandDetector)
    with torch.no_grad():
        out = model([torch.from_numpy(image).permute(2, 0, 1).float() / 255.0])[0]
    boxes, scores, labels = det.raw(image)
    # torchvision's pixel edges start at 0, wildhands' pixel centres: boxes move by -0.5 px.
    np.testing.assert_allclose(boxes, out["boxes"].numpy() - 0.5, atol=1e-5)
    threshold = float(np.median(scores))
    det.score_threshold = threshold
    found = det.detect(image)
    assert len(found) == int(np.sum(scores >= threshold)) > 0
    assert [d.score for d in found] == sorted((d.score for d in found), reverse=True)
    assert all(d.score >= threshold and d.source == "learned" for d in found)
    assert {d.is_right for d in found} <= {True, False}
    assert set(labels.tolist()) <= {LABEL_LEFT, LABEL_RIGHT}


def test_a_read_only_frame_is_detected_without_a_warning_and_as_its_writable_copy(model, image):
    # frames from np.load(mmap_mode="r"), memory maps and message buffers are read-only arrays; torch warns
    # on sharing one (from_numpy of a non-writable array), so the detector must copy it instead
    det = LearnedHandDetector.from_model(model, CFG, score_threshold=0.0)
    frozen = image.copy()
    frozen.flags.writeable = False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = det.raw(frozen)
    for a, b in zip(got, det.raw(image.copy()), strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_large_image_is_shrunk_to_the_network_input_first_with_the_same_boxes(model):
    # The network resizes to input_wh (bilinear); the detector shrinks large images with cv2 first, which
    # samples the same points, and scales the boxes back: the result is the network's on the full image.
    rng = np.random.default_rng(3)
    small = (rng.random((36, 48, 3)) * 255).astype(np.uint8)
    big = cv2.resize(small, (480, 360), interpolation=cv2.INTER_CUBIC)
    det = LearnedHandDetector.from_model(model, CFG, score_threshold=0.0)
    with torch.no_grad():
        out = model([torch.from_numpy(big).permute(2, 0, 1).float() / 255.0])[0]
    boxes, scores, labels = det.raw(big)
    np.testing.assert_array_equal(labels, out["labels"].numpy())
    np.testing.assert_allclose(scores, out["scores"].numpy(), atol=5e-3)
    np.testing.assert_allclose(boxes, out["boxes"].numpy() - 0.5, atol=0.5)  # 0.5 px of the 480x360 image


def test_cross_side_suppression_drops_the_weaker_side_of_one_hand_only():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 9], [0, 0, 10, 8.9], [50, 50, 60, 60]], dtype=float)
    labels = [LABEL_RIGHT, LABEL_LEFT, LABEL_RIGHT, LABEL_LEFT]
    # box 1 (IoU 0.9 with box 0, other side) is dropped; box 2 is the same side as box 0 and is kept (the
    # network's own NMS handles same-side duplicates); box 3 overlaps nothing.
    assert suppress_cross_side(boxes, labels, 0.7) == [0, 2, 3]
    # at 0.95 box 1 survives box 0, and then box 2 (IoU 8.9 / 9 = 0.989 with box 1, other side) goes.
    assert suppress_cross_side(boxes, labels, 0.95) == [0, 1, 3]
    assert suppress_cross_side(boxes, labels, 1.0) == [0, 1, 2, 3]


@pytest.mark.slow  # the legacy ONNX export of SSDlite takes ~10-30 s on 2 shared cores
def test_onnx_export_matches_torch(model, image, tmp_path):
    path = export_detector_onnx(model, tmp_path / "det.onnx", CFG)
    torch_det = LearnedHandDetector.from_model(model, CFG, score_threshold=0.0)
    ort_det = LearnedHandDetector(path, backend="onnxruntime", score_threshold=0.0)
    assert ort_det.config == CFG
    a, b = torch_det.raw(image), ort_det.raw(image)
    np.testing.assert_allclose(b[0], a[0], atol=1e-3)
    np.testing.assert_allclose(b[1], a[1], atol=1e-5)
    np.testing.assert_array_equal(b[2], a[2])
    # a different image size goes through the same graph (dynamic height and width).
    big = np.ascontiguousarray(np.repeat(np.repeat(image, 2, axis=0), 2, axis=1))
    np.testing.assert_allclose(ort_det.raw(big)[1], torch_det.raw(big)[1], atol=1e-5)


def test_onnx_file_needs_the_onnxruntime_backend(tmp_path):
    path = tmp_path / "x.onnx"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="backend='onnxruntime'"):
        LearnedHandDetector(path, backend="torch")


def test_faster_rcnn_variant_builds_and_detects():
    cfg = DetectorModelConfig(arch="fasterrcnn_mobilenet_v3_large_320_fpn", input_wh=(64, 64))
    det = LearnedHandDetector.from_model(build_detector_model(cfg).eval(), cfg, score_threshold=0.0)
    boxes, scores, labels = det.raw(np.zeros((40, 50, 3), dtype=np.uint8))
    assert boxes.shape[1] == 4 and len(boxes) == len(scores) == len(labels)


def test_a_large_image_is_shrunk_to_the_network_input_first_and_boxes_come_back_in_its_pixels(model, image):
    # A 4x nearest-neighbour enlargement shrinks back (area averaging) to exactly the small image, so the
    # network sees the same input: continuous box coordinates (wildhands + 0.5) scale by exactly 4.
    det = LearnedHandDetector.from_model(model, CFG, score_threshold=0.0)
    small = cv2.resize(image, tuple(CFG.input_wh), interpolation=cv2.INTER_AREA)
    big = np.repeat(np.repeat(small, 4, axis=0), 4, axis=1)
    b_small, s_small, _ = det.raw(small)
    b_big, s_big, _ = det.raw(big)
    np.testing.assert_allclose(s_big, s_small, atol=1e-6)
    np.testing.assert_allclose(b_big + 0.5, 4 * (b_small + 0.5), atol=1e-3)
