"""Feature cache and cached training: the cached path is the network's own forward after the trunks, the cache
is resumable and refuses other settings, and the cosine schedule has its textbook end points."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch
from train_helpers import make_synth, tiny_cached_config

from training.batch import collate_frames
from training.cached_training import CachedTrainer, cosine_lr
from training.config import LossWeights
from training.crops import prepare_frame
from training.datasets.synthetic import SyntheticHandsDataset
from training.feature_cache import TRUNK_PREFIXES, build_cache, frozen_trunk_net, load_cache, shard_dir
from training.sampler import frame_groups
from wildhands_core.checkpoint import load_checkpoint
from wildhands_core.model.wildhands import WildHands


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    return make_synth(tmp_path_factory.mktemp("synth") / "d", frames=5)


def _cfg(synth, tmp_path, *extra):
    return tiny_cached_config(synth, tmp_path, *extra)


def _cached_and_full_outputs(synth, cfg, trainer):
    """Frame 3 of draw 0 through the cached path and through the whole network (trunks included), the frame
    prepared again exactly as the cache documents it: rng (seed, dataset, draw, frame)."""
    model = trainer.model.eval()
    ds = SyntheticHandsDataset(synth)
    groups = frame_groups(ds)
    samples = [ds[i] for i in groups[3]]
    for s in samples:
        s.dataset = "synthetic"
    frame = prepare_frame(
        samples,
        cfg.augment,
        np.random.default_rng([3, 0, 0, 3]),
        cfg.loss.mask_size,
        cfg.augment.box_source,
        cfg.model.input_convention,
        cfg.loss.mask_frame,
    )
    full_batch = collate_frames([frame], {"synthetic": LossWeights()}, cfg.loss.mask_size)
    with torch.no_grad():
        full = model(**full_batch.inputs)
        si = next(
            i
            for i, (s, r) in enumerate(trainer.cache.frames[0])
            if trainer.cache.shards[s]["frame_group"][r] == 3
        )
        batch, feats = trainer.cache.batch([trainer.cache.frames[0][si]], trainer.weights)
        cached = trainer.forward(feats, batch.inputs, train=False)
    return samples, full_batch, full, batch, cached


def test_cached_forward_equals_the_full_network_on_the_same_prepared_frame(synth, tmp_path):
    cfg = _cfg(synth, tmp_path)
    build_cache(cfg, progress=False)
    trainer = CachedTrainer(cfg, verbose=False)
    samples, full_batch, full, batch, cached = _cached_and_full_outputs(synth, cfg, trainer)
    assert batch.num_hands == len(samples)
    np.testing.assert_array_equal(
        batch.labels["joints_cam_m"].numpy(), full_batch.labels["joints_cam_m"].numpy()
    )
    np.testing.assert_array_equal(batch.inputs["boxes_224"].numpy(), full_batch.inputs["boxes_224"].numpy())
    # float16 storage of the trunk outputs is the only difference: millimetre-level agreement at most
    np.testing.assert_allclose(cached["joints_cam_m"].numpy(), full["joints_cam_m"].numpy(), atol=2e-3)
    np.testing.assert_allclose(cached["rotmat"].numpy(), full["rotmat"].numpy(), atol=2e-2)


def test_a_crop_only_network_reads_a_cache_built_with_the_image_trunk(synth, tmp_path):
    """The whole-image ablation: model.use_whole_image=false trains from the same cache, its image features
    unused; its cached path equals the crop-only network's own forward, and another crop trunk is refused."""
    build_cache(_cfg(synth, tmp_path), progress=False)
    crop_only = _cfg(synth, tmp_path, "model.use_whole_image=false")
    trainer = CachedTrainer(crop_only, verbose=False)
    assert not hasattr(trainer.model.net, "backbone") and hasattr(trainer.model.net, "hand_backbone")
    _, _, full, _, cached = _cached_and_full_outputs(synth, crop_only, trainer)
    # float16 features (2^-11 relative): a few parts in 10^3 of the depth of this untrained network (~1.7 m)
    np.testing.assert_allclose(
        cached["joints_cam_m"].numpy(), full["joints_cam_m"].numpy(), atol=2e-3, rtol=3e-3
    )
    with pytest.raises(ValueError, match="trunk_sha256"):
        CachedTrainer(
            _cfg(synth, tmp_path, "model.use_whole_image=false", "seed=4", "data.datasets.0.label=other"),
            verbose=False,
        )


