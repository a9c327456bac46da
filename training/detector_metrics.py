"""Detector evaluation: hand AP@0.5 (side ignored), per-side AP@0.5 (side must match), best F1,
precision/recall at a score threshold and the handedness accuracy of the matched hands. Boxes are wildhands
pixels, xyxy."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from torch.utils.data import Dataset

from wildhands_core.detection.base import HandDetection, box_iou_xyxy
from wildhands_core.detection.learned import LearnedHandDetector


def average_precision(scores: np.ndarray, is_tp: np.ndarray, num_gt: int) -> float:
    """All-point interpolated AP (PASCAL VOC 2010+) of detections (scores, true-positive flags)."""
    if num_gt == 0:
        return float("nan")
    order = np.argsort(-np.asarray(scores), kind="stable")
    tp = np.asarray(is_tp, dtype=np.float64)[order]
    ctp, cfp = np.cumsum(tp), np.cumsum(1.0 - tp)
    recall = np.concatenate([[0.0], ctp / num_gt, [ctp[-1] / num_gt if len(tp) else 0.0]])
    precision = np.concatenate([[1.0], ctp / np.maximum(ctp + cfp, 1e-12), [0.0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    return float(np.sum((recall[1:] - recall[:-1]) * precision[1:]))


def best_f1(scores: np.ndarray, is_tp: np.ndarray, num_gt: int) -> tuple[float, float]:
    """(highest F1 over score thresholds, the threshold giving it) of side-agnostic detections."""
    if num_gt == 0 or len(scores) == 0:
        return 0.0, 1.0
    order = np.argsort(-np.asarray(scores), kind="stable")
    tp = np.cumsum(np.asarray(is_tp, dtype=np.float64)[order])
    f1 = 2 * tp / (np.arange(1, len(tp) + 1) + num_gt)  # 2 TP / (detections + ground truths)
    k = int(np.argmax(f1))
    return float(f1[k]), float(np.asarray(scores)[order][k])


def _match(
    preds: Sequence[HandDetection], gt_boxes: np.ndarray, gt_right: np.ndarray, iou_thr: float, side: bool
) -> tuple[list[bool], list[int]]:
    """Greedy matching by decreasing score; returns (is_tp per pred, matched gt index or -1)."""
    order = sorted(range(len(preds)), key=lambda k: -preds[k].score)
    used = np.zeros(len(gt_boxes), dtype=bool)
    tp, match = [False] * len(preds), [-1] * len(preds)
    if len(preds) == 0 or len(gt_boxes) == 0:
        return tp, match
    iou = box_iou_xyxy(np.stack([p.box_xyxy_px for p in preds]), gt_boxes)
    for k in order:
        cand = iou[k].copy()
        cand[used] = -1.0
        if side:
            cand[gt_right != preds[k].is_right] = -1.0
        j = int(np.argmax(cand))
        if cand[j] >= iou_thr:
            used[j], tp[k], match[k] = True, True, j
    return tp, match


def match_detections(
    preds: Sequence[HandDetection], gt_boxes: np.ndarray, gt_right: np.ndarray, iou_threshold: float = 0.5,
    side: bool = False,
) -> tuple[list[bool], list[int]]:
    """Greedy matching of one frame's detections to its true boxes by decreasing score (each true box
    once; ``side``: only to a box of the same side); returns (is_tp per detection, matched index or -1)."""
    gt_boxes = np.asarray(gt_boxes, dtype=np.float64).reshape(-1, 4)
    gt_right = np.asarray(gt_right, dtype=bool).reshape(-1)
    return _match(preds, gt_boxes, gt_right, iou_threshold, side)


def evaluate_detections(
    preds: Sequence[Sequence[HandDetection]],
    gts: Sequence[tuple[np.ndarray, np.ndarray]],
    score_threshold: float = 0.5,
    iou_threshold: float = 0.5,
) -> dict[str, float]:
    """Detection quality over frames. ``preds[i]``: detections of frame i (all scores, for AP); ``gts[i]``:
    (boxes (M, 4), is_right (M,)). Returns ``ap50_hand`` (side ignored), ``ap50_left``, ``ap50_right``,
    ``map50_side`` (their mean), ``best_f1`` (side ignored) and its ``best_f1_threshold``, and at
    ``score_threshold``: ``precision``, ``recall``, ``fp_per_frame`` (detections matching no true hand, per
    frame), ``handedness_accuracy`` (matched hands whose side is right, side-agnostic matching), counts."""
    out: dict[str, float] = {}
    scores_all, tp_all = [], []
    side_scores: dict[bool, list[float]] = {False: [], True: []}
    side_tp: dict[bool, list[bool]] = {False: [], True: []}
    n_gt, n_gt_side = 0, {False: 0, True: 0}
    tp_thr = fp_thr = side_ok = 0
    for frame_preds, (gt_boxes, gt_right) in zip(preds, gts, strict=True):
        gt_boxes = np.asarray(gt_boxes, dtype=np.float64).reshape(-1, 4)
        gt_right = np.asarray(gt_right, dtype=bool).reshape(-1)
        n_gt += len(gt_boxes)
        tp, _ = _match(frame_preds, gt_boxes, gt_right, iou_threshold, side=False)
        scores_all += [p.score for p in frame_preds]
        tp_all += tp
        for s in (False, True):
            sp = [p for p in frame_preds if p.is_right == s]
            stp, _ = _match(sp, gt_boxes[gt_right == s], gt_right[gt_right == s], iou_threshold, side=True)
            side_scores[s] += [p.score for p in sp]
            side_tp[s] += stp
            n_gt_side[s] += int(np.sum(gt_right == s))
        kept = [p for p in frame_preds if p.score >= score_threshold]
        ktp, kmatch = _match(kept, gt_boxes, gt_right, iou_threshold, side=False)
        tp_thr += sum(ktp)
        fp_thr += len(kept) - sum(ktp)
        side_ok += sum(1 for p, j in zip(kept, kmatch, strict=True) if j >= 0 and gt_right[j] == p.is_right)
    out["ap50_hand"] = average_precision(np.array(scores_all), np.array(tp_all, dtype=bool), n_gt)
    for s, name in ((False, "ap50_left"), (True, "ap50_right")):
        out[name] = average_precision(np.array(side_scores[s]), np.array(side_tp[s]), n_gt_side[s])
    out["map50_side"] = float(np.nanmean([out["ap50_left"], out["ap50_right"]]))
    scores_np, tp_np = np.array(scores_all), np.array(tp_all, dtype=bool)
    out["best_f1"], out["best_f1_threshold"] = best_f1(scores_np, tp_np, n_gt)
    out["precision"] = tp_thr / max(tp_thr + fp_thr, 1)
    out["recall"] = tp_thr / max(n_gt, 1)
    out["fp_per_frame"] = fp_thr / max(len(gts), 1)
    out["handedness_accuracy"] = side_ok / max(tp_thr, 1)
    out["num_gt"] = float(n_gt)
    out["num_frames"] = float(len(gts))
    return out


def evaluate_detector(
    detector: LearnedHandDetector, frames: Dataset, score_threshold: float = 0.5, progress: bool = False
) -> dict[str, float]:
    """Run ``detector`` (its own threshold is lowered to 0.05 for AP, then restored) on every frame."""
    from tqdm import tqdm

    saved = detector.score_threshold
    detector.score_threshold = min(saved, 0.05)
    preds, gts = [], []
    try:
        for i in tqdm(range(len(frames)), disable=not progress, desc="eval", unit="frame"):  # type: ignore
            f = frames[i]
            preds.append(detector.detect(f.image))
            gts.append((f.boxes_xyxy_px, f.is_right))
    finally:
        detector.score_threshold = saved
    return evaluate_detections(preds, gts, score_threshold)
