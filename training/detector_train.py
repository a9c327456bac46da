"""``wildhands-train-detector``: train the built-in hand detector (``wildhands_core.detection.learned``).

    wildhands-train-detector --data DIR [--data DIR2] --out CKPT --steps N [--val-data DIR] [--size WxH]
        [--dataset NAME=ROOT] [--batch-size B] [--lr LR] [--optimizer adam|sgd] [--max-minutes M]
    wildhands-train-detector --eval-only --init CKPT --val-data DIR [--threshold T]

Training frames come from ``wildhands-synth`` directories (``--data``, read frame by frame from
``labels.npz``: every present hand of a frame is a target) and from any registered ``HandSample`` adapter
(``--dataset NAME=ROOT``, ``training.datasets.DATASETS``; its samples are grouped into frames by
``(dataset, frame_id)``, which reads every image once at start-up; hands a dataset does not label become
background). Boxes are wildhands pixels (centre of the top-left pixel at (0, 0)); targets given to the
torchvision network are converted to its convention (+0.5 px).

Augmentation (``DetectorAugmentConfig``): horizontal flip that SWAPS left and right labels (a mirrored right
hand looks like a left hand), random crop-and-zoom, colour jitter (torchvision ``ColorJitter``). Every image
is resized to the network input size in the loader. Evaluation (``evaluate_detector``): hand AP@0.5
(side ignored), mean per-side AP@0.5 (side must match), precision/recall at the detector's threshold and
handedness accuracy of the matched hands.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from wildhands_core.detection.base import HandDetection, box_iou_xyxy
from wildhands_core.detection.learned import (
    ARCHITECTURES,
    LABEL_LEFT,
    LABEL_RIGHT,
    TV_TO_WILDHANDS_PX,
    DetectorModelConfig,
    LearnedHandDetector,
    build_detector_model,
    load_detector_checkpoint,
    save_detector_checkpoint,
)


@dataclass
class DetectionFrame:
    """One image and all its labelled hands: boxes (M, 4) wildhands pixels xyxy, is_right (M,) bool."""

    image: np.ndarray
    boxes_xyxy_px: np.ndarray
    is_right: np.ndarray


class SyntheticDetectionFrames(Dataset):
    """Frames of a ``wildhands-synth`` directory (format of ``wildhands_synth.generate``) with every present
    hand's visible-mask box (``box_xyxy_px``, already wildhands pixel extents)."""

    def __init__(self, root: str | Path, max_frames: int | None = None) -> None:
        self.root = Path(root)
        meta = json.loads((self.root / "meta.json").read_text())
        if meta.get("format") != "wildhands-synth":
            raise ValueError(f"{self.root}/meta.json: not a wildhands-synth directory")
        self.image_ext = meta.get("image_ext", ".jpg")
        with np.load(self.root / "labels.npz") as npz:
            self.present = npz["present"].astype(bool)
            self.boxes = npz["box_xyxy_px"].astype(np.float64)
            self.sides = npz["is_right"].astype(bool)
        n = len(self.present)
        self.count = n if max_frames is None else min(n, int(max_frames))

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, i: int) -> DetectionFrame:
        path = self.root / "images" / f"{i:06d}{self.image_ext}"
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise FileNotFoundError(f"synthetic image not found or unreadable: {path}")
        keep = self.present[i]
        return DetectionFrame(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), self.boxes[i][keep], self.sides[i][keep])


class HandSampleFrames(Dataset):
    """Frames built from any dataset of ``HandSample`` (one hand per sample), grouped by
    ``(sample.dataset, sample.frame_id)``. Builds its index by reading every sample once."""

    def __init__(self, samples: Dataset) -> None:
        self.samples = samples
        groups: dict[tuple[str, str], list[tuple[int, np.ndarray, bool]]] = defaultdict(list)
        for idx in range(len(samples)):  # type: ignore[arg-type]
            s = samples[idx]
            groups[(s.dataset, s.frame_id or str(idx))].append(
                (idx, np.asarray(s.box_xyxy_px, dtype=np.float64).reshape(4), bool(s.is_right))
            )
        self.groups = list(groups.values())

    def __len__(self) -> int:
        return len(self.groups)

    def __getitem__(self, i: int) -> DetectionFrame:
        group = self.groups[i]
        image = self.samples[group[0][0]].image
        return DetectionFrame(image, np.stack([g[1] for g in group]), np.array([g[2] for g in group]))


