"""A cache of frozen trunks' outputs, so that the fusion and heads train without running the trunks.

    wildhands-cache-features CONFIG.yaml [key=value ...] [--workers 2] [--draws N]

With the KPE at the features (the released variant) the crop trunk sees only the crop's pixels and the
image trunk only the letterboxed whole image, so for FROZEN trunks their outputs are a pure function of the
prepared frame. For each training dataset, frame (a frame group of hands) and augmentation draw ``d`` the
frame is prepared exactly as in training (``training.crops.prepare_frame`` with the config's augmentation,
seeded by ``(seed, dataset, d, frame)``), collated (``training.batch.collate_frames``) and passed through
the trunks; stored are the crop features (N hands, C, 7, 7) and whole-image features (F frames, C_image, 7,
7) in float16 (the image projection is not applied: it trains), the network inputs the fusion needs
(``is_right``, ``boxes_224``, ``K_224``; ``frame_idx`` is implied by each hand's frame row) and every label
and has-label flag of the batch. Loss weights are not stored (they come from the training config).

Layout (``DIR`` = ``feature_cache.dir``)::

    DIR/cache.json                         trunks, their weights' hash and each dataset's settings
    DIR/<dataset label>/draw_<d>/shard_<s>/  frames [s * shard_frames, (s + 1) * shard_frames) of draw d:
        crop_feats.npy (N, C, 7, 7) f16, image_feats.npy (F, C_image, 7, 7) f16, hand_frame.npy (N,) i32 =
        the frame row of each hand, frame_group.npy (F,) i64 = the dataset's frame index, input.<k>.npy,
        label.<k>.npy, has.<k>.npy, datasets.npy

A shard is written into a temporary folder and renamed into place, so an interrupted build leaves no
partial shard and a re-run does only the missing ones: the cache grows (more draws, more frames, more
datasets) over several runs. A cache built with other trunk weights, augmentation or input settings is
refused with the differing settings named.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from training.batch import Batch, collate_frames
from training.config import DatasetSpec, LossWeights, TrainConfig, load_train_config, spec_augment
from training.crops import prepare_frame
from wildhands_core.model.wildhands_net import WildHandsNet

__all__ = [
    "CACHE_FORMAT",
    "TRUNK_PREFIXES",
    "CachedDataset",
    "build_cache",
    "cache_trunk_settings",
    "dataset_settings",
    "frozen_trunk_net",
    "load_cache",
    "main",
    "trunk_hash",
]

CACHE_FORMAT = "wildhands-feature-cache"
CACHE_VERSION = 1
#: Parameter-name prefixes of the trunks whose outputs are cached (frozen in cached training).
TRUNK_PREFIXES = ("hand_backbone.", "backbone.")
FORWARD_FRAMES = 8  # frames per trunk forward while building
INPUT_KEYS = ("is_right", "boxes_224", "K_224")


def frozen_trunk_net(cfg: TrainConfig) -> WildHandsNet:
    """The network of ``cfg`` with its trunks as training starts them (ImageNet / ``init_from``), in eval
    mode; random weights are drawn from ``cfg.seed`` (the same in every process). Refuses configs whose
    trunks see the KPE (their outputs depend on the box and K too)."""
    from training.initialise import initialise_from

    if cfg.model.kpe_at_input:
        raise ValueError(
            f"feature caching needs the KPE at the features; variant {cfg.model.variant!r} "
            "feeds it to the trunk"
        )
    with torch.random.fork_rng():
        torch.manual_seed(cfg.seed)
        net = WildHandsNet(cfg.model)
    if cfg.init_from:
        initialise_from(net, cfg.init_from)
    return net.eval()


def trunk_hash(net: WildHandsNet) -> str:
    """SHA-256 of the trunks' tensors (names, shapes, values): what makes cached features valid."""
    h = hashlib.sha256()
    for name, t in sorted(net.state_dict().items()):
        if name.startswith(TRUNK_PREFIXES):
            h.update(name.encode())
            h.update(str(tuple(t.shape)).encode())
            h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def cache_trunk_settings(cfg: TrainConfig, net: WildHandsNet) -> dict[str, Any]:
    """The trunk part of the cache key."""
    m = cfg.model
    return {
        "backbone": m.backbone,
        "backbone_weights": m.backbone_weights,
        "image_backbone": m.image_backbone,
        "image_backbone_weights": m.image_backbone_weights,
        "use_whole_image": m.use_whole_image,
        "uses_crops": m.uses_crops,
        "input_convention": m.input_convention,
        "trunk_sha256": trunk_hash(net),
    }


