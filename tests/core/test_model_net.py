"""WildHandsNet: released layout and size, shapes for any number of hands, routing, variants, gradients."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from wildhands_core.checkpoint import count_learnable_parameters
from wildhands_core.config import ModelConfig
from wildhands_core.model import WildHandsNet
from wildhands_core.model.backbones import ViTTrunk

TSV = Path(__file__).resolve().parents[3] / "shared" / "reference" / "official_state_dict.tsv"


def small_cfg(**kw) -> ModelConfig:
    """A tiny resnet18 network for fast tests."""
    base = dict(backbone="resnet18", conv_dims=(32, 16, 8), fc_dim=32, head_hidden=32, cam_init_hidden=16,
                grasp_head=True, grasp_hidden=(16, 8))
    base.update(kw)
    return ModelConfig(**base)


def make_inputs(n_frames: int, frame_idx: list[int], is_right: list[bool], seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    n = len(frame_idx)
    images = torch.randn(n_frames, 3, 224, 224, generator=g)
    crops = torch.randn(n, 3, 224, 224, generator=g)
    xy = torch.rand(n, 2, generator=g) * 120
    boxes = torch.cat((xy, xy + 60 + torch.rand(n, 1, generator=g) * 40), dim=1)
    K = torch.tensor([[200.0, 0.0, 110.0], [0.0, 205.0, 114.0], [0.0, 0.0, 1.0]]).repeat(n, 1, 1)
    return images, crops, torch.tensor(frame_idx, dtype=torch.long), torch.tensor(is_right), boxes, K


def test_default_network_has_the_released_parameter_count() -> None:
    assert count_learnable_parameters(WildHandsNet()) == 69_182_816
    assert count_learnable_parameters(WildHandsNet(ModelConfig(grasp_head=True))) == 69_933_161


@pytest.mark.skipif(not TSV.exists(), reason="shared/reference/official_state_dict.tsv not available")
def test_default_state_dict_has_exactly_the_released_keys_and_shapes() -> None:
    released = {}
    for line in TSV.read_text().splitlines():
        key, shape, _ = line.split("\t")
        if key.startswith("model.") and not key.startswith(("model.mano_r.", "model.mano_l.")):
            released[key[len("model."):]] = tuple(eval(shape))  # shapes are written as Python tuples
    own = {k: tuple(v.shape) for k, v in WildHandsNet().state_dict().items()}
    assert len(released) == 673
    assert own == released


@pytest.mark.parametrize(
    ("frame_idx", "is_right"),
    [([], []), ([1], [False]), ([0, 1, 1, 0, 1], [True, False, True, True, False])],
    ids=["0-hands", "1-hand", "5-hands-mixed-2-frames"],
)
def test_outputs_have_per_hand_shapes(frame_idx: list[int], is_right: list[bool]) -> None:
    net = WildHandsNet(small_cfg()).eval()
    with torch.no_grad():
        out = net(*make_inputs(2, frame_idx, is_right))
    n = len(frame_idx)
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "rot_6d": (n, 16, 6),
        "rotmat": (n, 16, 3, 3),
        "betas": (n, 10),
        "cam_wp": (n, 3),
        "grasp_logits": (n, 9),
    }
    if n:
        eye = torch.eye(3).expand(n, 16, 3, 3)
        torch.testing.assert_close(out["rotmat"] @ out["rotmat"].transpose(-1, -2), eye, atol=1e-5, rtol=0)


def test_zero_hands_runs_no_trunk() -> None:
    net = WildHandsNet(small_cfg())
    calls = []
    net.backbone.register_forward_hook(lambda *a: calls.append("image"))
    net.hand_backbone.register_forward_hook(lambda *a: calls.append("crop"))
    net(*make_inputs(1, [], []))
    assert calls == []


def test_whole_image_features_are_computed_once_per_frame() -> None:
    net = WildHandsNet(small_cfg()).eval()
    batch_sizes = []
    net.backbone.register_forward_hook(lambda m, inp, out: batch_sizes.append(inp[0].shape[0]))
    with torch.no_grad():
        net(*make_inputs(2, [0, 1, 1, 0, 1], [True, False, True, True, False]))
    assert batch_sizes == [2]


def test_each_hand_gets_its_own_frame_side_and_place_in_the_output_order() -> None:
    net = WildHandsNet(small_cfg()).eval()
    images, crops, frame_idx, is_right, boxes, K = make_inputs(2, [1, 0, 1], [False, True, True])
    with torch.no_grad():
        batch = net(images, crops, frame_idx, is_right, boxes, K)
        for i in range(3):
            f = frame_idx[i : i + 1]
            alone = net(images[f], crops[i : i + 1], torch.zeros(1, dtype=torch.long), is_right[i : i + 1],
                        boxes[i : i + 1], K[i : i + 1])
            for key in batch:
                torch.testing.assert_close(batch[key][i : i + 1], alone[key], atol=1e-4, rtol=1e-4)
        flipped = net(images, crops, frame_idx, ~is_right, boxes, K)
    assert (flipped["cam_wp"] - batch["cam_wp"]).abs().max() > 1e-4  # the other side's head answers


def test_gradients_reach_both_trunks_through_every_output() -> None:
    net = WildHandsNet(small_cfg(dropout=0.0)).train()
    feats: dict[str, torch.Tensor] = {}
    net.backbone.register_forward_hook(lambda m, i, o: feats.__setitem__("image", o))
    net.hand_backbone.register_forward_hook(lambda m, i, o: feats.__setitem__("crop", o))
    out = net(*make_inputs(2, [0, 1, 1], [True, False, True]))
    for key in ("rot_6d", "rotmat", "betas", "cam_wp", "grasp_logits"):
        loss = out[key].square().sum()
        grads = torch.autograd.grad(loss, [feats["image"], feats["crop"]], retain_graph=True)
        assert all(g.abs().sum() > 0 for g in grads), key
    # ... and on into the first layer of each trunk.
    out["cam_wp"].sum().backward()
    for trunk in (net.backbone, net.hand_backbone):
        assert trunk.conv1.weight.grad is not None and trunk.conv1.weight.grad.abs().sum() > 0


def test_intrinsics_free_kpe_ignores_K_and_sparse_kpe_uses_it() -> None:
    images, crops, frame_idx, is_right, boxes, K = make_inputs(1, [0], [True])
    K2 = K.clone()
    K2[:, 0, 0] *= 2.0
    for kpe, should_change in (("none_intrinsics", False), ("sparse", True)):
        net = WildHandsNet(small_cfg(kpe=kpe)).eval()
        with torch.no_grad():
            a = net(images, crops, frame_idx, is_right, boxes, K)["cam_wp"]
            b = net(images, crops, frame_idx, is_right, boxes, K2)["cam_wp"]
        assert (not torch.equal(a, b)) == should_change, kpe


@pytest.mark.parametrize(
    ("overrides", "fusion_in", "has_image", "has_crop"),
    [
        (dict(), 512 + 80, True, True),
        (dict(kpe="dense"), 512 + 16, True, True),
        (dict(variant="handnet"), 512, True, True),
        (dict(variant="handnet", use_whole_image=False), 512, False, True),
        (dict(variant="kpe_input"), 512, True, True),
        (dict(variant="kpe_input", kpe="dense"), 512, True, True),
        (dict(variant="arcticnet_sf"), 512, True, False),
    ],
)
def test_variants_build_and_run(overrides: dict, fusion_in: int, has_image: bool, has_crop: bool) -> None:
    net = WildHandsNet(small_cfg(**overrides)).eval()
    assert net.feature_conv[0].in_channels == fusion_in
    assert hasattr(net, "backbone") == has_image
    assert hasattr(net, "hand_backbone") == has_crop
    images, crops, frame_idx, is_right, boxes, K = make_inputs(1, [0, 0], [True, False])
    with torch.no_grad():
        out = net(images, crops if has_crop else None, frame_idx, is_right, boxes, K)
    assert out["rotmat"].shape == (2, 16, 3, 3)
    assert torch.isfinite(out["cam_wp"]).all()


def test_kpe_input_adapter_starts_by_passing_the_rgb_crop_through() -> None:
    net = WildHandsNet(small_cfg(variant="kpe_input"))
    assert net.kpe_input_adapter.in_channels == 3 + 80
    crop = torch.randn(1, 3, 224, 224)
    kpe = net.kpe_map(torch.tensor([[10.0, 10.0, 90.0, 90.0]]), torch.eye(3)[None] * 100, 224)
    with torch.no_grad():
        torch.testing.assert_close(net.kpe_input_adapter(torch.cat((crop, kpe), 1)), crop)


@pytest.mark.parametrize("name", ["resnet18", "resnet34", "resnet50"])
def test_resnet_trunks_keep_torchvision_names_and_give_7x7_maps(name: str) -> None:
    net = WildHandsNet(small_cfg(backbone=name, variant="arcticnet_sf"))
    assert "backbone.layer4.1.conv2.weight" in net.state_dict()
    with torch.no_grad():
        fmap = net.backbone(torch.zeros(1, 3, 224, 224))
    assert fmap.shape == (1, net.backbone.out_channels, 7, 7)


def test_vit_trunk_turns_patch_tokens_into_a_7x7_map() -> None:
    trunk = ViTTrunk().eval()
    with torch.no_grad():
        fmap = trunk(torch.zeros(1, 3, 224, 224))
    assert fmap.shape == (1, 768, 7, 7)


def test_bad_config_values_are_rejected() -> None:
    with pytest.raises(ValueError, match="variant"):
        ModelConfig(variant="bogus")
    with pytest.raises(ValueError, match="backbone"):
        ModelConfig(backbone="resnet101")
    with pytest.raises(ValueError, match="kpe"):
        ModelConfig(kpe="bogus")


def test_mobilenet_trunks_give_7x7_feature_maps_and_a_small_model():
    from wildhands_core.model.backbones import build_backbone

    for name, channels in (("mobilenet_v3_small", 576), ("mobilenet_v3_large", 960)):
        trunk = build_backbone(name).eval()
        with torch.no_grad():
            y = trunk(torch.zeros(1, 3, 224, 224))
        assert y.shape == (1, channels, 7, 7) and trunk.out_channels == channels
    net = WildHandsNet(ModelConfig(backbone="mobilenet_v3_small", conv_dims=(128, 128, 64), fc_dim=256,
                                   head_hidden=256, cam_init_hidden=128))
    assert sum(p.numel() for p in net.parameters()) < 5_000_000
