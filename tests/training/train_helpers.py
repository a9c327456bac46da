"""Shared pieces of the training-core tests: a tiny network config and tiny synthetic datasets on disk."""

from __future__ import annotations

from pathlib import Path

from training.config import TrainConfig, load_train_config
from wildhands_core.config import ModelConfig

#: resnet18 trunks with very narrow fusion / head layers: fast enough for CPU tests.
TINY_MODEL = dict(
    backbone="resnet18", conv_dims=[16, 16, 16], fc_dim=32, head_hidden=32, cam_init_hidden=16, dropout=0.0,
    grasp_head=True, grasp_hidden=[16],
)


def tiny_model_config(**kw) -> ModelConfig:
    return ModelConfig.from_dict({**TINY_MODEL, **kw})


def make_synth(out: Path, frames: int = 4, seed: int = 0, size: tuple[int, int] = (160, 120)) -> Path:
    """A ``wildhands-synth`` dataset of ``frames`` frames at ``size`` in ``out``."""
    from wildhands_synth.generate import generate_dataset

    if not (out / "labels.npz").exists():
        generate_dataset(out, frames, seed, size, progress=False)
    return out


def tiny_train_config(root: Path, out_dir: Path, *overrides: str) -> TrainConfig:
    """Synthetic training on ``root`` with the tiny network, 1 frame per step, no loader workers."""
    model = [f"model.{k}={v}" for k, v in TINY_MODEL.items()]
    base = [
        f"data.datasets=[{{name: synthetic, root: '{root}'}}]",
        "data.num_workers=0",
        "optim.batch_size=1",
        "optim.lr=1e-3",
        "optim.max_steps=2",
        "device=cpu",
        f"log.out_dir='{out_dir}'",
        "log.progress=false",
        "log.tensorboard=false",
        "log.ckpt_every=0",
        "augment.box_source=sample",
    ]
    return load_train_config(None, model + base + list(overrides))


def tiny_cached_config(root: Path, tmp_path: Path, *overrides: str) -> TrainConfig:
    """:func:`tiny_train_config` with a feature cache in ``tmp_path / "cache"`` (1 draw, shards of 2
    frames), 2 frames per step, no dropout, seed 3; the run in ``tmp_path / "run"``."""
    return tiny_train_config(
        root,
        tmp_path / "run",
        f"feature_cache.dir='{tmp_path / 'cache'}'",
        "feature_cache.draws=1",
        "feature_cache.shard_frames=2",
        "feature_cache.feature_dropout=0.0",
        "optim.batch_size=2",
        "model.dropout=0.0",
        "seed=3",
        *overrides,
    )
