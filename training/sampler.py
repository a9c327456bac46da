"""Deterministic mixed-dataset frame sampler: which frames of which dataset form training step k.

A dataset yields one sample per hand; :func:`frame_groups` groups its indices by frame, and the sampler
draws FRAMES (each brings all its hands, as at inference, so a frame's whole-image features are shared).

Each global batch holds ``batch_size`` frames, ``n_d`` of them from dataset d (``batch_size`` split by the
proportions, largest remainder, at least one frame per dataset with a positive proportion). Dataset d's
frames come from an endless stream of permutations, permutation e seeded by ``(seed, d, e)``; step k takes
stream positions ``[k n_d, (k + 1) n_d)``. The content of step k is thus a pure function of
``(seed, k)``: resuming at step k reproduces the same batches, whatever the number of loader workers.
With DDP the global batch is split into ``world_size`` contiguous parts (rank r takes part r), so the
union over the processes equals the single-process batch. Augmentation randomness of an item is seeded by
``(seed, k, d, position)``, independent of the rank.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["FrameRef", "MixtureSampler", "ShardWindowSampler", "allocate", "frame_groups", "frame_key"]


def frame_key(record: Any, index: int) -> Any:
    """A hashable key naming the frame of a dataset record (records of the adapters in
    ``training.datasets``); records without frame information get their own ``index``."""
    if hasattr(record, "image_path"):
        return str(record.image_path)
    if hasattr(record, "subject") and hasattr(record, "seq") and hasattr(record, "frame"):
        return (record.subject, record.seq, int(record.frame))
    if hasattr(record, "cam_dir") and hasattr(record, "stem"):
        return (str(record.cam_dir), record.stem)
    if hasattr(record, "frame"):
        return int(record.frame)
    return ("index", index)


def frame_groups(dataset: Any) -> list[list[int]]:
    """Hand-sample indices of ``dataset`` grouped by frame, in first-seen order. Uses the adapter's
    ``frame_groups()`` if it has one, else its ``_records`` (``frame_key``), else one sample per frame."""
    if hasattr(dataset, "frame_groups"):
        return [list(g) for g in dataset.frame_groups()]
    records = getattr(dataset, "_records", None)
    if records is None:
        return [[i] for i in range(len(dataset))]
    groups: dict[Any, list[int]] = {}
    for i, r in enumerate(records):
        groups.setdefault(frame_key(r, i), []).append(i)
    return list(groups.values())


def allocate(total: int, proportions: list[float]) -> list[int]:
    """Split ``total`` into integers proportional to ``proportions`` (largest remainder), each positive
    proportion getting at least 1."""
    p = np.asarray(proportions, dtype=np.float64)
    if total < 1 or p.size == 0 or np.any(p < 0) or p.sum() <= 0:
        raise ValueError(f"bad batch allocation: total={total}, proportions={proportions}")
    positive = p > 0
    if positive.sum() > total:
        raise ValueError(f"batch of {total} frames cannot hold {int(positive.sum())} datasets")
    share = p / p.sum() * total
    n = np.floor(share).astype(int)
    n[positive & (n == 0)] = 1
    while n.sum() > total:
        i = int(np.argmax(np.where(n > 1, n - share, -np.inf)))
        n[i] -= 1
    order = np.argsort(-(share - n), kind="stable")
    k = 0
    while n.sum() < total:
        n[order[k % len(order)]] += 1
        k += 1
    return [int(v) for v in n]


@dataclass(frozen=True)
class FrameRef:
    dataset: int  # index into the trainer's dataset list
    group: int  # frame group index within that dataset
    seed: tuple[int, ...]  # seed sequence of this item's augmentation


class MixtureSampler:
    """Per-step frame lists; ``state_dict``/``load_state_dict`` hold the next step."""

    window = 0  # shards per window (``ShardWindowSampler``); 0: each epoch is one shuffle of all frames

    def __init__(
        self,
        num_frames: list[int],
        proportions: list[float],
        batch_size: int,
        seed: int = 0,
        world_size: int = 1,
        rank: int = 0,
    ) -> None:
        if len(num_frames) != len(proportions) or any(n < 1 for n in num_frames):
            raise ValueError(f"every dataset needs >= 1 frame and a proportion: {num_frames}, {proportions}")
        if batch_size < world_size:
            raise ValueError(f"batch_size {batch_size} < world size {world_size}")
        self.num_frames = list(num_frames)
        self.per_batch = allocate(batch_size, proportions)
        self.batch_size = batch_size
        self.seed = int(seed)
        self.world_size, self.rank = world_size, rank
        self.step = 0
        self._perm_cache: dict[tuple[int, int], np.ndarray] = {}

    @property
    def steps_per_epoch(self) -> int:
        """Steps for every dataset with a positive share to be seen at least once."""
        return max(math.ceil(n / k) for n, k in zip(self.num_frames, self.per_batch, strict=True) if k > 0)

    def _perm(self, d: int, epoch: int) -> np.ndarray:
        key = (d, epoch)
        if key not in self._perm_cache:
            if len(self._perm_cache) > 4 * len(self.num_frames):
                self._perm_cache.clear()
            self._perm_cache[key] = self._epoch_order(d, epoch)
        return self._perm_cache[key]

    def _epoch_order(self, d: int, epoch: int) -> np.ndarray:
        """Dataset ``d``'s frames in the order of epoch ``epoch``."""
        return np.random.default_rng([self.seed, d, epoch]).permutation(self.num_frames[d])

    def global_batch(self, step: int) -> list[FrameRef]:
        """Every frame of global step ``step`` (all processes)."""
        out = []
        for d, k in enumerate(self.per_batch):
            n = self.num_frames[d]
            for pos in range(step * k, (step + 1) * k):
                epoch, i = divmod(pos, n)
                out.append(FrameRef(d, int(self._perm(d, epoch)[i]), (self.seed, step, d, pos)))
        return out

    def batch(self, step: int) -> list[FrameRef]:
        """This process's part of step ``step``."""
        items = self.global_batch(step)
        bounds = np.linspace(0, len(items), self.world_size + 1).round().astype(int)
        return items[bounds[self.rank] : bounds[self.rank + 1]]

    def __iter__(self) -> Iterator[list[FrameRef]]:
        while True:
            refs = self.batch(self.step)
            self.step += 1
            yield refs

    def state_dict(self) -> dict[str, int]:
        return {"step": self.step, "seed": self.seed, "window": self.window}

    def load_state_dict(self, state: dict[str, int]) -> None:
        if int(state["seed"]) != self.seed:
            raise ValueError(f"sampler seed {state['seed']} in the checkpoint, {self.seed} configured")
        if int(state.get("window", 0)) != self.window:
            raise ValueError(
                f"the checkpoint was trained with a shard window of {state.get('window', 0)} "
                f"(0: none), {self.window} configured: its batches would not continue"
            )
        self.step = int(state["step"])


