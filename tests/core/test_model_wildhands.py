"""WildHands (network + MANO + camera): outputs, camera-frame joints, projection into the original image."""

from __future__ import annotations

import pytest
import torch

from wildhands_core.camera import Letterbox, project, weak_perspective_to_translation
from wildhands_core.config import ModelConfig
from wildhands_core.model.wildhands import WildHands
from wildhands_core.rotations import axis_angle_to_rotmat


@pytest.fixture(scope="module")
def model() -> WildHands:
    torch.manual_seed(0)
    cfg = ModelConfig(backbone="resnet18", conv_dims=(32, 16, 8), fc_dim=32, head_hidden=32,
                      cam_init_hidden=16, grasp_head=True, grasp_hidden=(16, 8), dropout=0.0)
    return WildHands(cfg).eval()


def inputs(frame_idx: list[int], is_right: list[bool], K_224: torch.Tensor, n_frames: int = 2):
    g = torch.Generator().manual_seed(1)
    n = len(frame_idx)
    boxes = torch.tensor([[30.0, 40.0, 110.0, 120.0]]).repeat(n, 1) + torch.arange(n)[:, None] * 8.0
    return (torch.randn(n_frames, 3, 224, 224, generator=g), torch.randn(n, 3, 224, 224, generator=g),
            torch.tensor(frame_idx, dtype=torch.long), torch.tensor(is_right, dtype=torch.bool), boxes,
            K_224.expand(n, 3, 3))


K_224 = torch.tensor([[180.0, 0.0, 108.0], [0.0, 182.0, 115.0], [0.0, 0.0, 1.0]])


@pytest.mark.parametrize(
    ("frame_idx", "is_right"),
    [([], []), ([0], [True]), ([0, 1, 1, 0, 1], [True, False, True, False, False])],
    ids=["0-hands", "1-hand", "5-hands-mixed-2-frames"],
)
def test_full_model_outputs_have_per_hand_shapes(model: WildHands, frame_idx, is_right) -> None:
    with torch.no_grad():
        out = model(*inputs(frame_idx, is_right, K_224), return_vertices=True)
    n = len(frame_idx)
    expected = {
        "rot_6d": (n, 16, 6), "rotmat": (n, 16, 3, 3), "betas": (n, 10), "cam_wp": (n, 3),
        "grasp_logits": (n, 9), "grasp_prob": (n, 9), "global_orient_aa": (n, 3), "hand_pose_aa": (n, 45),
        "transl_cam_m": (n, 3), "joints_cam_m": (n, 21, 3), "keypoints_224_px": (n, 21, 2),
        "vertices_cam_m": (n, 778, 3),
    }
    assert {k: tuple(v.shape) for k, v in out.items()} == expected


def test_joints_are_each_sides_mano_joints_plus_the_weak_perspective_translation(model: WildHands) -> None:
    with torch.no_grad():
        out = model(*inputs([0, 1, 1], [True, False, True], K_224))
        transl = weak_perspective_to_translation(out["cam_wp"], K_224.expand(3, 3, 3))
        torch.testing.assert_close(out["transl_cam_m"], transl)
        for i, layer in ((0, model.mano_r), (1, model.mano_l), (2, model.mano_r)):
            mano = layer(out["rotmat"][i : i + 1], out["betas"][i : i + 1])["joints"][0]
            torch.testing.assert_close(out["joints_cam_m"][i], mano + transl[i], atol=1e-5, rtol=0)
    torch.testing.assert_close(out["keypoints_224_px"], project(out["joints_cam_m"], K_224.expand(3, 3, 3)))
    torch.testing.assert_close(out["grasp_prob"].sum(-1), torch.ones(3))


def test_axis_angle_outputs_rebuild_the_rotation_matrices(model: WildHands) -> None:
    with torch.no_grad():
        out = model(*inputs([0, 1], [True, False], K_224))
    glob = axis_angle_to_rotmat(out["global_orient_aa"])
    torch.testing.assert_close(glob, out["rotmat"][:, 0], atol=1e-5, rtol=0)
    hand = axis_angle_to_rotmat(out["hand_pose_aa"].reshape(2, 15, 3))
    torch.testing.assert_close(hand, out["rotmat"][:, 1:], atol=1e-5, rtol=0)


def test_joints_projected_with_the_original_K_give_the_keypoints_in_original_pixels(model: WildHands) -> None:
    lb = Letterbox(1280, 720)
    K_orig = torch.tensor([[1050.0, 0.0, 650.0], [0.0, 1040.0, 355.0], [0.0, 0.0, 1.0]])
    K224 = lb.K_to_224(K_orig)
    with torch.no_grad():
        out = model(*inputs([0, 0, 1], [True, False, False], K224))
    kp_orig = lb.points_to_original(out["keypoints_224_px"].double())
    direct = project(out["joints_cam_m"].double(), K_orig.double().expand(3, 3, 3))
    assert (kp_orig - direct).abs().max().item() <= 1e-3


def test_gradients_reach_both_trunks_through_joints_and_keypoints(model: WildHands) -> None:
    feats: dict[str, torch.Tensor] = {}
    hooks = [model.net.backbone.register_forward_hook(lambda m, i, o: feats.__setitem__("image", o)),
             model.net.hand_backbone.register_forward_hook(lambda m, i, o: feats.__setitem__("crop", o))]
    try:
        model.train()
        out = model(*inputs([0, 1, 1], [True, False, True], K_224), return_vertices=True)
        for key in ("joints_cam_m", "keypoints_224_px", "vertices_cam_m", "transl_cam_m", "hand_pose_aa"):
            loss = out[key].square().sum()
            grads = torch.autograd.grad(loss, [feats["image"], feats["crop"]], retain_graph=True)
            assert all(g.abs().sum() > 0 for g in grads), key
    finally:
        model.eval()
        for h in hooks:
            h.remove()
