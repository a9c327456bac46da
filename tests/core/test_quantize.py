"""int8 QDQ model of the inference graph (``wildhands-export --int8``): calibrated on synthetic frames, every
convolution quantized and nothing else, outputs close to float32."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
import torch

from wildhands_core.checkpoint import save_checkpoint
from wildhands_core.config import ModelConfig
from wildhands_core.model.wildhands_net import WildHandsNet

SMALL = ModelConfig(backbone="mobilenet_v3_small", conv_dims=(64, 64, 32), fc_dim=128, head_hidden=128,
                    cam_init_hidden=64)


@pytest.mark.slow  # ONNX export + calibration + quantization: ~60 s on 2 shared cores
def test_export_int8_quantizes_every_convolution_and_stays_close_to_float32(tmp_path):
    from wildhands_synth.cli import main as synth_main

    torch.manual_seed(0)
    ckpt = tmp_path / "small.pt"
    save_checkpoint(ckpt, WildHandsNet(SMALL), SMALL)
    synth_main(["--out", str(tmp_path / "calib"), "--frames", "4", "--seed", "7", "--size", "160x120"])
    out = tmp_path / "export"
    proc = subprocess.run([sys.executable, "-m", "wildhands_core.cli.export", str(ckpt), "--out", str(out),
                           "--int8", str(tmp_path / "calib"), "--no-tensorrt"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    fp32 = onnx.load(str(out / "wildhands.onnx"))
    int8 = onnx.load(str(out / "wildhands_int8.onnx"))
    convs = [n for n in fp32.graph.node if n.op_type == "Conv"]
    by_output = {o: n for n in int8.graph.node for o in n.output}
    q_convs = [n for n in int8.graph.node if n.op_type == "Conv"]
    assert len(q_convs) == len(convs) > 0
    # QDQ: every convolution reads a dequantized activation and dequantized int8 weights
    for n in q_convs:
        x, w = by_output[n.input[0]], by_output[n.input[1]]
        assert x.op_type == "DequantizeLinear" and w.op_type == "DequantizeLinear", n.name
    # nothing but convolutions: the Gemm/MatMul of the heads and MANO read float tensors
    for n in int8.graph.node:
        if n.op_type in ("Gemm", "MatMul"):
            assert all(by_output.get(i) is None or by_output[i].op_type != "DequantizeLinear"
                       for i in n.input), n.name
    meta = {p.key: p.value for p in int8.metadata_props}
    assert json.loads(meta["wildhands_quantization"])["calibration_feeds"] >= 1
    report = json.loads((out / "export_report.json").read_text())["int8"]
    # a random network's joints move by centimetres between frames; int8 stays within 2 cm of float32
    assert np.isfinite(report["joints_diff_mm_mean"]) and report["joints_diff_mm_max"] < 20.0
