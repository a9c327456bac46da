"""TensorRT engine cache: the key changes exactly when the engine would be invalid (no GPU needed)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from wildhands_core.inference.engine_cache import EngineCache, EngineKey, file_sha256
from wildhands_core.inference.tensorrt_backend import profile_shapes, tensorrt_available


def _key(**kw):
    base = dict(
        onnx_sha256="a" * 64,
        tensorrt_version="10.3.0",
        gpu_name="NVIDIA H100",
        precision="fp16",
        max_hands=4,
        max_frames=1,
    )
    base.update(kw)
    return EngineKey(**base)


def test_key_digest_is_stable_and_changes_with_every_field():
    k = _key()
    assert k.digest() == _key().digest()
    for field, value in [
        ("onnx_sha256", "b" * 64),
        ("tensorrt_version", "10.4.0"),
        ("gpu_name", "NVIDIA L4"),
        ("precision", "fp32"),
        ("max_hands", 2),
        ("max_frames", 8),
    ]:
        assert replace(k, **{field: value}).digest() != k.digest(), field


def test_cache_returns_what_was_put_and_misses_on_another_key(tmp_path):
    cache = EngineCache(tmp_path / "engines")
    assert cache.get(_key()) is None
    p = cache.put(_key(), b"engine-bytes")
    assert p.exists() and cache.get(_key()) == b"engine-bytes"
    assert cache.get(_key(gpu_name="NVIDIA A100")) is None
    assert not list((tmp_path / "engines").glob(".tmp-*"))


def test_cache_rejects_an_entry_whose_sidecar_does_not_match(tmp_path):
    cache = EngineCache(tmp_path)
    p = cache.put(_key(), b"x")
    p.with_suffix(".json").write_text('{"onnx_sha256": "other"}')
    assert cache.get(_key()) is None


def test_file_hash_follows_content(tmp_path):
    a, b = tmp_path / "a.onnx", tmp_path / "b.onnx"
    a.write_bytes(b"graph-1")
    b.write_bytes(b"graph-1")
    assert file_sha256(a) == file_sha256(b)
    b.write_bytes(b"graph-2")
    assert file_sha256(a) != file_sha256(b)


def test_profile_covers_one_to_max_hands_with_opt_two():
    assert profile_shapes("crops", 4, 1) == ((1, 3, 224, 224), (2, 3, 224, 224), (4, 3, 224, 224))
    assert profile_shapes("images", 4, 3) == ((1, 3, 224, 224), (1, 3, 224, 224), (3, 3, 224, 224))
    assert profile_shapes("K_224", 1, 1)[1] == (1, 3, 3)


@pytest.mark.gpu
def test_tensorrt_engine_matches_onnxruntime(tmp_path):
    if not tensorrt_available():
        pytest.skip("TensorRT is not installed on this machine")
    import numpy as np
    import torch

    from wildhands_core.config import ModelConfig
    from wildhands_core.inference.export import example_inputs, export_onnx
    from wildhands_core.inference.graph import InferenceGraph
    from wildhands_core.inference.onnx_backend import OnnxRuntimeBackend
    from wildhands_core.inference.tensorrt_backend import TensorRTBackend
    from wildhands_core.model.wildhands import WildHands
    from wildhands_core.model.wildhands_net import WildHandsNet

    torch.manual_seed(0)
    path = export_onnx(
        InferenceGraph(WildHands(WildHandsNet(ModelConfig(backbone="resnet18")))), tmp_path / "m.onnx"
    )
    trt = TensorRTBackend(path, tmp_path / "engines", fp16=False, max_hands=4)
    assert trt.built_now
    inputs = example_inputs(1)
    ref = OnnxRuntimeBackend(path, ["CPUExecutionProvider"]).run(inputs)
    got = trt.run(inputs)
    assert np.abs(ref["joints_cam_m"] - got["joints_cam_m"]).max() < 1e-3
    assert trt.output_names == tuple(ref) and "vertices_cam_m" not in got  # the file's outputs, no mesh
    again = TensorRTBackend(path, tmp_path / "engines", fp16=False, max_hands=4)
    assert not again.built_now