def dataset_settings(cfg: TrainConfig, spec: DatasetSpec, index: int) -> dict[str, Any]:
    """The settings that decide one dataset's prepared frames (and so its cached features)."""
    aug = dataclasses.asdict(spec_augment(cfg.augment, spec))
    return {
        "name": spec.name,
        "root": str(Path(spec.root).resolve()) if spec.root else "",
        "kwargs": spec.kwargs,
        "index": index,
        "seed": cfg.seed,
        "augment": aug,
        "mask_size": cfg.loss.mask_size,
        "mask_frame": cfg.loss.mask_frame,
        "mano_dir": cfg.mano_dir,
    }


def _label(spec: DatasetSpec) -> str:
    return spec.label or spec.name


def _differences(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += _differences(a.get(k), b.get(k), f"{path}.{k}" if path else str(k))
        return out
    return (
        []
        if json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)
        else [path]
    )


def _check_or_write_meta(root: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """Merge this run's settings into ``root/cache.json``; a setting that differs from the cache's raises."""
    path = root / "cache.json"
    if path.exists():
        old = json.loads(path.read_text())
        if old.get("format") != CACHE_FORMAT or old.get("version") != CACHE_VERSION:
            raise ValueError(f"{path}: not a version-{CACHE_VERSION} {CACHE_FORMAT} file")
        diff = _differences(old["trunk"], meta["trunk"]) + (
            ["shard_frames"] if old["shard_frames"] != meta["shard_frames"] else []
        )
        for label, settings in meta["datasets"].items():
            if label in old["datasets"]:
                diff += [f"datasets.{label}.{d}" for d in _differences(old["datasets"][label], settings)]
        if diff:
            raise ValueError(
                f"feature cache {root} was built with other settings ({', '.join(diff)}); "
                "use another feature_cache.dir or delete it"
            )
        meta = dict(old) | {"datasets": old["datasets"] | meta["datasets"]}
    root.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(meta, indent=1, default=str) + "\n")
    os.replace(tmp, path)
    return meta


def shard_dir(root: Path, label: str, draw: int, shard: int) -> Path:
    return root / label / f"draw_{draw:03d}" / f"shard_{shard:05d}"


def _shard_complete(path: Path, frames: int) -> bool:
    f = path / "frame_group.npy"
    return f.exists() and np.load(f, mmap_mode="r").shape[0] == frames


@dataclass(frozen=True)
class _Task:
    spec_index: int
    draw: int
    shard: int
    groups: tuple[int, ...]


