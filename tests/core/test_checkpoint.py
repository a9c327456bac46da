"""Checkpoints: the released Lightning layout loads strictly; mismatches are named; project round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from wildhands_core.checkpoint import (
    CheckpointFormatError,
    CheckpointMismatchError,
    count_learnable_parameters,
    load_checkpoint,
    load_released_checkpoint,
    save_checkpoint,
)
from wildhands_core.config import ModelConfig
from wildhands_core.model import WildHandsNet

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"
needs_reference = pytest.mark.skipif(
    not (REFERENCE / "official_state_dict.tsv").exists(), reason="shared/reference not available"
)
DTYPES = {"float32": torch.float32, "int64": torch.int64}


def released_state_dict(with_grasp: bool = False, extra_heads: bool = False) -> dict[str, torch.Tensor]:
    """Random tensors with exactly the released names, shapes and dtypes."""
    g = torch.Generator().manual_seed(0)
    lines = (REFERENCE / "official_state_dict.tsv").read_text().splitlines()
    if with_grasp:
        lines += (REFERENCE / "official_grasp_head.tsv").read_text().splitlines()
    sd = {}
    for line in lines:
        key, shape, dtype = line.split("\t")
        shape = tuple(eval(shape))  # written as Python tuples, e.g. "(64, 3, 7, 7)"
        if DTYPES[dtype] == torch.int64:
            sd[key] = torch.randint(0, 100, shape, generator=g)
        else:
            sd[key] = torch.randn(shape, generator=g) * 0.01
    if extra_heads:
        sd["model.head_o.hmr_layer.refine.0.weight"] = torch.zeros(4, 4)
        sd["model.arti_head.cam_init.0.bias"] = torch.zeros(4)
    return sd


def lightning(sd: dict[str, torch.Tensor]) -> dict:
    return {"epoch": 99, "global_step": 1234, "pytorch-lightning_version": "1.9.0", "state_dict": sd}


@needs_reference
def test_released_layout_file_loads_strictly_with_grasp_head(tmp_path: Path) -> None:
    sd = released_state_dict(with_grasp=True, extra_heads=True)
    path = tmp_path / "released.ckpt"
    torch.save(lightning(sd), path)
    net, cfg, meta = load_released_checkpoint(path)
    assert cfg == ModelConfig(grasp_head=True)
    assert count_learnable_parameters(net) == 69_933_161
    assert meta["format"] == "released"
    assert len(meta["ignored"]) == 56 + 2  # MANO copies (4 x 14) + head_o + arti_head
    torch.testing.assert_close(net.head_l.cam_init[4].bias, sd["model.head_l.cam_init.4.bias"])
    running_var = sd["model.backbone.layer4.2.bn3.running_var"]
    torch.testing.assert_close(net.backbone.layer4[2].bn3.running_var, running_var)
    torch.testing.assert_close(net.grasp_classifier[6].weight, sd["model.grasp_classifier.6.weight"])
    assert not net.training


@needs_reference
def test_released_layout_without_grasp_head_builds_the_inference_network() -> None:
    net, cfg, _ = load_released_checkpoint(lightning(released_state_dict()))
    assert not cfg.grasp_head
    assert count_learnable_parameters(net) == 69_182_816


@needs_reference
def test_missing_unexpected_and_mis_shaped_keys_are_named() -> None:
    sd = released_state_dict()
    del sd["model.head_r.cam_init.2.bias"]
    sd["model.feature_conv.7.bias"] = torch.zeros(1000)
    sd["model.new_head.weight"] = torch.zeros(3)
    with pytest.raises(CheckpointMismatchError) as info:
        load_released_checkpoint(lightning(sd))
    err = info.value
    assert err.missing == ["head_r.cam_init.2.bias"]
    assert err.unexpected == ["new_head.weight"]
    assert err.mismatched == [("feature_conv.7.bias", (2048,), (1000,))]
    for name in ("head_r.cam_init.2.bias", "new_head.weight", "feature_conv.7.bias"):
        assert name in str(err)


def small_cfg(**kw) -> ModelConfig:
    return ModelConfig(backbone="resnet18", conv_dims=(16, 8, 8), fc_dim=16, head_hidden=16,
                       cam_init_hidden=8, grasp_hidden=(8, 8), **kw)


def test_project_checkpoint_round_trip_gives_identical_outputs(tmp_path: Path) -> None:
    torch.manual_seed(0)
    cfg = small_cfg(grasp_head=True, kpe="dense")
    net = WildHandsNet(cfg).eval()
    path = tmp_path / "sub" / "model.pt"
    save_checkpoint(path, net, cfg, extra={"epoch": 3, "lr": 1e-5})
    assert torch.load(path, weights_only=True)["format"] == "wildhands"
    loaded, cfg2, meta = load_checkpoint(path)
    assert cfg2 == cfg
    assert meta == {"format": "project", "version": 2, "training": {"epoch": 3, "lr": 1e-5}}
    x = (torch.randn(1, 3, 224, 224), torch.randn(2, 3, 224, 224), torch.tensor([0, 0]),
         torch.tensor([True, False]), torch.tensor([[10.0, 20.0, 80.0, 90.0], [100.0, 100.0, 200.0, 200.0]]),
         torch.tensor([[150.0, 0.0, 112.0], [0.0, 150.0, 112.0], [0.0, 0.0, 1.0]]).expand(2, 3, 3))
    with torch.no_grad():
        a, b = net(*x), loaded(*x)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_project_checkpoint_with_other_weights_is_rejected_by_name(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    save_checkpoint(path, WildHandsNet(small_cfg()), small_cfg())
    ckpt = torch.load(path, weights_only=True)
    ckpt["model_config"]["conv_dims"] = [16, 8, 4]
    torch.save(ckpt, path)
    with pytest.raises(CheckpointMismatchError) as info:
        load_checkpoint(path)
    assert [m[0] for m in info.value.mismatched] == ["feature_conv.4.weight", "feature_conv.7.weight"]


def test_files_that_are_not_checkpoints_raise_a_format_error(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a checkpoint\n")
    with pytest.raises(CheckpointFormatError):
        load_checkpoint(text)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(CheckpointFormatError):
        load_checkpoint(other)
    with pytest.raises(CheckpointFormatError):
        load_released_checkpoint(other)


