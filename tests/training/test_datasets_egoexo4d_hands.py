"""Tests of the Ego-Exo4D hands adapter on a fixture in its documented layout."""

from __future__ import annotations

import numpy as np
from fixtures_egoexo4d import write_egoexo4d

from training.datasets.egoexo4d_hands import EgoExo4DHandsDataset
from wildhands_core.constants import JOINT_NAMES, MANO21_TO_OPENPOSE


def test_egoexo_reads_named_joints_into_camera_frame_mano21(tmp_path):
    gt = write_egoexo4d(tmp_path)
    ds = EgoExo4DHandsDataset(tmp_path)
    assert len(ds) == 2  # frame 0 right, frame 30 left (frame 0's left has only 2 joints)
    right = ds[0]
    assert right.is_right and right.frame_id.endswith("/000000/right")
    np.testing.assert_allclose(right.joints_cam_m[list(MANO21_TO_OPENPOSE)], gt["right"] + [0, 0, 0.4])
    np.testing.assert_allclose(
        right.joints_cam_m[JOINT_NAMES.index("index1")], [0.025, 0.015, 0.5]
    )  # index_1
    np.testing.assert_allclose(right.K_px, [[40, 0, 32], [0, 40, 24], [0, 0, 1]])


def test_egoexo_prefers_manual_2d_of_the_aria_camera_and_projects_the_rest(tmp_path):
    write_egoexo4d(tmp_path)
    s = EgoExo4DHandsDataset(tmp_path)[0]
    np.testing.assert_allclose(s.keypoints_px[0], [5.0, 6.0])  # manual wrist point of aria01_214-1
    k = JOINT_NAMES.index("thumb_tip")  # OpenPose 4: (0.02, 0.012, 0.5) → (33.6, 24.96)
    np.testing.assert_allclose(s.keypoints_px[k], [33.6, 24.96])
    assert s.keypoints_valid.all()


def test_egoexo_missing_joints_are_flagged_invalid(tmp_path):
    write_egoexo4d(tmp_path)
    s = EgoExo4DHandsDataset(tmp_path)[1]
    assert not s.is_right
    missing = JOINT_NAMES.index("index3")  # OpenPose 7
    expected = np.ones(21, dtype=bool)
    expected[missing] = False
    np.testing.assert_array_equal(s.extra["joints3d_valid"], expected)
    np.testing.assert_array_equal(s.keypoints_valid, expected)
    np.testing.assert_array_equal(s.joints_cam_m[missing], [0, 0, 0])
