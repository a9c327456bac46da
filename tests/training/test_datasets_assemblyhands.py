"""Tests of the AssemblyHands adapter on a fixture in the v1-1 release layout (reference/datasets.md)."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures_assemblyhands import AH_CAM, AH_K, AH_SEQ, write_assemblyhands
from fixtures_common import interhand_to_openpose_named
from old_layout_assemblyhands import write_assemblyhands as write_old_layout

from training.datasets.assemblyhands import AssemblyHandsDataset
from training.datasets.base import DatasetFileError, DatasetFormatError
from wildhands_core.constants import JOINT_NAMES, MANO21_TO_OPENPOSE


def _cam_m(world_mm: np.ndarray) -> np.ndarray:
    """The fixture's extrinsics by hand: (x, y, z) → (−y, x, z + 500) mm, then metres."""
    return np.stack([-world_mm[:, 1], world_mm[:, 0], world_mm[:, 2] + 500.0], axis=1) / 1000.0


def test_assemblyhands_reads_joints_from_the_joint_3d_file_and_skips_absent_hands(tmp_path):
    write_assemblyhands(tmp_path)
    ds = AssemblyHandsDataset(tmp_path, split="test")
    assert [(s.frame_id.split("/")[-2:], s.is_right) for s in (ds[i] for i in range(len(ds)))] == [
        (["000030.jpg", "right"], True),
        (["000030.jpg", "left"], False),
        (["001230.jpg", "right"], True),
    ]
    expected = tmp_path / "images" / "ego_images_rectified" / "test" / AH_SEQ / AH_CAM / "000030.jpg"
    assert ds._records[0].image_path == expected


def test_assemblyhands_joints_go_from_world_mm_interhand_order_to_camera_m_mano21(tmp_path):
    gt = write_assemblyhands(tmp_path)
    ds = AssemblyHandsDataset(tmp_path, split="test")
    right, left = ds[0], ds[1]
    w = gt["world_coord_mm"]
    perm = list(MANO21_TO_OPENPOSE)
    np.testing.assert_allclose(
        right.joints_cam_m[perm], interhand_to_openpose_named(_cam_m(w[:21])), atol=1e-12
    )
    np.testing.assert_allclose(
        left.joints_cam_m[perm], interhand_to_openpose_named(_cam_m(w[21:])), atol=1e-12
    )
    # by name: wrist = InterHand 20, thumb tip = InterHand 0 ((-100, 0, 0) mm → (0, -0.1, 0.5) m)
    np.testing.assert_allclose(right.joints_cam_m[JOINT_NAMES.index("wrist")], _cam_m(w[20:21])[0])
    np.testing.assert_allclose(right.joints_cam_m[JOINT_NAMES.index("thumb_tip")], [0.0, -0.1, 0.5])


def test_assemblyhands_keeps_joint_validity_in_mano21_order(tmp_path):
    write_assemblyhands(tmp_path)
    s = AssemblyHandsDataset(tmp_path, split="test")[
        2
    ]  # frame 001230, right; InterHand joints 0 and 5 invalid
    expected = np.ones(21, dtype=bool)
    expected[[JOINT_NAMES.index("thumb_tip"), JOINT_NAMES.index("index3")]] = False
    np.testing.assert_array_equal(s.extra["joints3d_valid"], expected)
    assert np.all(s.joints_cam_m[~expected] == 0)


def test_assemblyhands_projects_with_the_mono10bit_intrinsics_and_boxes_the_keypoints_tightly(tmp_path):
    write_assemblyhands(tmp_path)
    s = AssemblyHandsDataset(tmp_path, split="test")[0]
    np.testing.assert_allclose(s.K_px, AH_K)
    j = s.joints_cam_m
    np.testing.assert_allclose(s.keypoints_px, 40 * j[:, :2] / j[:, 2:] + [32, 24], atol=1e-9)
    # right hand: u = 32 − 0.4 k ∈ [24, 32], v = 16 + 0.8 k ∈ [16, 32]; no padding
    np.testing.assert_allclose(s.box_xyxy_px, [24.0, 16.0, 32.0, 32.0], atol=1e-9)
    np.testing.assert_allclose(s.image[0, 0], [10, 20, 250], atol=3)


def test_assemblyhands_rejects_the_layout_it_used_to_assume_naming_the_joint_3d_file(tmp_path):
    write_old_layout(tmp_path)  # joints inside the data file, no *_joint_3d_v1-1.json
    with pytest.raises(DatasetFileError, match=r"assemblyhands_test_joint_3d_v1-1\.json"):
        AssemblyHandsDataset(tmp_path, split="test")


def test_assemblyhands_names_a_calibration_key_without_mono10bit(tmp_path):
    write_assemblyhands(tmp_path)
    p = tmp_path / "annotations" / "test" / "assemblyhands_test_ego_calib_v1-1.json"
    p.write_text(p.read_text().replace("_mono10bit", ""))
    with pytest.raises(DatasetFormatError, match=r"HMC_21110305_mono10bit"):
        AssemblyHandsDataset(tmp_path, split="test")
