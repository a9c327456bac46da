"""Training losses (paper Sec. 3.3 / 4.1), each applied only to the hands that have its label.

Per hand i and term t the error ``e_ti`` is a mean of squares (L2), or the cross-entropy for the grasp:

- ``theta``: the 16 predicted rotation matrices vs the GT's (``axis_angle_to_rotmat`` of ``pose_aa``,
  relative to the MANO mean pose), mean over the 144 entries;
- ``betas``: MANO shape, mean over 10;
- ``kp3d``: root(wrist)-relative 3D joints in METRES, mean over valid joints and x, y, z;
- ``kp2d``: 2D joints normalised to the crop, ``2 (u - x0) / (x1 - x0) - 1`` (crop edges -> -/+1;
  ``kp2d_frame="crop"``) or to the letterboxed whole 224 image, ``2 u / 224 - 1`` (``"whole224"``, the
  authors'), from the projection of the predicted joints with ``K_224``; mean over valid joints;
- ``cam``: weak-perspective (s, tx, ty) vs the GT's ``(2 f / (224 tz), tx, ty)`` of the GT MANO translation;
- ``mask``: SoftRas silhouette (``wildhands_synth.raster.soft_rasterizer``) of the predicted MANO mesh
  rendered with ``K_mask`` into the S x S crop frame vs the GT (visible) mask warped there, mean over the
  VALID pixels (``mask_valid`` weights in [0, 1]; 0 where another segment, e.g. the other hand or an occluding
  object, covers the pixel so the hand may lie hidden there; 0 error when no pixel is valid). With
  ``mask_error="l1"`` (the authors') the absolute difference summed over the valid pixels and divided by ALL
  pixels of the loss frame (the whole 224 image with ``mask_frame="whole224"``, ``training.crops``);
- ``grasp``: cross-entropy over the 9 logits (``wildhands_core.constants.GRASP_CLASS_NAMES``);
- ``cam_init``: as ``cam`` for the head's initial camera (``out["cam_wp_init"]``, ``trainer.CamInitProbe``);
- ``rel_transl``: frames with a right and a left hand that both have the translation label:
  ``|| (t̂_l - t̂_r) - (t_l - t_r) ||² / 3`` in metres (predicted ``transl_cam_m``), counted on the left hand.

Term loss ``L_t = sum_i w_ti e_ti / n_t`` with ``w_ti`` the weight of hand i's dataset and ``n_t`` the number
of hands with the label and ``w_ti > 0`` in the GLOBAL batch (``reduction="per_label"``), or the number of
hands of the global batch (``"batch_mean"``, the authors': zeros included for hands without the label);
``count_reduce`` sums it over DDP processes, so the sum of the processes' gradients equals the
single-process gradient of the whole batch. Total = sum_t L_t.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as nnf

from training.batch import Batch
from training.config import LossConfig
from wildhands_core.camera import focal_mean
from wildhands_core.constants import INPUT_SIZE, NUM_MANO_JOINTS
from wildhands_core.rotations import axis_angle_to_rotmat
from wildhands_synth.raster.soft_rasterizer import SoftSilhouetteConfig, soft_silhouette

__all__ = [
    "LOSS_TERMS", "TERM_LABEL", "compute_losses", "crop_normalise", "gt_weak_perspective", "mask_error",
]

LOSS_TERMS = ("theta", "betas", "kp3d", "kp2d", "cam", "mask", "grasp", "cam_init", "rel_transl", "side")
#: The has-label group each term needs (``Batch.has`` keys; "side" is every hand's: its side is an input).
TERM_LABEL = {
    "theta": "mano",
    "betas": "mano",
    "kp3d": "joints3d",
    "kp2d": "keypoints2d",
    "cam": "transl",
    "mask": "mask",
    "grasp": "grasp",
    "cam_init": "transl",
    "rel_transl": "transl",
    "side": "side",
}


def gt_weak_perspective(transl_m: torch.Tensor, K_224: torch.Tensor, size: int = INPUT_SIZE) -> torch.Tensor:
    """(N, 3) MANO translation (metres, camera frame) -> (N, 3) weak-perspective (s, tx, ty) of the model's
    camera (inverse of ``wildhands_core.camera.weak_perspective_to_translation``): s = 2 f / (size tz)."""
    s = 2.0 * focal_mean(K_224) / (size * transl_m[:, 2].clamp(min=1e-3))
    return torch.stack((s, transl_m[:, 0], transl_m[:, 1]), dim=-1)


def crop_normalise(points_224: torch.Tensor, boxes_224: torch.Tensor) -> torch.Tensor:
    """(N, J, 2) 224-frame pixels, (N, 4) crop boxes -> (N, J, 2) with the crop's edges at -1 and +1."""
    lo, hi = boxes_224[:, None, :2], boxes_224[:, None, 2:]
    return 2.0 * (points_224 - lo) / (hi - lo) - 1.0


