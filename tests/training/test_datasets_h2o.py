"""Tests of the H2O adapter on a fixture in the released layout."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures_h2o import H2O_K, write_h2o

from training.datasets.base import DatasetFileError, DatasetFormatError
from training.datasets.h2o import H2ODataset
from wildhands_core.constants import JOINT_NAMES, MANO21_TO_OPENPOSE


def test_h2o_yields_one_sample_per_valid_hand(tmp_path):
    write_h2o(tmp_path)
    ds = H2ODataset(tmp_path)
    assert len(ds) == 3
    assert [(s.frame_id.split("/")[-1], s.is_right) for s in (ds[i] for i in range(3))] == [
        ("000000", False),
        ("000000", True),
        ("000001", True),
    ]


def test_h2o_joints_are_reordered_from_openpose_to_mano21(tmp_path):
    gt = write_h2o(tmp_path)
    s = H2ODataset(tmp_path)[1]
    np.testing.assert_allclose(s.joints_cam_m[list(MANO21_TO_OPENPOSE)], gt["right"], atol=1e-6)
    np.testing.assert_allclose(s.joints_cam_m[JOINT_NAMES.index("thumb_tip")], gt["right"][4], atol=1e-6)
    np.testing.assert_allclose(s.joints_cam_m[JOINT_NAMES.index("index1")], gt["right"][5], atol=1e-6)


def test_h2o_reads_intrinsics_projects_keypoints_and_boxes_them(tmp_path):
    write_h2o(tmp_path)
    s = H2ODataset(tmp_path)[1]
    np.testing.assert_allclose(s.K_px, H2O_K)
    k = np.arange(21.0)
    np.testing.assert_allclose(
        s.keypoints_px[list(MANO21_TO_OPENPOSE)], np.stack([22 + k, 24 + k / 2], 1), atol=1e-4
    )
    assert s.keypoints_valid.all()
    # tight box x 22..42, y 24..34 (no padding)
    np.testing.assert_allclose(s.box_xyxy_px, [22.0, 24.0, 42.0, 34.0], atol=1e-4)


def test_h2o_loads_the_rgb_image_lazily_as_rgb(tmp_path):
    gt = write_h2o(tmp_path)
    ds = H2ODataset(tmp_path)
    (gt["cam_dir"] / "rgb" / "000001.png").unlink()  # construction read no image
    s = ds[0]
    assert s.image.shape == (48, 64, 3) and s.image.dtype == np.uint8
    np.testing.assert_array_equal(s.image[0, 0], [200, 0, 30])
    with pytest.raises(DatasetFileError, match=r"000001\.png"):
        ds[2]


def test_h2o_names_a_malformed_pose_file(tmp_path):
    gt = write_h2o(tmp_path)
    (gt["cam_dir"] / "hand_pose" / "000001.txt").write_text("1 2 3\n")
    with pytest.raises(DatasetFormatError, match=r"000001\.txt"):
        H2ODataset(tmp_path)


def test_h2o_val_split_reads_only_the_frames_of_pose_val(tmp_path):
    from fixtures_h2o import write_h2o_val_list

    write_h2o(tmp_path)
    write_h2o_val_list(tmp_path)
    ds = H2ODataset(tmp_path, split="val")
    got = [(s.frame_id, s.is_right) for s in (ds[i] for i in range(len(ds)))]
    assert got == [("subject1/h1/0/cam4/000001", True)]


def test_h2o_split_without_its_list_names_the_file(tmp_path):
    write_h2o(tmp_path)
    with pytest.raises(DatasetFileError, match=r"pose_lists/pose_val\.txt"):
        H2ODataset(tmp_path, split="val")
