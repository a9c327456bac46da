"""MediaPipe hand detector: landmark/handedness mappings, and the real MediaPipe (in the default install).

The two images in ``tests/core/data`` are frames 7 and 60 of ``wildhands-synth --seed 999 --size 320x240``
(one rendered right hand, one left hand, un-mirrored as a robot camera sees them; boxes below are their
visible-mask boxes from ``labels.npz``), frames where MediaPipe finds the hand.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wildhands_core.constants import JOINT_NAMES
from wildhands_core.detection.base import HandDetector, box_from_keypoints, box_iou_xyxy
from wildhands_core.detection.mediapipe_detector import (
    MediaPipeHandDetector,
    landmarks_to_box,
    landmarks_to_keypoints_px,
    mediapipe_label_is_right,
)

DATA = Path(__file__).parent / "data"
RIGHT_BOX = np.array([170.5, 132.5, 288.5, 197.5])
LEFT_BOX = np.array([62.5, 127.5, 114.5, 174.5])


def test_handedness_label_is_swapped_for_unmirrored_images_only():
    assert mediapipe_label_is_right("Left", image_is_mirrored=False) is True
    assert mediapipe_label_is_right("Right", image_is_mirrored=False) is False
    assert mediapipe_label_is_right("Right", image_is_mirrored=True) is True
    assert mediapipe_label_is_right("Left", image_is_mirrored=True) is False
    with pytest.raises(ValueError):
        mediapipe_label_is_right("left")


def test_landmarks_map_to_wildhands_pixels_in_mano21_order():
    lm = np.zeros((21, 3))
    lm[:, 0] = np.arange(21) / 100.0  # x = MediaPipe index / 100
    lm[4] = [0.5, 0.25, 0.0]  # MediaPipe 4 = thumb tip
    kp = landmarks_to_keypoints_px(lm, width=200, height=100)
    assert kp.shape == (21, 2)
    thumb_tip = JOINT_NAMES.index("thumb_tip")
    np.testing.assert_allclose(kp[thumb_tip], [0.5 * 200 - 0.5, 0.25 * 100 - 0.5])
    np.testing.assert_allclose(kp[JOINT_NAMES.index("wrist")], [-0.5, -0.5])  # MediaPipe 0 = wrist
    # MediaPipe 8 = index tip, 20 = pinky tip.
    np.testing.assert_allclose(kp[JOINT_NAMES.index("index_tip"), 0], 0.08 * 200 - 0.5)
    np.testing.assert_allclose(kp[JOINT_NAMES.index("pinky_tip"), 0], 0.20 * 200 - 0.5)


def test_landmark_box_grows_by_the_margin_of_its_longest_side_and_is_clipped():
    lm = np.zeros((21, 2))
    lm[:, 0] = np.linspace(0.2, 0.4, 21)  # x: 19.5 .. 39.5 px (W = 100)
    lm[:, 1] = np.linspace(0.2, 0.6, 21)  # y: 9.5 .. 29.5 px (H = 50)
    # longest side 20 px, margin 0.15 -> 3 px on every side.
    np.testing.assert_allclose(landmarks_to_box(lm, 100, 50, margin=0.15), [16.5, 6.5, 42.5, 32.5])
    lm[:, 0] = np.linspace(0.0, 0.2, 21)  # x: -0.5 .. 19.5 px -> left edge clipped at 0
    np.testing.assert_allclose(landmarks_to_box(lm, 100, 50, margin=0.15)[0], 0.0)


def _load(name: str) -> np.ndarray:
    import cv2

    return np.ascontiguousarray(cv2.imread(str(DATA / name))[:, :, ::-1])


def test_real_mediapipe_finds_each_hand_with_its_side():
    with MediaPipeHandDetector() as det:
        assert isinstance(det, HandDetector)
        assert det.detect(np.zeros((120, 160, 3), np.uint8)) == []
        for name, box, is_right in (("synth_hand_right.jpg", RIGHT_BOX, True),
                                    ("synth_hand_left.jpg", LEFT_BOX, False)):
            found = det.detect(_load(name))
            assert len(found) == 1, name
            assert found[0].is_right is is_right and found[0].source == "mediapipe"
            assert box_iou_xyxy(found[0].box_xyxy_px, box)[0, 0] > 0.5


def test_real_mediapipe_side_follows_mirroring():
    image = _load("synth_hand_right.jpg")
    with MediaPipeHandDetector() as plain, MediaPipeHandDetector(image_is_mirrored=True) as selfie:
        # a mirrored right hand looks like a left hand (and the other way round); a detector told that the
        # image is mirrored reports the side of the hand before mirroring.
        for name, is_right in (("synth_hand_right.jpg", True), ("synth_hand_left.jpg", False)):
            flipped = np.ascontiguousarray(_load(name)[:, ::-1])
            assert [d.is_right for d in plain.detect(flipped)] == [not is_right], name
            assert [d.is_right for d in selfie.detect(flipped)] == [is_right], name
        hands = plain.hands(image)
        assert hands[0].keypoints_px.shape == (21, 2)
        x0, y0, x1, y1 = hands[0].detection.box_xyxy_px
        assert np.all((hands[0].keypoints_px >= [x0, y0]) & (hands[0].keypoints_px <= [x1, y1]))


def test_real_mediapipe_box_is_the_keypoint_box_of_its_landmarks_with_the_trackers_margin():
    from wildhands_core.pipeline import PipelineConfig, build_detector
    from wildhands_core.tracking.config import TrackerConfig

    image = _load("synth_hand_left.jpg")
    h, w = image.shape[:2]
    det, _, skipped = build_detector(
        PipelineConfig(detector_sources=("mediapipe",), tracker=TrackerConfig(keypoint_box_margin=0.3))
    )
    assert skipped == {}
    (found,) = det.detect(image)
    kp = found.keypoints_px
    assert kp.shape == (21, 2) and found.source == "mediapipe"
    # the box is the landmarks' box grown by 0.3 x its longest side on every side (clipped to the image)
    lo, hi = kp.min(axis=0), kp.max(axis=0)
    pad = 0.3 * np.max(hi - lo)
    expected = np.clip(np.r_[lo - pad, hi + pad], 0, [w - 1, h - 1, w - 1, h - 1])
    np.testing.assert_allclose(found.box_xyxy_px, expected)
    np.testing.assert_allclose(found.box_xyxy_px, box_from_keypoints(kp, 0.3, image_size=(w, h)))
    # the landmarks lie on the rendered hand (its visible-mask box, grown by 10 %)
    grow = 0.1 * (LEFT_BOX[2:] - LEFT_BOX[:2])
    assert np.all((kp >= LEFT_BOX[:2] - grow) & (kp <= LEFT_BOX[2:] + grow))


def test_the_detector_starts_without_an_error_in_the_log():
    """MediaPipe 0.10.21's bindings call protobuf's removed ``MessageFactory.GetPrototype`` once when they
    load; with protobuf >= 5 that printed an AttributeError into every node's log."""
    import subprocess
    import sys

    code = ("import numpy as np\n"
            "from wildhands_core.detection.mediapipe_detector import MediaPipeHandDetector\n"
            "print(len(MediaPipeHandDetector().detect(np.zeros((240, 320, 3), np.uint8), 0)))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "0", proc.stderr[-2000:]
    assert "Error" not in proc.stderr, proc.stderr[-2000:]