def _masked_mean(err: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """(N, J) squared errors, (N, J) bool -> (N,) mean over valid entries (0 where none)."""
    v = valid.to(err.dtype)
    return (err * v).sum(dim=1) / v.sum(dim=1).clamp(min=1.0)


def mask_error(
    sil: torch.Tensor, mask: torch.Tensor, valid: torch.Tensor | None = None, kind: str = "l2"
) -> torch.Tensor:
    """(N, S, S) silhouettes and GT masks in [0, 1], (N, S, S) valid-pixel weights in [0, 1] (None: all
    ones) -> (N,): ``"l2"``, the mean squared difference over the valid pixels (weighted mean; 0 where none
    is valid); ``"l1"``, the absolute difference summed over the valid pixels / all S x S pixels."""
    if kind == "l1":
        err = (sil - mask).abs().flatten(1)
        return (err if valid is None else err * valid.flatten(1).to(err.dtype)).mean(dim=1)
    if kind != "l2":
        raise ValueError(f"mask_error must be 'l1' or 'l2', got {kind!r}")
    err = (sil - mask).square().flatten(1)
    if valid is None:
        return err.mean(dim=1)
    v = valid.flatten(1).to(err.dtype)
    return (err * v).sum(dim=1) / v.sum(dim=1).clamp(min=1e-6)


def _silhouettes(
    verts: torch.Tensor, is_right: torch.Tensor, faces_r: torch.Tensor, faces_l: torch.Tensor,
    K: torch.Tensor, size: int, sigma: float,
) -> torch.Tensor:
    out = verts.new_zeros((verts.shape[0], size, size))
    cfg = SoftSilhouetteConfig(sigma_px2=sigma)
    for side, faces in ((True, faces_r), (False, faces_l)):
        idx = torch.nonzero(is_right == side).squeeze(1)
        if idx.numel():
            sil = soft_silhouette(verts[idx], faces, K[idx], (size, size), cfg)
            out = out.index_copy(0, idx, sil)
    return out


def compute_losses(
    out: dict[str, torch.Tensor],
    batch: Batch,
    faces_r: torch.Tensor,
    faces_l: torch.Tensor,
    cfg: LossConfig | None = None,
    count_reduce: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Model outputs (``WildHands.forward`` with ``return_vertices`` when the mask loss is on) + batch ->
    (total loss, {term: L_t} detached, for the active terms only)."""
    cfg = cfg or LossConfig()
    lab, has = batch.labels, batch.has
    n = batch.num_hands
    zeros = torch.zeros(n, device=batch.inputs["frame_idx"].device)
    w = {t: batch.weights.get(t, zeros) for t in LOSS_TERMS}  # a term without weights is off
    has = has | {"side": torch.ones_like(zeros, dtype=torch.bool)}  # every hand's side is known
    active = {t: has[TERM_LABEL[t]] & (w[t] > 0) for t in LOSS_TERMS}
    if "grasp_logits" not in out:
        active["grasp"] = torch.zeros_like(active["grasp"])
    if "side_logit" not in out:
        active["side"] = torch.zeros_like(active["side"])
    if "cam_wp_init" not in out:
        active["cam_init"] = torch.zeros_like(active["cam_init"])
    active["rel_transl"] = _left_of_pair(batch, active["rel_transl"])
    if cfg.reduction not in ("per_label", "batch_mean"):
        raise ValueError(f"loss reduction must be 'per_label' or 'batch_mean', got {cfg.reduction!r}")
    counts = torch.stack([active[t].sum() for t in LOSS_TERMS]).to(torch.float32)
    if cfg.reduction == "batch_mean":  # every hand of the batch, zeros included (0 stays 0: term off)
        counts = torch.where(counts > 0, torch.full_like(counts, float(n)), counts)
    if count_reduce is not None:
        counts = count_reduce(counts)
    total = out["rotmat"].new_zeros((), dtype=torch.float32)
    terms: dict[str, torch.Tensor] = {}
    for ti, t in enumerate(LOSS_TERMS):
        if counts[ti] <= 0:
            continue
        m = active[t]
        if not bool(m.any()):
            # this process has none of the label, others do: contribute an exact zero that still touches
            # the graph (DDP needs every process to run the same backward)
            err = out["rotmat"].float().sum() * 0.0 + torch.zeros(n, device=m.device)
        else:
            err = _term_error(t, out, lab, batch, m, faces_r, faces_l, cfg)
        loss_t = (w[t] * m.to(torch.float32) * err).sum() / counts[ti]
        terms[t] = loss_t.detach()
        total = total + loss_t
    return total, terms


def _left_of_pair(batch: Batch, ok: torch.Tensor) -> torch.Tensor:
    """(N,) bool: the left hand of each frame holding exactly one right and one left hand, both ``ok``."""
    fi, right = batch.inputs["frame_idx"], batch.inputs["is_right"].to(torch.bool)
    out = torch.zeros_like(ok)
    for f in torch.unique(fi[ok]).tolist():
        idx = torch.nonzero((fi == f) & ok).squeeze(1)
        if idx.numel() == 2 and int(right[idx].sum()) == 1:
            out[idx[~right[idx]]] = True
    return out


def _right_partner(batch: Batch, left: torch.Tensor) -> torch.Tensor:
    """(N,) long: for each hand flagged in ``left`` the index of the right hand of its frame (else itself)."""
    fi, right = batch.inputs["frame_idx"], batch.inputs["is_right"].to(torch.bool)
    partner = torch.arange(fi.shape[0], device=fi.device)
    for i in torch.nonzero(left).squeeze(1).tolist():
        j = torch.nonzero((fi == fi[i]) & right).squeeze(1)
        partner[i] = j[0]
    return partner


def _term_error(
    t: str, out: dict[str, torch.Tensor], lab: dict[str, torch.Tensor], batch: Batch, m: torch.Tensor,
    faces_r: torch.Tensor, faces_l: torch.Tensor, cfg: LossConfig,
) -> torch.Tensor:
    """(N,) per-hand error of term ``t`` (zeros where ``m`` is False)."""
    n = m.shape[0]
    if t == "theta":
        gt = axis_angle_to_rotmat(lab["pose_aa"].reshape(n, NUM_MANO_JOINTS, 3))
        return (out["rotmat"].float() - gt).square().flatten(1).mean(dim=1)
    if t == "betas":
        return (out["betas"].float() - lab["betas"]).square().mean(dim=1)
    if t == "kp3d":
        p = out["joints_cam_m"].float()
        g = lab["joints_cam_m"]
        p, g = p - p[:, :1], g - g[:, :1]
        return _masked_mean((p - g).square().sum(dim=-1) / 3.0, lab["joints3d_valid"])
    if t == "kp2d":
        # "crop": the box given to the KPE (in the release convention the crop square clipped to the image,
        # thin for a border hand: see LossConfig.kp2d_frame); "whole224": the authors' frame, the default.
        boxes = batch.inputs["boxes_224"]
        if cfg.kp2d_frame == "whole224":
            boxes = torch.tensor([0.0, 0.0, INPUT_SIZE, INPUT_SIZE], device=boxes.device).expand_as(boxes)
        elif cfg.kp2d_frame != "crop":
            raise ValueError(f"kp2d_frame must be 'crop' or 'whole224', got {cfg.kp2d_frame!r}")
        p = crop_normalise(out["keypoints_224_px"].float(), boxes)
        g = crop_normalise(lab["keypoints_224"], boxes)
        return _masked_mean((p - g).square().sum(dim=-1) / 2.0, lab["keypoints_valid"])
    if t in ("cam", "cam_init"):
        gt = gt_weak_perspective(lab["transl_m"], batch.inputs["K_224"])
        key = "cam_wp" if t == "cam" else "cam_wp_init"
        return (out[key].float() - gt).square().mean(dim=1)
    if t == "rel_transl":
        j = _right_partner(batch, m)
        p = out["transl_cam_m"].float()
        g = lab["transl_m"]
        return (((p - p[j]) - (g - g[j])).square().mean(dim=1)) * m.to(p.dtype)
    if t == "mask":
        err = out["rotmat"].new_zeros(n, dtype=torch.float32)
        idx = torch.nonzero(m).squeeze(1)
        size = lab["mask"].shape[-1]
        sil = _silhouettes(
            out["vertices_cam_m"].float()[idx], batch.inputs["is_right"][idx], faces_r, faces_l,
            lab["K_mask"][idx], size, cfg.mask_sigma_px2,
        )
        valid = lab["mask_valid"][idx] if "mask_valid" in lab else None
        return err.index_copy(0, idx, mask_error(sil, lab["mask"][idx], valid, cfg.mask_error))
    if t == "grasp":
        return nnf.cross_entropy(out["grasp_logits"].float(), lab["grasp"], reduction="none")
    if t == "side":  # the side classifier (project option): binary cross-entropy of P(right)
        target = batch.inputs["is_right"].to(torch.float32)
        return nnf.binary_cross_entropy_with_logits(out["side_logit"].float(), target, reduction="none")
    raise ValueError(f"unknown loss term {t!r}")
