"""The one TF-from-estimate function (``hand_fields.hand_transforms``), without ROS: hand-checkable numbers
for a wrist turned 90 degrees about the camera's z axis, and the bag tools' field dicts built from it."""

from __future__ import annotations

import numpy as np
import pytest

from wildhands_core.estimate import HandEstimate
from wildhands_offline.hand_fields import hand_transforms, stamp_fields, wrist_transform_fields

WRIST = np.array([0.1, -0.05, 0.6])


def _estimate(is_right: bool = True, track_id: int = 3, confidence: float = 0.9) -> HandEstimate:
    joints = np.tile(WRIST, (21, 1))
    joints[17] = WRIST + [0.02, 0.0, 0.0]  # index tip 2 cm along the camera's x axis
    return HandEstimate(
        is_right=is_right,
        global_orient_aa=np.array([0.0, 0.0, np.pi / 2]),  # 90 degrees about z
        hand_pose_aa=np.zeros(45),
        betas=np.zeros(10),
        transl_m=np.zeros(3),
        joints_m=joints,
        keypoints_px=np.zeros((21, 2)),
        box_xyxy_px=np.array([0.0, 0.0, 10.0, 10.0]),
        crop_xyxy_px=np.array([0.0, 0.0, 10.0, 10.0]),
        confidence=confidence,
        grasp_prob=np.full(9, 1 / 9),
        track_id=track_id,
    )


def test_wrist_is_the_global_orientation_at_the_wrist_joint_and_tips_are_in_the_wrist_frame():
    tfs = hand_transforms([_estimate()], "cam_optical", "h_", fingertips=True)
    assert [t.child for t in tfs] == [
        "h_right_wrist", "h_right_thumb_tip", "h_right_index_tip", "h_right_middle_tip", "h_right_ring_tip",
        "h_right_pinky_tip",
    ]
    wrist, index_tip = tfs[0], tfs[2]
    assert wrist.parent == "cam_optical"
    np.testing.assert_allclose(wrist.translation_m, WRIST)
    s = np.sqrt(0.5)  # quaternion of 90 degrees about z: (0, 0, sin 45, cos 45)
    np.testing.assert_allclose(wrist.quaternion_xyzw, [0.0, 0.0, s, s], atol=1e-12)
    # the camera's +x is the wrist frame's -y after turning the wrist +90 degrees about z
    assert index_tip.parent == "h_right_wrist"
    np.testing.assert_allclose(index_tip.translation_m, [0.0, -0.02, 0.0], atol=1e-12)
    np.testing.assert_allclose(index_tip.quaternion_xyzw, [0.0, 0.0, 0.0, 1.0])


def test_without_fingertips_only_wrists_and_a_second_hand_of_a_side_gets_its_track_id():
    tfs = hand_transforms([_estimate(), _estimate(False, 4), _estimate(True, 7, 0.2)], "cam", "")
    assert [t.child for t in tfs] == ["right_wrist", "left_wrist", "right_wrist_7"]


def test_bag_field_dicts_are_the_wrist_transforms_stamped():
    est = _estimate()
    [f] = wrist_transform_fields([est], stamp_fields(12_000_000_005), "cam_optical", "h_")
    assert f["header"] == {"stamp": {"sec": 12, "nanosec": 5}, "frame_id": "cam_optical"}
    assert f["child_frame_id"] == "h_right_wrist"
    assert [f["transform"]["translation"][k] for k in "xyz"] == pytest.approx(WRIST.tolist())
    s = np.sqrt(0.5)
    assert [f["transform"]["rotation"][k] for k in "xyzw"] == pytest.approx([0.0, 0.0, s, s], abs=1e-12)