def test_build_resumes_only_missing_shards_and_grows_with_more_draws(synth, tmp_path):
    cfg = _cfg(synth, tmp_path)
    first = build_cache(cfg, progress=False)
    assert (first["shards_written"], first["shards_kept"]) == (3, 0)  # 5 frames in shards of 2: 2 + 2 + 1
    kept = shard_dir(tmp_path / "cache", "synthetic", 0, 1) / "crop_feats.npy"
    mtime = kept.stat().st_mtime_ns
    # an interrupted shard (its temporary folder left behind, the final one missing) is rebuilt
    victim = shard_dir(tmp_path / "cache", "synthetic", 0, 2)
    os.replace(victim, victim.with_name(victim.name + ".tmp999"))
    again = build_cache(_cfg(synth, tmp_path, "feature_cache.draws=2"), progress=False)
    assert (again["shards_written"], again["shards_kept"]) == (1 + 3, 2)
    assert kept.stat().st_mtime_ns == mtime
    cache = load_cache(_cfg(synth, tmp_path, "feature_cache.draws=2"), frozen_trunk_net(cfg))
    assert len(cache.frames[0]) == 2 * 5  # every frame of both draws, none twice
    groups = sorted(int(cache.shards[s]["frame_group"][r]) for s, r in cache.frames[0])
    assert groups == sorted(list(range(5)) * 2)


def test_a_cache_of_other_settings_is_refused_naming_them(synth, tmp_path):
    build_cache(_cfg(synth, tmp_path), progress=False)
    with pytest.raises(ValueError, match=r"augment\.crop_scale"):
        build_cache(_cfg(synth, tmp_path, "augment.crop_scale=2.0"), progress=False)
    with pytest.raises(ValueError, match="trunk_sha256"):
        build_cache(_cfg(synth, tmp_path, "seed=4", "data.datasets.0.label=other"), progress=False)


def test_feature_caching_refuses_a_trunk_that_sees_the_kpe(synth, tmp_path):
    with pytest.raises(ValueError, match="KPE"):
        build_cache(_cfg(synth, tmp_path, "model.variant=kpe_input"), progress=False)


def test_the_commands_take_options_between_the_config_and_its_overrides():
    """models/demo/README.md's recipe writes `CONFIG --workers 2 "data.datasets=[...]"`."""
    from training.cached_training import parse_command_line as train_cached
    from training.cli import parse_train_command_line as train
    from training.feature_cache import parse_command_line as cache

    a = cache(["c.yaml", "--workers", "2", "optim.lr=1e-3", "seed=2"])
    assert (a.config, a.workers, a.overrides) == ("c.yaml", 2, ["optim.lr=1e-3", "seed=2"])
    for parse in (train_cached, train):
        b = parse(["c.yaml", "--steps", "5", "optim.lr=1e-3"])
        assert (b.config, b.steps, b.overrides) == ("c.yaml", 5, ["optim.lr=1e-3"])


def test_cosine_schedule_runs_from_lr_to_lr_final_through_the_mean():
    assert cosine_lr(0, 11, 1e-3, 1e-4) == pytest.approx(1e-3)
    assert cosine_lr(10, 11, 1e-3, 1e-4) == pytest.approx(1e-4)
    assert cosine_lr(5, 11, 1e-3, 1e-4) == pytest.approx(5.5e-4)  # cos(pi/2) = 0: the mean of the ends
    assert cosine_lr(2, 11, 1e-3, 1e-4) == pytest.approx(1e-4 + 0.45e-3 * (1 + math.cos(math.pi * 0.2)))
    assert cosine_lr(7, 11, 1e-3, None) == 1e-3


