"""fold_pads_into_convs: a zero Pad before a Conv becomes the Conv's own (asymmetric) pads, same values."""

from __future__ import annotations

import io

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from wildhands_core.inference.onnx_passes import fold_pads_into_convs
from wildhands_core.model.efficientnet_lite import Conv2dSame


def _export(module: nn.Module, x: torch.Tensor) -> onnx.ModelProto:
    buf = io.BytesIO()
    torch.onnx.export(module.eval(), (x,), buf, dynamo=False, opset_version=17, input_names=["x"],
                      output_names=["y"])
    return onnx.load_from_string(buf.getvalue())


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


def _ops(model: onnx.ModelProto) -> list[str]:
    return [n.op_type for n in model.graph.node]


def test_the_tensorflow_same_pad_of_a_stride_2_convolution_goes_into_the_convolution():
    # the hand-checked case of test_efficientnet_lite: 3x3 ones, stride 2, 4x4 ones -> [[9, 6], [6, 4]]
    conv = Conv2dSame(1, 1, 3, 2)
    with torch.no_grad():
        conv.weight.fill_(1.0)
    model = _export(conv, torch.ones(1, 1, 4, 4))
    assert "Pad" in _ops(model)
    assert fold_pads_into_convs(model) == 1
    onnx.checker.check_model(model)
    assert "Pad" not in _ops(model)
    (c,) = [n for n in model.graph.node if n.op_type == "Conv"]
    pads = [list(onnx.helper.get_attribute_value(a)) for a in c.attribute if a.name == "pads"]
    assert pads == [[0, 0, 1, 1]]  # ONNX order: top, left, bottom, right
    np.testing.assert_array_equal(_run(model, np.ones((1, 1, 4, 4), np.float32))[0, 0], [[9, 6], [6, 4]])


def test_a_real_trunk_block_gives_the_same_values_without_its_pads():
    torch.manual_seed(0)
    net = nn.Sequential(Conv2dSame(3, 8, 3, 2), nn.ReLU6(), Conv2dSame(8, 8, 5, 2, groups=8))
    # 36x50, k3 s2: (0, 1) on both axes; then 18x25, k5 s2: (1, 2) and (2, 2) (same_padding by hand)
    x = torch.randn(1, 3, 36, 50)
    model = _export(net, x)
    want = _run(model, x.numpy())
    assert fold_pads_into_convs(model) == 2 and "Pad" not in _ops(model)
    np.testing.assert_allclose(_run(model, x.numpy()), want, rtol=0, atol=1e-6)
    np.testing.assert_allclose(want, net(x).detach().numpy(), rtol=0, atol=1e-5)


class _PadTwice(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = nn.functional.pad(x, (0, 1, 0, 1))
        return nn.functional.conv2d(p, torch.ones(1, 1, 3, 3)) + p[..., :2, :2].sum()


class _PadOnes(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.conv2d(nn.functional.pad(x, (0, 1, 0, 1), value=1.0), torch.ones(1, 1, 3, 3))


def test_a_pad_read_twice_or_padding_with_non_zeros_stays():
    for module in (_PadTwice(), _PadOnes()):
        model = _export(module, torch.ones(1, 1, 4, 4))
        assert fold_pads_into_convs(model) == 0 and "Pad" in _ops(model)
