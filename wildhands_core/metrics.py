"""Evaluation metrics for 3D / 2D hand pose (pure functions, numpy; torch tensors are accepted as input).

Inputs are in metres (3D, camera frame) or pixels (2D); 3D errors are returned in millimetres. Joints are in
MANO21 order (``wildhands_core.constants``), whose joint 0 is the wrist, the root of the root-relative
metrics. Per-hand functions return one value per hand (shape (N,)), NaN where a hand has nothing to score;
``nanmean`` averages them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence

import numpy as np

from wildhands_core.constants import INPUT_SIZE

ROOT_JOINT = 0
M_TO_MM = 1000.0


def _np(x) -> np.ndarray:
    """float64 numpy array from a numpy array, list or torch tensor (detached, on the CPU)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def _valid(valid, shape: tuple[int, ...]) -> np.ndarray:
    return (
        np.ones(shape, dtype=bool) if valid is None else np.broadcast_to(np.asarray(valid, dtype=bool), shape)
    )


def _masked_mean(err: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Mean of err (N, J) over valid joints per row; NaN for rows without a valid joint."""
    n = valid.sum(axis=-1)
    s = np.where(valid, err, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def nanmean(x) -> float:
    """Mean over the finite entries of ``x``; NaN when there is none."""
    a = _np(x).reshape(-1)
    a = a[np.isfinite(a)]
    return float(a.mean()) if a.size else math.nan


def mpjpe_mm(pred_m, gt_m, valid=None, root_relative: bool = True, root: int = ROOT_JOINT) -> np.ndarray:
    """Mean per-joint position error per hand, mm.

    With ``root_relative`` both skeletons are first translated so that their root (wrist) is at the origin:
    ``e_n = mean_{j valid} || (p_nj − p_n,root) − (g_nj − g_n,root) ||₂ · 1000``.
    ``pred_m``, ``gt_m``: (N, J, 3) or (J, 3) metres; ``valid``: (N, J) or (J,) bool. Returns (N,).
    """
    p, g = _np(pred_m), _np(gt_m)
    if p.ndim == 2:
        p, g = p[None], g[None]
    if root_relative:
        p = p - p[:, root : root + 1]
        g = g - g[:, root : root + 1]
    err = np.linalg.norm(p - g, axis=-1) * M_TO_MM
    return _masked_mean(err, _valid(valid, err.shape))


def procrustes_align(pred, gt, valid=None) -> np.ndarray:
    """Similarity transform of ``pred`` onto ``gt`` (Umeyama, 1991), fitted on the valid joints.

    Finds s > 0, rotation R (det R = +1, reflections excluded) and t minimising Σ_j ||s R p_j + t − g_j||²:
    with centred P₀, G₀ and the SVD P₀ᵀ G₀ = U Σ Vᵀ, D = diag(1, 1, sign det(V Uᵀ)), R = V D Uᵀ,
    s = tr(Σ D) / ||P₀||²_F, t = ḡ − s R p̄. ``pred``, ``gt``: (N, J, 3) or (J, 3); returns ``s R p + t``
    for every joint, shape of ``pred``.
    """
    p, g = _np(pred), _np(gt)
    single = p.ndim == 2
    if single:
        p, g = p[None], g[None]
    if single and valid is not None:
        valid = np.asarray(valid)[None]
    w = _valid(valid, p.shape[:2]).astype(np.float64)
    n = np.maximum(w.sum(axis=1, keepdims=True), 1.0)[..., None]  # (N, 1, 1)
    mu_p = (w[..., None] * p).sum(axis=1, keepdims=True) / n
    mu_g = (w[..., None] * g).sum(axis=1, keepdims=True) / n
    p0, g0 = (p - mu_p) * w[..., None], (g - mu_g) * w[..., None]
    H = np.einsum("nji,njk->nik", p0, g0)
    U, S, Vt = np.linalg.svd(H)
    V = np.swapaxes(Vt, 1, 2)
    d = np.sign(np.linalg.det(V @ np.swapaxes(U, 1, 2)))
    d[d == 0] = 1.0
    D = np.zeros_like(H)
    D[:, 0, 0] = 1.0
    D[:, 1, 1] = 1.0
    D[:, 2, 2] = d
    R = V @ D @ np.swapaxes(U, 1, 2)
    var_p = (p0**2).sum(axis=(1, 2))
    s = np.einsum("ni,ni->n", S, np.diagonal(D, axis1=1, axis2=2)) / np.maximum(var_p, 1e-30)
    t = mu_g[:, 0] - s[:, None] * np.einsum("nij,nj->ni", R, mu_p[:, 0])
    out = s[:, None, None] * np.einsum("nij,nkj->nki", R, p) + t[:, None, :]
    return out[0] if single else out


def pa_mpjpe_mm(pred_m, gt_m, valid=None) -> np.ndarray:
    """Procrustes-aligned MPJPE per hand, mm: ``mean_{j valid} || A(p)_j − g_j ||₂ · 1000`` with A the
    similarity transform of ``procrustes_align`` (scale, rotation, translation). Shapes as ``mpjpe_mm``."""
    p, g = _np(pred_m), _np(gt_m)
    if p.ndim == 2:
        p, g = p[None], g[None]
        valid = None if valid is None else np.asarray(valid)[None]
    aligned = procrustes_align(p, g, valid)
    err = np.linalg.norm(aligned - g, axis=-1) * M_TO_MM
    return _masked_mean(err, _valid(valid, err.shape))


def mrrpe_mm(pred_right_m, pred_left_m, gt_right_m, gt_left_m, root: int = ROOT_JOINT) -> np.ndarray:
    """Mean relative-root position error per frame with both hands, mm:
    ``|| (r̂ − l̂) − (r − l) ||₂ · 1000`` with r, l the right and left roots (wrists).

    Each argument is (N, 3) roots or (N, J, 3) joints (the ``root`` joint is taken), metres, same frame.
    """

    def _root(x):
        a = _np(x)
        return a[..., root, :] if a.ndim == 3 else a

    rel_pred = _root(pred_right_m) - _root(pred_left_m)
    rel_gt = _root(gt_right_m) - _root(gt_left_m)
    return np.linalg.norm(rel_pred - rel_gt, axis=-1) * M_TO_MM


def to_crop_px(points_px, crop_box_xyxy, crop_size: int = INPUT_SIZE) -> np.ndarray:
    """Map full-image pixel points (N, J, 2) into the crop_size × crop_size crop of ``crop_box_xyxy`` (N, 4):
    ``u' = (u − x0) · S / (x1 − x0)``, ``v' = (v − y0) · S / (y1 − y0)`` (box edges → crop edges)."""
    pts, box = _np(points_px), _np(crop_box_xyxy)
    single = pts.ndim == 2
    if single:
        pts, box = pts[None], box[None]
    origin = box[:, None, :2]
    scale = crop_size / (box[:, None, 2:] - box[:, None, :2])
    out = (pts - origin) * scale
    return out[0] if single else out


def keypoint_error_crop_px(
    pred_px, gt_px, valid, crop_box_xyxy, crop_size: int = INPUT_SIZE, min_visible: int = 3
) -> np.ndarray:
    """2D L2 keypoint error per hand in pixels of the crop_size crop: both keypoint sets (N, J, 2), full-image
    pixels, are mapped by ``to_crop_px``; ``e_n = mean_{j visible} || p'_nj − g'_nj ||₂``. Hands with fewer
    than ``min_visible`` visible joints (``valid`` (N, J)) get NaN. Returns (N,)."""
    p = to_crop_px(pred_px, crop_box_xyxy, crop_size)
    g = to_crop_px(gt_px, crop_box_xyxy, crop_size)
    return _l2_per_hand(p, g, valid, min_visible)


def _l2_per_hand(p: np.ndarray, g: np.ndarray, valid, min_visible: int) -> np.ndarray:
    """Mapped keypoints (N, J, 2) or (J, 2) -> (N,) mean L2 over visible joints, NaN below ``min_visible``."""
    err = _l2_per_joint(p, g, valid, min_visible)
    return _masked_mean(np.nan_to_num(err), np.isfinite(err))


def _l2_per_joint(p: np.ndarray, g: np.ndarray, valid, min_visible: int) -> np.ndarray:
    """Mapped keypoints (N, J, 2) or (J, 2) -> (N, J) L2 of each visible joint; NaN for the other joints and
    for every joint of a hand with fewer than ``min_visible`` visible joints."""
    if p.ndim == 2:
        p, g = p[None], g[None]
        valid = np.asarray(valid)[None]
    v = _valid(valid, p.shape[:2])
    v = v & (v.sum(axis=-1, keepdims=True) >= min_visible)
    return np.where(v, np.linalg.norm(p - g, axis=-1), np.nan)


def to_letterbox224_px(points_px, image_wh: tuple[int, int], size: int = INPUT_SIZE) -> np.ndarray:
    """Map full-image pixel points (..., 2) into the whole image letterboxed to ``size`` (the network's whole-
    image input, ``wildhands_core.camera.Letterbox``): ``u' = s u + pad_x``, ``v' = s v + pad_y``,
    s = size / max(W, H)."""
    from wildhands_core.camera import Letterbox

    lb = Letterbox(int(image_wh[0]), int(image_wh[1]), size)
    A = lb.affine_2x3()
    pts = _np(points_px)
    return pts @ A[:, :2].T + A[:, 2]


def keypoint_error_letterbox224_px(
    pred_px, gt_px, valid, image_wh: tuple[int, int], size: int = INPUT_SIZE, min_visible: int = 4
) -> np.ndarray:
    """The paper's 2D L2 error per hand (Epic-HandKps tables): pixels of the WHOLE image letterboxed to
    ``size``, ``e_n = mean_{j visible} || L(p_nj) − L(g_nj) ||₂`` with L = ``to_letterbox224_px``; a hand
    counts
    when MORE than 3 joints are visible (``min_visible`` = 4), else NaN. ``pred_px``, ``gt_px``: (N, J, 2) or
    (J, 2) full-image pixels; ``valid``: (N, J) or (J,) bool. The same error in crop pixels
    (``keypoint_error_crop_px``) is larger by crop side / (size / s), 3-8x on EPIC hands. Returns (N,)."""
    p = to_letterbox224_px(pred_px, image_wh, size)
    g = to_letterbox224_px(gt_px, image_wh, size)
    return _l2_per_hand(p, g, valid, min_visible)


def keypoint_joint_errors_letterbox224_px(
    pred_px, gt_px, valid, image_wh: tuple[int, int], size: int = INPUT_SIZE, min_visible: int = 4
) -> np.ndarray:
    """The paper's 2D L2 error per JOINT, (N, J) pixels of the whole image letterboxed to ``size``
    (``keypoint_error_letterbox224_px`` before its mean over a hand's joints): NaN for joints not visible and
    for every joint of a hand with at most 3 visible ones. The authors' number is the mean over all the
    finite entries pooled over every hand and frame (``nanmean``), not a mean of per-hand means."""
    p = to_letterbox224_px(pred_px, image_wh, size)
    g = to_letterbox224_px(gt_px, image_wh, size)
    return _l2_per_joint(p, g, valid, min_visible)


def keypoint_joint_errors_crop_px(
    pred_px, gt_px, valid, crop_box_xyxy, crop_size: int = INPUT_SIZE, min_visible: int = 3
) -> np.ndarray:
    """``keypoint_error_crop_px`` per JOINT, (N, J) pixels of the crop; NaN as
    ``keypoint_joint_errors_letterbox224_px``."""
    p = to_crop_px(pred_px, crop_box_xyxy, crop_size)
    g = to_crop_px(gt_px, crop_box_xyxy, crop_size)
    return _l2_per_joint(p, g, valid, min_visible)


def mean_over_frames(per_hand, frame_ids) -> float:
    """The authors' aggregation of MPJPE-like metrics: average the finite values of each frame's hands, then
    average over the frames that have one (``frame_ids``: (N,) hashable frame of each hand)."""
    vals = _np(per_hand).reshape(-1)
    frames: dict = {}
    for v, f in zip(vals, list(frame_ids), strict=True):
        if math.isfinite(v):
            frames.setdefault(f, []).append(v)
    return float(np.mean([np.mean(v) for v in frames.values()])) if frames else math.nan


def zero_biased_mean(per_hand, num_frames: int, hands_per_frame: int = 2) -> float:
    """The authors' PA-MPJPE aggregation, reproduced to compare with their tables: invalid hands count as 0
    and the sum is divided by ``hands_per_frame`` x frames, which biases it low by
    N_valid / (2 N_frames) compared with the mean over the valid hands."""
    vals = _np(per_hand).reshape(-1)
    if num_frames <= 0:
        return math.nan
    return float(np.where(np.isfinite(vals), vals, 0.0).sum() / (hands_per_frame * num_frames))


def jitter_mm_s2(joints_m, timestamps_s) -> float:
    """Mean acceleration magnitude of a joint sequence, mm/s².

    ``joints_m``: (T, J, 3) metres (or (T, 3)); ``timestamps_s``: (T,) increasing seconds, T ≥ 3. At each
    interior frame i, with h₋ = t_i − t_{i−1} and h₊ = t_{i+1} − t_i (non-uniform central difference, exact
    for quadratics): ``a_i = 2 [ (x_{i+1} − x_i)/h₊ − (x_i − x_{i−1})/h₋ ] / (h₋ + h₊)``;
    jitter = mean over i and joints of ||a_ij||₂ · 1000.
    """
    x, t = _np(joints_m), _np(timestamps_s).reshape(-1)
    if x.ndim == 2:
        x = x[:, None, :]
    if x.shape[0] != t.shape[0] or t.shape[0] < 3:
        raise ValueError(f"need T ≥ 3 frames and T timestamps, got {x.shape[0]} frames, {t.shape[0]} stamps")
    h = np.diff(t)
    if np.any(h <= 0):
        raise ValueError("timestamps must be strictly increasing")
    v = np.diff(x, axis=0) / h[:, None, None]  # (T-1, J, 3)
    a = 2.0 * np.diff(v, axis=0) / (h[:-1] + h[1:])[:, None, None]
    return float(np.linalg.norm(a, axis=-1).mean() * M_TO_MM)


def _fmt(v) -> str:
    return "-" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.2f}"


def format_results_table(
    results: Mapping[str, Mapping[str, float]], metrics: Sequence[str] | None = None
) -> str:
    """Plain-text table, one row per dataset (keys of ``results``), one column per metric (first-seen order
    unless ``metrics`` is given); values with 2 decimals, ``-`` where missing or NaN."""
    if metrics is None:
        metrics = list(dict.fromkeys(m for row in results.values() for m in row))
    header = ["dataset", *metrics]
    rows = [[name] + [_fmt(row.get(m)) for m in metrics] for name, row in results.items()]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(r: list[str]) -> str:
        cells = (c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True)))
        return "  ".join(cells)

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), sep, *(line(r) for r in rows)])


def results_to_json(results: Mapping[str, Mapping[str, float]]) -> str:
    """JSON text of ``{dataset: {metric: value}}``, NaN / inf written as null, keys kept in order."""
    clean = {
        d: {m: (None if v is None or not math.isfinite(float(v)) else float(v)) for m, v in row.items()}
        for d, row in results.items()
    }
    return json.dumps(clean, indent=2)
