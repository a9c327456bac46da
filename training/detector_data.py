"""Detector training data: frames of labelled hands (``DetectionFrame``) from ``wildhands-synth`` directories
or any ``HandSample`` adapter, their augmentation (flips SWAP left and right, crop-and-zoom, colour jitter)
and the torchvision targets.

Boxes are wildhands pixels (centre of the top-left pixel at (0, 0)), xyxy; targets given to the torchvision
network are converted to its convention (+0.5 px).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from wildhands_core.detection.learned import LABEL_LEFT, LABEL_RIGHT, TV_TO_WILDHANDS_PX


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


def collate_detection_batch(batch: list) -> tuple[list[torch.Tensor], list[dict[str, torch.Tensor]]]:
    """(images, targets) lists of a batch of ``DetectorTrainDataset`` items (torchvision detection input)."""
    return [b[0] for b in batch], [b[1] for b in batch]
