"""Training the fusion and heads on a feature cache (``training.feature_cache``), then packing the whole
network (frozen trunks included) as a project checkpoint.

    wildhands-train-cached CONFIG.yaml [key=value ...] [--steps N] [--minutes M]

Per step, ``optim.batch_size`` cached frames (``training.sampler.MixtureSampler`` over the cached frames of
every draw, as the regular trainer samples frames; with ``feature_cache.window_shards``, for a cache larger
than memory, a ``ShardWindowSampler`` and ``training.shard_prefetch``) -> dropout
``feature_cache.feature_dropout`` on the trunk features -> ``WildHandsNet.fuse_features`` (image projection,
KPE, feature convolutions) -> ``heads`` (and the side classifier on the crop features) ->
``WildHands.complete`` (MANO, camera) -> ``training.losses.compute_losses`` with the config's loss weights
-> Adam on every parameter outside the trunks and ``optim.freeze_prefixes`` (e.g. a side classifier trained
onto a finished checkpoint), the learning rate decayed by a cosine from ``optim.lr`` to
``feature_cache.lr_final``. The same forward as ``WildHands.forward`` on the cached trunk outputs (tested to
agree), so the checkpoint runs unchanged in the estimator, ``wildhands-eval``, or as ``init_from`` of an
end-to-end fine-tuning with ``wildhands-train``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as nnf

from training.config import TrainConfig, load_train_config, loss_weights_for, save_train_config
from training.feature_cache import TRUNK_PREFIXES, CachedDataset, frozen_trunk_net, load_cache
from training.initialise import freeze_by_prefix
from training.losses import LOSS_TERMS, compute_losses
from training.sampler import MixtureSampler, ShardWindowSampler
from training.shard_prefetch import ShardPrefetcher, shard_layout
from wildhands_core.checkpoint import load_state_dict_strict, save_checkpoint
from wildhands_core.model.wildhands import WildHands

__all__ = ["CachedTrainer", "cosine_lr", "main"]


def cosine_lr(step: int, total: int, lr: float, lr_final: float | None) -> float:
    """Learning rate of ``step`` (0-based) of ``total``: cosine from ``lr`` (step 0) to ``lr_final`` (the last
    step); constant ``lr`` when ``lr_final`` is None."""
    if lr_final is None or total <= 1:
        return lr
    t = min(max(step / (total - 1), 0.0), 1.0)
    return lr_final + 0.5 * (lr - lr_final) * (1.0 + math.cos(math.pi * t))


class CachedTrainer:
    """See the module docstring."""

    def __init__(self, cfg: TrainConfig, verbose: bool = True) -> None:
        self.cfg, self.verbose = cfg, verbose
        if cfg.threads:
            torch.set_num_threads(int(cfg.threads))
        torch.manual_seed(cfg.seed * 1000)
        self.weights = {(s.label or s.name): loss_weights_for(s.name, s.loss) for s in cfg.data.datasets}
        net = frozen_trunk_net(cfg)  # trunks as the cache was built; every fitting tensor of init_from
        if cfg.init_from and cfg.feature_cache.fresh_heads:  # keep only init_from's trunks
            fresh = type(net)(cfg.model).state_dict()  # drawn from the seed set above
            keep = {k: v for k, v in net.state_dict().items() if k.startswith(TRUNK_PREFIXES)}
            net.load_state_dict(fresh | keep)
        self.model = WildHands(net, mano_dir=cfg.mano_dir)
        self.cache: CachedDataset = load_cache(cfg, net)
        proportions = [s.proportion for s in cfg.data.datasets]
        self.prefetcher: ShardPrefetcher | None = None
        if cfg.feature_cache.window_shards > 0:
            _, shard_sizes = shard_layout(self.cache)
            self.sampler: MixtureSampler = ShardWindowSampler(
                shard_sizes, proportions, cfg.optim.batch_size, cfg.feature_cache.window_shards, cfg.seed
            )
            self.prefetcher = ShardPrefetcher(self.cache, self.sampler, cfg.feature_cache.prefetch_steps)
        else:
            sizes = [len(f) for f in self.cache.frames]
            self.sampler = MixtureSampler(sizes, proportions, cfg.optim.batch_size, cfg.seed, 1, 0)
        for name, p in net.named_parameters():
            p.requires_grad_(not name.startswith(TRUNK_PREFIXES))
        # e.g. a side classifier trained onto a finished checkpoint: everything but side_classifier fixed
        self.frozen_batchnorms = freeze_by_prefix(net, cfg.optim.freeze_prefixes)
        self.params = [p for p in net.parameters() if p.requires_grad]
        self.optimizer = torch.optim.Adam(self.params, lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
        self.total_steps = cfg.optim.max_steps or cfg.optim.epochs * self.sampler.steps_per_epoch
        self.need_vertices = any(w.mask > 0 for w in self.weights.values())
        self.out_dir = Path(cfg.log.out_dir)
        if cfg.resume:
            self.load(cfg.resume)

    @property
    def step(self) -> int:
        return self.sampler.step

    def _say(self, text: str) -> None:
        if self.verbose:
            print(text, flush=True)

    def forward(
        self, feats: dict[str, torch.Tensor], inputs: dict[str, torch.Tensor], train: bool
    ) -> dict[str, torch.Tensor]:
        """The network's outputs from cached trunk features (``WildHands.forward`` after the trunks)."""
        net = self.model.net
        p = self.cfg.feature_cache.feature_dropout if train else 0.0
        crop = feats.get("crop_feats")
        # a crop-only network (model.use_whole_image false) leaves a cache's image features unused
        image = feats.get("image_feats") if net.cfg.use_whole_image else None
        crop = None if crop is None else nnf.dropout(crop, p, train)
        image = None if image is None else nnf.dropout(image, p, train)
        fused = net.fuse_features(crop, image, inputs["frame_idx"], inputs["boxes_224"], inputs["K_224"])
        out = net.heads(fused, inputs["is_right"], crop)
        return self.model.complete(out, inputs["is_right"], inputs["K_224"], self.need_vertices)

    def train_step(self) -> dict[str, float]:
        step = self.step
        if self.prefetcher is not None:
            self.prefetcher.prepare(step)
        refs = [self.cache.frames[r.dataset][r.group] for r in self.sampler.batch(step)]
        batch, feats = self.cache.batch(refs, self.weights)
        lr = cosine_lr(step, self.total_steps, self.cfg.optim.lr, self.cfg.feature_cache.lr_final)
        for g in self.optimizer.param_groups:
            g["lr"] = lr
        self.model.train()  # dropout on; the trunks never run here, so their BatchNorm statistics stay
        for m in self.frozen_batchnorms:
            m.eval()  # frozen parts keep their statistics too
        out = self.forward(feats, batch.inputs, train=True)
        faces_r, faces_l = self.model.mano_r.faces, self.model.mano_l.faces
        loss, terms = compute_losses(out, batch, faces_r, faces_l, self.cfg.loss)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.optim.grad_clip:
            torch.nn.utils.clip_grad_norm_(self.params, self.cfg.optim.grad_clip)
        self.optimizer.step()
        self.sampler.step = step + 1
        logged = {k: float(v) for k, v in terms.items()}
        logged |= {"loss": float(sum(logged.values())), "step": step, "lr": lr, "hands": batch.num_hands}
        return logged

    def fit(self, max_steps: int | None = None, max_seconds: float | None = None) -> list[dict[str, float]]:
        """Train to ``max_steps`` (default: ``optim.max_steps``) or for ``max_seconds``; checkpoints every
        ``log.ckpt_every`` steps and ``last.pt`` at the end (resumable with ``resume=``)."""
        from tqdm import tqdm

        stop = self.total_steps if max_steps is None else max_steps
        log = self.cfg.log
        self.out_dir.mkdir(parents=True, exist_ok=True)
        save_train_config(self.out_dir / "config.yaml", self.cfg)
        history: list[dict[str, float]] = []
        t0 = t_last = time.perf_counter()
        hands = 0
        bar = tqdm(total=stop, initial=self.step, unit="step", disable=not (log.progress and self.verbose))
        while self.step < stop:
            logged = self.train_step()
            history.append(logged)
            hands += int(logged["hands"])
            bar.update(1)
            s = self.step
            if log.log_every and s % log.log_every == 0:
                dt = time.perf_counter() - t_last
                terms = "  ".join(f"{k} {logged[k]:.4g}" for k in LOSS_TERMS if k in logged)
                self._say(
                    f"step {s}/{stop}  loss {logged['loss']:.4g}  {terms}  lr {logged['lr']:.3g}  "
                    f"{hands / max(dt, 1e-9):.0f} hands/s"
                )
                t_last, hands = time.perf_counter(), 0
            if log.ckpt_every and s % log.ckpt_every == 0 and s < stop:
                self.save(self.out_dir / f"step_{s:07d}.pt")
            if max_seconds is not None and time.perf_counter() - t0 >= max_seconds:
                self._say(f"time budget of {max_seconds:.0f} s reached at step {s}")
                break
        bar.close()
        if self.prefetcher is not None:
            st = self.prefetcher.stats
            self._say(
                f"shard window: {st.reads} shard reads ({st.bytes_read / 1e9:.1f} GB), training waited "
                f"{st.waited_s:.1f} s on them, at most {st.most_resident} shards in memory"
            )
        self.save(self.out_dir / "last.pt")
        return history

    def training_state(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "sampler": self.sampler.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "train_config": self.cfg.to_dict(),
            "cached_features": True,
        }

    def save(self, path: str | Path) -> None:
        save_checkpoint(path, self.model.net, self.model.net.cfg, extra=self.training_state())
        self._say(f"saved {path} (step {self.step})")

    def load(self, path: str | Path) -> None:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        state = ckpt.get("training") or {}
        if not state.get("cached_features"):
            raise ValueError(f"{path}: not written by wildhands-train-cached")
        load_state_dict_strict(self.model.net, ckpt["state_dict"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.sampler.load_state_dict(state["sampler"])
        torch.set_rng_state(state["torch_rng"])
        self._say(f"resumed {path} at step {self.step}")


def parse_command_line(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; options may stand between the config and its overrides."""
    return _parser().parse_intermixed_args(argv)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wildhands-train-cached", description=__doc__.split("\n")[0])
    p.add_argument("config", help="training YAML with a feature_cache section")
    p.add_argument("overrides", nargs="*", help="dotted overrides: optim.lr=7e-4")
    p.add_argument("--steps", type=int, default=None, help="stop after N steps (default: optim.max_steps)")
    p.add_argument("--minutes", type=float, default=None, help="stop after this much wall-clock time")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parse_command_line(argv)
    try:
        cfg = load_train_config(args.config, list(args.overrides))
        trainer = CachedTrainer(cfg)
    except (OSError, ValueError) as exc:
        print(f"wildhands-train-cached: {exc}", file=sys.stderr)
        return 2
    history = trainer.fit(args.steps, None if args.minutes is None else 60.0 * args.minutes)
    if history:
        print(
            f"done: step {trainer.step}  loss {history[-1]['loss']:.4g}  "
            f"checkpoint {trainer.out_dir / 'last.pt'}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