def _shard_arrays(
    cfg: TrainConfig, net: WildHandsNet, dataset: Any, groups: list[list[int]], task: _Task, spec: DatasetSpec
) -> dict[str, np.ndarray]:
    """Prepare, collate and run the trunks on the frames of one shard."""
    aug = spec_augment(cfg.augment, spec)
    weights = {_label(spec): LossWeights()}  # not stored: training reads its config's weights
    parts: list[dict[str, np.ndarray]] = []
    frame_offset = 0
    for start in range(0, len(task.groups), FORWARD_FRAMES):
        chunk = task.groups[start : start + FORWARD_FRAMES]
        frames = []
        for g in chunk:
            samples = [dataset[i] for i in groups[g]]
            for s in samples:
                s.dataset = _label(spec)
            rng = np.random.default_rng([cfg.seed, task.spec_index, task.draw, g])
            frames.append(
                prepare_frame(
                    samples,
                    aug,
                    rng,
                    cfg.loss.mask_size,
                    aug.box_source,
                    cfg.model.input_convention,
                    cfg.loss.mask_frame,
                )
            )
        batch = collate_frames(frames, weights, cfg.loss.mask_size)
        with torch.no_grad():
            images, crops = batch.inputs["images"], batch.inputs["crops"]
            if cfg.channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
                crops = crops.contiguous(memory_format=torch.channels_last)
            crop_f, image_f = net.trunk_features(
                images, crops, batch.inputs["boxes_224"], batch.inputs["K_224"]
            )
        part = {
            "frame_group": np.asarray(chunk, dtype=np.int64),
            "hand_frame": (batch.inputs["frame_idx"].numpy() + frame_offset).astype(np.int32),
            "datasets": np.asarray(batch.datasets, dtype=str),
        }
        if crop_f is not None:
            part["crop_feats"] = crop_f.float().numpy().astype(np.float16)
        if image_f is not None:
            part["image_feats"] = image_f.float().numpy().astype(np.float16)
        part |= {f"input.{k}": batch.inputs[k].numpy() for k in INPUT_KEYS}
        part |= {f"label.{k}": v.numpy() for k, v in batch.labels.items()}
        part |= {f"has.{k}": v.numpy() for k, v in batch.has.items()}
        parts.append(part)
        frame_offset += len(chunk)
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _write_shard(path: Path, arrays: dict[str, np.ndarray]) -> None:
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for k, v in arrays.items():
        np.save(tmp / f"{k}.npy", v)
    shutil.rmtree(path, ignore_errors=True)  # an incomplete shard of a smaller dataset
    os.replace(tmp, path)


_WORKER: dict[str, Any] = {}


def _worker_init(cfg_dict: dict[str, Any], expected_hash: str, threads: int) -> None:
    from training.datasets import build_datasets
    from training.sampler import frame_groups

    torch.set_num_threads(threads)
    cfg = TrainConfig.from_dict(cfg_dict)
    net = frozen_trunk_net(cfg)
    if cfg.channels_last:
        net.to(memory_format=torch.channels_last)
    if trunk_hash(net) != expected_hash:
        raise RuntimeError("a cache worker built other trunk weights than the main process")
    datasets = build_datasets(cfg)
    _WORKER.update(cfg=cfg, net=net, datasets=datasets, groups=[frame_groups(d) for d in datasets])


def _worker_run(task: _Task) -> tuple[_Task, int]:
    w = _WORKER
    cfg: TrainConfig = w["cfg"]
    spec = cfg.data.datasets[task.spec_index]
    arrays = _shard_arrays(
        cfg, w["net"], w["datasets"][task.spec_index], w["groups"][task.spec_index], task, spec
    )
    _write_shard(shard_dir(Path(cfg.feature_cache.dir), _label(spec), task.draw, task.shard), arrays)
    return task, int(arrays["hand_frame"].shape[0])


