"""Tests of the ARCTIC egocentric adapter on a fixture in the released raw_seqs layout."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures_arctic import ARCTIC_K, IOI_OFFSET, N_FRAMES, arctic_camera_joints, toy_mano_fn, write_arctic
from scipy.spatial.transform import Rotation

from training.datasets.arctic import ArcticEgoDataset, kept_mano_frames, scale_intrinsics
from training.datasets.base import DatasetFileError, DatasetFormatError


def _by_id(ds: ArcticEgoDataset) -> dict:
    return {s.frame_id: s for s in (ds[i] for i in range(len(ds)))}


def test_arctic_yields_both_hands_of_every_frame(tmp_path):
    write_arctic(tmp_path)
    ds = ArcticEgoDataset(tmp_path, toy_mano_fn, trim_frames=0)
    assert len(ds) == 2 * N_FRAMES
    assert sorted(_by_id(ds)) == sorted(
        f"s01/box_grab_01/{t:05d}/{s}" for t in range(3) for s in ("left", "right")
    )
    assert len(ArcticEgoDataset(tmp_path, toy_mano_fn, trim_frames=0, frame_stride=2)) == 4


def test_arctic_joints_are_mano_plus_trans_moved_into_the_ego_camera(tmp_path):
    gt = write_arctic(tmp_path)
    samples = _by_id(ArcticEgoDataset(tmp_path, toy_mano_fn, trim_frames=0))
    for t in range(N_FRAMES):
        for side in ("left", "right"):
            m = gt["mano"][side]
            pose = np.concatenate([m["rot"][t], m["pose"][t]])[None]
            world = toy_mano_fn(pose, m["shape"][None], side == "right")[0] + m["trans"][t]
            expected = world @ gt["R"][t].T + gt["T"][t]
            s = samples[f"s01/box_grab_01/{t:05d}/{side}"]
            np.testing.assert_allclose(s.joints_cam_m, expected, atol=1e-12)
            assert s.is_right == (side == "right")
    # frame 0 has the identity camera at 0.5 m: the wrist is J0 + trans + (0, 0, 0.5) by hand
    s0 = samples["s01/box_grab_01/00000/right"]
    np.testing.assert_allclose(s0.joints_cam_m[0], [0.01 * 1.05 + 0.02, 0.02 * 1.05, 0.03 * 1.05 + 0.5])


def test_arctic_camera_frame_mano_parameters_reproduce_the_camera_joints(tmp_path):
    gt = write_arctic(tmp_path)
    for s in _by_id(ArcticEgoDataset(tmp_path, toy_mano_fn, trim_frames=0)).values():
        regenerated = toy_mano_fn(s.mano_pose_aa[None], s.mano_betas[None], s.is_right)[0] + s.mano_transl_m
        np.testing.assert_allclose(regenerated, s.joints_cam_m, atol=1e-12)
        t = int(s.frame_id.split("/")[2])
        side = "right" if s.is_right else "left"
        np.testing.assert_allclose(s.mano_pose_aa[3:], gt["mano"][side]["pose"][t])  # articulations unchanged
        expected_rot = Rotation.from_matrix(gt["R"][t]) * Rotation.from_rotvec(gt["mano"][side]["rot"][t])
        assert (Rotation.from_rotvec(s.mano_pose_aa[:3]).inv() * expected_rot).magnitude() < 1e-9
        assert s.extra["fitting_err"] == pytest.approx(0.001 * (t + 1))


def test_arctic_keypoints_are_the_pinhole_projection_and_box_their_tight_extent(tmp_path):
    write_arctic(tmp_path)
    s = _by_id(ArcticEgoDataset(tmp_path, toy_mano_fn, trim_frames=0))["s01/box_grab_01/00001/left"]
    np.testing.assert_allclose(s.K_px, ARCTIC_K)
    j = s.joints_cam_m
    np.testing.assert_allclose(s.keypoints_px, 40 * j[:, :2] / j[:, 2:] + [32, 24], atol=1e-6)
    assert s.keypoints_valid.all()
    lo, hi = s.keypoints_px.min(0), s.keypoints_px.max(0)
    np.testing.assert_allclose(s.box_xyxy_px, [*lo, *hi], atol=1e-9)


def test_arctic_keypoints_are_undistorted_by_default_as_the_authors_train(tmp_path):
    write_arctic(tmp_path, dist8=[0.1, 0, 0, 0, 0, 0, 0, 0])
    s = ArcticEgoDataset(tmp_path, toy_mano_fn, trim_frames=0)[0]
    j = s.joints_cam_m
    np.testing.assert_allclose(s.keypoints_px, 40 * j[:, :2] / j[:, 2:] + [32, 24], atol=1e-6)
    np.testing.assert_allclose(s.extra["dist8"], [0.1, 0, 0, 0, 0, 0, 0, 0])


def test_arctic_can_apply_the_egocam_distortion_to_keypoints(tmp_path):
    write_arctic(tmp_path, dist8=[0.1, 0, 0, 0, 0, 0, 0, 0])
    s = ArcticEgoDataset(tmp_path, toy_mano_fn, trim_frames=0, apply_distortion=True)[0]
    x, y = s.joints_cam_m[:, 0] / s.joints_cam_m[:, 2], s.joints_cam_m[:, 1] / s.joints_cam_m[:, 2]
    radial = 1 + 0.1 * (x**2 + y**2)  # OpenCV model with k1 = 0.1 only
    np.testing.assert_allclose(
        s.keypoints_px, np.stack([40 * x * radial + 32, 40 * y * radial + 24], 1), atol=1e-6
    )
    np.testing.assert_allclose(s.extra["dist8"], [0.1, 0, 0, 0, 0, 0, 0, 0])


def test_arctic_image_of_a_mano_frame_is_offset_by_ioi_offset(tmp_path):
    write_arctic(tmp_path)
    samples = _by_id(ArcticEgoDataset(tmp_path, toy_mano_fn, trim_frames=0))
    for t in range(N_FRAMES):
        img = samples[f"s01/box_grab_01/{t:05d}/right"].image
        assert img.shape == (48, 64, 3)
        np.testing.assert_allclose(img[24, 32], [40 * (t + 2), 100, 50], atol=3)  # JPEG, RGB order


def test_arctic_image_scale_maps_intrinsics_to_resized_images():
    K = scale_intrinsics(ARCTIC_K, 0.5)
    # pixel centres at integers: the centre of pixel 32 of the full image, x = 32, lands at (32.5) / 2 − 0.5
    np.testing.assert_allclose(K, [[20.0, 0, 15.75], [0, 20.0, 11.75], [0, 0, 1]])


def test_arctic_split_comes_from_splits_json_and_bad_names_are_reported(tmp_path):
    write_arctic(tmp_path)
    assert len(ArcticEgoDataset(tmp_path, toy_mano_fn, trim_frames=0, split="train")) == 6
    with pytest.raises(DatasetFormatError, match=r"protocol_p2\.json"):
        ArcticEgoDataset(tmp_path, toy_mano_fn, trim_frames=0, split="nope")
    with pytest.raises(DatasetFileError, match=r"box_grab_02\.mano\.npy"):
        ArcticEgoDataset(tmp_path, toy_mano_fn, trim_frames=0, sequences=["s01/box_grab_02"])


def test_arctic_drops_the_first_and_last_10_images_and_uses_protocol_p2(tmp_path):
    """The authors count the 10 frames in IMAGE indices (ap229997/hands 8303277, src/arctic/split.py L86:
    ``range(10, num_frames - 10)`` with num_frames = the MANO frame count, L172) and read MANO index = image
    index - ioi_offset (src/datasets/hands_light_dataset.py L46). 23 MANO frames, ioi_offset 2: images 10, 11,
    12 are kept, i.e. MANO frames 8, 9, 10, whose images are 00010-00012.jpg."""
    write_arctic(tmp_path, n_frames=23)
    (tmp_path / "splits_json" / "protocol_p1.json").unlink()  # p2 is the default: p1 is never read
    ds = ArcticEgoDataset(tmp_path, toy_mano_fn, split="train")
    samples = [ds[i] for i in range(len(ds))]
    assert sorted({s.frame_id.split("/")[2] for s in samples}) == ["00008", "00009", "00010"]
    for s in samples:  # the fixture's image 00000 + k has colour 40 k in red
        t = int(s.frame_id.split("/")[2])
        assert abs(int(s.image[24, 32, 0]) - (40 * (t + IOI_OFFSET)) % 256) <= 3
    assert kept_mano_frames(23, 2) == [8, 9, 10]
    assert kept_mano_frames(23, 12) == [0]  # images 10-12 would be MANO frames -2..0: only 0 exists
    assert kept_mano_frames(25, 2, stride=2) == [8, 10, 12]  # images 10, 12, 14
    assert kept_mano_frames(3, 2, trim=0) == [0, 1, 2]  # no trimming: every MANO frame


def test_arctic_keeps_a_hand_as_arctic_judges_it_on_the_distorted_ego_projection(tmp_path):
    """ARCTIC's processing (zc-alexfan/arctic 49f3eb4, src/arctic/processing.py): ``forward_world2cam``
    (L238-263) appends the ego points distorted by ``dist`` (common/transforms.py ``distort_pts3d_all``
    L82-111: the OpenCV rational model; with k1 alone x_d = x (1 + k1 r^2)), projected with ``K_ego`` as view
    index 9; ``forward_valid`` (L347-382) takes view 9 for the ego view (L349), the box [1, 1, 2800, 2000]
    (L365) with bounds included (``bbox_jts_to_valid`` L321-344) and keeps a hand with its root inside and at
    least 3 joints inside (L379-380). A 2800x2000 ego camera with strong barrel distortion (k1 = -0.5) whose
    principal point moves right until the hands cross the right border: at every step the kept hands are
    exactly those of that rule; the undistorted projection would decide differently at some steps; and the
    rule reads the full-resolution projection whatever ``image_scale``."""
    k1 = -0.5
    seen_difference = False
    for cx in np.arange(2500.0, 3050.0, 10.0):
        K = np.array([[1000.0, 0.0, cx], [0.0, 1000.0, 1000.0], [0.0, 0.0, 1.0]])
        root = tmp_path / f"cx{int(cx)}"
        gt = write_arctic(root, dist8=[k1, 0, 0, 0, 0, 0, 0, 0], K=K)
        expected, undistorted = set(), set()
        for t in range(N_FRAMES):
            for side in ("left", "right"):
                j = arctic_camera_joints(gt, t, side)
                x, y = j[:, 0] / j[:, 2], j[:, 1] / j[:, 2]
                for radial, out in ((1 + k1 * (x**2 + y**2), expected), (1.0, undistorted)):
                    u, v = 1000.0 * x * radial + cx, 1000.0 * y * radial + 1000.0
                    inside = (u >= 1) & (u <= 2800) & (v >= 1) & (v <= 2000)
                    if inside[0] and inside.sum() >= 3:
                        out.add(f"s01/box_grab_01/{t:05d}/{side}")
        for scale in (1.0, 0.5):
            ds = ArcticEgoDataset(root, toy_mano_fn, trim_frames=0, image_scale=scale)
            assert {r.frame_id for r in (ds[i] for i in range(len(ds)))} == expected, (cx, scale)
        seen_difference |= expected != undistorted
    assert seen_difference
