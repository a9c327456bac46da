"""Evaluation of a checkpoint on datasets, as the paper's tables (Sec. 4.2, zero-shot protocol).

Every hand goes through the inference API (``wildhands_core.estimator.HandPoseEstimator``) with its GT box
and side, one frame at a time (all hands of a frame together), with the image's real K. Metrics per dataset
(``training.metrics``):

- ``mpjpe_mm``: root(wrist)-relative MPJPE over the valid 3D joints, mm;
- ``pa_mpjpe_mm``: Procrustes-aligned MPJPE, mm;
- ``mrrpe_mm``: relative root error between the right and the left hand, frames with both hands, mm;
- ``kp2d_crop_px``: 2D L2 error in pixels of the 224 x 224 crop the network saw, hands with >= 3 visible
  joints;
- ``hands`` / ``frames_two_hands``: how many hands / two-hand frames were scored.

Any checkpoint works: a project checkpoint (e.g. from ``wildhands-train``) or the authors' release.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from training.metrics import (
    keypoint_error_crop_px,
    mpjpe_mm,
    mrrpe_mm,
    nanmean,
    pa_mpjpe_mm,
)
from training.sampler import frame_groups
from wildhands_core.estimate import HandBox

__all__ = ["METRICS", "checkpoint_crop_scale", "evaluate_checkpoint", "evaluate_dataset", "make_estimator"]

METRICS = ("mpjpe_mm", "pa_mpjpe_mm", "mrrpe_mm", "kp2d_crop_px", "hands", "frames_two_hands")
RELEASE_CROP_SCALE = 1.75  # release demo; used when the checkpoint does not say how it was trained


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
    mp, pa, kp, rr = [], [], [], []
    for idx in iterator:
        samples = [dataset[i] for i in idx]
        s0 = samples[0]
        boxes = [HandBox(np.asarray(s.box_xyxy_px, dtype=np.float64), bool(s.is_right)) for s in samples]
        ests = estimator.estimate(s0.image, s0.K_px, boxes)
        roots: dict[bool, tuple[np.ndarray, np.ndarray]] = {}
        for s, e in zip(samples, ests, strict=True):
            if s.joints_cam_m is not None:
                valid = np.asarray(s.extra.get("joints3d_valid", np.ones(len(s.joints_cam_m), bool)), bool)
                if valid[0] and valid.sum() >= 2:  # root-relative needs the wrist
                    mp.append(mpjpe_mm(e.joints_m[None], s.joints_cam_m[None], valid[None])[0])
                    pa.append(pa_mpjpe_mm(e.joints_m[None], s.joints_cam_m[None], valid[None])[0])
                    roots[bool(s.is_right)] = (e.joints_m[0], np.asarray(s.joints_cam_m[0], np.float64))
            if s.keypoints_px is not None:
                kv = np.ones(len(s.keypoints_px), bool) if s.keypoints_valid is None else s.keypoints_valid
                kp.append(keypoint_error_crop_px(
                    e.keypoints_px[None], np.asarray(s.keypoints_px)[None], np.asarray(kv, bool)[None],
                    e.crop_xyxy_px[None], 224, 3,
                )[0])
        if True in roots and False in roots:
            (pr, gr), (pl, gl) = roots[True], roots[False]
            rr.append(mrrpe_mm(pr[None], pl[None], gr[None], gl[None])[0])
    return {
        "mpjpe_mm": nanmean(mp) if mp else float("nan"),
        "pa_mpjpe_mm": nanmean(pa) if pa else float("nan"),
        "mrrpe_mm": nanmean(rr) if rr else float("nan"),
        "kp2d_crop_px": nanmean(kp) if kp else float("nan"),
        "hands": float(sum(len(g) for g in groups)),
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
    """{dataset label: metrics} of ``checkpoint`` on each adapter of ``datasets`` ({label: adapter})."""
    est = make_estimator(checkpoint, crop_scale, mano_dir, device)
    return {name: evaluate_dataset(est, ds, max_frames, progress) for name, ds in datasets.items()}
