"""Tests of the AssemblyHands adapter on a fixture in the v1-1 annotation layout."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures_assemblyhands import AH_K, write_assemblyhands
from fixtures_common import interhand_to_openpose_named

from training.datasets.assemblyhands import AssemblyHandsDataset
from training.datasets.base import DatasetFileError
from wildhands_core.constants import JOINT_NAMES, MANO21_TO_OPENPOSE


def _cam_m(world_mm: np.ndarray) -> np.ndarray:
    """The fixture's extrinsics by hand: (x, y, z) → (−y, x, z + 500) mm, then metres."""
    return np.stack([-world_mm[:, 1], world_mm[:, 0], world_mm[:, 2] + 500.0], axis=1) / 1000.0


def test_assemblyhands_skips_hands_without_enough_valid_joints(tmp_path):
    write_assemblyhands(tmp_path)
    ds = AssemblyHandsDataset(tmp_path, split="test")
    assert [
        (s.frame_id.endswith("000000.jpg/right") or s.frame_id.endswith("000001.jpg/right"), s.is_right)
        for s in (ds[i] for i in range(len(ds)))
    ] == [(True, True), (False, False), (True, True)]


def test_assemblyhands_joints_go_from_world_mm_interhand_order_to_camera_m_mano21(tmp_path):
    gt = write_assemblyhands(tmp_path)
    ds = AssemblyHandsDataset(tmp_path, split="test")
    right, left = ds[0], ds[1]
    kp = gt["keypoints_world_mm"]
    np.testing.assert_allclose(
        right.joints_cam_m[list(MANO21_TO_OPENPOSE)], interhand_to_openpose_named(_cam_m(kp[:21])), atol=1e-12
    )
    np.testing.assert_allclose(
        left.joints_cam_m[list(MANO21_TO_OPENPOSE)], interhand_to_openpose_named(_cam_m(kp[21:])), atol=1e-12
    )
    # spot checks by name: wrist = InterHand 20, thumb tip = InterHand 0 ((-100, 0, 0) mm → (0, -0.1, 0.5) m)
    np.testing.assert_allclose(right.joints_cam_m[JOINT_NAMES.index("wrist")], _cam_m(kp[20:21])[0])
    np.testing.assert_allclose(right.joints_cam_m[JOINT_NAMES.index("thumb_tip")], [0.0, -0.1, 0.5])


def test_assemblyhands_keeps_joint_validity_in_mano21_order(tmp_path):
    write_assemblyhands(tmp_path)
    s = AssemblyHandsDataset(tmp_path, split="test")[2]  # image 1, right; InterHand joints 0 and 5 invalid
    expected = np.ones(21, dtype=bool)
    expected[[JOINT_NAMES.index("thumb_tip"), JOINT_NAMES.index("index3")]] = False
    np.testing.assert_array_equal(s.extra["joints3d_valid"], expected)
    np.testing.assert_array_equal(s.keypoints_valid, expected)
    assert np.all(s.joints_cam_m[~expected] == 0)


def test_assemblyhands_projects_with_the_sequence_intrinsics_and_boxes_the_keypoints(tmp_path):
    write_assemblyhands(tmp_path)
    s = AssemblyHandsDataset(tmp_path, split="test")[0]
    np.testing.assert_allclose(s.K_px, AH_K)
    j = s.joints_cam_m
    np.testing.assert_allclose(s.keypoints_px, 40 * j[:, :2] / j[:, 2:] + [32, 24], atol=1e-9)
    # right hand: u = 32 − 0.4 k ∈ [24, 32], v = 16 + 0.8 k ∈ [16, 32]; 10 % padding each side
    np.testing.assert_allclose(s.box_xyxy_px, [23.2, 14.4, 32.8, 33.6], atol=1e-9)
    np.testing.assert_allclose(s.image[0, 0], [10, 20, 250], atol=3)


def test_assemblyhands_missing_annotation_file_is_named(tmp_path):
    write_assemblyhands(tmp_path)
    with pytest.raises(DatasetFileError, match=r"assemblyhands_val_ego_data_v1-1\.json"):
        AssemblyHandsDataset(tmp_path, split="val")
