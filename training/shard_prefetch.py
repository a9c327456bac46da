"""The feature cache's shards held in memory just ahead of a :class:`training.sampler.ShardWindowSampler`.

A cache larger than the machine's memory, memory-mapped and drawn from at random, turns training into random
disk reads (issue 25: the 60K-frame cache, 23 GB on a 24 GB machine, fell from ~4 to 0.3-1 steps/s while other
jobs held memory). With a shard window, each dataset's frames come from a few shards at a time; this reads
those shards whole (one sequential read per array file) on a background thread ``lookahead`` steps before
they are drawn, swaps them into ``CachedDataset.shards`` and gives them back to their memory maps once no
step of the look-ahead needs them. What a batch contains never depends on it: a shard not (yet) read is
drawn from its memory map.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from training.feature_cache import CachedDataset
from training.sampler import ShardWindowSampler

__all__ = ["PrefetchStats", "ShardPrefetcher", "shard_layout"]


def shard_layout(cache: CachedDataset) -> tuple[list[list[int]], list[list[int]]]:
    """Per dataset, its shards' indices in ``cache.shards`` and their frame counts, in the order
    ``cache.frames[d]`` lists the frames (shard by shard)."""
    ids: list[list[int]] = []
    sizes: list[list[int]] = []
    for frames in cache.frames:
        mine: list[int] = []
        counts: list[int] = []
        for si, _ in frames:
            if mine and mine[-1] == si:
                counts[-1] += 1
            else:
                if si in mine:
                    raise ValueError(f"cache frames of shard {si} are not contiguous")
                mine.append(si)
                counts.append(1)
        ids.append(mine)
        sizes.append(counts)
    return ids, sizes


@dataclass
class PrefetchStats:
    reads: int = 0  # shards read whole
    bytes_read: int = 0
    waited_s: float = 0.0  # the training step waited on a read this long in all
    most_resident: int = 0  # the most shards held in memory at once


class ShardPrefetcher:
    """See the module docstring: ``prepare(step)`` before drawing step ``step``'s batch, ``close()`` at the
    end."""

    def __init__(self, cache: CachedDataset, sampler: ShardWindowSampler, lookahead: int = 16) -> None:
        if lookahead < 1:
            raise ValueError(f"lookahead must be >= 1 step, got {lookahead}")
        self.cache, self.sampler, self.lookahead = cache, sampler, int(lookahead)
        self.ids, _ = shard_layout(cache)
        self._mapped = list(cache.shards)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="shard-read")
        self._pending: dict[int, Future] = {}
        self.resident: set[int] = set()
        self._planned_until = -1
        self.stats = PrefetchStats()

    def _read(self, si: int) -> dict[str, np.ndarray]:
        mapped = self._mapped[si]
        return {k: np.load(v.filename) if isinstance(v, np.memmap) else v for k, v in mapped.items()}

    def _swap_in(self, si: int, arrays: dict[str, np.ndarray]) -> None:
        self.cache.shards[si] = arrays
        self.resident.add(si)
        self.stats.reads += 1
        self.stats.bytes_read += sum(a.nbytes for a in arrays.values())
        self.stats.most_resident = max(self.stats.most_resident, len(self.resident))

    def _collect(self, wait_for: set[int]) -> None:
        for si in list(self._pending):
            fut = self._pending[si]
            if si in wait_for and not fut.done():
                t0 = time.perf_counter()
                fut.result()
                self.stats.waited_s += time.perf_counter() - t0
            if fut.done():
                del self._pending[si]
                self._swap_in(si, fut.result())

    def prepare(self, step: int) -> None:
        """Shards of step ``step`` in memory (waiting for reads under way), reads started for the next
        ``lookahead`` steps, shards no step of the look-ahead draws from given back."""
        if step > self._planned_until - self.lookahead // 2 or step < self._planned_until - self.lookahead:
            last = step + self.lookahead
            wanted = {self.ids[d][j] for d, j in self.sampler.shards_of_steps(step, last)}
            self._planned_until = last
            for si in sorted(self.resident - wanted):
                self.cache.shards[si] = self._mapped[si]
                self.resident.discard(si)
            for si in sorted(wanted - self.resident - set(self._pending)):
                self._pending[si] = self._pool.submit(self._read, si)
        now = {self.ids[d][j] for d, j in self.sampler.shards_of_steps(step, step)}
        self._collect(now)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        for si in list(self.resident):
            self.cache.shards[si] = self._mapped[si]
        self.resident.clear()
        self._pending.clear()
