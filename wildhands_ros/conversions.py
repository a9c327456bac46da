"""Pure conversions between ROS 2 messages and numpy / wildhands_core types (no node, no DDS).

Conventions: images as numpy (H, W, 3) uint8 RGB; pixel coordinates with the centre of the top-left pixel
at (0, 0); 3D in metres in the camera optical frame of the image (REP-103: x right, y down, z forward);
stamps as int nanoseconds. Every validation failure raises an :class:`InputError` subclass whose
``reason`` is a short, stable key used by the diagnostics (e.g. ``"encoding"``, ``"camera_info_focal"``);
image / CameraInfo decoding lives in ``wildhands_offline.image_decoding`` and is re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point, Quaternion, TransformStamped, Vector3
from sensor_msgs.msg import Image
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from wildhands_core.constants import NUM_JOINTS, SKELETON_EDGES
from wildhands_core.detection.base import HandDetection
from wildhands_core.draw import LEFT_RGB, RIGHT_RGB, draw_hands  # noqa: F401  (draw_hands: the debug image)
from wildhands_core.estimate import HandEstimate
from wildhands_core.stamps import ns_to_sec_nanosec
from wildhands_offline import hand_fields as fields

# Image / CameraInfo decoding and its errors: the rclpy-free ``image_decoding`` (shared with the bag tools),
# re-exported here for the node.
from wildhands_offline.image_decoding import (  # noqa: F401
    SUPPORTED_ENCODINGS,
    CameraInfoError,
    EmptyImageError,
    ImageLayoutError,
    InputError,
    UnsupportedEncodingError,
    camera_info_distortion,
    camera_info_size,
    camera_info_to_K,
    check_image,
    check_image_size,
    check_info_size,
    compressed_to_rgb,
    image_to_rgb,
    image_view,
)
from wildhands_ros.msg import Hand, HandArray, HandBoxArray


# ----------------------------------------------------------------------------------------------- time
def ns_to_stamp(ns: int) -> Time:
    """int nanoseconds (>= 0) -> builtin_interfaces/Time (reverse: ``wildhands_core.stamps.stamp_to_ns``)."""
    sec, nanosec = ns_to_sec_nanosec(ns)
    return Time(sec=sec, nanosec=nanosec)


# --------------------------------------------------------------------------------------------- images
def rgb_to_image_msg(image_rgb: np.ndarray, header: Header) -> Image:
    """(H, W, 3) uint8 RGB -> ``rgb8`` Image with the given header (one copy into the message)."""
    img = np.ascontiguousarray(image_rgb, dtype=np.uint8)
    h, w = img.shape[:2]
    msg = Image(header=header, height=h, width=w, encoding="rgb8", is_bigendian=0, step=w * 3)
    msg.data = img.tobytes()
    return msg


# ------------------------------------------------------------------------------------- detections in
def hand_boxes_to_detections(msg: HandBoxArray, source: str = "external") -> list[HandDetection]:
    """HandBoxArray -> detections (full-image pixels). Malformed arrays raise ``InputError("boxes")``."""
    try:
        return fields.detections_from_box_fields(msg.boxes_xyxy_px, msg.handedness, msg.scores, source)
    except ValueError as exc:
        raise InputError(str(exc), "boxes") from exc


def detections_to_hand_boxes(detections: Sequence[HandDetection], header: Header) -> HandBoxArray:
    """Detections -> HandBoxArray with the given header (stamp and frame of the image)."""
    msg = HandBoxArray(header=header)
    msg.boxes_xyxy_px = [float(v) for d in detections for v in d.box_xyxy_px]
    msg.handedness = [HandBoxArray.RIGHT if d.is_right else HandBoxArray.LEFT for d in detections]
    msg.scores = [float(d.score) for d in detections]
    return msg


def detection2d_array_to_detections(
    msg, right_labels: Sequence[str] = ("right", "right_hand"), source: str = "vision_msgs"
) -> list[HandDetection]:
    """vision_msgs/Detection2DArray -> detections. Box centre/size in pixels; the side comes from the best
    hypothesis' ``class_id`` (in ``right_labels`` = right, else left); score = that hypothesis' score."""
    out = []
    for det in msg.detections:
        c, sx, sy = det.bbox.center.position, det.bbox.size_x, det.bbox.size_y
        box = np.array([c.x - sx / 2, c.y - sy / 2, c.x + sx / 2, c.y + sy / 2])
        best = max(det.results, key=lambda r: r.hypothesis.score, default=None)
        label = best.hypothesis.class_id.lower() if best is not None else ""
        score = float(best.hypothesis.score) if best is not None else 1.0
        out.append(HandDetection(box, label in right_labels, score, source))
    return out


# --------------------------------------------------------------------------------------- hands out
def _fill(msg, values: dict):
    """Set a message's fields from a nested dict (sub-messages as dicts); returns ``msg``."""
    for name, value in values.items():
        if isinstance(value, dict):
            _fill(getattr(msg, name), value)
        else:
            setattr(msg, name, value)
    return msg