@dataclass
class DetectorAugmentConfig:
    """Training augmentation (this project's choice, not from the WildHands paper)."""

    flip_prob: float = 0.5
    crop_prob: float = 0.5
    #: the crop's side lengths are at least this fraction of the image's.
    min_crop_scale: float = 0.6
    #: a box keeps at least this fraction of its area inside the crop, else it is dropped.
    min_visible_fraction: float = 0.4
    brightness: float = 0.3
    contrast: float = 0.3
    saturation: float = 0.3
    hue: float = 0.04
    #: boxes narrower or lower than this (network-input pixels) are dropped.
    min_box_px: float = 2.0


def hflip_frame(frame: DetectionFrame) -> DetectionFrame:
    """Mirror left-right: x -> (W - 1) - x in wildhands pixels, and swap left/right labels."""
    w = frame.image.shape[1]
    boxes = frame.boxes_xyxy_px.copy()
    boxes[:, [0, 2]] = (w - 1) - frame.boxes_xyxy_px[:, [2, 0]]
    return DetectionFrame(np.ascontiguousarray(frame.image[:, ::-1]), boxes, ~frame.is_right)


def crop_frame(
    frame: DetectionFrame, x0: int, y0: int, x1: int, y1: int, min_visible: float
) -> DetectionFrame:
    """Pixels [x0, x1) x [y0, y1); boxes shifted, clipped to the crop's pixel extents, dropped when less than
    ``min_visible`` of their area stays inside."""
    boxes = frame.boxes_xyxy_px - np.array([x0, y0, x0, y0], dtype=np.float64)
    lo = np.array([-0.5, -0.5])
    hi = np.array([x1 - x0 - 0.5, y1 - y0 - 0.5])
    clipped = np.concatenate([np.clip(boxes[:, :2], lo, hi), np.clip(boxes[:, 2:], lo, hi)], axis=1)
    area = np.prod(np.clip(boxes[:, 2:] - boxes[:, :2], 0, None), axis=1)
    area_in = np.prod(np.clip(clipped[:, 2:] - clipped[:, :2], 0, None), axis=1)
    keep = area_in >= min_visible * np.maximum(area, 1e-9)
    return DetectionFrame(frame.image[y0:y1, x0:x1], clipped[keep], frame.is_right[keep])


def resize_frame(frame: DetectionFrame, width: int, height: int) -> DetectionFrame:
    """Resize to (width, height); pixel extents scale about the image edge (-0.5)."""
    h, w = frame.image.shape[:2]
    sx, sy = width / w, height / h
    interp = cv2.INTER_AREA if sx < 1 else cv2.INTER_LINEAR
    image = cv2.resize(frame.image, (width, height), interpolation=interp)
    scale = np.array([sx, sy, sx, sy])
    boxes = (frame.boxes_xyxy_px + 0.5) * scale - 0.5
    return DetectionFrame(image, boxes, frame.is_right)


class DetectorTrainDataset(Dataset):
    """(image (3, H, W) float in [0, 1] at the network input size, torchvision target dict) pairs."""

    def __init__(
        self, frames: Dataset, input_wh: tuple[int, int], augment: DetectorAugmentConfig | None
    ) -> None:
        from torchvision.transforms import v2

        self.frames = frames
        self.input_wh = input_wh
        self.augment = augment
        self.jitter = (
            v2.ColorJitter(augment.brightness, augment.contrast, augment.saturation, augment.hue)
            if augment is not None
            else None
        )

    def __len__(self) -> int:
        return len(self.frames)  # type: ignore[arg-type]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        frame = self.frames[i]
        aug = self.augment
        if aug is not None:
            rng = np.random.default_rng()
            if rng.random() < aug.flip_prob:
                frame = hflip_frame(frame)
            if rng.random() < aug.crop_prob:
                h, w = frame.image.shape[:2]
                cw = round(w * rng.uniform(aug.min_crop_scale, 1.0))
                ch = round(h * rng.uniform(aug.min_crop_scale, 1.0))
                x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
                frame = crop_frame(frame, x0, y0, x0 + cw, y0 + ch, aug.min_visible_fraction)
        frame = resize_frame(frame, *self.input_wh)
        image = torch.from_numpy(np.ascontiguousarray(frame.image)).permute(2, 0, 1)
        if self.jitter is not None:
            image = self.jitter(image)
        boxes = frame.boxes_xyxy_px - TV_TO_WILDHANDS_PX  # -> torchvision convention
        min_px = aug.min_box_px if aug is not None else 1.0
        keep = np.all(boxes[:, 2:] - boxes[:, :2] >= min_px, axis=1)
        labels = np.where(frame.is_right[keep], LABEL_RIGHT, LABEL_LEFT)
        target = {
            "boxes": torch.as_tensor(boxes[keep], dtype=torch.float32).reshape(-1, 4),
            "labels": torch.as_tensor(labels, dtype=torch.int64),
        }
        return image.to(torch.float32) / 255.0, target


