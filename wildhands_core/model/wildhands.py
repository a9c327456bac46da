"""The full WildHands model: :class:`WildHandsNet` + right/left MANO + the weak-perspective camera.

Frames and units: 3D outputs in metres in the camera optical frame (x right, y down, z forward) of the
224 frame, which is the SAME 3D frame as the original image's camera (the letterbox is a pure pixel
scale + shift, see :mod:`wildhands_core.camera`). 2D outputs in 224-frame pixels; map them to original
pixels with :meth:`wildhands_core.camera.Letterbox.points_to_original`, or project ``joints_cam_m`` with the
original K (the two agree).

``joints_cam_m = MANO joints (16 joints + 5 fingertips, MANO frame) + transl_cam_m`` with
``transl_cam_m = (tx, ty, 2 f / (224 max(s, 0.1)))`` (release convention); ``keypoints_224_px`` is the
projection of ``joints_cam_m`` with ``K_224``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from wildhands_core.camera import project, weak_perspective_to_translation
from wildhands_core.config import ModelConfig
from wildhands_core.constants import NUM_JOINTS, NUM_MANO_JOINTS, NUM_MANO_VERTICES
from wildhands_core.mano.layer import ManoLayer
from wildhands_core.model.wildhands_net import WildHandsNet, select_by_side
from wildhands_core.rotations import rotmat_to_axis_angle_release

__all__ = ["WildHands"]


class WildHands(nn.Module):
    """Network + MANO + camera. ``mano_right``/``mano_left`` default to ``ManoLayer(side, mano_dir)``."""

    def __init__(
        self,
        net: WildHandsNet | ModelConfig | None = None,
        mano_dir: str | Path | None = None,
        mano_right: nn.Module | None = None,
        mano_left: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.net = net if isinstance(net, WildHandsNet) else WildHandsNet(net)
        self.mano_r = mano_right if mano_right is not None else ManoLayer("right", mano_dir)
        self.mano_l = mano_left if mano_left is not None else ManoLayer("left", mano_dir)

    @property
    def cfg(self) -> ModelConfig:
        return self.net.cfg

    def _mano(
        self, pose_aa: torch.Tensor, betas: torch.Tensor, is_right: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Each hand through its side's MANO (both layers run on all hands; see WildHandsNet.forward):
        ``pose_aa`` (N, 48) release axis-angle, outputs in input order, MANO frame, metres."""
        right, left = self.mano_r.forward_aa(pose_aa, betas), self.mano_l.forward_aa(pose_aa, betas)
        return {k: select_by_side(is_right, right[k], left[k]) for k in ("joints", "vertices")}

    def forward(
        self,
        images: torch.Tensor | None,
        crops: torch.Tensor | None,
        frame_idx: torch.Tensor,
        is_right: torch.Tensor,
        boxes_224: torch.Tensor,
        K_224: torch.Tensor,
        return_vertices: bool = False,
    ) -> dict[str, torch.Tensor]:
        """Inputs as :meth:`WildHandsNet.forward`. Outputs (N hands, input order):

        ``rot_6d`` (N, 16, 6), ``rotmat`` (N, 16, 3, 3), ``betas`` (N, 10), ``cam_wp`` (N, 3),
        ``global_orient_aa`` (N, 3), ``hand_pose_aa`` (N, 45) (axis-angle, the release's mapping with
        angles in [0, 2 pi), finger rotations relative to the MANO mean pose: the exact smplx MANO input),
        ``transl_cam_m`` (N, 3), ``joints_cam_m`` (N, 21, 3), ``keypoints_224_px`` (N, 21, 2),
        ``vertices_cam_m`` (N, 778, 3) if ``return_vertices``, ``grasp_logits`` / ``grasp_prob`` (N, 9)
        when the network has a grasp head, ``side_logit`` / ``right_prob`` (N,) (P(the crop is a right
        hand)) when it has a side classifier.
        """
        out = self.net(images, crops, frame_idx, is_right, boxes_224, K_224)
        return self.complete(out, is_right, K_224, return_vertices)

    def complete(
        self,
        net_out: dict[str, torch.Tensor],
        is_right: torch.Tensor,
        K_224: torch.Tensor,
        return_vertices: bool = False,
    ) -> dict[str, torch.Tensor]:
        """The network's per-hand outputs (:meth:`WildHandsNet.forward` or its ``heads``) -> the outputs of
        :meth:`forward`: axis-angle, MANO joints / vertices and their placement with ``K_224``."""
        out = dict(net_out)
        n = is_right.shape[0]
        rotmat, betas = out["rotmat"], out["betas"]
        # the release's mapping (angle in [0, 2 pi)): exactly what MANO is fed, so that smplx MANO
        # (flat_hand_mean=False) given these two gives joints_cam_m - transl_cam_m
        out["global_orient_aa"] = rotmat_to_axis_angle_release(rotmat[:, 0])
        out["hand_pose_aa"] = rotmat_to_axis_angle_release(rotmat[:, 1:]).reshape(
            n, (NUM_MANO_JOINTS - 1) * 3
        )
        if "grasp_logits" in out:
            out["grasp_prob"] = torch.softmax(out["grasp_logits"], dim=-1)
        if "side_logit" in out:
            out["right_prob"] = torch.sigmoid(out["side_logit"])
        if n == 0:
            z = rotmat.new_zeros
            out["transl_cam_m"] = z(0, 3)
            out["joints_cam_m"] = z(0, NUM_JOINTS, 3)
            out["keypoints_224_px"] = z(0, NUM_JOINTS, 2)
            if return_vertices:
                out["vertices_cam_m"] = z(0, NUM_MANO_VERTICES, 3)
            return out
        K_224 = K_224.to(rotmat.dtype)
        pose_aa = torch.cat((out["global_orient_aa"], out["hand_pose_aa"]), dim=1)  # converted once, above
        mano = self._mano(pose_aa, betas, is_right.to(torch.bool))
        transl = weak_perspective_to_translation(out["cam_wp"], K_224)
        out["transl_cam_m"] = transl
        out["joints_cam_m"] = mano["joints"] + transl[:, None, :]
        out["keypoints_224_px"] = project(out["joints_cam_m"], K_224)
        if return_vertices:
            out["vertices_cam_m"] = mano["vertices"] + transl[:, None, :]
        return out
