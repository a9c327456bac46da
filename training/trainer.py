"""The training loop: mixed-dataset batches, Adam, mixed precision (CUDA), DDP, exact resume, logging.

    trainer = Trainer(load_train_config("training/configs/train_synthetic_small.yaml"))
    history = trainer.fit()          # list of {step, loss, <term>...} per step (this process)

DDP: start with ``torchrun --nproc_per_node=N -m training.cli CONFIG`` (or any launcher setting
``RANK``/``WORLD_SIZE``/``MASTER_ADDR``/``MASTER_PORT``); NCCL on CUDA, gloo on the CPU. ``optim.batch_size``
is the GLOBAL number of frames per step, split over the processes (``training.sampler``); loss
normalisers are summed over the processes (``training.losses``), so with ``optim.freeze_batchnorm`` and no
dropout the averaged gradient equals the single-process gradient of the whole batch.

Exact resume: a checkpoint holds the network, Adam's state, the AMP scaler, the torch RNG states and the
sampler's step; batches are a pure function of (seed, step), so "train 2k steps" and "train k, save,
resume, train k" give the same weights bit for bit (same device, same number of threads).

Checkpoints are project checkpoints (``wildhands_core.checkpoint``) with the training state under
``"training"``, so ``wildhands-eval`` and the estimator read them directly.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader

from training.batch import Batch
from training.config import TrainConfig, loss_weights_for, save_train_config
from training.datasets import build_datasets
from training.initialise import freeze_by_prefix, initialise_from
from training.losses import LOSS_TERMS, compute_losses
from training.sampler import MixtureSampler, frame_groups
from training.step_batches import StepBatches, StepRange
from wildhands_core.checkpoint import HEAD_NAMES, load_state_dict_strict, save_checkpoint, upgrade_state_dict
from wildhands_core.model.wildhands import WildHands

__all__ = ["CamInitProbe", "Trainer"]


class CamInitProbe:
    """The heads' initial weak-perspective camera (``HMRHead.cam_init``, before the iterative refinement)
    of the last forward pass, read with forward hooks (the network's outputs are left as they are). Both
    heads run on every hand (``WildHandsNet.forward``); ``take`` keeps each hand's side, (N, 3)."""

    def __init__(self, net: torch.nn.Module) -> None:
        self._out: dict[str, torch.Tensor] = {}
        for side in ("r", "l"):
            head = getattr(net, f"head_{side}")
            head.cam_init.register_forward_hook(self._hook(side))

    def _hook(self, side: str):
        def hook(_module, _inputs, output):
            self._out[side] = output

        return hook

    def take(self, is_right: torch.Tensor) -> torch.Tensor:
        from wildhands_core.model.wildhands_net import select_by_side

        r, lft = self._out.pop("r", None), self._out.pop("l", None)
        if r is None or lft is None:  # no hand: the heads did not run
            return torch.zeros((is_right.shape[0], 3), device=is_right.device)
        return select_by_side(is_right, r, lft)


class Trainer:
    """See the module docstring. ``datasets``: adapters to use instead of building ``cfg.data.datasets``
    (one per spec, same order)."""

    def __init__(self, cfg: TrainConfig, datasets: list[Any] | None = None, verbose: bool = True) -> None:
        self.cfg = cfg
        self.world_size = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if cfg.device == "auto":
            dev = f"cuda:{self.local_rank}" if torch.cuda.is_available() else "cpu"
        else:
            dev = cfg.device
        self.device = torch.device(dev)
        if self.world_size > 1 and not dist.is_initialized():
            dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        self.verbose = verbose and self.rank == 0
        if cfg.threads:
            torch.set_num_threads(int(cfg.threads))
        torch.manual_seed(cfg.seed * 1000 + self.rank)
        if not cfg.data.datasets:
            raise ValueError("TrainConfig.data.datasets is empty")
        self.datasets = datasets if datasets is not None else build_datasets(cfg)
        if len(self.datasets) != len(cfg.data.datasets):
            raise ValueError("one dataset object per DatasetSpec is needed")
        self.groups = [frame_groups(d) for d in self.datasets]
        self.weights = {(s.label or s.name): loss_weights_for(s.name, s.loss) for s in cfg.data.datasets}
        if len(self.weights) != len(cfg.data.datasets):
            raise ValueError("two dataset specs share a name: give them distinct 'label's")
        if cfg.data.mixture not in ("proportions", "by_size"):
            raise ValueError(f"data.mixture must be 'proportions' or 'by_size', got {cfg.data.mixture!r}")
        by_size = cfg.data.mixture == "by_size"
        sizes = [len(g) for g in self.groups]
        self.sampler = MixtureSampler(
            sizes, sizes if by_size else [s.proportion for s in cfg.data.datasets], cfg.optim.batch_size,
            cfg.seed, self.world_size, self.rank,
        )
        model_cfg = cfg.model
        uses_grasp = any(w.grasp > 0 for w in self.weights.values())
        if uses_grasp and not model_cfg.grasp_head:
            model_cfg = dataclasses.replace(model_cfg, grasp_head=True)
        self.model = WildHands(model_cfg, mano_dir=cfg.mano_dir).to(self.device)
        if cfg.channels_last:
            self.model.net.to(memory_format=torch.channels_last)
        self.init_report: dict[str, list[str]] | None = None
        if cfg.init_from:
            self.init_report = initialise_from(self.model.net, cfg.init_from)
            self._say(f"init_from {cfg.init_from}: {len(self.init_report['loaded'])} tensors loaded, "
                      f"{len(self.init_report['skipped'])} skipped")
        self.ddp: torch.nn.Module = self.model
        if self.world_size > 1:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.ddp = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        self.frozen_modules = freeze_by_prefix(self.model.net, cfg.optim.freeze_prefixes)
        params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(params, lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
        self.use_amp = cfg.optim.amp and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        self.need_vertices = any(w.mask > 0 for w in self.weights.values())
        # by_size: an epoch is one pass over the concatenated frames (the authors' ConcatDataset)
        steps_per_epoch = (math.ceil(sum(sizes) / cfg.optim.batch_size) if by_size
                           else self.sampler.steps_per_epoch)
        self.total_steps = cfg.optim.max_steps or cfg.optim.epochs * steps_per_epoch
        uses_cam_init = any(w.cam_init > 0 for w in self.weights.values())
        self._cam_init = CamInitProbe(self.model.net) if uses_cam_init else None
        self.out_dir = Path(cfg.log.out_dir)
        self.writer = None
        if cfg.resume:
            self.load(cfg.resume)

    # ------------------------------------------------------------------------------------------------
    def _say(self, text: str) -> None:
        if self.verbose:
            print(text, flush=True)

    @property
    def step(self) -> int:
        return self.sampler.step

    def _all_agree(self, flag: bool) -> bool:
        """``flag`` of rank 0 on every process (all stop at the same step under DDP)."""
        if self.world_size == 1:
            return flag
        t = torch.tensor([float(flag)], device=self.device)
        dist.broadcast(t, 0)
        return bool(t.item())

    def _count_reduce(self, counts: torch.Tensor) -> torch.Tensor:
        if self.world_size > 1:
            counts = counts.clone()
            dist.all_reduce(counts)
        return counts

    def _train_mode(self) -> None:
        self.model.train()
        if self.cfg.optim.freeze_batchnorm:
            for m in self.model.modules():
                if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                    m.eval()
        for m in self.frozen_modules:
            m.eval()

    def forward_loss(
        self, batch: Batch
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        """(loss to back-propagate on this process, {term: global value}, outputs)."""
        with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.use_amp):
            out = self.ddp(**batch.inputs, return_vertices=self.need_vertices)
        if self._cam_init is not None:
            out["cam_wp_init"] = self._cam_init.take(batch.inputs["is_right"])
        faces_r, faces_l = self.model.mano_r.faces, self.model.mano_l.faces
        loss, terms = compute_losses(out, batch, faces_r, faces_l, self.cfg.loss, self._count_reduce)
        if self.world_size > 1:  # DDP averages gradients over processes; losses are already global sums
            loss = loss * self.world_size
        return loss, terms, out

    def train_step(self, batch: Batch) -> tuple[dict[str, float], dict[str, torch.Tensor]]:
        """One optimisation step on this process's batch; returns ({"loss", terms...}, outputs)."""
        self._train_mode()
        batch = batch.to(self.device)
        self.optimizer.zero_grad(set_to_none=True)
        loss, terms, out = self.forward_loss(batch)
        self.scaler.scale(loss).backward()
        if self.cfg.optim.grad_clip:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.optim.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        names = sorted(terms)
        vals = torch.stack([terms[k] for k in names]) if names else torch.zeros(0)
        if self.world_size > 1 and names:
            vals = vals.clone()
            dist.all_reduce(vals)
        logged = {k: float(v) for k, v in zip(names, vals.tolist(), strict=True)}
        logged["loss"] = float(sum(logged.values()))
        return logged, out

    @torch.no_grad()
    def term_losses(self, batch: Batch) -> dict[str, float]:
        """The active loss terms of ``batch`` for the current weights, without a step (eval mode: BN running
        statistics, no dropout), e.g. on a fixed probe batch before and after a run."""
        self.model.eval()
        try:
            _, terms, _ = self.forward_loss(batch.to(self.device))
        finally:
            self._train_mode()
        return {k: float(v) for k, v in terms.items()}

    def batches(self, start: int, stop: int) -> DataLoader:
        steps = StepBatches(self.datasets, self.groups, self.sampler, self.cfg, self.weights)
        nw = self.cfg.data.num_workers
        return DataLoader(
            steps, batch_size=None, sampler=StepRange(start, stop), num_workers=nw,
            pin_memory=self.device.type == "cuda", prefetch_factor=2 if nw else None,
            # own generator: creating the loader must not draw from the global RNG (exact resume)
            generator=torch.Generator().manual_seed(self.cfg.seed),
        )

    def fit(self, max_steps: int | None = None, max_seconds: float | None = None) -> list[dict[str, float]]:
        """Train from the current step to ``max_steps`` (default: the configured total), or until
        ``max_seconds`` of wall-clock time have passed (checked after each step); returns the per-step logged
        losses of this run. Checkpoints every ``log.ckpt_every`` steps and at the end (``last.pt``, also
        when the time budget ends the run, so it can be resumed)."""
        from tqdm import tqdm

        stop = self.total_steps if max_steps is None else max_steps
        log = self.cfg.log
        if self.rank == 0:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            save_train_config(self.out_dir / "config.yaml", self.cfg)
            if log.tensorboard and self.writer is None:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(self.out_dir / "tb"))
        history: list[dict[str, float]] = []
        bar = tqdm(total=stop, initial=self.step, unit="step", disable=not (log.progress and self.verbose),
                   dynamic_ncols=True)
        t_last, frames_since, hands_since = time.perf_counter(), 0, 0
        t_start = t_last
        out_of_time = False
        for batch in self.batches(self.step, stop):
            step = self.step
            logged, out = self.train_step(batch)
            self.sampler.step = step + 1
            logged["step"] = step
            history.append(logged)
            frames_since += batch.num_frames * self.world_size
            hands_since += batch.num_hands * self.world_size
            bar.update(1)
            bar.set_postfix(loss=f"{logged['loss']:.4g}")
            if log.log_every and (step + 1) % log.log_every == 0:
                dt = time.perf_counter() - t_last
                rate = frames_since / max(dt, 1e-9)
                logged["frames_per_s"], logged["hands_per_s"] = rate, hands_since / max(dt, 1e-9)
                t_last, frames_since, hands_since = time.perf_counter(), 0, 0
                self._log_scalars(step + 1, logged)
            if self.writer is not None and log.image_every and (step + 1) % log.image_every == 0:
                self._log_images(step + 1, batch, out)
            if log.ckpt_every and (step + 1) % log.ckpt_every == 0 and step + 1 < stop:
                self.save(self.out_dir / f"step_{step + 1:07d}.pt")
            if max_seconds is not None and self._all_agree(time.perf_counter() - t_start >= max_seconds):
                out_of_time = True
                self._say(f"time budget of {max_seconds:.0f} s reached at step {self.step}")
                break
        bar.close()
        if self.step >= stop or out_of_time:
            self.save(self.out_dir / "last.pt")
        if self.writer is not None:
            self.writer.flush()
        return history

    def _log_scalars(self, step: int, logged: dict[str, float]) -> None:
        if self.rank != 0:
            return
        terms = "  ".join(f"{k} {logged[k]:.4g}" for k in LOSS_TERMS if k in logged)
        self._say(f"step {step}/{self.total_steps}  loss {logged['loss']:.4g}  {terms}  "
                  f"{logged['frames_per_s']:.2f} frames/s")
        if self.writer is not None:
            for k, v in logged.items():
                if k == "step" or not math.isfinite(v):
                    continue
                tag = f"loss/{k}" if k in LOSS_TERMS or k == "loss" else f"speed/{k}"
                self.writer.add_scalar(tag, v, step)
            self.writer.add_scalar("lr", self.optimizer.param_groups[0]["lr"], step)

    def _log_images(self, step: int, batch: Batch, out: dict[str, torch.Tensor]) -> None:
        """First crop of the batch with GT (green) and predicted (red) 2D joints."""
        import cv2

        from wildhands_core.constants import IMAGENET_MEAN, IMAGENET_STD
        from wildhands_core.preprocess import crop_affine_224

        crop = batch.inputs["crops"][0].detach().cpu().float().numpy().transpose(1, 2, 0)
        img = (crop * np.array(IMAGENET_STD) + np.array(IMAGENET_MEAN)) * 255
        img = np.clip(img, 0, 255).astype(np.uint8)
        img = np.ascontiguousarray(img)
        A = crop_affine_224(batch.labels["crop_boxes_224"][0].cpu().numpy())
        for pts, colour in ((batch.labels["keypoints_224"][0], (0, 255, 0)),
                            (out["keypoints_224_px"][0].detach(), (255, 0, 0))):
            p = pts.cpu().float().numpy() @ A[:2, :2].T + A[:2, 2]
            for u, v in p:
                if np.isfinite(u) and np.isfinite(v) and -1e4 < u < 1e4 and -1e4 < v < 1e4:
                    cv2.circle(img, (round(float(u)), round(float(v))), 2, colour, -1)
        self.writer.add_image("train/crop_keypoints", img, step, dataformats="HWC")

    # ------------------------------------------------------------------------------------------------
    def training_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "step": self.step,
            "sampler": self.sampler.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "train_config": self.cfg.to_dict(),
            "world_size": self.world_size,
        }
        if torch.cuda.is_available():
            state["cuda_rng"] = torch.cuda.get_rng_state_all()
        return state

    def save(self, path: str | Path) -> None:
        """Write a project checkpoint with the full training state (rank 0 only)."""
        if self.rank == 0:
            save_checkpoint(path, self.model.net, self.model.net.cfg, extra=self.training_state())
            self._say(f"saved {path} (step {self.step})")
        if self.world_size > 1:
            dist.barrier()

    def load(self, path: str | Path) -> None:
        """Continue exactly from a checkpoint written by :meth:`save`."""
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        state = ckpt.get("training") or {}
        if "optimizer" not in state:
            raise ValueError(f"{path}: no training state (not written by Trainer.save)")
        version = int(ckpt.get("version", 1))
        load_state_dict_strict(self.model.net, upgrade_state_dict(ckpt["state_dict"], version))
        self.optimizer.load_state_dict(state["optimizer"])
        if version < 2:  # the Adam moments of the permuted refine weights move with their columns
            self._upgrade_optimizer_state(ckpt["state_dict"], version)
        for group in self.optimizer.param_groups:  # the config's lr wins (a resumed run may lower it)
            group["lr"] = self.cfg.optim.lr
        self.scaler.load_state_dict(state["scaler"])
        self.sampler.load_state_dict(state["sampler"])
        if state.get("world_size", 1) == 1 and self.world_size == 1:  # per-process RNGs: single process only
            torch.set_rng_state(state["torch_rng"])
            if "cuda_rng" in state and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(state["cuda_rng"])
        self._say(f"resumed {path} at step {self.step}")

    def _upgrade_optimizer_state(self, old_state_dict: dict[str, torch.Tensor], version: int) -> None:
        params = dict(self.model.net.named_parameters())
        for head in HEAD_NAMES:
            key = f"{head}.hmr_layer.refine.0.weight"
            p = params.get(key)
            if p is None or p not in self.optimizer.state:
                continue
            for name, value in self.optimizer.state[p].items():
                if isinstance(value, torch.Tensor) and value.shape == p.shape:
                    self.optimizer.state[p][name] = upgrade_state_dict({key: value}, version)[key]

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
