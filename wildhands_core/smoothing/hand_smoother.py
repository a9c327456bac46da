"""Temporal smoothing of one hand's estimates (one ``HandSmoother`` per track).

``smooth(stamp_ns, estimate, K_px)`` takes a :class:`~wildhands_core.estimate.HandEstimate` and returns a
new one whose own fields are filtered:

- ``joints_m`` (21, 3) metres, camera optical frame: vector One Euro, one cut-off per joint.
- ``transl_m`` (3,) metres: vector One Euro, cut-off from the translation's speed.
- ``betas`` (10,): vector One Euro, elementwise.
- ``global_orient_aa`` (3,) and ``hand_pose_aa`` (45,) (the 16 MANO rotations): SO(3) One Euro (never an
  average of axis-angle components), the global orientation and the 15 finger rotations with their own
  parameters. Axis-angle -> rotation once on the way in, rotation -> axis-angle once on the way out, in
  the release convention (``rotations.rotmat_to_axis_angle_release_numpy``: the one MANO is fed and the
  node publishes).

Derived fields follow the smoothed ones: ``keypoints_px`` are the projection of the smoothed joints with
``K_px`` (kept as estimated when ``K_px`` is None), ``vertices_m`` (when present) the estimated mesh shifted
by the smoothed-minus-estimated wrist. Everything else (boxes, confidence, grasp, side, id) is copied.

Stamps are the image's stamp in int nanoseconds (never the wall clock).
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
from scipy.spatial.transform import Rotation

from wildhands_core.camera import project_points
from wildhands_core.constants import NUM_MANO_JOINTS
from wildhands_core.estimate import HandEstimate
from wildhands_core.rotations import rotmat_to_axis_angle_release_numpy
from wildhands_core.smoothing.config import SmoothingConfig
from wildhands_core.smoothing.one_euro import OneEuroFilter, OneEuroParams
from wildhands_core.smoothing.so3_one_euro import RotationOneEuroFilter


class HandSmoother:
    """Smooths successive estimates of ONE hand: ``smooth(stamp_ns, estimate, K_px) -> HandEstimate``."""

    def __init__(self, config: SmoothingConfig | None = None) -> None:
        self.config = copy.deepcopy(config) if config is not None else SmoothingConfig()
        self._joints = OneEuroFilter(self.config.joints, norm_axis=-1)
        self._transl = OneEuroFilter(self.config.transl, norm_axis=-1)
        self._betas = OneEuroFilter(self.config.betas, norm_axis=None)
        self._rotations_filter = RotationOneEuroFilter(self._rotation_params())

    def reset(self) -> None:
        """Forget all state (call when the track is reborn or the hand was lost)."""
        for f in (self._joints, self._transl, self._betas, self._rotations_filter):
            f.reset()

    @property
    def initialized(self) -> bool:
        return any(f.initialized for f in (self._joints, self._transl, self._betas, self._rotations_filter))

    def _rotation_params(self) -> list[OneEuroParams]:
        """One parameter set per MANO rotation: the global orientation's, then the fingers' 15 times."""
        return [self.config.global_orient] + [self.config.finger_rotations] * (NUM_MANO_JOINTS - 1)

    def update_config(self, config: SmoothingConfig) -> None:
        """Change the parameters at run time; the filters keep their state."""
        self.config = copy.deepcopy(config)
        self._joints.params = self.config.joints
        self._transl.params = self.config.transl
        self._betas.params = self.config.betas
        self._rotations_filter.params = self._rotation_params()

    def smooth(self, stamp_ns: int, estimate: HandEstimate, K_px: np.ndarray | None = None) -> HandEstimate:
        """A new estimate with the filtered fields of ``estimate`` (see the module docstring); a copy of
        ``estimate`` when smoothing is disabled. ``K_px`` (3, 3): the image's intrinsics, pixels."""
        if not self.config.enabled:
            return dataclasses.replace(estimate)
        joints = self._joints.filter(estimate.joints_m, stamp_ns)
        global_aa, hand_aa = self._rotations(stamp_ns, estimate.global_orient_aa, estimate.hand_pose_aa)
        vertices = estimate.vertices_m
        if vertices is not None:
            vertices = np.asarray(vertices, np.float64) + (joints[0] - np.asarray(estimate.joints_m)[0])
        return dataclasses.replace(
            estimate,
            joints_m=joints,
            transl_m=self._transl.filter(estimate.transl_m, stamp_ns),
            betas=self._betas.filter(estimate.betas, stamp_ns),
            global_orient_aa=global_aa,
            hand_pose_aa=hand_aa,
            keypoints_px=estimate.keypoints_px if K_px is None else project_points(joints, K_px),
            vertices_m=vertices,
        )

    __call__ = smooth

    def _rotations(
        self, stamp_ns: int, global_orient_aa: np.ndarray, hand_pose_aa: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The 16 MANO rotations through the SO(3) filters: (3,) and (45,) axis-angle in, the same out
        (release convention)."""
        aa = np.concatenate([np.ravel(global_orient_aa), np.ravel(hand_pose_aa)]).astype(np.float64)
        rot = Rotation.from_rotvec(aa.reshape(-1, 3))
        if len(rot) != NUM_MANO_JOINTS:
            raise ValueError(f"expected {NUM_MANO_JOINTS} MANO rotations, got {len(rot)}")
        smoothed = self._rotations_filter.filter(rot, stamp_ns)
        out = rotmat_to_axis_angle_release_numpy(smoothed.as_matrix())
        return out[0], out[1:].reshape(-1)
