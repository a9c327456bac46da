"""`wildhands-export`: checkpoint -> checked ONNX with a parity run; clear failure on a non-checkpoint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from wildhands_core.checkpoint import save_checkpoint
from wildhands_core.config import ModelConfig
from wildhands_core.model.wildhands_net import WildHandsNet

REPO = Path(__file__).resolve().parents[2]
SMALL = ModelConfig(
    backbone="mobilenet_v3_small",
    conv_dims=(64, 64, 32),
    fc_dim=128,
    head_hidden=128,
    cam_init_hidden=64,
    grasp_head=True,
    grasp_hidden=(64, 32),
)


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "wildhands_core.cli.export", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_export_writes_a_checked_onnx_file_that_matches_torch(tmp_path):
    torch.manual_seed(0)
    ckpt = tmp_path / "small.pt"
    save_checkpoint(ckpt, WildHandsNet(SMALL), SMALL)
    out = tmp_path / "export"
    proc = _run(str(ckpt), "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "onnx.checker: ok" in proc.stdout and "-> ok" in proc.stdout
    report = json.loads((out / "export_report.json").read_text())
    assert report["max_abs_diff"]["joints_cam_m"] < 1e-4
    assert (out / "wildhands.onnx").stat().st_size > 1e6


def test_export_of_a_file_that_is_not_a_checkpoint_fails_with_exit_2(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("not a checkpoint")
    proc = _run(str(bad), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "cannot load" in proc.stderr


@pytest.mark.skipif(not (REPO / "models/demo/wildhands_demo.pt").exists(), reason="no demo checkpoint")
def test_onnxruntime_matches_torch_on_trained_weights(tmp_path):
    from wildhands_core.estimate import HandBox
    from wildhands_core.estimator import EstimatorConfig, HandPoseEstimator

    ckpt = str(REPO / "models/demo/wildhands_demo.pt")
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    K = np.array([[250.0, 0, 160], [0, 250.0, 120], [0, 0, 1]])
    boxes = [HandBox(np.array([40.0, 100, 130, 200]), True), HandBox(np.array([180.0, 90, 280, 210]), False)]
    ref = HandPoseEstimator(EstimatorConfig(checkpoint=ckpt)).estimate(img, K, boxes)
    got = HandPoseEstimator(
        EstimatorConfig(checkpoint=ckpt, backend="onnxruntime", cache_dir=str(tmp_path))
    ).estimate(img, K, boxes)
    for r, g in zip(ref, got, strict=True):
        assert np.abs(r.joints_m - g.joints_m).max() < 1e-4  # 0.1 mm
        assert np.abs(r.grasp_prob - g.grasp_prob).max() < 1e-4


def test_parity_counts_nan_in_both_as_agreement_and_nan_in_one_as_a_failure():
    # right_prob of a network without a side classifier is NaN in torch and ONNX Runtime alike
    import numpy as np

    from wildhands_core.inference.export import _max_difference

    nan = np.array([np.nan, np.nan])
    assert _max_difference(nan, nan.copy()) == 0.0
    assert np.isnan(_max_difference(nan, np.array([0.5, 0.5])))
    assert _max_difference(np.array([0.25, 1.0]), np.array([0.5, 1.0])) == 0.25
