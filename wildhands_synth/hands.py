"""Posing one side's MANO model from an articulation, an orientation and a palm-centre position.

Convention (the one stored on disk): ``joints_cam_m = MANO(pose_aa, betas).joints + transl_m`` and the
same for the vertices, where MANO is the smplx layer with ``flat_hand_mean=False`` (``pose_aa`` relative
to the mean pose), its joints in MANO's frame (metres), and ``transl_m`` a camera-frame translation
(metres) chosen so that the palm centre (mean of joints ``PALM_JOINTS``) lands at the requested point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from wildhands_core.constants import NUM_BETAS, NUM_HAND_POSE, NUM_MANO_POSE
from wildhands_synth.poses import HandAxes, to_pose_aa
from wildhands_synth.scene import PALM_JOINTS


@dataclass
class PosedHand:
    """Arrays with a leading batch axis N: pose_aa (N, 48), betas (N, 10), transl_m (N, 3),
    joints_cam_m (N, 21, 3), verts_cam_m (N, 778, 3); float64, camera frame, metres."""

    pose_aa: np.ndarray
    betas: np.ndarray
    transl_m: np.ndarray
    joints_cam_m: np.ndarray
    verts_cam_m: np.ndarray


def _find_hands_mean(layer: torch.nn.Module) -> np.ndarray:
    """(45,) mean finger pose the layer adds to ``pose_aa[3:]`` (smplx ``hand_mean``)."""
    for attr in ("hands_mean", "hand_mean"):
        val = getattr(layer, attr, None)
        if isinstance(val, (torch.Tensor, np.ndarray)):
            return np.asarray(torch.as_tensor(val).detach().cpu(), dtype=np.float64).reshape(NUM_HAND_POSE)
    for name, buf in layer.named_buffers():
        if name.endswith("hand_mean") or name.endswith("hands_mean"):
            return buf.detach().cpu().double().numpy().reshape(NUM_HAND_POSE)
    for name, buf in layer.named_buffers():
        if name.endswith("pose_mean"):
            return buf.detach().cpu().double().numpy().reshape(-1)[3:NUM_MANO_POSE]
    raise AttributeError("the MANO layer exposes no hand mean pose")


class HandModel:
    """A MANO layer of one side (``forward_aa``, ``faces``) with the anatomical axes of its flat template."""

    def __init__(self, layer: torch.nn.Module, is_right: bool) -> None:
        self.layer = layer
        self.is_right = is_right
        self.faces = np.asarray(torch.as_tensor(layer.faces).cpu(), dtype=np.int64)
        self.hands_mean = _find_hands_mean(layer)
        flat = np.concatenate([np.zeros(3), -self.hands_mean])[None]
        rest = self._forward(flat, np.zeros((1, NUM_BETAS)))[1][0]
        self.axes = HandAxes.from_rest_joints(rest, is_right)

    @torch.no_grad()
    def _forward(self, pose_aa: np.ndarray, betas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = self.layer.forward_aa(
            torch.as_tensor(pose_aa, dtype=torch.float32), torch.as_tensor(betas, dtype=torch.float32)
        )
        return out["vertices"].double().cpu().numpy(), out["joints"].double().cpu().numpy()

    def pose(
        self, articulation: np.ndarray, global_rotmat: np.ndarray, betas: np.ndarray,
        palm_centre_cam_m: np.ndarray,
    ) -> PosedHand:
        """(N, 20) articulation, (N, 3, 3) MANO-to-camera rotation, (N, 10) betas, (N, 3) palm centre."""
        rotvec = Rotation.from_matrix(np.asarray(global_rotmat).reshape(-1, 3, 3)).as_rotvec()
        pose_aa = to_pose_aa(articulation, rotvec, self.axes, self.hands_mean)
        betas = np.atleast_2d(np.asarray(betas, dtype=np.float64))
        verts, joints = self._forward(pose_aa, betas)
        transl = np.atleast_2d(palm_centre_cam_m) - joints[:, PALM_JOINTS].mean(axis=1)
        return PosedHand(
            pose_aa=pose_aa, betas=betas, transl_m=transl,
            joints_cam_m=joints + transl[:, None], verts_cam_m=verts + transl[:, None],
        )


def load_hand_models(mano_dir: str | None = None) -> dict[bool, HandModel]:
    """``{True: right, False: left}`` from ``wildhands_core.mano.layer.load_mano_pair(mano_dir)``."""
    from wildhands_core.mano.layer import load_mano_pair

    right, left = load_mano_pair(mano_dir)
    return {True: HandModel(right, True), False: HandModel(left, False)}
