"""Detector training: augmentation geometry (flips swap sides), targets, metrics, the console command."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from training.detector_data import (
    DetectionFrame,
    DetectorAugmentConfig,
    DetectorTrainDataset,
    HandSampleFrames,
    SyntheticDetectionFrames,
    crop_frame,
    hflip_frame,
    resize_frame,
)
from training.detector_metrics import average_precision, evaluate_detections
from training.detector_train import main
from training.sample import HandSample
from wildhands_core.detection.base import HandDetection
from wildhands_core.detection.learned import LABEL_LEFT, LABEL_RIGHT, LearnedHandDetector


def _frame() -> DetectionFrame:
    image = np.zeros((8, 10, 3), dtype=np.uint8)
    image[:, 0] = 255  # a marker column on the left edge
    boxes = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 1.0, 9.5, 7.5]])
    return DetectionFrame(image, boxes, np.array([True, False]))


def test_hflip_mirrors_boxes_about_the_image_centre_and_swaps_left_and_right():
    f = hflip_frame(_frame())
    # W = 10: x -> 9 - x, so [1, 3] -> [6, 8] and [5, 9.5] -> [-0.5, 4].
    np.testing.assert_allclose(f.boxes_xyxy_px, [[6.0, 2.0, 8.0, 4.0], [-0.5, 1.0, 4.0, 7.5]])
    assert f.is_right.tolist() == [False, True]
    assert f.image[0, 9, 0] == 255 and f.image[0, 0, 0] == 0
    back = hflip_frame(f)
    np.testing.assert_allclose(back.boxes_xyxy_px, _frame().boxes_xyxy_px)
    assert back.is_right.tolist() == [True, False]


def test_crop_shifts_boxes_clips_them_and_drops_mostly_outside_ones():
    # crop columns [4, 10), rows [0, 8): box 0 ([1, 3]) is outside; box 1 moves by -4 and stays whole.
    f = crop_frame(_frame(), 4, 0, 10, 8, min_visible=0.4)
    assert f.image.shape == (8, 6, 3)
    np.testing.assert_allclose(f.boxes_xyxy_px, [[1.0, 1.0, 5.5, 7.5]])
    assert f.is_right.tolist() == [False]
    # crop columns [0, 7): box 1 keeps (6.5 - 5) / 4.5 = 1/3 of its width -> dropped at 0.4, kept at 0.3.
    assert len(crop_frame(_frame(), 0, 0, 7, 8, min_visible=0.4).boxes_xyxy_px) == 1
    kept = crop_frame(_frame(), 0, 0, 7, 8, min_visible=0.3)
    np.testing.assert_allclose(kept.boxes_xyxy_px[1], [5.0, 1.0, 6.5, 7.5])


def test_resize_scales_pixel_extents_about_the_image_edge():
    whole = np.array([[-0.5, -0.5, 9.5, 7.5]])  # the whole image's pixel extents
    full = DetectionFrame(np.zeros((8, 10, 3), np.uint8), whole, np.array([True]))
    f = resize_frame(full, 20, 4)
    assert f.image.shape == (4, 20, 3)
    np.testing.assert_allclose(f.boxes_xyxy_px, [[-0.5, -0.5, 19.5, 3.5]])


def test_train_targets_use_torchvision_pixels_and_side_labels():
    frames = [_frame()]
    data = DetectorTrainDataset(frames, (10, 8), augment=None)
    image, target = data[0]
    assert image.shape == (3, 8, 10) and image.dtype == torch.float32 and float(image.max()) == 1.0
    np.testing.assert_allclose(target["boxes"].numpy(), [[1.5, 2.5, 3.5, 4.5], [5.5, 1.5, 10.0, 8.0]])
    assert target["labels"].tolist() == [LABEL_RIGHT, LABEL_LEFT]


def test_augmented_flip_always_swaps_the_label_of_a_hand_on_one_side():
    image = np.zeros((8, 10, 3), np.uint8)
    frames = [DetectionFrame(image, np.array([[0.0, 0.0, 3.0, 3.0]]), np.array([True]))]
    aug = DetectorAugmentConfig(flip_prob=1.0, crop_prob=0.0, brightness=0, contrast=0, saturation=0, hue=0)
    _, target = DetectorTrainDataset(frames, (10, 8), aug)[0]
    assert target["labels"].tolist() == [LABEL_LEFT]
    np.testing.assert_allclose(target["boxes"].numpy(), [[6.5, 0.5, 9.5, 3.5]])


def test_hand_sample_frames_group_the_hands_of_one_image():
    img_a, img_b = np.zeros((4, 4, 3), np.uint8), np.ones((4, 4, 3), np.uint8)
    k = np.eye(3)

    def s(img, frame_id, box, right):
        return HandSample(img, k, np.array(box, float), right, dataset="d", frame_id=frame_id)

    samples = [s(img_a, "a", [0, 0, 1, 1], True), s(img_b, "b", [1, 1, 2, 2], True),
               s(img_a, "a", [2, 2, 3, 3], False)]
    frames = HandSampleFrames(samples)
    assert len(frames) == 2
    a = frames[0]
    assert a.image is img_a and a.is_right.tolist() == [True, False]
    np.testing.assert_allclose(a.boxes_xyxy_px, [[0, 0, 1, 1], [2, 2, 3, 3]])


def test_average_precision_of_a_hand_computed_ranking():
    # ranks: TP, FP, TP with 2 ground truths: precision 1 up to recall 0.5, 2/3 up to recall 1.
    assert average_precision(np.array([0.9, 0.8, 0.7]), np.array([True, False, True]), 2) == pytest.approx(
        0.5 * 1.0 + 0.5 * 2 / 3
    )
    assert average_precision(np.array([0.9]), np.array([True]), 2) == pytest.approx(0.5)


def test_evaluate_detections_separates_localisation_from_handedness():
    gt = (np.array([[0, 0, 10, 10], [20, 0, 30, 10]], float), np.array([True, False]))
    preds = [
        HandDetection([0, 0, 10, 10], is_right=True, score=0.9),  # right box, right side
        HandDetection([20, 0, 30, 10], is_right=True, score=0.8),  # right box, wrong side
        HandDetection([50, 50, 60, 60], is_right=False, score=0.7),  # false positive
        HandDetection([0, 0, 10, 11], is_right=True, score=0.1),  # duplicate, below the threshold
    ]
    m = evaluate_detections([preds], [gt], score_threshold=0.5)
    assert m["precision"] == pytest.approx(2 / 3) and m["recall"] == pytest.approx(1.0)
    assert m["handedness_accuracy"] == pytest.approx(0.5)
    assert m["ap50_hand"] == pytest.approx(1.0)
    assert m["ap50_right"] == pytest.approx(1.0)  # the right hand is found first
    assert m["ap50_left"] == pytest.approx(0.0)  # the only left prediction is the false positive
    # F1 by threshold: 0.9 -> 2/3 (1 TP, 1 det, 2 GT), 0.8 -> 1.0, 0.7 -> 0.8, 0.1 -> 2/3.
    assert m["best_f1"] == pytest.approx(1.0) and m["best_f1_threshold"] == pytest.approx(0.8)


def _write_blob_dataset(root: Path, frames: int, seed: int = 0, size: tuple[int, int] = (64, 48)) -> None:
    """A tiny dataset in the ``wildhands-synth`` layout: a skin-coloured right blob and a blue left one."""
    rng = np.random.default_rng(seed)
    w, h = size
    (root / "images").mkdir(parents=True)
    boxes = np.zeros((frames, 2, 4))
    present = np.ones((frames, 2), bool)
    for i in range(frames):
        img = np.full((h, w, 3), 60, np.uint8)
        for slot, colour in ((0, (230, 170, 130)), (1, (40, 60, 230))):
            bw, bh = rng.integers(10, 20, size=2)
            x0, y0 = rng.integers(0, w - bw), rng.integers(0, h - bh)
            img[y0:y0 + bh, x0:x0 + bw] = colour
            boxes[i, slot] = [x0 - 0.5, y0 - 0.5, x0 + bw - 0.5, y0 + bh - 0.5]
        cv2.imwrite(str(root / "images" / f"{i:06d}.png"), img[:, :, ::-1])
    np.savez(root / "labels.npz", present=present, box_xyxy_px=boxes,
             is_right=np.tile(np.array([[True, False]]), (frames, 1)))
    (root / "meta.json").write_text(json.dumps({"format": "wildhands-synth", "version": 1, "count": frames,
                                                "width": w, "height": h, "image_ext": ".png"}))


def test_synthetic_frames_read_every_present_hand(tmp_path):
    _write_blob_dataset(tmp_path / "d", 3)
    frames = SyntheticDetectionFrames(tmp_path / "d")
    f = frames[1]
    assert len(frames) == 3 and f.image.shape == (48, 64, 3) and f.is_right.tolist() == [True, False]
    x0, y0, x1, y1 = (f.boxes_xyxy_px[0] + 0.5).astype(int)
    assert np.all(f.image[y0:y1, x0:x1] == [230, 170, 130])


@pytest.mark.slow  # ~8 s alone, ~30 s on 2 cores shared with other work
def test_train_command_writes_a_loadable_checkpoint_with_validation_metrics(tmp_path, capsys):
    _write_blob_dataset(tmp_path / "d", 6)
    out = tmp_path / "det.pt"
    rc = main(["--data", str(tmp_path / "d"), "--out", str(out), "--steps", "2", "--batch-size", "2",
               "--size", "64x48", "--workers", "0", "--val-data", str(tmp_path / "d"), "--val-frames", "2",
               "--quiet"])
    assert rc == 0
    result = json.loads(capsys.readouterr().out)
    assert result["steps"] == 2 and np.isfinite(result["loss_last100"])
    assert result["val"]["num_gt"] == 4.0 and 0.0 <= result["val"]["recall"] <= 1.0
    det = LearnedHandDetector(out, score_threshold=0.0)
    assert det.config.input_wh == (64, 48) and det.meta["step"] == 2 and "val" in det.meta
    assert all(d.box_xyxy_px.shape == (4,) for d in det.detect(np.zeros((48, 64, 3), np.uint8)))
    assert main(["--eval-only", "--init", str(out), "--val-data", str(tmp_path / "d"), "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["num_gt"] == 12.0


def test_train_command_without_data_or_output_fails_with_exit_code_2(tmp_path):
    assert main(["--out", str(tmp_path / "x.pt"), "--steps", "1"]) == 2
    assert main(["--data", str(tmp_path), "--steps", "1"]) == 2
    assert main(["--eval-only", "--val-data", str(tmp_path)]) == 2