def test_cached_training_fits_a_frame_keeps_the_trunks_and_writes_a_loadable_checkpoint(synth, tmp_path):
    cfg = _cfg(synth, tmp_path, "optim.max_steps=40", "optim.lr=3e-3", "feature_cache.lr_final=1e-4")
    build_cache(cfg, progress=False)
    trainer = CachedTrainer(cfg, verbose=False)
    before = {k: v.clone() for k, v in trainer.model.net.state_dict().items() if k.startswith(TRUNK_PREFIXES)}
    history = trainer.fit()
    first, last = np.mean([h["loss"] for h in history[:5]]), np.mean([h["loss"] for h in history[-5:]])
    assert last < 0.7 * first
    net, _, _ = load_checkpoint(tmp_path / "run" / "last.pt")
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert isinstance(WildHands(net).net, type(trainer.model.net))
    # resumable: a trainer started from last.pt continues at its step
    resumed = CachedTrainer(
        _cfg(synth, tmp_path, "optim.max_steps=40", f"resume='{tmp_path / 'run' / 'last.pt'}'"), verbose=False
    )
    assert resumed.step == 40


def test_a_side_classifier_trained_onto_a_finished_checkpoint_changes_nothing_else(synth, tmp_path):
    # the demo's recipe (training/configs/demo_side_head.yaml): init_from a finished network, keep its heads,
    # only the side term on, every other module in optim.freeze_prefixes
    cfg = _cfg(synth, tmp_path, "optim.max_steps=3")
    build_cache(cfg, progress=False)
    CachedTrainer(cfg, verbose=False).fit()
    finished = tmp_path / "run" / "last.pt"
    side_cfg = _cfg(
        synth, tmp_path / "side",
        f"feature_cache.dir='{tmp_path / 'cache'}'",
        f"data.datasets=[{{name: synthetic, root: '{synth}', loss: {{side: 1.0}}}}]",
        "model.side_head=true", f"init_from='{finished}'", "feature_cache.fresh_heads=false",
        "optim.freeze_prefixes=[feature_conv, head_r, head_l, grasp_classifier]",
        "optim.max_steps=30", "optim.lr=3e-3",
    )
    trainer = CachedTrainer(side_cfg, verbose=False)
    history = trainer.fit()
    assert set(history[0]) >= {"side"} and not set(history[0]) & {"theta", "kp3d", "kp2d", "cam"}
    assert np.mean([h["side"] for h in history[-5:]]) < 0.5 * np.mean([h["side"] for h in history[:5]])
    old, _, _ = load_checkpoint(finished)
    new, new_cfg, _ = load_checkpoint(tmp_path / "side" / "run" / "last.pt")
    assert new_cfg.side_head
    new_sd = new.state_dict()
    for k, v in old.state_dict().items():  # every tensor of the finished network, BatchNorm statistics too
        assert torch.equal(v, new_sd[k]), k
    assert any(k.startswith("side_classifier.") for k in new_sd)


def test_a_dataset_can_be_cropped_with_its_own_augmentation_and_the_cache_keys_it(synth, tmp_path):
    from training.config import AugmentConfig, DatasetSpec, spec_augment
    from training.feature_cache import dataset_settings

    base = AugmentConfig(crop_scale=1.75, crop_scale_jitter=0.15, crop_shift_jitter=0.08)
    jitter = {"crop_scale_jitter": 0.3, "crop_shift_jitter": 0.12}
    wide = DatasetSpec(name="synthetic", root=str(synth), label="wide", augment=jitter)
    got = spec_augment(base, wide)
    assert (got.crop_scale_jitter, got.crop_shift_jitter, got.crop_scale) == (0.3, 0.12, 1.75)
    assert spec_augment(base, DatasetSpec(name="synthetic", crop_scale=2.0)).crop_scale == 2.0
    assert spec_augment(base, DatasetSpec(name="synthetic")) == base
    with pytest.raises(ValueError, match="crop_scale_jiter"):
        DatasetSpec(name="synthetic", augment={"crop_scale_jiter": 0.3})
    cfg = _cfg(synth, tmp_path)
    plain = DatasetSpec(name="synthetic", root=str(synth), label="wide")
    assert dataset_settings(cfg, wide, 0)["augment"]["crop_scale_jitter"] == 0.3  # a cache keys it
    assert dataset_settings(cfg, plain, 0)["augment"]["crop_scale_jitter"] == cfg.augment.crop_scale_jitter
