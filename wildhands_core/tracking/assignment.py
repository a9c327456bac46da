"""Detection-to-track assignment: a gated cost from IoU, centre distance and handedness, solved by
the Hungarian method (scipy.optimize.linear_sum_assignment)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from wildhands_core.detection.base import HandDetection, box_iou_xyxy

_FORBIDDEN = 1e6


def association_cost(
    track_boxes: np.ndarray,
    track_is_right: Sequence[bool],
    detections: Sequence[HandDetection],
    iou_gate: float,
    centre_gate: float,
    centre_weight: float,
    handedness_weight: float,
    min_iou: Sequence[float] | None = None,
) -> np.ndarray:
    """(T, D) cost; pairs outside both gates cost ``1e6`` (never assigned), as do pairs whose IoU is under
    the detection's ``min_iou`` (D,) when given (a stricter gate for some detections, e.g. low scores).

    cost = (1 - IoU) + centre_weight * d / s + handedness_weight * [side differs], with d the distance of
    the box centres (px) and s the longest side of the track's predicted box (px).
    """
    tb = np.asarray(track_boxes, dtype=np.float64).reshape(-1, 4)
    if len(tb) == 0 or len(detections) == 0:
        return np.zeros((len(tb), len(detections)))
    db = np.stack([d.box_xyxy_px for d in detections])
    iou = box_iou_xyxy(tb, db)
    tc = 0.5 * (tb[:, :2] + tb[:, 2:])
    dc = 0.5 * (db[:, :2] + db[:, 2:])
    side = np.maximum(np.max(tb[:, 2:] - tb[:, :2], axis=1), 1.0)
    dist = np.linalg.norm(tc[:, None, :] - dc[None, :, :], axis=-1) / side[:, None]
    det_right = np.array([d.is_right for d in detections], dtype=bool)
    mismatch = np.array(track_is_right, dtype=bool)[:, None] != det_right[None, :]
    cost = (1.0 - iou) + centre_weight * dist + handedness_weight * mismatch
    allowed = (iou >= iou_gate) | (dist <= centre_gate)
    if min_iou is not None:
        allowed &= iou >= np.asarray(min_iou, dtype=np.float64)[None, :]
    return np.where(allowed, cost, _FORBIDDEN)


def assign(cost: np.ndarray) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Minimum-cost matching; returns (matches (track, detection), unmatched tracks, unmatched detections)."""
    n_t, n_d = cost.shape
    matches: list[tuple[int, int]] = []
    if n_t and n_d:
        rows, cols = linear_sum_assignment(cost)
        matches = [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if cost[r, c] < _FORBIDDEN]
    mt = {m[0] for m in matches}
    md = {m[1] for m in matches}
    return matches, [t for t in range(n_t) if t not in mt], [d for d in range(n_d) if d not in md]
