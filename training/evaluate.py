"""Evaluation of a checkpoint on datasets, as the paper's tables (Sec. 4.2, zero-shot protocol).

Every hand goes through the inference API (``wildhands_core.estimator.HandPoseEstimator``) with its GT box
and side, one frame at a time (all hands of a frame together), with the image's real (or the adapter's
assumed) K. Crops are the paper's evaluation crops: ``PAPER_EVAL_CROP_SCALE`` (1.5) x the adapter's tight box,
1.75 for AssemblyHands (an adapter's ``eval_crop_scale``), with no extra padding; ``crop_scale`` overrides
it for every dataset. Columns and the convention each one follows (``METRIC_CONVENTIONS``, printed by
``wildhands-eval``):

- ``mpjpe_mm``: root(wrist)-relative MPJPE over the valid 3D joints, mm, averaged over the hands of a frame
  and then over frames (the authors' aggregation);
- ``pa_mpjpe_mm``: Procrustes-aligned MPJPE (scale, rotation, translation), mm, aggregated as MPJPE (ours);
- ``pa_mpjpe_authors_mm``: the same per-hand values aggregated as the authors' code does (invalid hands
  count 0, sum / (2 x frames), ALL frames evaluated, those without a 3D label included; eval_modules.py
  ``compute_errors`` / ``eval_mpjpe_pa_ra``): biased low, reported only to compare with their tables;
- ``mrrpe_mm``: relative root error between the right and the left hand, frames with both hands, mm;
- ``kp2d_l2_224px``: the paper's 2D L2 error, pixels of the WHOLE image letterboxed to 224, hands with more
  than 3 visible joints; the mean over every visible joint of every counted hand, pooled (the authors'
  ``np.nanmean`` of the joint errors, abstract_pl.py / eval_modules.py ``eval_pixel_error``), so a hand
  weighs by its number of visible joints;
- ``kp2d_crop_px``: the same error (pooled the same way) in pixels of the 224 x 224 crop the network saw (not
  the paper's unit; 3-8x larger on EPIC hands);
- ``hands`` / ``frames`` / ``frames_two_hands``: how many hands / frames / two-hand frames were scored.

Any checkpoint works: a project checkpoint (e.g. from ``wildhands-train``) or the authors' release.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from training.sampler import frame_groups
from wildhands_core.constants import INPUT_SIZE
from wildhands_core.estimate import HandBox
from wildhands_core.metrics import (
    keypoint_joint_errors_crop_px,
    keypoint_joint_errors_letterbox224_px,
    mean_over_frames,
    mpjpe_mm,
    mrrpe_mm,
    nanmean,
    pa_mpjpe_mm,
    zero_biased_mean,
)

__all__ = [
    "METRICS", "METRIC_CONVENTIONS", "PAPER_EVAL_CROP_SCALE", "checkpoint_crop_scale", "eval_crop_scale",
    "evaluate_checkpoint", "evaluate_dataset", "format_conventions", "make_estimator",
]

#: Column → the convention it follows (printed under the table by ``wildhands-eval``).
METRIC_CONVENTIONS: dict[str, str] = {
    "mpjpe_mm": "root-relative MPJPE, mm; mean over a frame's hands, then over frames (authors' aggregation)",
    "pa_mpjpe_mm": "Procrustes-aligned MPJPE, mm; mean over a frame's hands, then over frames (ours)",
    "pa_mpjpe_authors_mm": "PA-MPJPE as the authors aggregate it: invalid hands count 0, / (2 x all frames) "
                           "(biased low; only to compare with their tables)",
    "mrrpe_mm": "right-minus-left root error, mm; frames with both hands",
    "kp2d_l2_224px": "2D L2, px of the whole image letterboxed to 224 (paper's tables); mean over the "
                     "visible joints of hands with > 3 of them, pooled over hands and frames (authors' "
                     "aggregation)",
    "kp2d_crop_px": "2D L2, px of the 224 crop, pooled as kp2d_l2_224px (not the paper's unit; 3-8x larger "
                    "on EPIC)",
    "hands": "hands scored",
    "frames": "frames scored",
    "frames_two_hands": "frames with both hands (MRRPE)",
}
METRICS = tuple(METRIC_CONVENTIONS)
PAPER_EVAL_CROP_SCALE = 1.5  # the paper's evaluation crops: 1.5 x the tight box (AssemblyHands: 1.75)
RELEASE_CROP_SCALE = 1.75  # release demo; used when the checkpoint does not say how it was trained


def eval_crop_scale(dataset: Any) -> float:
    """The paper's evaluation crop scale of ``dataset``: its ``eval_crop_scale`` (AssemblyHands 1.75), else
    1.5."""
    return float(getattr(dataset, "eval_crop_scale", PAPER_EVAL_CROP_SCALE))


def format_conventions(metrics: Iterable[str] = METRICS) -> str:
    """One line per column: ``name: convention``."""
    return "\n".join(f"  {m}: {METRIC_CONVENTIONS[m]}" for m in metrics if m in METRIC_CONVENTIONS)


def checkpoint_crop_scale(path: str | Path) -> float:
    """The training crop scale stored in a project checkpoint made by ``wildhands-train``, else 1.75."""
    import torch

    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        return float(ckpt["training"]["train_config"]["augment"]["crop_scale"])
    except Exception:  # released or foreign checkpoint: no training config inside
        return RELEASE_CROP_SCALE


def make_estimator(
    checkpoint: str | Path, crop_scale: float | None = None, mano_dir: str | None = None, device: str = "cpu",
    backend: str = "torch",
) -> Any:
    """A ``HandPoseEstimator`` of ``checkpoint`` (crop scale: the training one when known)."""
    from wildhands_core.estimator import EstimatorConfig, HandPoseEstimator

    scale = crop_scale if crop_scale is not None else checkpoint_crop_scale(checkpoint)
    cfg = EstimatorConfig(checkpoint=str(checkpoint), mano_dir=mano_dir, device=device, backend=backend,
                          crop_scale=scale, max_hands=8)
    return HandPoseEstimator(cfg)


def evaluate_dataset(
    estimator: Any, dataset: Any, max_frames: int | None = None, progress: bool = False
) -> dict[str, float]:
    """Metrics of ``estimator`` on ``dataset`` (an adapter yielding ``HandSample``), see the module doc."""
    groups = frame_groups(dataset)
    if max_frames is not None:
        groups = groups[:max_frames]
    iterator: Iterable = groups
    if progress:
        from tqdm import tqdm

        iterator = tqdm(groups, unit="frame", desc=getattr(dataset, "name", "eval"))
    mp, pa, rr, fid = [], [], [], []
    kp224: list[np.ndarray] = []  # (J,) per-joint errors of each scored hand, NaN where not counted
    kpc: list[np.ndarray] = []
    for f, idx in enumerate(iterator):
        samples = [dataset[i] for i in idx]
        s0 = samples[0]
        h, w = s0.image.shape[:2]
        boxes = [HandBox(np.asarray(s.box_xyxy_px, dtype=np.float64), bool(s.is_right)) for s in samples]
        ests = estimator.estimate(s0.image, s0.K_px, boxes)
        roots: dict[bool, tuple[np.ndarray, np.ndarray]] = {}
        for s, e in zip(samples, ests, strict=True):
            if s.joints_cam_m is not None:
                valid = np.asarray(s.extra.get("joints3d_valid", np.ones(len(s.joints_cam_m), bool)), bool)
                if valid[0] and valid.sum() >= 2:  # root-relative needs the wrist
                    mp.append(mpjpe_mm(e.joints_m[None], s.joints_cam_m[None], valid[None])[0])
                    pa.append(pa_mpjpe_mm(e.joints_m[None], s.joints_cam_m[None], valid[None])[0])
                    fid.append(f)
                    roots[bool(s.is_right)] = (e.joints_m[0], np.asarray(s.joints_cam_m[0], np.float64))
            if s.keypoints_px is not None:
                kv = np.ones(len(s.keypoints_px), bool) if s.keypoints_valid is None else s.keypoints_valid
                gt, pred = np.asarray(s.keypoints_px)[None], e.keypoints_px[None]
                kv = np.asarray(kv, bool)[None]
                kp224.append(keypoint_joint_errors_letterbox224_px(pred, gt, kv, (w, h))[0])
                crop = e.crop_xyxy_px[None]
                kpc.append(keypoint_joint_errors_crop_px(pred, gt, kv, crop, INPUT_SIZE, 4)[0])
        if True in roots and False in roots:
            (pr, gr), (pl, gl) = roots[True], roots[False]
            rr.append(mrrpe_mm(pr[None], pl[None], gr[None], gl[None])[0])
    nan = float("nan")
    return {
        "mpjpe_mm": mean_over_frames(mp, fid) if mp else nan,
        "pa_mpjpe_mm": mean_over_frames(pa, fid) if pa else nan,
        "pa_mpjpe_authors_mm": zero_biased_mean(pa, len(groups)) if pa else nan,
        "mrrpe_mm": nanmean(rr) if rr else nan,
        "kp2d_l2_224px": nanmean(np.concatenate(kp224)) if kp224 else nan,
        "kp2d_crop_px": nanmean(np.concatenate(kpc)) if kpc else nan,
        "hands": float(sum(len(g) for g in groups)),
        "frames": float(len(groups)),
        "frames_two_hands": float(len(rr)),
    }


def evaluate_checkpoint(
    checkpoint: str | Path,
    datasets: dict[str, Any],
    crop_scale: float | None = None,
    mano_dir: str | None = None,
    max_frames: int | None = None,
    device: str = "cpu",
    progress: bool = False,
) -> dict[str, dict[str, float]]:
    """{dataset label: metrics} of ``checkpoint`` on each adapter of ``datasets`` ({label: adapter}), each at
    its paper evaluation crop scale (``eval_crop_scale``) unless ``crop_scale`` is given."""
    estimators: dict[float, Any] = {}
    out = {}
    for name, ds in datasets.items():
        scale = float(crop_scale) if crop_scale is not None else eval_crop_scale(ds)
        if scale not in estimators:
            estimators[scale] = make_estimator(checkpoint, scale, mano_dir, device)
        out[name] = evaluate_dataset(estimators[scale], ds, max_frames, progress)
    return out