def estimate_to_hand_msg(est: HandEstimate, with_vertices: bool = False) -> Hand:
    """HandEstimate -> Hand message (metres/camera frame, pixels; see msg/Hand.msg); the field values
    come from ``wildhands_offline.hand_fields`` (shared with the bag tools)."""
    return _fill(Hand(), fields.hand_fields(est, with_vertices))


def hand_msg_to_estimate(h: Hand) -> HandEstimate:
    """Hand message -> HandEstimate (inverse of :func:`estimate_to_hand_msg`, float32 precision)."""
    return fields.hand_from_fields(h)


def estimates_to_hand_array(
    estimates: Sequence[HandEstimate],
    header: Header,
    image_size: tuple[int, int],
    latency_ms: float = 0.0,
    with_vertices: bool = False,
) -> HandArray:
    """All hands of one image; ``header`` = the image's header (stamp and optical frame)."""
    return HandArray(
        header=header,
        hands=[estimate_to_hand_msg(e, with_vertices) for e in estimates],
        image_width=int(image_size[0]),
        image_height=int(image_size[1]),
        latency_ms=float(latency_ms),
    )


# --------------------------------------------------------------------------------------------- TF
def estimates_to_transforms(
    estimates: Sequence[HandEstimate], header: Header, prefix: str, fingertips: bool = False
) -> list[TransformStamped]:
    """The hands' TF (``hand_fields.hand_transforms``: camera optical frame ``header.frame_id`` -> wrist
    frame per hand, optionally wrist -> fingertips) as messages stamped ``header.stamp`` (the image's)."""
    return [
        _transform(Header(stamp=header.stamp, frame_id=t.parent), t.child, t.translation_m, t.quaternion_xyzw)
        for t in fields.hand_transforms(estimates, header.frame_id, prefix, fingertips)
    ]


def _transform(header: Header, child: str, t: np.ndarray, q_xyzw: np.ndarray) -> TransformStamped:
    tf = TransformStamped()
    tf.header = header
    tf.child_frame_id = child
    tf.transform.translation = Vector3(x=float(t[0]), y=float(t[1]), z=float(t[2]))
    tf.transform.rotation = Quaternion(
        x=float(q_xyzw[0]), y=float(q_xyzw[1]), z=float(q_xyzw[2]), w=float(q_xyzw[3])
    )
    return tf


# ------------------------------------------------------------------------------------------ markers
RIGHT_COLOUR = ColorRGBA(r=RIGHT_RGB[0], g=RIGHT_RGB[1], b=RIGHT_RGB[2], a=1.0)
LEFT_COLOUR = ColorRGBA(r=LEFT_RGB[0], g=LEFT_RGB[1], b=LEFT_RGB[2], a=1.0)


def estimates_to_markers(
    estimates: Sequence[HandEstimate],
    header: Header,
    faces: np.ndarray | None = None,
    joint_radius_m: float = 0.008,
    bone_width_m: float = 0.004,
) -> MarkerArray:
    """RViz markers in the camera frame: a DELETEALL first (hands that vanished disappear), then per hand
    a LINE_LIST of the skeleton (ns ``skeleton``), a SPHERE_LIST of the 21 joints (ns ``joints``) and, when
    ``faces`` (F, 3) and the hand's vertices are given, a TRIANGLE_LIST mesh (ns ``mesh``). Marker ids
    are 3 * hand index + k."""
    arr = MarkerArray(markers=[Marker(header=header, action=Marker.DELETEALL)])
    for i, est in enumerate(estimates):
        colour = RIGHT_COLOUR if est.is_right else LEFT_COLOUR
        joints = np.asarray(est.joints_m, np.float64).reshape(NUM_JOINTS, 3)
        pts = [Point(x=float(p[0]), y=float(p[1]), z=float(p[2])) for p in joints]
        bones = Marker(header=header, ns="skeleton", id=3 * i, type=Marker.LINE_LIST, action=Marker.ADD)
        bones.pose.orientation.w = 1.0
        bones.scale.x = bone_width_m
        bones.color = colour
        bones.points = [pts[k] for edge in SKELETON_EDGES for k in edge]
        spheres = Marker(header=header, ns="joints", id=3 * i + 1, type=Marker.SPHERE_LIST, action=Marker.ADD)
        spheres.pose.orientation.w = 1.0
        spheres.scale = Vector3(x=joint_radius_m * 2, y=joint_radius_m * 2, z=joint_radius_m * 2)
        spheres.color = colour
        spheres.points = pts
        arr.markers += [bones, spheres]
        if faces is not None and est.vertices_m is not None:
            v = np.asarray(est.vertices_m, np.float64).reshape(-1, 3)[np.asarray(faces).reshape(-1)]
            mesh = Marker(
                header=header, ns="mesh", id=3 * i + 2, type=Marker.TRIANGLE_LIST, action=Marker.ADD
            )
            mesh.pose.orientation.w = 1.0
            mesh.scale = Vector3(x=1.0, y=1.0, z=1.0)
            mesh.color = ColorRGBA(r=colour.r, g=colour.g, b=colour.b, a=0.6)
            mesh.points = [Point(x=float(p[0]), y=float(p[1]), z=float(p[2])) for p in v]
            arr.markers.append(mesh)
    return arr
