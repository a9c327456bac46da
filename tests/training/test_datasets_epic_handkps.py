"""Tests of the Epic-HandKps adapter on a fixture in its documented layout."""

from __future__ import annotations

import numpy as np
from fixtures_epic_handkps import write_epic_handkps

from training.datasets.epic_handkps import EpicHandKpsDataset
from wildhands_core.constants import JOINT_NAMES, MANO21_TO_OPENPOSE


def test_handkps_reorders_keypoints_and_validity_to_mano21(tmp_path):
    gt = write_epic_handkps(tmp_path)
    ds = EpicHandKpsDataset(tmp_path)
    assert len(ds) == 1  # the left hand has only 2 annotated joints
    s = ds[0]
    assert s.is_right and s.has_keypoints2d and not s.has_joints3d
    perm = list(MANO21_TO_OPENPOSE)
    np.testing.assert_array_equal(s.keypoints_valid[perm], gt["visible_openpose"])
    np.testing.assert_allclose(
        s.keypoints_px[perm][gt["visible_openpose"]], gt["keypoints_openpose_px"][gt["visible_openpose"]]
    )
    np.testing.assert_allclose(s.keypoints_px[JOINT_NAMES.index("thumb_tip")], [14, 16])  # OpenPose joint 4
    assert not s.keypoints_valid[JOINT_NAMES.index("pinky_tip")]  # OpenPose 20 unannotated


def test_handkps_box_spans_the_annotated_keypoints(tmp_path):
    write_epic_handkps(tmp_path)
    s = EpicHandKpsDataset(tmp_path, box_pad=0.0)[0]
    # annotated OpenPose joints 0..18: x 10..28, y 8..44
    np.testing.assert_allclose(s.box_xyxy_px, [10, 8, 28, 44])
    assert s.image.shape == (48, 64, 3)
