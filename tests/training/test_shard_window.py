"""Shard-window sampling of a feature cache larger than memory: each epoch still draws every frame once, at
most ``window`` shards of a dataset are partly drawn at any time (so only those need be in memory, each read
whole), batches are a pure function of the step, and cached training reads the same arrays as through the
memory maps."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from train_helpers import make_synth, tiny_cached_config

from training.cached_training import CachedTrainer
from training.feature_cache import build_cache
from training.sampler import MixtureSampler, ShardWindowSampler
from training.shard_prefetch import shard_layout

SHARDS = [[5, 5, 5, 5, 3, 5, 4], [2, 2, 2]]  # frames per shard, two datasets; 32 and 6 frames


def _stream(s: ShardWindowSampler, d: int, steps: int) -> list[int]:
    return [r.group for k in range(steps) for r in s.batch(k) if r.dataset == d]


@pytest.mark.parametrize("window", [1, 2, 3, 7])
def test_each_epoch_draws_every_frame_once_from_at_most_window_open_shards(window):
    s = ShardWindowSampler(SHARDS, [4.0, 1.0], batch_size=5, window=window, seed=9)
    assert s.per_batch == [4, 1]
    frames = _stream(s, 0, 16)  # 16 steps x 4 = 64 positions: epochs 0 and 1 of the 32 frames
    starts = np.cumsum([0, *SHARDS[0]])
    shard = np.searchsorted(starts, frames, side="right") - 1  # shard of each frame, from the sizes above
    for epoch in (frames[:32], frames[32:]):
        assert sorted(epoch) == list(range(32))
    for e in (0, 1):
        left = dict(enumerate(SHARDS[0]))  # frames of each shard not yet drawn this epoch
        most_open = 0
        for sh in shard[32 * e : 32 * (e + 1)]:
            left[sh] -= 1
            most_open = max(most_open, sum(0 < n < SHARDS[0][k] for k, n in left.items()))
        assert most_open <= window
        assert all(n == 0 for n in left.values())
    # the two epochs visit the shards in different orders (seeded by the epoch), and other seeds differ
    assert frames[:32] != frames[32:]
    assert _stream(ShardWindowSampler(SHARDS, [4.0, 1.0], 5, window, seed=10), 0, 8) != frames[:32]


def test_window_batches_are_a_pure_function_of_the_step_and_refuse_another_window_on_resume():
    a = ShardWindowSampler(SHARDS, [1.0, 1.0], batch_size=4, window=2, seed=3)
    b = ShardWindowSampler(SHARDS, [1.0, 1.0], batch_size=4, window=2, seed=3)
    b.load_state_dict({"step": 11, "seed": 3, "window": 2})
    assert next(iter(b)) == a.batch(11)
    assert a.shards_of_steps(5, 5) == {(r.dataset, a.shard_of(r.dataset, r.group)) for r in a.batch(5)}
    with pytest.raises(ValueError, match="shard window of 3"):
        b.load_state_dict({"step": 11, "seed": 3, "window": 3})
    with pytest.raises(ValueError, match="shard window of 2"):  # a windowed run resumed without its window
        MixtureSampler([32, 6], [1.0, 1.0], 4, seed=3).load_state_dict(a.state_dict())
    with pytest.raises(ValueError, match="window must be >= 1"):
        ShardWindowSampler(SHARDS, [1.0, 1.0], 4, window=0)


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    return make_synth(tmp_path_factory.mktemp("synth") / "d", frames=7)


def _cfg(synth, tmp_path, *extra):
    # 7 frames: shards of 2, 2, 2, 1
    windows = ("feature_cache.window_shards=1", "feature_cache.prefetch_steps=1")
    return tiny_cached_config(synth, tmp_path, *windows, *extra)


def test_windowed_training_reads_whole_shards_the_memory_maps_hold_and_resumes_bit_for_bit(synth, tmp_path):
    cfg = _cfg(synth, tmp_path, "optim.max_steps=12")
    build_cache(cfg, progress=False)
    trainer = CachedTrainer(cfg, verbose=False)
    ids, sizes = shard_layout(trainer.cache)
    assert sizes == [[2, 2, 2, 1]]
    mapped = [dict(s) for s in trainer.cache.shards]
    for step in range(12):
        trainer.prefetcher.prepare(step)
        # windows of 1 shard and a look-ahead of 1 step: in memory only shards that this step, the previous
        # or the next draw from, 4 frames in a row of the window stream: at most 3 of the 4 shards
        near = {ids[0][j] for _, j in trainer.sampler.shards_of_steps(max(step - 1, 0), step + 1)}
        assert trainer.prefetcher.resident <= near and len(trainer.prefetcher.resident) <= 3
        for si in trainer.prefetcher.resident:  # a shard in memory is its whole memory-mapped arrays
            held = trainer.cache.shards[si]
            assert not isinstance(held["crop_feats"], np.memmap)
            assert all(np.array_equal(held[k], mapped[si][k]) for k in mapped[si])
    assert trainer.prefetcher.stats.reads >= 4  # every shard read whole at least once in 2+ epochs
    trainer.prefetcher.close()
    assert all(isinstance(s["crop_feats"], np.memmap) for s in trainer.cache.shards)

    full = CachedTrainer(cfg, verbose=False).fit()
    halfway = _cfg(synth, tmp_path, "optim.max_steps=12", f"log.out_dir='{tmp_path / 'h'}'")
    half = CachedTrainer(halfway, verbose=False)
    half.fit(max_steps=6)
    resume = (f"resume='{tmp_path / 'h' / 'last.pt'}'", f"log.out_dir='{tmp_path / 'r'}'")
    resumed = CachedTrainer(_cfg(synth, tmp_path, "optim.max_steps=12", *resume), verbose=False)
    rest = resumed.fit()
    assert [h["loss"] for h in rest] == [h["loss"] for h in full[6:]]
    ended = torch.load(tmp_path / "run" / "last.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(v, resumed.model.net.state_dict()[k]) for k, v in ended.items())
