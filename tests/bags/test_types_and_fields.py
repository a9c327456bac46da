"""The bag tools' messages are the ROS 2 ones: same type hashes as rosidl, same CDR bytes as rclpy; the
field layout round-trips; recorded images and CameraInfo decode with the documented conventions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from bag_fixtures import random_estimate
from scipy.spatial.transform import Rotation

from wildhands_offline.frames import RejectedFrameError, camera_info_to_K, image_to_rgb
from wildhands_offline.hand_fields import detections_from_box_fields, hand_fields, hand_from_fields
from wildhands_offline.messages import from_fields, hand_array_msg, tf_msg
from wildhands_offline.types import (
    CAMERA_INFO,
    HAND_ARRAY,
    IMAGE,
    PROJECT_MESSAGES,
    TF_MESSAGE,
    make_typestore,
    msg_dir_candidates,
)

STAMP = 1_700_000_123_456_789_012


def _generated_json(name: str) -> Path | None:
    for d in msg_dir_candidates():
        if (d / f"{name}.json").is_file():
            return d / f"{name}.json"
    return None


@pytest.mark.parametrize("name", PROJECT_MESSAGES)
def test_type_hash_equals_the_one_rosidl_generated(name):
    path = _generated_json(name)
    if path is None:
        pytest.skip("no rosidl-generated .json (build the messages: scripts/setup.sh or colcon)")
    expected = json.loads(path.read_text())["type_hashes"][0]
    assert expected["type_name"] == f"wildhands_ros/msg/{name}"
    assert make_typestore().hash_rihs01(f"wildhands_ros/msg/{name}") == expected["hash_string"]


def test_hand_array_and_tf_cdr_equal_rclpy_serialisation_of_the_node_conversions():
    """Same length and same values both ways (rclpy leaves CDR padding bytes uninitialised, so the bytes
    are compared after a rosbags round trip, which zeroes the padding)."""
    pytest.importorskip("rclpy")
    try:
        from rclpy.serialization import deserialize_message, serialize_message
        from std_msgs.msg import Header
        from tf2_msgs.msg import TFMessage
        from wildhands_ros.msg import HandArray

        from wildhands_ros import conversions as conv
    except ImportError as exc:
        pytest.skip(f"ROS 2 messages missing ({exc}); run through scripts/wh")
    ts = make_typestore()
    rng = np.random.default_rng(0)
    ests = [random_estimate(rng, True, 3), random_estimate(rng, False, 4)]
    header = Header(stamp=conv.ns_to_stamp(STAMP), frame_id="cam_optical")
    cases = [
        (conv.estimates_to_hand_array(ests, header, (640, 480), latency_ms=12.5), HandArray,
         hand_array_msg(ts, ests, STAMP, "cam_optical", (640, 480), latency_ms=12.5), HAND_ARRAY),
        (TFMessage(transforms=conv.estimates_to_transforms(ests, header, "hand_")), TFMessage,
         tf_msg(ts, ests, STAMP, "cam_optical", "hand_"), TF_MESSAGE),
    ]
    for ros, ros_cls, ours, typename in cases:
        ros_raw, our_raw = serialize_message(ros), bytes(ts.serialize_cdr(ours, typename))
        assert len(ros_raw) == len(our_raw)
        assert bytes(ts.serialize_cdr(ts.deserialize_cdr(ros_raw, typename), typename)) == our_raw
        # (a float32 field of an rclpy message holds a Python float until it went through CDR)
        assert deserialize_message(our_raw, ros_cls) == deserialize_message(ros_raw, ros_cls)


def test_hand_fields_round_trip_at_float32_precision_and_wrist_pose_is_the_global_orientation():
    ts = make_typestore()
    est = random_estimate(np.random.default_rng(1), True, track_id=7)
    msg = ts.deserialize_cdr(ts.serialize_cdr(hand_array_msg(ts, [est], STAMP, "c", (4, 4)), HAND_ARRAY),
                             HAND_ARRAY)
    assert msg.header.stamp.sec == 1_700_000_123 and msg.header.stamp.nanosec == 456_789_012
    back = hand_from_fields(msg.hands[0])
    assert back.is_right and back.track_id == 7 and back.grasp_class == est.grasp_class
    np.testing.assert_array_equal(back.joints_m, np.float32(est.joints_m))
    np.testing.assert_array_equal(back.hand_pose_aa, np.float32(est.hand_pose_aa))
    f = hand_fields(est)
    q = f["wrist_pose"]["orientation"]
    np.testing.assert_allclose([q["x"], q["y"], q["z"], q["w"]], Rotation.from_rotvec(est.global_orient_aa)
                               .as_quat(), atol=1e-12)
    assert f["wrist_pose"]["position"]["z"] == est.joints_m[0][2]


def test_hand_from_fields_rejects_a_bad_handedness_and_box_fields_must_be_parallel():
    ts = make_typestore()
    f = hand_array_fields_one(ts)
    f.handedness = 2
    with pytest.raises(ValueError, match="handedness"):
        hand_from_fields(f)
    dets = detections_from_box_fields([1, 2, 3, 4, 5, 6, 7, 8], [1, 0], [])
    assert [d.is_right for d in dets] == [True, False] and dets[1].box_xyxy_px.tolist() == [5, 6, 7, 8]
    assert [d.score for d in dets] == [1.0, 1.0]
    with pytest.raises(ValueError):
        detections_from_box_fields([1, 2, 3, 4, 5], [1], [])


def hand_array_fields_one(ts):
    est = random_estimate(np.random.default_rng(2), False)
    return hand_array_msg(ts, [est], 0, "c", (4, 4)).hands[0]


def _image(ts, enc: str, data: np.ndarray, w: int, h: int, step: int):
    return from_fields(ts, IMAGE, {"height": h, "width": w, "encoding": enc, "step": step,
                                   "data": data.reshape(-1)})


def test_padded_rgb8_rows_bgr8_and_mono8_decode_to_the_same_rgb():
    ts = make_typestore()
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    padded = np.zeros((2, 12), np.uint8)
    padded[:, :9] = rgb.reshape(2, 9)
    np.testing.assert_array_equal(image_to_rgb(_image(ts, "rgb8", padded, 3, 2, 12)), rgb)
    np.testing.assert_array_equal(image_to_rgb(_image(ts, "bgr8", rgb[..., ::-1].copy(), 3, 2, 9)), rgb)
    mono = image_to_rgb(_image(ts, "mono8", rgb[..., 0].copy(), 3, 2, 3))
    np.testing.assert_array_equal(mono, np.repeat(rgb[..., :1], 3, axis=2))
    with pytest.raises(RejectedFrameError) as e:
        image_to_rgb(_image(ts, "rgb8", rgb.reshape(-1)[:10], 3, 2, 9))
    assert e.value.reason == "image_layout"
    with pytest.raises(RejectedFrameError) as e:
        image_to_rgb(_image(ts, "16UC1", rgb.reshape(-1)[:12], 3, 2, 6))
    assert e.value.reason == "encoding"


def test_camera_info_roi_and_binning_map_K_into_the_image_pixels():
    ts = make_typestore()
    info = from_fields(ts, CAMERA_INFO, {
        "width": 640, "height": 480, "k": np.array([500.0, 0, 320, 0, 510, 240, 0, 0, 1]),
        "binning_x": 2, "binning_y": 2,
        "roi": {"x_offset": 100, "y_offset": 40, "width": 400, "height": 300},
    })
    K = camera_info_to_K(info, (200, 150))
    np.testing.assert_allclose(K, [[250, 0, 110], [0, 255, 100], [0, 0, 1]])
    with pytest.raises(RejectedFrameError) as e:
        camera_info_to_K(info, (640, 480))
    assert e.value.reason == "camera_info_size"
    zero = from_fields(ts, CAMERA_INFO, {"width": 4, "height": 4})
    with pytest.raises(RejectedFrameError) as e:
        camera_info_to_K(zero, (4, 4))
    assert e.value.reason == "camera_info_focal"
