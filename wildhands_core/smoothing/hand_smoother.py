"""Temporal smoothing of one hand's estimates (one ``HandSmoother`` per track).

Smoothed keys of an estimate dict (others are copied through unchanged, e.g. ``vertices_cam_m``,
``keypoints_px``, grasp logits; recompute vertices from the smoothed MANO parameters if needed):

- ``joints_cam_m`` (21, 3) metres, camera optical frame: vector One Euro, one cut-off per joint.
- ``mano_transl_m`` (3,) metres: vector One Euro, cut-off from the translation's speed.
- ``mano_betas`` (10,): vector One Euro, elementwise.
- ``mano_rotmat`` (16, 3, 3) and/or ``mano_pose_aa`` (48,) axis-angle (global orientation then 15 finger
  rotations, MANO order): SO(3) One Euro (never an average of axis-angle components). If both are
  present, ``mano_rotmat`` is filtered and ``mano_pose_aa`` is recomputed from it.

Stamps are the image's stamp in int nanoseconds (never the wall clock).
"""

from __future__ import annotations

import copy

import numpy as np
from scipy.spatial.transform import Rotation

from wildhands_core.constants import NUM_MANO_JOINTS
from wildhands_core.smoothing.config import SmoothingConfig
from wildhands_core.smoothing.one_euro import OneEuroFilter
from wildhands_core.smoothing.so3_one_euro import RotationOneEuroFilter

JOINTS_KEY = "joints_cam_m"
TRANSL_KEY = "mano_transl_m"
BETAS_KEY = "mano_betas"
ROTMAT_KEY = "mano_rotmat"
POSE_AA_KEY = "mano_pose_aa"


class HandSmoother:
    """Smooths successive estimates of ONE hand; ``smooth(stamp_ns, estimate) -> smoothed estimate``."""

    def __init__(self, config: SmoothingConfig | None = None) -> None:
        self.config = copy.deepcopy(config) if config is not None else SmoothingConfig()
        self._joints = OneEuroFilter(self.config.joints, norm_axis=-1)
        self._transl = OneEuroFilter(self.config.transl, norm_axis=-1)
        self._betas = OneEuroFilter(self.config.betas, norm_axis=None)
        self._global = RotationOneEuroFilter(self.config.global_orient)
        self._fingers = RotationOneEuroFilter(self.config.finger_rotations)

    def reset(self) -> None:
        """Forget all state (call when the track is reborn or the hand was lost)."""
        for f in (self._joints, self._transl, self._betas, self._global, self._fingers):
            f.reset()

    @property
    def initialized(self) -> bool:
        return any(f.initialized for f in (self._joints, self._transl, self._betas, self._global))

    def update_config(self, config: SmoothingConfig) -> None:
        """Change the parameters at run time; the filters keep their state."""
        self.config = copy.deepcopy(config)
        self._joints.params = self.config.joints
        self._transl.params = self.config.transl
        self._betas.params = self.config.betas
        self._global.params = self.config.global_orient
        self._fingers.params = self.config.finger_rotations

    def smooth(self, stamp_ns: int, estimate: dict) -> dict:
        """Return a shallow copy of ``estimate`` with the smoothed keys replaced by filtered arrays."""
        out = dict(estimate)
        if not self.config.enabled:
            return out
        if JOINTS_KEY in estimate:
            out[JOINTS_KEY] = self._joints.filter(estimate[JOINTS_KEY], stamp_ns)
        if TRANSL_KEY in estimate:
            out[TRANSL_KEY] = self._transl.filter(estimate[TRANSL_KEY], stamp_ns)
        if BETAS_KEY in estimate:
            out[BETAS_KEY] = self._betas.filter(estimate[BETAS_KEY], stamp_ns)
        if ROTMAT_KEY in estimate or POSE_AA_KEY in estimate:
            if ROTMAT_KEY in estimate:
                rot = Rotation.from_matrix(np.asarray(estimate[ROTMAT_KEY], np.float64).reshape(-1, 3, 3))
            else:
                rot = Rotation.from_rotvec(np.asarray(estimate[POSE_AA_KEY], np.float64).reshape(-1, 3))
            if len(rot) != NUM_MANO_JOINTS:
                raise ValueError(f"expected {NUM_MANO_JOINTS} MANO rotations, got {len(rot)}")
            g = self._global.filter(rot[0:1], stamp_ns)
            f = self._fingers.filter(rot[1:], stamp_ns)
            smoothed = Rotation.concatenate([g, f])
            if ROTMAT_KEY in estimate:
                out[ROTMAT_KEY] = smoothed.as_matrix().reshape(np.shape(estimate[ROTMAT_KEY]))
            if POSE_AA_KEY in estimate:
                out[POSE_AA_KEY] = smoothed.as_rotvec().reshape(np.shape(estimate[POSE_AA_KEY]))
        return out

    __call__ = smooth
