"""Tests of the Epic-HandKps adapter on a fixture in the authors' ``hands_5000.pkl`` layout."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures_common import interhand_to_openpose_named
from fixtures_epic_handkps import write_epic_handkps
from old_layout_epic_handkps import write_epic_handkps as write_old_layout

from training.datasets.base import DatasetFileError
from training.datasets.epic_handkps import EpicHandKpsDataset
from wildhands_core.constants import JOINT_NAMES, MANO21_TO_OPENPOSE


def test_handkps_reads_interhand_order_and_scales_1920x1080_pixels_to_the_image(tmp_path):
    gt = write_epic_handkps(tmp_path)
    ds = EpicHandKpsDataset(tmp_path)
    assert len(ds) == 1  # the left hand has only 3 valid joints
    s = ds[0]
    assert s.is_right and s.has_keypoints2d and not s.has_joints3d
    perm = list(MANO21_TO_OPENPOSE)
    want_valid = interhand_to_openpose_named(gt["valid_interhand"][:, None])[:, 0]
    np.testing.assert_array_equal(s.keypoints_valid[perm], want_valid)
    half = interhand_to_openpose_named(gt["keypoints_interhand_px"]) / 2  # image stored at 960x540
    np.testing.assert_allclose(s.keypoints_px[perm][want_valid], half[want_valid])
    # by name: InterHand 0 = thumb tip (100, 80) px of 1920x1080; InterHand 20 = wrist, invalid
    np.testing.assert_allclose(s.keypoints_px[JOINT_NAMES.index("thumb_tip")], [50, 40])
    assert not s.keypoints_valid[JOINT_NAMES.index("wrist")]
    assert not s.keypoints_valid[JOINT_NAMES.index("pinky1")]  # InterHand 19 = pinky base


def test_handkps_box_is_the_tight_keypoint_box_and_K_is_focal_1000_at_1920(tmp_path):
    write_epic_handkps(tmp_path)
    s = EpicHandKpsDataset(tmp_path)[0]
    # valid InterHand joints 0..18 at (100 + 20k, 80 + 40k) / 2
    np.testing.assert_allclose(s.box_xyxy_px, [50, 40, 230, 400])
    np.testing.assert_allclose(s.K_px[0, 0], 1000 * 960 / 1920)
    np.testing.assert_allclose(s.extra["release_bbox"], [90, 70, 600, 1000])


def test_handkps_rejects_the_layout_it_used_to_assume_naming_the_pickle(tmp_path):
    write_old_layout(tmp_path)  # annotations/test.json, COCO keypoints in OpenPose order
    with pytest.raises(DatasetFileError, match=r"epic_hands/hands_5000\.pkl"):
        EpicHandKpsDataset(tmp_path)
