"""The one sample type every dataset adapter yields.

A sample is one hand in one image. Labels a dataset does not have are ``None``; the loss code looks at
``has_*`` properties, never at dataset names. Units and frames:

- ``image``: (H, W, 3) uint8 RGB, the full original image.
- ``K_px``: (3, 3) float intrinsics of ``image`` in pixels (principal point in pixel coordinates with
  the centre of the top-left pixel at (0, 0)).
- ``box_xyxy_px``: (4,) float hand box in ``image`` pixels (x0, y0, x1, y1).
- ``joints_cam_m``: (21, 3) joints in metres, camera optical frame (x right, y down, z forward),
  MANO21 order (see ``wildhands_core.constants``).
- ``keypoints_px``: (21, 2) 2D keypoints in ``image`` pixels; ``keypoints_valid``: (21,) bool.
- ``mano_pose_aa``: (48,) axis-angle, global orientation then 15 articulations, relative to the MANO mean
  pose (smplx ``flat_hand_mean=False`` convention); ``mano_betas``: (10,).
- ``mano_transl_m``: (3,) translation in metres added to smplx's output joints (camera frame).
- ``mask``: (H, W) uint8 {0, 1} VISIBLE silhouette of this hand in ``image`` (pixels where it is the nearest
  surface).
- ``mask_ignore``: (H, W) uint8 {0, 1}, 1 where this hand's mask label is unknown because another segment
  covers the pixel (the other hand, an occluding object): the hand may or may not lie behind it, so the
  mask loss skips those pixels. None: every pixel of ``mask`` is a label. Never overlaps ``mask``.
- ``grasp_label``: int in [0, 8] (8 = no grasp), ``wildhands_core.constants.GRASP_CLASS_NAMES``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class HandSample:
    image: np.ndarray
    K_px: np.ndarray
    box_xyxy_px: np.ndarray
    is_right: bool
    dataset: str = ""
    frame_id: str = ""
    joints_cam_m: np.ndarray | None = None
    keypoints_px: np.ndarray | None = None
    keypoints_valid: np.ndarray | None = None
    mano_pose_aa: np.ndarray | None = None
    mano_betas: np.ndarray | None = None
    mano_transl_m: np.ndarray | None = None
    mask: np.ndarray | None = None
    grasp_label: int | None = None
    extra: dict = field(default_factory=dict)
    mask_ignore: np.ndarray | None = None

    @property
    def has_joints3d(self) -> bool:
        return self.joints_cam_m is not None

    @property
    def has_keypoints2d(self) -> bool:
        return self.keypoints_px is not None

    @property
    def has_mano(self) -> bool:
        return self.mano_pose_aa is not None and self.mano_betas is not None

    @property
    def has_mask(self) -> bool:
        return self.mask is not None

    @property
    def has_grasp(self) -> bool:
        return self.grasp_label is not None
