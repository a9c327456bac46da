"""``wildhands-inspect``: run as a subprocess on files written by the test."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from wildhands_core.checkpoint import count_learnable_parameters, save_checkpoint
from wildhands_core.cli.inspect import main
from wildhands_core.config import ModelConfig
from wildhands_core.model import WildHandsNet

REPO = Path(__file__).resolve().parents[2]
TSV = REPO.parent / "shared" / "reference" / "official_state_dict.tsv"


def inspect(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wildhands_core.cli.inspect", str(path)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)


def small_cfg() -> ModelConfig:
    return ModelConfig(backbone="resnet18", conv_dims=(16, 8, 8), fc_dim=16, head_hidden=16,
                       cam_init_hidden=8)


def test_project_checkpoint_is_described_with_its_config_and_parameter_count(tmp_path: Path) -> None:
    net = WildHandsNet(small_cfg())
    path = tmp_path / "small.pt"
    save_checkpoint(path, net, small_cfg())
    res = inspect(path)
    assert res.returncode == 0, res.stderr
    assert "format: project (version 2)" in res.stdout
    assert "backbone: resnet18" in res.stdout
    assert f"learnable_parameters: {count_learnable_parameters(net)}\n" in res.stdout


@pytest.mark.skipif(not TSV.exists(), reason="shared/reference/official_state_dict.tsv not available")
def test_released_layout_is_recognised_and_counts_69182816_parameters(tmp_path: Path) -> None:
    sd = {}
    for line in TSV.read_text().splitlines():
        key, shape, dtype = line.split("\t")
        sd[key] = torch.zeros(tuple(eval(shape)), dtype=torch.int64 if dtype == "int64" else torch.float32)
    path = tmp_path / "released.ckpt"
    torch.save({"epoch": 1, "state_dict": sd}, path)
    res = inspect(path)
    assert res.returncode == 0, res.stderr
    assert "format: released" in res.stdout
    assert "learnable_parameters: 69182816\n" in res.stdout


def test_checkpoint_that_does_not_fit_exits_1_naming_the_keys(tmp_path: Path) -> None:
    path = tmp_path / "bad.pt"
    save_checkpoint(path, WildHandsNet(small_cfg()), small_cfg())
    ckpt = torch.load(path, weights_only=True)
    del ckpt["state_dict"]["head_l.cam_init.4.bias"]
    ckpt["state_dict"]["head_r.cam_init.4.weight"] = torch.zeros(3, 7)
    torch.save(ckpt, path)
    res = inspect(path)
    assert res.returncode == 1
    assert "missing (1): head_l.cam_init.4.bias" in res.stderr
    assert "head_r.cam_init.4.weight: network (3, 8), file (3, 7)" in res.stderr


class _NotWeights:
    pass


def test_files_that_are_not_checkpoints_exit_2(tmp_path: Path) -> None:
    text = tmp_path / "readme.txt"
    text.write_text("hello\n")
    pick = tmp_path / "object.pkl"
    pick.write_bytes(pickle.dumps({"state": _NotWeights()}))
    for path in (text, pick):
        res = inspect(path)
        assert res.returncode == 2, (path, res.stdout, res.stderr)
        assert "error:" in res.stderr


def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "absent.pt")]) == 2
    assert "absent.pt" in capsys.readouterr().err