def _collate(batch: list) -> tuple[list[torch.Tensor], list[dict[str, torch.Tensor]]]:
    return [b[0] for b in batch], [b[1] for b in batch]


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


def evaluate_detections(
    preds: Sequence[Sequence[HandDetection]],
    gts: Sequence[tuple[np.ndarray, np.ndarray]],
    score_threshold: float = 0.5,
    iou_threshold: float = 0.5,
) -> dict[str, float]:
    """Detection quality over frames. ``preds[i]``: detections of frame i (all scores, for AP); ``gts[i]``:
    (boxes (M, 4), is_right (M,)). Returns ``ap50_hand`` (side ignored), ``ap50_left``, ``ap50_right``,
    ``map50_side`` (their mean), ``best_f1`` (side ignored) and its ``best_f1_threshold``, and at
    ``score_threshold``: ``precision``, ``recall``, ``handedness_accuracy`` (matched hands whose side is
    right, side-agnostic matching), counts."""
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


@dataclass
class DetectorTrainConfig:
    """Optimisation settings (this project's, not the paper's: WildHands takes boxes from elsewhere)."""

    steps: int = 2000
    batch_size: int = 8
    optimizer: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    #: the learning rate decays with a cosine to ``final_lr_fraction * lr``.
    final_lr_fraction: float = 0.05
    grad_clip_norm: float = 10.0
    num_workers: int = 1
    checkpoint_every: int = 500
    max_minutes: float | None = None
    seed: int = 0


