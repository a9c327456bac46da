"""Collate prepared frames (``training.crops.TrainFrame``) into the network's inputs, label tensors and
has-label masks.

Inputs are exactly :meth:`wildhands_core.model.WildHands.forward`'s: ``images`` (F, 3, 224, 224) and
``crops`` (N, 3, 224, 224) ImageNet-normalised, ``frame_idx`` (N,) = the frame of each hand (hands of one
frame share its whole-image features), ``is_right`` (N,), ``boxes_224`` (N, 4) KPE boxes and ``K_224``
(N, 3, 3), all in the 224 frame. Labels (N = hands): ``pose_aa`` (N, 48) rad, ``betas`` (N, 10),
``transl_m`` (N, 3) metres, ``joints_cam_m`` (N, 21, 3) metres camera frame, ``joints3d_valid`` (N, 21),
``keypoints_224`` (N, 21, 2) 224-frame px, ``keypoints_valid`` (N, 21), ``mask`` (N, S, S) crop-frame
silhouette in [0, 1] with ``K_mask`` (N, 3, 3) and ``mask_valid`` (N, S, S) in [0, 1] (1 = the mask label is
known there: ``TrainHand.mask_valid_crop``; all ones for a mask without an ignore map), ``grasp`` (N,) long. A
missing label is zeros and False in ``has[name]`` (N,) bool. ``weights[term]`` (N,) = the loss weight of the
hand's dataset.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import torch

from training.config import LossWeights
from training.crops import TrainFrame
from wildhands_core.constants import NUM_BETAS, NUM_JOINTS, NUM_MANO_JOINTS
from wildhands_core.preprocess import normalize

__all__ = ["HAS_KEYS", "Batch", "collate_frames"]

#: Label groups a hand may or may not have.
HAS_KEYS = ("mano", "transl", "joints3d", "keypoints2d", "mask", "grasp")


@dataclass
class Batch:
    inputs: dict[str, torch.Tensor]
    labels: dict[str, torch.Tensor]
    has: dict[str, torch.Tensor]
    weights: dict[str, torch.Tensor]
    datasets: list[str] = field(default_factory=list)  # per hand
    num_frames: int = 0

    @property
    def num_hands(self) -> int:
        return int(self.inputs["frame_idx"].shape[0])

    def to(self, device: torch.device | str) -> Batch:
        def mv(d: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            return {k: v.to(device, non_blocking=True) for k, v in d.items()}

        return Batch(mv(self.inputs), mv(self.labels), mv(self.has), mv(self.weights), self.datasets,
                     self.num_frames)

    def pin_memory(self) -> Batch:
        def pin(d: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            return {k: v.pin_memory() for k, v in d.items()}

        return Batch(pin(self.inputs), pin(self.labels), pin(self.has), pin(self.weights), self.datasets,
                     self.num_frames)


def _stack(
    items: list[np.ndarray | None], shape: tuple[int, ...], dtype=np.float32
) -> tuple[np.ndarray, np.ndarray]:
    out = np.zeros((len(items), *shape), dtype=dtype)
    has = np.zeros(len(items), dtype=bool)
    for i, x in enumerate(items):
        if x is not None:
            out[i] = np.asarray(x, dtype=dtype).reshape(shape)
            has[i] = True
    return out, has


def collate_frames(
    frames: list[TrainFrame], weights: dict[str, LossWeights], mask_size: int = 56
) -> Batch:
    """Frames -> :class:`Batch`; ``weights`` maps a dataset name to its loss weights."""
    hands = [(fi, h) for fi, f in enumerate(frames) for h in f.hands]
    n = len(hands)
    samples = [h.sample for _, h in hands]
    inputs = {
        "images": torch.from_numpy(normalize(np.stack([f.whole_224 for f in frames]))),
        "crops": torch.from_numpy(normalize(np.concatenate([f.crops for f in frames]))),
        "frame_idx": torch.tensor([fi for fi, _ in hands], dtype=torch.long),
        "is_right": torch.tensor([bool(s.is_right) for s in samples], dtype=torch.bool),
        "boxes_224": torch.from_numpy(np.stack([h.kpe_box_224 for _, h in hands]).astype(np.float32)),
        "K_224": torch.from_numpy(np.stack([frames[fi].K_224 for fi, _ in hands]).astype(np.float32)),
    }
    pose, has_pose = _stack([s.mano_pose_aa for s in samples], (NUM_MANO_JOINTS * 3,))
    betas, has_betas = _stack([s.mano_betas for s in samples], (NUM_BETAS,))
    transl, has_transl = _stack([s.mano_transl_m for s in samples], (3,))
    j3d, has_j3d = _stack([s.joints_cam_m for s in samples], (NUM_JOINTS, 3))
    kp, has_kp = _stack([h.keypoints_224 for _, h in hands], (NUM_JOINTS, 2))
    mask, has_mask = _stack([h.mask_crop for _, h in hands], (mask_size, mask_size))
    valid = [
        h.mask_valid_crop if h.mask_valid_crop is not None or h.mask_crop is None
        else np.ones((mask_size, mask_size), np.float32)
        for _, h in hands
    ]
    mask_valid, _ = _stack(valid, (mask_size, mask_size))
    grasp = np.array([-1 if s.grasp_label is None else int(s.grasp_label) for s in samples], dtype=np.int64)
    j3v = np.stack([h.joints3d_valid for _, h in hands]) & has_j3d[:, None]
    kpv = np.stack([h.keypoints_valid for _, h in hands]) & has_kp[:, None]
    labels = {
        # the squares the crops were cut from (224 frame): the crop frame of kp2d and the debug overlay;
        # inputs["boxes_224"] are the KPE boxes (clipped to the image in the release convention)
        "crop_boxes_224": torch.from_numpy(np.stack([h.crop_box_224 for _, h in hands]).astype(np.float32)),
        "pose_aa": torch.from_numpy(pose),
        "betas": torch.from_numpy(betas),
        "transl_m": torch.from_numpy(transl),
        "joints_cam_m": torch.from_numpy(j3d),
        "joints3d_valid": torch.from_numpy(j3v),
        "keypoints_224": torch.from_numpy(kp),
        "keypoints_valid": torch.from_numpy(kpv),
        "mask": torch.from_numpy(mask),
        "mask_valid": torch.from_numpy(mask_valid),
        "K_mask": torch.from_numpy(np.stack([h.K_mask for _, h in hands]).astype(np.float32)),
        "grasp": torch.from_numpy(np.maximum(grasp, 0)),
    }
    has = {
        "mano": torch.from_numpy(has_pose & has_betas),
        "transl": torch.from_numpy(has_transl & has_pose & has_betas),
        "joints3d": torch.from_numpy(j3v.sum(axis=1) > 0),
        "keypoints2d": torch.from_numpy(kpv.sum(axis=1) > 0),
        "mask": torch.from_numpy(has_mask),
        "grasp": torch.from_numpy(grasp >= 0),
    }
    names = [f.name for f in dataclasses.fields(LossWeights)]
    per_hand = [weights[s.dataset] for s in samples]
    w = {k: torch.tensor([getattr(pw, k) for pw in per_hand], dtype=torch.float32).reshape(n) for k in names}
    return Batch(inputs, labels, has, w, [s.dataset for s in samples], len(frames))
