"""The one place that knows the field layout of the project's messages, as plain Python (no rclpy).

``hand_fields(est)`` gives the values of a ``wildhands_ros/msg/Hand`` as a nested dict (sub-messages as
dicts, arrays as numpy float32), so the rclpy node and the rosbags bag tools (``wildhands_offline.messages
.from_fields``) build their messages from the same values. ``hand_from_fields`` is the inverse (it accepts
any object with the message's attributes: an rclpy or a rosbags message).

Frames and units (msg/Hand.msg): 3D in metres in the camera optical frame of the image (x right, y down,
z forward), 2D in pixels of the original image (centre of the top-left pixel = (0, 0)), MANO21 joint order;
quaternions (x, y, z, w).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from wildhands_core.constants import FINGERTIP_NAMES, NUM_BETAS, NUM_GRASP_CLASSES, NUM_JOINTS
from wildhands_core.detection.base import HandDetection
from wildhands_core.estimate import HandEstimate
from wildhands_core.handedness import Handedness
from wildhands_core.stamps import ns_to_sec_nanosec

#: MANO21 indices of the five fingertips (the joints after the 16 MANO joints, ``FINGERTIP_NAMES`` order).
FINGERTIP_JOINTS = slice(NUM_JOINTS - len(FINGERTIP_NAMES), NUM_JOINTS)

#: Fixed array sizes of msg/Hand.msg.
HAND_ARRAY_SIZES = {
    "global_orient_aa": 3,
    "hand_pose_aa": 45,
    "betas": NUM_BETAS,
    "joints_m": NUM_JOINTS * 3,
    "keypoints_px": NUM_JOINTS * 2,
    "box_xyxy_px": 4,
    "crop_xyxy_px": 4,
    "grasp_probabilities": NUM_GRASP_CLASSES,
}


def vector3(v) -> dict:
    v = np.asarray(v, np.float64).reshape(3)
    return {"x": float(v[0]), "y": float(v[1]), "z": float(v[2])}


def quaternion(q_xyzw) -> dict:
    q = np.asarray(q_xyzw, np.float64).reshape(4)
    return {"x": float(q[0]), "y": float(q[1]), "z": float(q[2]), "w": float(q[3])}


def wrist_pose(est: HandEstimate) -> tuple[np.ndarray, np.ndarray]:
    """Wrist position (3,) metres and orientation quaternion (x, y, z, w) = the MANO global orientation,
    both in the camera optical frame."""
    joints = np.asarray(est.joints_m, np.float64).reshape(NUM_JOINTS, 3)
    return joints[0].copy(), est.wrist_quat_xyzw


def hand_fields(est: HandEstimate, with_vertices: bool = False) -> dict[str, Any]:
    """Field values of one ``wildhands_ros/msg/Hand`` for ``est`` (see msg/Hand.msg)."""
    pos, q = wrist_pose(est)
    verts = (
        np.asarray(est.vertices_m, np.float32).reshape(-1)
        if with_vertices and est.vertices_m is not None
        else np.zeros(0, np.float32)
    )
    return {
        "handedness": int(Handedness.of(est.is_right)),
        "track_id": int(est.track_id),
        "confidence": float(est.confidence),
        "global_orient_aa": np.asarray(est.global_orient_aa, np.float32).reshape(3),
        "hand_pose_aa": np.asarray(est.hand_pose_aa, np.float32).reshape(45),
        "betas": np.asarray(est.betas, np.float32).reshape(NUM_BETAS),
        "mano_translation": vector3(est.transl_m),
        "wrist_pose": {"position": vector3(pos), "orientation": quaternion(q)},
        "joints_m": np.asarray(est.joints_m, np.float32).reshape(NUM_JOINTS * 3),
        "keypoints_px": np.asarray(est.keypoints_px, np.float32).reshape(NUM_JOINTS * 2),
        "box_xyxy_px": np.asarray(est.box_xyxy_px, np.float32).reshape(4),
        "crop_xyxy_px": np.asarray(est.crop_xyxy_px, np.float32).reshape(4),
        "grasp_probabilities": np.asarray(est.grasp_prob, np.float32).reshape(NUM_GRASP_CLASSES),
        "grasp_class": int(est.grasp_class),
        "vertices_m": verts,
    }


def frame_prefix_problem(prefix: str) -> str | None:
    """Why ``prefix`` cannot prefix TF frame ids, or None when it can. ``robot1/`` (the multi-robot
    convention, as robot_state_publisher's ``frame_prefix``), ``hand_`` and ``""`` can; a frame id must not
    start with '/' (tf2 refuses such ids in lookups), hold whitespace or an empty segment ('//')."""
    if prefix.startswith("/"):
        return "must not start with '/' (tf2 frame ids are relative: robot1/ not /robot1/)"
    if any(c.isspace() for c in prefix):
        return "must not contain whitespace"
    if "//" in prefix:
        return "must not contain '//' (an empty frame segment)"
    return None


def hand_frame_names(estimates: Sequence[HandEstimate], prefix: str) -> list[str]:
    """Wrist TF frame per hand: ``<prefix>right_wrist`` / ``<prefix>left_wrist`` for the most confident hand
    of each side, ``<prefix>right_wrist_<track id or index>`` for further hands of the same side."""
    order = sorted(range(len(estimates)), key=lambda i: -estimates[i].confidence)
    names = [""] * len(estimates)
    used: set[str] = set()
    for i in order:
        name = f"{prefix}{'right' if estimates[i].is_right else 'left'}_wrist"
        if name in used:
            name = f"{name}_{estimates[i].track_id if estimates[i].track_id >= 0 else i}"
        used.add(name)
        names[i] = name
    return names


@dataclass(frozen=True, eq=False)  # holds arrays: compared by identity
class HandTransform:
    """One TF transform of a hand: ``child`` frame expressed in ``parent`` (REP-103), translation (3,) in
    metres, rotation as a quaternion (x, y, z, w)."""

    parent: str
    child: str
    translation_m: np.ndarray
    quaternion_xyzw: np.ndarray


def hand_transforms(estimates: Sequence[HandEstimate], camera_frame: str, prefix: str,
                    fingertips: bool = False) -> list[HandTransform]:
    """TF of the hands (REP-103/105): camera optical frame ``camera_frame`` -> wrist frame per hand (origin at
    the wrist joint, axes = the MANO global orientation, names from :func:`hand_frame_names`); with
    ``fingertips``, after each wrist: wrist -> ``<wrist name minus "wrist"><finger>_tip`` (e.g.
    ``hand_right_index_tip``), identity rotation, offset expressed in the wrist frame."""
    out: list[HandTransform] = []
    identity = np.array([0.0, 0.0, 0.0, 1.0])
    for est, wrist in zip(estimates, hand_frame_names(estimates, prefix), strict=True):
        joints = np.asarray(est.joints_m, np.float64).reshape(NUM_JOINTS, 3)
        rot = est.wrist_rotation()
        out.append(HandTransform(camera_frame, wrist, joints[0].copy(), rot.as_quat()))
        if fingertips:
            local = rot.inv().apply(joints[FINGERTIP_JOINTS] - joints[0])
            base = wrist.replace("wrist", "", 1)
            out += [HandTransform(wrist, base + name, p, identity.copy())
                    for name, p in zip(FINGERTIP_NAMES, local, strict=True)]
    return out


def wrist_transform_fields(estimates: Sequence[HandEstimate], stamp: dict, camera_frame: str,
                           prefix: str) -> list[dict]:
    """``geometry_msgs/TransformStamped`` field dicts: camera optical frame -> wrist frame per hand (origin
    at the wrist joint, axes = MANO global orientation), stamped ``stamp`` (``{"sec", "nanosec"}``)."""
    return [{
        "header": {"stamp": dict(stamp), "frame_id": t.parent},
        "child_frame_id": t.child,
        "transform": {"translation": vector3(t.translation_m), "rotation": quaternion(t.quaternion_xyzw)},
    } for t in hand_transforms(estimates, camera_frame, prefix)]


def stamp_fields(stamp_ns: int) -> dict:
    """int nanoseconds (>= 0) -> ``builtin_interfaces/Time`` fields."""
    ns = int(stamp_ns)
    if ns < 0:
        raise ValueError(f"negative stamp {ns}")
    sec, nanosec = ns_to_sec_nanosec(ns)
    return {"sec": sec, "nanosec": nanosec}


def hand_from_fields(h) -> HandEstimate:
    """A ``Hand`` message (any object with its attributes) -> HandEstimate (float32 precision). Raises
    ``ValueError`` when an array has the wrong size or handedness is neither LEFT nor RIGHT."""
    if int(h.handedness) not in (Handedness.LEFT, Handedness.RIGHT):
        raise ValueError(f"handedness {h.handedness} is neither LEFT (0) nor RIGHT (1)")
    arr = {}
    for name, n in HAND_ARRAY_SIZES.items():
        a = np.asarray(getattr(h, name), np.float64).reshape(-1)
        if a.size != n:
            raise ValueError(f"Hand.{name} has {a.size} values, expected {n}")
        arr[name] = a
    verts = np.asarray(h.vertices_m, np.float64).reshape(-1)
    if verts.size % 3:
        raise ValueError(f"Hand.vertices_m has {verts.size} values, not a multiple of 3")
    t = h.mano_translation
    return HandEstimate(
        is_right=Handedness(int(h.handedness)).is_right,
        global_orient_aa=arr["global_orient_aa"],
        hand_pose_aa=arr["hand_pose_aa"],
        betas=arr["betas"],
        transl_m=np.array([t.x, t.y, t.z], np.float64),
        joints_m=arr["joints_m"].reshape(NUM_JOINTS, 3),
        keypoints_px=arr["keypoints_px"].reshape(NUM_JOINTS, 2),
        box_xyxy_px=arr["box_xyxy_px"],
        crop_xyxy_px=arr["crop_xyxy_px"],
        confidence=float(h.confidence),
        grasp_prob=arr["grasp_probabilities"],
        vertices_m=verts.reshape(-1, 3) if verts.size else None,
        track_id=int(h.track_id),
    )


def detections_from_box_fields(boxes_xyxy_px, handedness, scores,
                               source: str = "external") -> list[HandDetection]:
    """``HandBoxArray`` parallel arrays -> detections (full-image pixels). ``ValueError`` when the array
    lengths disagree (4 values per box, one side per box, one score per box or none = all 1.0)."""
    boxes = np.asarray(boxes_xyxy_px, np.float64).reshape(-1)
    n = boxes.size // 4
    if boxes.size != 4 * n or len(handedness) != n or len(scores) not in (0, n):
        raise ValueError(
            f"HandBoxArray: {boxes.size} box values, {len(handedness)} sides, {len(scores)} scores")
    sc = np.asarray(scores, np.float64) if len(scores) else np.ones(n)
    right = [int(side) == Handedness.RIGHT for side in handedness]
    return [HandDetection(boxes[4 * i: 4 * i + 4], right[i], float(sc[i]), source) for i in range(n)]

