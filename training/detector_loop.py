"""Detector optimisation: settings, learning-rate schedule (linear warm-up, cosine decay) and the training
loop that checkpoints the torchvision detector."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from training.detector_data import DetectorAugmentConfig, DetectorTrainDataset, collate_detection_batch
from wildhands_core.detection.learned import (
    DetectorModelConfig,
    build_detector_model,
    load_detector_checkpoint,
    save_detector_checkpoint,
)


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


def make_optimizer(params: list[torch.nn.Parameter], cfg: DetectorTrainConfig) -> torch.optim.Optimizer:
    """AdamW (``"adam"``) or SGD with momentum 0.9 (``"sgd"``) at ``cfg.lr`` with ``cfg.weight_decay``."""
    if cfg.optimizer == "adam":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    raise ValueError(f"optimizer must be 'adam' or 'sgd', got {cfg.optimizer!r}")


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
        model = build_detector_model(model_cfg, imagenet_backbone=True)
    model.to(device).train()
    data = DetectorTrainDataset(frames, model_cfg.input_wh, augment if augment is not None else
                                DetectorAugmentConfig())
    loader = DataLoader(
        data, batch_size=train_cfg.batch_size, shuffle=True, drop_last=len(data) >= train_cfg.batch_size,
        num_workers=train_cfg.num_workers, collate_fn=collate_detection_batch,
        persistent_workers=train_cfg.num_workers > 0,
        generator=torch.Generator().manual_seed(train_cfg.seed),
    )
    params = [p for p in model.parameters() if p.requires_grad]
    opt = make_optimizer(params, train_cfg)
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