class ShardWindowSampler(MixtureSampler):
    """:class:`MixtureSampler` whose epoch permutations go window by window over a sharded store (the feature
    cache): dataset d's shards are visited in an order seeded by ``(seed, d, epoch)``, ``window`` shards at a
    time, and the frames of one window are shuffled among themselves and all drawn before the next window's.
    So at any stream position at most ``window`` of d's shards are partly drawn, and a reader can hold just
    those in memory and read each shard whole (sequentially) once per epoch. Still a pure function of
    ``(seed, step)``; with ``window`` >= the number of shards it is a full shuffle of each epoch.

    ``shard_sizes[d]`` lists the frames of dataset d's shards; frame indices run shard by shard (shard 0's
    frames first), as ``training.feature_cache.CachedDataset.frames`` lists them."""

    def __init__(
        self,
        shard_sizes: list[list[int]],
        proportions: list[float],
        batch_size: int,
        window: int,
        seed: int = 0,
        world_size: int = 1,
        rank: int = 0,
    ) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1 shard, got {window}")
        if any(not sizes or min(sizes) < 1 for sizes in shard_sizes):
            raise ValueError(f"every dataset needs shards of >= 1 frame: {shard_sizes}")
        super().__init__([sum(s) for s in shard_sizes], proportions, batch_size, seed, world_size, rank)
        self.window = int(window)
        self.shard_starts = [np.concatenate([[0], np.cumsum(s)]).astype(np.int64) for s in shard_sizes]

    def shard_of(self, d: int, frame: int) -> int:
        """Dataset ``d``'s shard (0-based, in its own order) that holds its frame ``frame``."""
        return int(np.searchsorted(self.shard_starts[d], frame, side="right") - 1)

    def _epoch_order(self, d: int, epoch: int) -> np.ndarray:
        starts = self.shard_starts[d]
        rng = np.random.default_rng([self.seed, d, epoch])
        order = rng.permutation(len(starts) - 1)
        parts = []
        for w in range(0, len(order), self.window):
            shards = order[w : w + self.window]
            frames = np.concatenate([np.arange(starts[s], starts[s + 1]) for s in shards])
            parts.append(rng.permutation(frames))
        return np.concatenate(parts)

    def shards_of_steps(self, first: int, last: int) -> set[tuple[int, int]]:
        """``(dataset, shard)`` of every frame this process draws in steps ``first`` to ``last`` inclusive."""
        refs = [r for k in range(first, last + 1) for r in self.batch(k)]
        return {(r.dataset, self.shard_of(r.dataset, r.group)) for r in refs}
