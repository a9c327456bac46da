"""The estimator's input and output types, shared by the estimator, the node, the bag tools and evaluation.

Frames and units: 3D quantities in metres in the camera optical frame of the input image (x right, y down,
z forward); 2D quantities in pixels of the full input image (centre of the top-left pixel = (0, 0)).
Joint order: MANO21 (``wildhands_core.constants.JOINT_NAMES``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from wildhands_core.constants import GRASP_CLASS_NAMES


@dataclass(frozen=True)
class HandBox:
    """A hand to estimate: its box in full-image pixels (x0, y0, x1, y1) and its side."""

    box_xyxy_px: np.ndarray
    is_right: bool
    score: float = 1.0
    track_id: int = -1


@dataclass
class HandEstimate:
    """One estimated hand.

    - ``global_orient_aa`` (3,), ``hand_pose_aa`` (45,): MANO axis-angle (rad), smplx
      ``flat_hand_mean=False`` convention (articulations relative to the MANO mean pose); the global
      orientation rotates the MANO hand into the camera frame.
    - ``betas`` (10,): MANO shape.
    - ``transl_m`` (3,): translation added to the MANO output, camera frame.
    - ``joints_m`` (21, 3): joints, camera frame, metres. ``joints_m[0]`` is the wrist.
    - ``keypoints_px`` (21, 2): projection of ``joints_m`` with the image's K, pixels.
    - ``vertices_m`` (778, 3) or None: MANO mesh, camera frame.
    - ``box_xyxy_px`` (4,): the box given; ``crop_xyxy_px`` (4,): the square crop cut for the network.
    - ``confidence`` in [0, 1]; ``grasp_prob`` (9,) in ``GRASP_CLASS_NAMES`` order.
    - ``track_id``: the tracker's id of the hand, -1 when untracked.
    - ``right_prob``: the network's own P(this crop is a right hand) from its side classifier, whatever
      ``is_right`` it was decoded with; None when the network has none. The tracker votes with it.

    The estimator makes it, the tracker and the smoother (``smoothing.hand_smoother``) pass it on with
    smoothed values, the node and the bag tools publish it: the same type all the way.
    """

    is_right: bool
    global_orient_aa: np.ndarray
    hand_pose_aa: np.ndarray
    betas: np.ndarray
    transl_m: np.ndarray
    joints_m: np.ndarray
    keypoints_px: np.ndarray
    box_xyxy_px: np.ndarray
    crop_xyxy_px: np.ndarray
    confidence: float
    grasp_prob: np.ndarray
    vertices_m: np.ndarray | None = None
    track_id: int = -1
    right_prob: float | None = None

    @property
    def keypoints_in_crop(self) -> float:
        """Fraction of ``keypoints_px`` inside ``crop_xyxy_px`` (edges included; NaN is outside), in [0, 1]:
        the estimate's own plausibility (a hand that leaves the crop the network saw is implausible),
        independent of the detector's score calibration."""
        return fraction_inside(self.keypoints_px, self.crop_xyxy_px)

    @property
    def wrist_m(self) -> np.ndarray:
        """Wrist position (3,), metres, camera frame."""
        return self.joints_m[0]

    def wrist_rotation(self) -> Rotation:
        """The wrist's orientation = the MANO global orientation (wrist frame -> camera optical frame)."""
        return Rotation.from_rotvec(np.asarray(self.global_orient_aa, np.float64).reshape(3))

    @property
    def wrist_quat_xyzw(self) -> np.ndarray:
        """(4,) the wrist orientation as a unit quaternion (x, y, z, w), with the sign of scipy's
        ``from_rotvec`` (what the node publishes in ``wrist_pose`` and TF, and the episodes store)."""
        return self.wrist_rotation().as_quat()

    @property
    def grasp_class(self) -> int:
        return int(np.argmax(self.grasp_prob))

    @property
    def grasp_name(self) -> str:
        return GRASP_CLASS_NAMES[self.grasp_class]


def fraction_inside(keypoints_px: np.ndarray, box_xyxy_px: np.ndarray) -> float:
    """Fraction of the (K, 2) keypoints (px) inside the box (x0, y0, x1, y1) px, edges included; NaN is
    outside."""
    kp = np.asarray(keypoints_px, dtype=np.float64).reshape(-1, 2)
    x, y = kp[:, 0], kp[:, 1]
    b = np.asarray(box_xyxy_px, dtype=np.float64).reshape(4)
    return float(np.mean((x >= b[0]) & (x <= b[2]) & (y >= b[1]) & (y <= b[3])))
