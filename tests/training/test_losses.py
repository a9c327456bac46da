"""Loss terms: zero at the ground truth, per-label masking, dataset weights, global normalisation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from training.batch import HAS_KEYS, Batch
from training.config import LossConfig
from training.losses import compute_losses, crop_normalise, gt_weak_perspective
from wildhands_core.camera import project, weak_perspective_to_translation
from wildhands_core.mano.layer import load_mano_pair
from wildhands_core.preprocess import crop_affine_224
from wildhands_core.rotations import axis_angle_to_rotmat

TERMS = ("theta", "betas", "kp3d", "kp2d", "cam", "mask", "grasp")


@pytest.fixture(scope="module")
def mano():
    return load_mano_pair()


def _gt_batch(mano, n: int = 2, weight: float = 1.0) -> tuple[Batch, dict[str, torch.Tensor]]:
    """A batch of n right hands with every label, and the outputs a perfect network would give."""
    g = torch.Generator().manual_seed(0)
    pose = 0.3 * torch.randn(n, 48, generator=g)
    betas = 0.5 * torch.randn(n, 10, generator=g)
    transl = torch.tensor([[0.05, 0.02, 0.5]] * n) + 0.01 * torch.randn(n, 3, generator=g)
    K = torch.tensor([[150.0, 0, 112], [0, 150.0, 112], [0, 0, 1]]).expand(n, 3, 3).clone()
    out_mano = mano[0].forward_aa(pose, betas)
    joints = out_mano["joints"] + transl[:, None]
    verts = out_mano["vertices"] + transl[:, None]
    kp = project(joints, K)
    lo, hi = kp.amin(dim=1) - 10, kp.amax(dim=1) + 10
    boxes = torch.cat([lo, hi], dim=1)
    size = 32
    A = [torch.from_numpy(crop_affine_224(b.numpy(), size)).float() for b in boxes]
    K_mask = torch.stack([a @ k for a, k in zip(A, K, strict=True)])
    from training.render.soft_rasterizer import soft_silhouette

    mask = (soft_silhouette(verts, mano[0].faces, K_mask, (size, size)) > 0.5).float()
    cam = gt_weak_perspective(transl, K)
    rotmat = axis_angle_to_rotmat(pose.reshape(n, 16, 3))
    grasp = torch.arange(n) % 9
    inputs = {"boxes_224": boxes, "K_224": K, "is_right": torch.ones(n, dtype=torch.bool),
              "frame_idx": torch.arange(n)}
    labels = {"pose_aa": pose, "betas": betas, "transl_m": transl, "joints_cam_m": joints,
              "joints3d_valid": torch.ones(n, 21, dtype=torch.bool), "keypoints_224": kp,
              "keypoints_valid": torch.ones(n, 21, dtype=torch.bool), "mask": mask, "K_mask": K_mask,
              "grasp": grasp}
    has = {k: torch.ones(n, dtype=torch.bool) for k in HAS_KEYS}
    weights = {t: torch.full((n,), weight) for t in TERMS}
    out = {"rotmat": rotmat, "betas": betas.clone(), "cam_wp": cam, "joints_cam_m": joints.clone(),
           "keypoints_224_px": kp.clone(), "vertices_cam_m": verts,
           "grasp_logits": 50.0 * torch.nn.functional.one_hot(grasp, 9).float()}
    return Batch(inputs, labels, has, weights, ["synthetic"] * n, n), out


def test_gt_weak_perspective_inverts_the_model_camera():
    K = torch.tensor([[[200.0, 0, 100], [0, 100.0, 110], [0, 0, 1]]])
    t = torch.tensor([[0.1, -0.2, 0.6]])
    cam = gt_weak_perspective(t, K)
    # s = 2 f / (224 tz) with f = (200 + 100) / 2 = 150 -> 300 / (224 * 0.6)
    assert cam[0, 0].item() == pytest.approx(300.0 / (224 * 0.6))
    assert torch.allclose(weak_perspective_to_translation(cam, K), t, atol=1e-6)


def test_crop_normalise_maps_crop_edges_to_minus_and_plus_one():
    boxes = torch.tensor([[10.0, 20.0, 110.0, 220.0]])
    pts = torch.tensor([[[10.0, 20.0], [110.0, 220.0], [60.0, 120.0]]])
    assert torch.allclose(crop_normalise(pts, boxes), torch.tensor([[[-1.0, -1.0], [1.0, 1.0], [0.0, 0.0]]]))


def test_every_loss_vanishes_at_the_ground_truth(mano):
    batch, out = _gt_batch(mano)
    _, terms = compute_losses(out, batch, mano[0].faces, mano[1].faces, LossConfig(mask_size=32))
    assert set(terms) == set(TERMS)
    for t in ("theta", "betas", "kp3d", "kp2d", "cam", "grasp"):
        assert terms[t].item() < 1e-8, t
    # the soft silhouette of the GT mesh vs its own binarised silhouette: only the blurred border differs
    assert terms["mask"].item() < 0.05


def test_a_wrong_prediction_gives_the_hand_computed_l2(mano):
    batch, out = _gt_batch(mano, n=2)
    out["betas"] = out["betas"] + 0.1  # every beta off by 0.1 -> mean square 0.01 per hand
    out["joints_cam_m"] = out["joints_cam_m"] + 0.3  # a pure shift: root-relative kp3d unchanged
    _, terms = compute_losses(out, batch, mano[0].faces, mano[1].faces, LossConfig(mask_size=32))
    assert terms["betas"].item() == pytest.approx(0.01, rel=1e-4)
    assert terms["kp3d"].item() < 1e-10


def test_terms_apply_only_to_hands_with_the_label_and_scale_with_the_dataset_weight(mano):
    batch, out = _gt_batch(mano, n=2, weight=3.0)
    out["betas"] = out["betas"] + torch.tensor([[0.1], [0.2]])  # errors 0.01 and 0.04
    batch.has["mask"][:] = False
    batch.has["mano"][1] = False
    _, terms = compute_losses(out, batch, mano[0].faces, mano[1].faces, LossConfig(mask_size=32))
    assert "mask" not in terms
    # only hand 0 has MANO labels: 3.0 * 0.01 / 1
    assert terms["betas"].item() == pytest.approx(0.03, rel=1e-4)


def test_a_global_count_reduce_divides_the_terms_as_a_larger_batch_would(mano):
    batch, out = _gt_batch(mano, n=2)
    out["betas"] = out["betas"] + 0.1
    _, local = compute_losses(out, batch, mano[0].faces, mano[1].faces, LossConfig(mask_size=32))
    _, reduced = compute_losses(out, batch, mano[0].faces, mano[1].faces, LossConfig(mask_size=32),
                                count_reduce=lambda c: 2 * c)
    assert reduced["betas"].item() == pytest.approx(local["betas"].item() / 2)


def test_mask_loss_gradient_moves_the_mesh_towards_the_mask(mano):
    batch, out = _gt_batch(mano, n=1)
    verts = (out["vertices_cam_m"] + torch.tensor([0.02, 0.0, 0.0])).requires_grad_(True)
    out["vertices_cam_m"] = verts
    batch.weights = {t: torch.full((1,), 1.0 if t == "mask" else 0.0) for t in TERMS}
    total, terms = compute_losses(out, batch, mano[0].faces, mano[1].faces, LossConfig(mask_size=32))
    total.backward()
    # the mesh was shifted +x (right) of its mask: the loss pulls it back (positive x-gradient on average)
    assert verts.grad[..., 0].sum().item() > 0
    assert math.isfinite(terms["mask"].item())
    assert np.isfinite(verts.grad.numpy()).all()
