"""Message <-> numpy conversions of the node, without DDS (only the generated message classes)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

pytest.importorskip("sensor_msgs.msg", reason="ROS 2 messages missing; run through scripts/wh")
pytest.importorskip("wildhands_ros.msg", reason="generated messages missing; run bash scripts/setup.sh")

from scipy.spatial.transform import Rotation
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header
from wildhands_ros.msg import Hand, HandBoxArray

from wildhands_core.constants import SKELETON_EDGES
from wildhands_core.detection.base import HandDetection
from wildhands_core.estimate import HandEstimate
from wildhands_ros import conversions as conv


def _image(arr: np.ndarray, encoding: str, pad: int = 0) -> Image:
    h, w = arr.shape[:2]
    row = arr.reshape(h, -1)
    padded = np.concatenate([row, np.full((h, pad), 7, np.uint8)], axis=1)
    msg = Image(height=h, width=w, encoding=encoding, step=row.shape[1] + pad)
    msg.data = padded.tobytes()
    return msg


def _estimate(is_right=True, track_id=3, wrist=(0.1, -0.05, 0.6)) -> HandEstimate:
    rng = np.random.default_rng(1)
    joints = np.asarray(wrist) + rng.normal(0, 0.03, (21, 3))
    joints[0] = wrist
    return HandEstimate(
        is_right=is_right,
        global_orient_aa=np.array([0.0, 0.0, np.pi / 2]),
        hand_pose_aa=rng.normal(0, 0.2, 45),
        betas=rng.normal(0, 1, 10),
        transl_m=np.array([0.01, 0.02, 0.55]),
        joints_m=joints,
        keypoints_px=rng.uniform(0, 300, (21, 2)),
        box_xyxy_px=np.array([10.0, 20, 110, 140]),
        crop_xyxy_px=np.array([0.0, 0, 150, 150]),
        confidence=0.75,
        grasp_prob=np.full(9, 1 / 9),
        track_id=track_id,
    )


@pytest.mark.parametrize(
    "encoding,channels,code",
    [
        ("bgr8", 3, cv2.COLOR_RGB2BGR),
        ("rgba8", 4, cv2.COLOR_RGB2RGBA),
        ("bgra8", 4, cv2.COLOR_RGB2BGRA),
    ],
)
def test_colour_encodings_convert_to_the_same_rgb_pixels(encoding, channels, code):
    rgb = np.random.default_rng(0).integers(0, 255, (5, 7, 3), dtype=np.uint8)
    out = conv.image_to_rgb(_image(cv2.cvtColor(rgb, code), encoding, pad=3))
    np.testing.assert_array_equal(out, rgb)


def test_mono8_becomes_three_equal_channels():
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out = conv.image_to_rgb(_image(grey[..., None], "mono8"))
    assert out.shape == (3, 4, 3)
    np.testing.assert_array_equal(out[..., 1], grey)


def test_rgb8_is_a_view_on_the_message_buffer_that_skips_row_padding():
    rgb = np.random.default_rng(0).integers(0, 255, (4, 5, 3), dtype=np.uint8)
    msg = _image(rgb, "rgb8", pad=6)
    out = conv.image_to_rgb(msg)
    np.testing.assert_array_equal(out, rgb)
    assert np.shares_memory(out, np.frombuffer(msg.data, np.uint8))  # no copy
    assert out.strides[0] == 5 * 3 + 6


@pytest.mark.parametrize(
    "mutate,error,reason",
    [
        (lambda m: setattr(m, "encoding", "16UC1"), conv.UnsupportedEncodingError, "encoding"),
        (lambda m: setattr(m, "step", 10), conv.ImageLayoutError, "step"),  # < width * 3
        (lambda m: setattr(m, "step", 40), conv.ImageLayoutError, "step"),  # buffer too short for it
        (lambda m: setattr(m, "height", 0), conv.EmptyImageError, "empty_image"),
    ],
)
def test_bad_images_raise_errors_that_name_the_problem(mutate, error, reason):
    msg = _image(np.zeros((4, 5, 3), np.uint8), "rgb8")
    mutate(msg)
    with pytest.raises(error) as exc:
        conv.image_to_rgb(msg)
    assert exc.value.reason == reason


def test_unsupported_encoding_message_names_the_encoding():
    msg = _image(np.zeros((2, 2, 3), np.uint8), "rgb8")
    msg.encoding = "yuv422"
    with pytest.raises(conv.UnsupportedEncodingError, match="'yuv422'"):
        conv.check_image(msg)


def test_compressed_png_decodes_to_the_original_rgb():
    rgb = np.random.default_rng(2).integers(0, 255, (6, 8, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok
    msg = CompressedImage(format="png")
    msg.data = buf.tobytes()
    np.testing.assert_array_equal(conv.compressed_to_rgb(msg), rgb)
    msg.data = b"not an image"
    with pytest.raises(conv.InputError, match="could not be decoded"):
        conv.compressed_to_rgb(msg)


def _info(w=640, h=480, k=(500.0, 0, 319.5, 0, 510.0, 239.5, 0, 0, 1)) -> CameraInfo:
    info = CameraInfo(width=w, height=h, k=list(k))
    info.p = [400.0, 0.0, 300.0, 0.0, 0.0, 410.0, 200.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    return info


def test_camera_info_gives_K_or_P_for_rectified_images():
    K = conv.camera_info_to_K(_info(), (640, 480))
    np.testing.assert_array_equal(K, [[500, 0, 319.5], [0, 510, 239.5], [0, 0, 1]])
    P = conv.camera_info_to_K(_info(), (640, 480), use_rectified=True)
    np.testing.assert_array_equal(P, [[400, 0, 300], [0, 410, 200], [0, 0, 1]])


def test_binned_camera_info_halves_the_intrinsics():
    info = _info()
    info.binning_x = info.binning_y = 2
    K = conv.camera_info_to_K(info, (320, 240))
    assert (K[0, 0], K[1, 1], K[0, 2], K[1, 2]) == (250.0, 255.0, 159.75, 119.75)


@pytest.mark.parametrize(
    "info,size,reason",
    [
        (_info(k=(0.0,) * 9), (640, 480), "camera_info_focal"),
        (_info(k=(float("nan"), 0, 1, 0, 500, 1, 0, 0, 1)), (640, 480), "camera_info_focal"),
        (_info(k=(-5.0, 0, 1, 0, 500, 1, 0, 0, 1)), (640, 480), "camera_info_focal"),
        (_info(), (320, 240), "camera_info_size"),
    ],
)
def test_invalid_camera_info_is_rejected_with_a_specific_reason(info, size, reason):
    with pytest.raises(conv.CameraInfoError) as exc:
        conv.camera_info_to_K(info, size)
    assert exc.value.reason == reason


def test_hand_message_round_trips_every_field():
    est = _estimate()
    back = conv.hand_msg_to_estimate(conv.estimate_to_hand_msg(est))
    for name in (
        "global_orient_aa",
        "hand_pose_aa",
        "betas",
        "transl_m",
        "joints_m",
        "keypoints_px",
        "box_xyxy_px",
        "crop_xyxy_px",
        "grasp_prob",
    ):
        np.testing.assert_allclose(getattr(back, name), getattr(est, name), atol=1e-6, err_msg=name)
    assert (back.is_right, back.track_id, back.confidence) == (True, 3, pytest.approx(0.75))


def test_wrist_pose_is_the_wrist_joint_with_the_global_orientation_as_quaternion():
    msg = conv.estimate_to_hand_msg(_estimate())
    assert (msg.wrist_pose.position.x, msg.wrist_pose.position.z) == pytest.approx((0.1, 0.6))
    q = msg.wrist_pose.orientation
    # 90 degrees about z: (0, 0, sin 45, cos 45)
    assert (q.x, q.y, q.z, q.w) == pytest.approx((0, 0, np.sqrt(0.5), np.sqrt(0.5)))
    assert msg.handedness == Hand.RIGHT and msg.grasp_class == 0


def test_hand_boxes_message_round_trips_and_malformed_arrays_are_rejected():
    dets = [HandDetection([1, 2, 30, 40], True, 0.9), HandDetection([50, 60, 70, 80], False, 0.4)]
    msg = conv.detections_to_hand_boxes(dets, Header(frame_id="cam"))
    back = conv.hand_boxes_to_detections(msg)
    assert [d.is_right for d in back] == [True, False]
    np.testing.assert_allclose(back[1].box_xyxy_px, [50, 60, 70, 80])
    assert back[0].score == pytest.approx(0.9)
    bad = HandBoxArray(boxes_xyxy_px=[1.0, 2.0, 3.0], handedness=[1])
    with pytest.raises(conv.InputError):
        conv.hand_boxes_to_detections(bad)


def test_tf_puts_each_wrist_in_the_optical_frame_and_fingertips_in_the_wrist_frame():
    right, left, right2 = _estimate(True, 1), _estimate(False, 2), _estimate(True, 7)
    right2.confidence = 0.1
    header = Header(frame_id="cam_optical")
    header.stamp.sec = 12
    tfs = conv.estimates_to_transforms([right, left, right2], header, "h_", fingertips=True)
    wrists = {t.child_frame_id: t for t in tfs if t.header.frame_id == "cam_optical"}
    assert set(wrists) == {"h_right_wrist", "h_left_wrist", "h_right_wrist_7"}
    assert all(t.header.stamp.sec == 12 for t in tfs)
    tip = next(t for t in tfs if t.child_frame_id == "h_right_index_tip")
    assert tip.header.frame_id == "h_right_wrist"
    # wrist pose applied to the tip offset gives back the tip joint in the camera frame
    rot = Rotation.from_rotvec(right.global_orient_aa)
    p = tip.transform.translation
    np.testing.assert_allclose(rot.apply([p.x, p.y, p.z]) + right.joints_m[0], right.joints_m[17], atol=1e-9)


def test_markers_clear_old_hands_then_draw_every_bone_and_joint():
    arr = conv.estimates_to_markers([_estimate(), _estimate(False)], Header(frame_id="cam"))
    assert arr.markers[0].action == arr.markers[0].DELETEALL
    bones = [m for m in arr.markers if m.ns == "skeleton"]
    assert len(bones) == 2 and len(bones[0].points) == 2 * len(SKELETON_EDGES)
    assert all(len(m.points) == 21 for m in arr.markers if m.ns == "joints")


def test_mesh_marker_has_three_points_per_face():
    est = _estimate()
    est.vertices_m = np.random.default_rng(0).normal(size=(10, 3))
    faces = np.array([[0, 1, 2], [3, 4, 5]])
    mesh = [m for m in conv.estimates_to_markers([est], Header(), faces).markers if m.ns == "mesh"]
    assert len(mesh) == 1 and len(mesh[0].points) == 6
    assert mesh[0].points[4].x == pytest.approx(est.vertices_m[4, 0])


def test_debug_drawing_changes_pixels_along_the_skeleton_only_in_a_copy():
    img = np.zeros((200, 300, 3), np.uint8)
    est = _estimate()
    est.keypoints_px = np.tile([[50.0, 60.0]], (21, 1))
    est.keypoints_px[1:4] = [[150, 60], [200, 60], [250, 60]]
    out = conv.draw_hands(img, [est])
    assert img.max() == 0
    assert out[60, 100].any() and not out[150, 100].any()


@pytest.mark.parametrize(
    "k",
    [
        (500.0, float("nan"), 319.5, 0, 510.0, 239.5, 0, 0, 1),  # NaN skew
        (500.0, 0, 319.5, float("inf"), 510.0, 239.5, 0, 0, 1),
        (500.0, 0, 319.5, 0, 510.0, 239.5, 0, 0, 2),  # not [0, 0, 1] in the last row
    ],
)
def test_camera_info_is_validated_as_a_whole_pinhole_matrix(k):
    with pytest.raises(conv.CameraInfoError) as exc:
        conv.camera_info_to_K(_info(k=k), (640, 480))
    assert exc.value.reason == "camera_info_matrix"


def test_distortion_is_read_and_an_unknown_model_with_non_zero_d_is_refused():
    info = _info()
    info.distortion_model, info.d = "plumb_bob", [-0.2, 0.05, 0.0, 0.0, 0.0]
    model, D = conv.camera_info_distortion(info)
    assert model == "plumb_bob" and D.tolist() == [-0.2, 0.05, 0.0, 0.0, 0.0]
    assert conv.camera_info_distortion(info, use_rectified=True)[1].size == 0  # rectified: none
    info.distortion_model = "my_lens"
    with pytest.raises(conv.CameraInfoError) as exc:
        conv.camera_info_distortion(info)
    assert exc.value.reason == "camera_info_distortion"


def test_absurd_image_sizes_are_refused_before_decoding():
    conv.check_image_size(640, 480, 20_000_000)
    with pytest.raises(conv.InputError) as exc:
        conv.check_image_size(8000, 6000, 20_000_000)
    assert exc.value.reason == "image_too_large" and "8000x6000" in str(exc.value)


def test_diagnostics_warn_names_only_what_happened_since_the_previous_report():
    from wildhands_ros.diagnostics import NodeStats, stats_to_diagnostics

    stats = NodeStats()
    stats.on_rejected("camera_info_timeout", "old problem")
    first = stats_to_diagnostics(stats.snapshot(), Header(), "n", "hw", "torch").status[0]
    assert first.level == first.WARN and "camera_info_timeout x1" in first.message
    stats.on_rejected("stamp_zero", "new problem")
    stats.on_rejected("stamp_zero", "new problem")
    second = stats_to_diagnostics(stats.snapshot(), Header(), "n", "hw", "torch").status[0]
    assert "stamp_zero x2" in second.message and "camera_info_timeout" not in second.message
    values = {kv.key: kv.value for kv in second.values}
    assert values["rejected.camera_info_timeout"] == "1"  # the totals stay in the values
    stats.on_processed(5.0, 5.0, 4.0, True)
    third = stats_to_diagnostics(stats.snapshot(), Header(), "n", "hw", "torch").status[0]
    assert third.level == third.OK