def lr_at(step: int, cfg: DetectorTrainConfig) -> float:
    """Linear warm-up then cosine decay."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    t = (step - cfg.warmup_steps) / max(cfg.steps - cfg.warmup_steps, 1)
    f = cfg.final_lr_fraction
    return cfg.lr * (f + (1 - f) * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))


def train_detector(
    frames: Dataset,
    out: str | Path,
    model_cfg: DetectorModelConfig,
    train_cfg: DetectorTrainConfig,
    augment: DetectorAugmentConfig | None = None,
    device: str = "cpu",
    init_checkpoint: str | Path | None = None,
    progress: bool = True,
) -> tuple[torch.nn.Module, dict]:
    """Train on ``frames`` (a Dataset of ``DetectionFrame``), checkpointing to ``out``; returns (model in
    eval mode, meta written into the checkpoint)."""
    from tqdm import tqdm

    torch.manual_seed(train_cfg.seed)
    if init_checkpoint is not None:
        model, model_cfg, _ = load_detector_checkpoint(init_checkpoint, device)
    else:
        model = build_detector_model(model_cfg)
    model.to(device).train()
    data = DetectorTrainDataset(frames, model_cfg.input_wh, augment if augment is not None else
                                DetectorAugmentConfig())
    loader = DataLoader(
        data, batch_size=train_cfg.batch_size, shuffle=True, drop_last=len(data) >= train_cfg.batch_size,
        num_workers=train_cfg.num_workers, collate_fn=_collate, persistent_workers=train_cfg.num_workers > 0,
        generator=torch.Generator().manual_seed(train_cfg.seed),
    )
    params = [p for p in model.parameters() if p.requires_grad]
    if train_cfg.optimizer == "adam":
        opt: torch.optim.Optimizer = torch.optim.AdamW(
            params, lr=train_cfg.lr, weight_decay=train_cfg.weight_decay
        )
    elif train_cfg.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=train_cfg.lr, momentum=0.9, weight_decay=train_cfg.weight_decay)
    else:
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {train_cfg.optimizer!r}")
    t0 = time.monotonic()
    step, losses = 0, []
    meta: dict = {"train": asdict(train_cfg), "frames": len(data)}
    bar = tqdm(total=train_cfg.steps, disable=not progress, desc="train-detector", unit="step")
    stop = False
    while not stop:
        for images, targets in loader:
            for g in opt.param_groups:
                g["lr"] = lr_at(step, train_cfg)
            images = [im.to(device) for im in images]
            targets = [{k: v.to(device) for k, v in t.items()} for t in targets]
            loss_dict = model(images, targets)
            loss = sum(loss_dict.values())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, train_cfg.grad_clip_norm)
            opt.step()
            losses.append(float(loss.detach()))
            step += 1
            bar.update(1)
            bar.set_postfix({k: f"{float(v.detach()):.3f}" for k, v in loss_dict.items()})
            elapsed_min = (time.monotonic() - t0) / 60.0
            out_of_time = train_cfg.max_minutes is not None and elapsed_min >= train_cfg.max_minutes
            if step % train_cfg.checkpoint_every == 0 or step >= train_cfg.steps or out_of_time:
                meta.update(step=step, loss_last100=float(np.mean(losses[-100:])), minutes=elapsed_min)
                save_detector_checkpoint(out, model, model_cfg, meta)
            if step >= train_cfg.steps or out_of_time:
                stop = True
                break
    bar.close()
    model.eval()
    return model, meta


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 320x240, got {text!r}") from None
    return w, h


def build_parser() -> argparse.ArgumentParser:
    d, m = DetectorTrainConfig(), DetectorModelConfig()
    p = argparse.ArgumentParser(prog="wildhands-train-detector", description=__doc__.split("\n")[0])
    p.add_argument("--data", action="append", default=[], type=Path, help="wildhands-synth dir (repeat)")
    p.add_argument("--dataset", action="append", default=[], metavar="NAME=ROOT",
                   help="a registered HandSample adapter (training.datasets.DATASETS) and its root (repeat)")
    p.add_argument("--out", type=Path, default=None, help="checkpoint file to write (required to train)")
    p.add_argument("--steps", type=int, default=d.steps)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--optimizer", choices=("adam", "sgd"), default=d.optimizer)
    p.add_argument("--arch", choices=ARCHITECTURES, default=m.arch)
    p.add_argument("--size", type=_size, default=m.input_wh, help="network input WxH pixels (320x240)")
    p.add_argument("--workers", type=int, default=d.num_workers, help="data-loader processes")
    p.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every)
    p.add_argument("--max-minutes", type=float, default=None, help="stop (and save) after this wall time")
    p.add_argument("--init", type=Path, default=None, help="start from this detector checkpoint")
    p.add_argument("--no-augment", action="store_true")
    p.add_argument("--eval-only", action="store_true", help="evaluate --init on --val-data, no training")
    p.add_argument("--threshold", type=float, default=0.5, help="score threshold of precision/recall")
    p.add_argument("--val-data", type=Path, default=None, help="wildhands-synth directory to evaluate on")
    p.add_argument("--val-frames", type=int, default=None, help="evaluate on the first N frames only")
    p.add_argument("--onnx", type=Path, default=None, help="also export the trained detector to this .onnx")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.eval_only:
        if args.init is None or args.val_data is None:
            print("--eval-only needs --init CKPT and --val-data DIR", file=sys.stderr)
            return 2
        det = LearnedHandDetector(args.init, device=args.device)
        frames = SyntheticDetectionFrames(args.val_data, args.val_frames)
        print(json.dumps(evaluate_detector(det, frames, args.threshold, progress=not args.quiet), indent=2))
        return 0
    if args.out is None:
        print("--out CKPT is required to train", file=sys.stderr)
        return 2
    sources: list[Dataset] = [SyntheticDetectionFrames(root) for root in args.data]
    for spec in args.dataset:
        name, _, root = spec.partition("=")
        if not root:
            print(f"--dataset expects NAME=ROOT, got {spec!r}", file=sys.stderr)
            return 2
        from training.datasets import build_dataset

        sources.append(HandSampleFrames(build_dataset(name, root=root)))
    if not sources:
        print("no training data: give --data and/or --dataset", file=sys.stderr)
        return 2
    frames: Dataset = sources[0] if len(sources) == 1 else torch.utils.data.ConcatDataset(sources)
    model_cfg = DetectorModelConfig(arch=args.arch, input_wh=args.size)
    train_cfg = DetectorTrainConfig(
        steps=args.steps, batch_size=args.batch_size, optimizer=args.optimizer, lr=args.lr,
        num_workers=args.workers, checkpoint_every=args.checkpoint_every, max_minutes=args.max_minutes,
        seed=args.seed, warmup_steps=min(DetectorTrainConfig.warmup_steps, max(args.steps // 10, 1)),
    )
    augment = None if args.no_augment else DetectorAugmentConfig()
    if args.no_augment:
        augment = DetectorAugmentConfig(flip_prob=0.0, crop_prob=0.0, brightness=0.0, contrast=0.0,
                                        saturation=0.0, hue=0.0)
    model, meta = train_detector(frames, args.out, model_cfg, train_cfg, augment, args.device, args.init,
                                 progress=not args.quiet)
    result = {"checkpoint": str(args.out), "steps": meta["step"], "minutes": round(meta["minutes"], 2),
              "loss_last100": meta["loss_last100"]}
    if args.val_data is not None:
        det = LearnedHandDetector.from_model(model, model_cfg, device=args.device)
        metrics = evaluate_detector(det, SyntheticDetectionFrames(args.val_data, args.val_frames),
                                    args.threshold, progress=not args.quiet)
        meta["val"] = metrics
        save_detector_checkpoint(args.out, model, model_cfg, meta)
        result["val"] = metrics
    if args.onnx is not None:
        from wildhands_core.detection.learned import export_detector_onnx

        export_detector_onnx(model.cpu(), args.onnx, model_cfg)
        result["onnx"] = str(args.onnx)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