def build_cache(cfg: TrainConfig, workers: int = 1, progress: bool = True) -> dict[str, Any]:
    """Build the missing shards of ``cfg.feature_cache`` (draws 0 .. draws-1 of every dataset); returns
    ``{"shards_written", "shards_kept", "hands_written", "seconds"}``."""
    from tqdm import tqdm

    from training.datasets import build_datasets
    from training.sampler import frame_groups

    fc = cfg.feature_cache
    if not fc.dir:
        raise ValueError("feature_cache.dir is empty")
    if fc.draws < 1 or fc.shard_frames < 1:
        raise ValueError("feature_cache.draws and feature_cache.shard_frames must be >= 1")
    root = Path(fc.dir)
    net = frozen_trunk_net(cfg)
    datasets = build_datasets(cfg)
    groups = [frame_groups(d) for d in datasets]
    meta = {
        "format": CACHE_FORMAT,
        "version": CACHE_VERSION,
        "trunk": cache_trunk_settings(cfg, net),
        "shard_frames": fc.shard_frames,
        "datasets": {_label(s): dataset_settings(cfg, s, i) for i, s in enumerate(cfg.data.datasets)},
    }
    _check_or_write_meta(root, meta)
    tasks, kept = [], 0
    for k, spec in enumerate(cfg.data.datasets):
        n = len(groups[k])
        for d in range(fc.draws):
            for s in range(0, (n + fc.shard_frames - 1) // fc.shard_frames):
                g = tuple(range(s * fc.shard_frames, min(n, (s + 1) * fc.shard_frames)))
                if _shard_complete(shard_dir(root, _label(spec), d, s), len(g)):
                    kept += 1
                else:
                    tasks.append(_Task(k, d, s, g))
    t0 = time.perf_counter()
    hands = 0
    bar = tqdm(
        total=sum(len(t.groups) for t in tasks), unit="frame", desc="feature cache", disable=not progress
    )
    init_args = (cfg.to_dict(), meta["trunk"]["trunk_sha256"], 1 if workers > 1 else (cfg.threads or 1))
    if workers <= 1:
        _worker_init(*init_args)
        for task in tasks:
            _, h = _worker_run(task)
            hands += h
            bar.update(len(task.groups))
    else:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(workers, _worker_init, init_args) as pool:
            for task, h in pool.imap_unordered(_worker_run, tasks):
                hands += h
                bar.update(len(task.groups))
    bar.close()
    return {
        "shards_written": len(tasks),
        "shards_kept": kept,
        "hands_written": hands,
        "seconds": time.perf_counter() - t0,
    }


@dataclass
class CachedDataset:
    """Every cached shard of the config's datasets, memory-mapped. ``frames[k]`` lists dataset k's cached
    frames as (shard number in ``shards``, frame row); a shard is a dict of arrays (see the module doc)."""

    shards: list[dict[str, np.ndarray]]
    frames: list[list[tuple[int, int]]]
    hand_rows: list[list[np.ndarray]]  # per shard, per frame row: the shard's hand rows of that frame

    def batch(
        self, refs: list[tuple[int, int]], weights: dict[str, LossWeights]
    ) -> tuple[Batch, dict[str, torch.Tensor]]:
        """The :class:`Batch` (inputs without images/crops) of the frames ``refs`` and the trunk features
        ``{"crop_feats", "image_feats"}`` (float32; absent where the model has no such trunk)."""
        parts: dict[str, list[np.ndarray]] = {}
        frame_idx = []
        feats: dict[str, list[np.ndarray]] = {}
        for f, (si, row) in enumerate(refs):
            sh = self.shards[si]
            rows = self.hand_rows[si][row]
            frame_idx.append(np.full(len(rows), f, dtype=np.int64))
            for k, v in sh.items():
                if k in ("frame_group", "hand_frame"):
                    continue
                if k == "image_feats":
                    feats.setdefault(k, []).append(np.asarray(v[row : row + 1]))
                elif k == "crop_feats":
                    feats.setdefault(k, []).append(np.asarray(v[rows]))
                else:
                    parts.setdefault(k, []).append(np.asarray(v[rows]))
        cat = {k: np.concatenate(v) for k, v in parts.items()}
        names = [f.name for f in dataclasses.fields(LossWeights)]
        datasets = [str(d) for d in cat.pop("datasets")]
        per_hand = [weights[d] for d in datasets]
        inputs = {k.split(".", 1)[1]: torch.from_numpy(v) for k, v in cat.items() if k.startswith("input.")}
        inputs["frame_idx"] = torch.from_numpy(np.concatenate(frame_idx))
        batch = Batch(
            inputs=inputs,
            labels={
                k.split(".", 1)[1]: torch.from_numpy(v) for k, v in cat.items() if k.startswith("label.")
            },
            has={k.split(".", 1)[1]: torch.from_numpy(v) for k, v in cat.items() if k.startswith("has.")},
            weights={k: torch.tensor([getattr(w, k) for w in per_hand], dtype=torch.float32) for k in names},
            datasets=datasets,
            num_frames=len(refs),
        )
        return batch, {k: torch.from_numpy(np.concatenate(v).astype(np.float32)) for k, v in feats.items()}


def load_cache(cfg: TrainConfig, net: WildHandsNet) -> CachedDataset:
    """The shards of every dataset of ``cfg`` (all draws present), checked against ``net``'s trunks and the
    config's settings; a dataset with no shard raises naming the command that builds it."""
    root = Path(cfg.feature_cache.dir)
    path = root / "cache.json"
    if not path.exists():
        raise FileNotFoundError(f"no feature cache at {root}: build it with wildhands-cache-features CONFIG")
    meta = json.loads(path.read_text())
    trunk = cache_trunk_settings(cfg, net)
    if not cfg.model.use_whole_image and meta.get("trunk", {}).get("use_whole_image"):
        # A crop-only network (the whole-image ablation) reads a cache built with the image trunk: the
        # crop features are the same, so the cache is checked against this config with the image trunk
        # (built as the cache build built it) and the stored image features are left unused.
        with_image = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, use_whole_image=True))
        trunk = cache_trunk_settings(with_image, frozen_trunk_net(with_image))
    want = {
        "trunk": trunk,
        "shard_frames": meta.get("shard_frames"),
        "datasets": {_label(s): dataset_settings(cfg, s, i) for i, s in enumerate(cfg.data.datasets)},
        "format": CACHE_FORMAT,
        "version": CACHE_VERSION,
    }
    _check_or_write_meta(root, want)
    shards: list[dict[str, np.ndarray]] = []
    frames: list[list[tuple[int, int]]] = []
    hand_rows: list[list[np.ndarray]] = []
    for spec in cfg.data.datasets:
        mine: list[tuple[int, int]] = []
        for d in sorted((root / _label(spec)).glob("draw_*")):
            for s in sorted(p for p in d.glob("shard_*") if ".tmp" not in p.name):
                arrays = {p.stem: np.load(p, mmap_mode="r") for p in s.glob("*.npy")}
                si = len(shards)
                shards.append(arrays)
                hf = np.asarray(arrays["hand_frame"])
                nf = arrays["frame_group"].shape[0]
                order = np.argsort(hf, kind="stable")
                bounds = np.searchsorted(hf[order], np.arange(nf + 1))
                hand_rows.append([order[bounds[r] : bounds[r + 1]] for r in range(nf)])
                mine += [(si, r) for r in range(nf) if bounds[r + 1] > bounds[r]]
        if not mine:
            raise FileNotFoundError(
                f"feature cache {root} has no shard of dataset {_label(spec)!r}: "
                "build it with wildhands-cache-features CONFIG"
            )
        frames.append(mine)
    return CachedDataset(shards, frames, hand_rows)


def parse_command_line(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; options may stand between the config and its overrides."""
    return _parser().parse_intermixed_args(argv)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wildhands-cache-features", description=__doc__.split("\n")[0])
    p.add_argument("config", help="training YAML with a feature_cache section")
    p.add_argument("overrides", nargs="*", help="dotted overrides: feature_cache.draws=4")
    p.add_argument("--workers", type=int, default=1, help="processes (1 torch thread each when > 1)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parse_command_line(argv)
    try:
        cfg = load_train_config(args.config, list(args.overrides))
        summary = build_cache(cfg, args.workers)
    except (OSError, ValueError) as exc:
        print(f"wildhands-cache-features: {exc}", file=sys.stderr)
        return 2
    print(
        f"feature cache {cfg.feature_cache.dir}: {summary['shards_written']} shards written "
        f"({summary['hands_written']} hands, {summary['seconds']:.0f} s), "
        f"{summary['shards_kept']} already there"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
