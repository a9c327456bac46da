"""Synthetic egocentric hands written by ``wildhands-synth`` (``wildhands_synth.generate``, format versions
1 and 2).

One sample per present hand per frame (``labels.npz["present"]``), right hand before left. Every label is
exact: 3D joints (camera frame, metres), 2D keypoints with visibility, MANO pose/shape/translation
(``joints_cam_m = MANO(pose_aa, betas).joints + transl_m``), the hand's visible mask and a grasp class.
The box is the tight box of the visible mask (pixel extents), grown by ``box_pad`` (fraction of its size)
on each side; ``extra`` holds the amodal box, the pose family index and the frame index.

``mask_ignore`` marks the pixels of every OTHER non-background label of the mask image (the other hand;
from version 2 on also the occluder objects, value 3): there this hand may lie hidden, so its visible mask
says nothing. Version 1 wrote occluders as background, so its ignore map holds the other hand only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from training.datasets.base import DatasetFileError, DatasetFormatError, HandDataset, load_rgb
from training.sample import HandSample

SUPPORTED_VERSIONS = (1, 2)


@dataclass
class _SynthRecord:
    frame: int
    slot: int  # 0 right, 1 left


class SyntheticHandsDataset(HandDataset):
    """Adapter for a ``wildhands-synth`` output directory ``root`` (meta.json, images/, masks/,
    labels.npz)."""

    name = "synthetic"

    def __init__(self, root: str | Path, box_pad: float = 0.0) -> None:
        super().__init__(root)
        meta_path = self.root / "meta.json"
        labels_path = self.root / "labels.npz"
        for path in (meta_path, labels_path):
            if not path.is_file():
                raise DatasetFileError(f"synthetic dataset file not found: {path}")
        self.meta = json.loads(meta_path.read_text())
        if self.meta.get("format") != "wildhands-synth" or self.meta.get("version") not in SUPPORTED_VERSIONS:
            raise DatasetFormatError(
                f"{meta_path}: expected format 'wildhands-synth' version in {SUPPORTED_VERSIONS}, got "
                f"{self.meta.get('format')!r} version {self.meta.get('version')!r}"
            )
        with np.load(labels_path) as npz:
            self.labels = {k: npz[k] for k in npz.files}
        self.box_pad = box_pad
        self.image_ext = self.meta.get("image_ext", ".jpg")
        self.mask_values = self.meta["mask_values"]
        present = self.labels["present"]
        self._records = [
            _SynthRecord(int(i), int(s)) for i in range(present.shape[0]) for s in (0, 1) if present[i, s]
        ]

    def _load(self, record: _SynthRecord) -> HandSample:
        i, s = record.frame, record.slot
        lab = self.labels
        stem = f"{i:06d}"
        image = load_rgb(self.root / "images" / f"{stem}{self.image_ext}")
        mask_path = self.root / "masks" / f"{stem}.png"
        mask_all = cv2.imread(str(mask_path), cv2.IMREAD_UNCHANGED)
        if mask_all is None:
            raise DatasetFileError(f"synthetic mask not found or unreadable: {mask_path}")
        value = self.mask_values["right" if s == 0 else "left"]
        background = self.mask_values.get("background", 0)
        box = lab["box_xyxy_px"][i, s].astype(np.float64)
        if self.box_pad:
            dx, dy = (box[2] - box[0]) * self.box_pad, (box[3] - box[1]) * self.box_pad
            box = box + np.array([-dx, -dy, dx, dy])
        return HandSample(
            image=image,
            K_px=lab["K_px"][i].astype(np.float64),
            box_xyxy_px=box,
            is_right=bool(lab["is_right"][i, s]),
            dataset=self.name,
            frame_id=stem,
            joints_cam_m=lab["joints_cam_m"][i, s].astype(np.float32),
            keypoints_px=lab["keypoints_px"][i, s].astype(np.float32),
            keypoints_valid=lab["keypoints_visible"][i, s].astype(bool),
            mano_pose_aa=lab["pose_aa"][i, s].astype(np.float32),
            mano_betas=lab["betas"][i, s].astype(np.float32),
            mano_transl_m=lab["transl_m"][i, s].astype(np.float32),
            mask=(mask_all == value).astype(np.uint8),
            mask_ignore=((mask_all != value) & (mask_all != background)).astype(np.uint8),
            grasp_label=int(lab["grasp_label"][i, s]),
            extra={
                "box_amodal_xyxy_px": lab["box_amodal_xyxy_px"][i, s].astype(np.float64),
                "family": int(lab["family"][i, s]),
                "frame_index": i,
            },
        )
