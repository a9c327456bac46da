"""Tests of the Ego-Exo4D hands adapter on a fixture in the released annotation + prepared-image layout."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures_egoexo4d import JOINT_COUNT_FRAMES, TAKE_NAME, write_egoexo4d, write_egoexo4d_joint_counts
from old_layout_egoexo4d import write_egoexo4d as write_old_layout

from training.datasets.base import DatasetFileError
from training.datasets.egoexo4d_hands import EgoExo4DHandsDataset
from wildhands_core.constants import JOINT_NAMES, MANO21_TO_OPENPOSE


def _ds(root):
    return EgoExo4DHandsDataset(root, image_wh=(64, 48))


def test_egoexo_reads_named_joints_into_camera_frame_mano21_and_images_by_take_name(tmp_path):
    gt = write_egoexo4d(tmp_path)
    ds = _ds(tmp_path)
    assert [(s.frame_id.split("/")[1:], s.is_right) for s in (ds[i] for i in range(len(ds)))] == [
        (["000000", "right"], True),
        (["000030", "left"], False),
    ]  # frame 60's right hand has no 3D wrist
    assert (
        ds._records[0].image_path == tmp_path / "image" / "undistorted" / "train" / TAKE_NAME / "000000.jpg"
    )
    right = ds[0]
    valid = right.extra["joints3d_valid"]
    perm = list(MANO21_TO_OPENPOSE)
    np.testing.assert_allclose(
        right.joints_cam_m[perm][valid[perm]], (gt["right"] + [0, 0, 0.4])[valid[perm]]
    )
    np.testing.assert_allclose(right.joints_cam_m[JOINT_NAMES.index("index1")], [0.025, 0.015, 0.5])
    np.testing.assert_allclose(right.K_px, [[40, 0, 32], [0, 40, 24], [0, 0, 1]])


def test_egoexo_applies_the_reference_joint_filters(tmp_path):
    write_egoexo4d(tmp_path)
    s = _ds(tmp_path)[0]
    v = s.extra["joints3d_valid"]
    # OpenPose 3 (thumb_3) is 40 px from its manual point, OpenPose 20 (pinky_4) has no manual point
    assert not v[JOINT_NAMES.index("thumb3")] and not v[JOINT_NAMES.index("pinky_tip")]
    assert v[JOINT_NAMES.index("wrist")]  # (5, 6) is far from its projection, but the wrist is not checked
    assert v.sum() == 19
    np.testing.assert_allclose(s.keypoints_px[JOINT_NAMES.index("wrist")], [5.0, 6.0])  # the manual point
    np.testing.assert_allclose(
        s.keypoints_px[JOINT_NAMES.index("index1")], [32 + 0.4 * 5 + 1, 24 + 0.24 * 5 + 1]
    )


def test_egoexo_missing_3d_joints_are_flagged_invalid(tmp_path):
    write_egoexo4d(tmp_path)
    s = _ds(tmp_path)[1]
    assert not s.is_right
    missing = JOINT_NAMES.index("index3")  # OpenPose 7
    expected = np.ones(21, dtype=bool)
    expected[missing] = False
    np.testing.assert_array_equal(s.extra["joints3d_valid"], expected)
    np.testing.assert_array_equal(s.joints_cam_m[missing], [0, 0, 0])


def test_egoexo_rejects_the_layout_it_used_to_assume_naming_what_it_missed(tmp_path):
    write_old_layout(tmp_path)  # images/<take_uid>/aria01/, no take name anywhere
    with pytest.raises(DatasetFileError, match=r"metadata\.take_name.*takes\.json"):
        EgoExo4DHandsDataset(tmp_path)


def _kept_frames(ds) -> list[int]:
    return [int(s.frame_id.split("/")[1]) for s in (ds[i] for i in range(len(ds)))]


def test_egoexo_keeps_a_hand_with_more_than_3_valid_joints_as_the_authors_or_10_as_the_official_preparation(
    tmp_path,
):
    """The authors keep a hand when MORE than 3 of its joints are valid (ap229997/hands 8303277,
    src/datasets/ego_exo_dataset.py L489-490: ``joints_valid_r.sum() > 3``); the official hand-pose
    preparation when at least 10 are (EGO4D/ego-exo4d-egopose, handpose/data_preparation/dataloader.py L217:
    ``sum(valid_3d_kpts_flag) >= self.valid_kpts_threshold``, utils/config.py L58: default 10). Right hands
    with exactly 3, 4, 9 and 10 valid joints in frames 0, 30, 60, 90."""
    write_egoexo4d_joint_counts(tmp_path)
    assert JOINT_COUNT_FRAMES == {0: 3, 30: 4, 60: 9, 90: 10}
    assert _kept_frames(EgoExo4DHandsDataset(tmp_path, image_wh=(64, 48))) == [30, 60, 90]
    official = EgoExo4DHandsDataset(tmp_path, image_wh=(64, 48), min_valid_joints="official")
    assert _kept_frames(official) == [90]
    assert _kept_frames(EgoExo4DHandsDataset(tmp_path, image_wh=(64, 48), min_valid_joints=9)) == [60, 90]
    with pytest.raises(ValueError, match="official"):
        EgoExo4DHandsDataset(tmp_path, image_wh=(64, 48), min_valid_joints="paper")
