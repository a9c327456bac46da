"""Loss terms: zero at the ground truth, per-label masking, dataset weights, global normalisation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from training.batch import HAS_KEYS, Batch
from training.config import LossConfig
from training.losses import compute_losses, crop_normalise, gt_weak_perspective, mask_error
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
    from wildhands_synth.raster.hard_rasterizer import rasterize

    # the true (hard) silhouette of the GT mesh
    mask = torch.stack([rasterize(v, mano[0].faces, k, (size, size)).covered.float()
                        for v, k in zip(verts, K_mask, strict=True)])
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


def test_mask_error_is_the_mean_squared_difference_over_the_valid_pixels():
    sil = torch.tensor([[[1.0, 0.0], [1.0, 1.0]], [[0.5, 0.5], [0.5, 0.5]]])
    gt = torch.tensor([[[1.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]]])
    valid = torch.tensor([[[1.0, 1.0], [0.0, 1.0]], [[0.0, 0.0], [0.0, 0.0]]])
    # hand 0: squared errors 0, 1, (1 ignored), 1 over 3 valid pixels; hand 1: nothing valid -> 0
    np.testing.assert_allclose(mask_error(sil, gt, valid).numpy(), [2.0 / 3.0, 0.0])
    np.testing.assert_allclose(mask_error(sil, gt).numpy(), [0.75, 0.25])  # no valid map: every pixel


@pytest.fixture(scope="module")
def occluded_synth(tmp_path_factory):
    """Seed 0, 2 frames of 160 x 120: frame 0's right hand is mostly hidden behind an occluder blob, frame
    1's right hand behind the left hand (``wildhands-synth`` masks are visible masks)."""
    from training.datasets.synthetic import SyntheticHandsDataset
    from wildhands_synth.generate import generate_dataset

    root = generate_dataset(tmp_path_factory.mktemp("occ") / "ds", 2, 0, (160, 120), progress=False)
    return SyntheticHandsDataset(root)


def _gt_vertices(mano, s) -> torch.Tensor:
    layer = mano[0] if s.is_right else mano[1]
    out = layer.forward_aa(torch.from_numpy(s.mano_pose_aa)[None], torch.from_numpy(s.mano_betas)[None])
    return out["vertices"][0] + torch.from_numpy(s.mano_transl_m)


def test_the_gt_mesh_silhouette_equals_the_visible_mask_outside_the_ignore_map(mano, occluded_synth):
    from wildhands_synth.raster.hard_rasterizer import rasterize

    for i in (0, 1):  # the two occluded right hands
        s = occluded_synth[i]
        assert s.is_right
        layer = mano[0]
        sil = rasterize(_gt_vertices(mano, s).double(), torch.as_tensor(layer.faces).long(),
                        torch.from_numpy(s.K_px), s.mask.shape).face_id.numpy() >= 0
        assert sil.sum() > 3 * s.mask.sum()  # occluded: the full silhouette is far larger than the mask
        keep = s.mask_ignore == 0
        np.testing.assert_array_equal(sil[keep], s.mask[keep].astype(bool))


def test_the_gt_mesh_of_an_occluded_hand_gets_a_near_zero_mask_loss_with_the_ignore_map(mano, occluded_synth):
    from training.batch import collate_frames
    from training.config import AugmentConfig, LossWeights
    from training.crops import prepare_frame

    s = occluded_synth[0]  # right hand behind the occluder blob
    frame = prepare_frame([s], AugmentConfig(enabled=False), rng=None, mask_size=56)
    batch = collate_frames([frame], {"synthetic": LossWeights(mask=10.0)}, mask_size=56)
    out = {"rotmat": torch.zeros(1, 16, 3, 3), "vertices_cam_m": _gt_vertices(mano, s)[None]}
    cfg = LossConfig(mask_size=56, mask_sigma_px2=0.1)
    _, with_ignore = compute_losses(out, batch, mano[0].faces, mano[1].faces, cfg)
    assert set(with_ignore) == {"mask"}
    batch.labels.pop("mask_valid")  # the former loss: every pixel of the visible mask is a label
    _, without = compute_losses(out, batch, mano[0].faces, mano[1].faces, cfg)
    empty = 10.0 * mask_error(torch.zeros(1, 56, 56), batch.labels["mask"]).item()
    assert with_ignore["mask"].item() < 0.1
    assert without["mask"].item() > 1.0 and without["mask"].item() > 0.5 * empty  # truth ~ as bad as nothing


def _with(batch: Batch, terms: dict[str, float]) -> Batch:
    n = batch.num_hands
    for t, v in terms.items():
        batch.weights[t] = torch.full((n,), v)
    return batch


def test_initial_camera_term_compares_the_heads_first_camera_with_the_gt(mano):
    batch, out = _gt_batch(mano, n=2)
    _with(batch, {"cam_init": 1.0})
    out["cam_wp_init"] = out["cam_wp"] + torch.tensor([0.0, 0.3, 0.0])  # tx off by 0.3 -> 0.09 / 3
    _, terms = compute_losses(out, batch, mano[0].faces, mano[1].faces, LossConfig(mask_size=32))
    assert terms["cam_init"].item() == pytest.approx(0.03, rel=1e-4)
    assert terms["cam"].item() < 1e-8


def test_relative_translation_term_is_the_left_minus_right_error_of_two_hand_frames(mano):
    batch, out = _gt_batch(mano, n=3)
    _with(batch, {"rel_transl": 1.0})
    batch.inputs["frame_idx"] = torch.tensor([0, 0, 1])  # frame 0: hands 0 (right) and 1 (left); frame 1: one
    batch.inputs["is_right"] = torch.tensor([True, False, True])
    t = batch.labels["transl_m"]
    out["transl_cam_m"] = t + torch.tensor([[0.0, 0.0, 0.0], [0.06, 0.0, 0.0], [1.0, 1.0, 1.0]])
    _, terms = compute_losses(out, batch, mano[0].faces, mano[1].faces, LossConfig(mask_size=32))
    # one pair: ((0.06, 0, 0) - 0)^2 / 3 = 0.0012; hand 2 has no partner and does not count
    assert terms["rel_transl"].item() == pytest.approx(0.0012, rel=1e-4)


def test_authors_normalisation_kp2d_in_the_whole_224_image_and_batch_mean(mano):
    batch, out = _gt_batch(mano, n=2)
    out["keypoints_224_px"] = out["keypoints_224_px"] + torch.tensor([11.2, 0.0])  # 11.2 px = 0.1 in 2u/224
    batch.has["keypoints2d"][1] = False  # only hand 0 has 2D labels
    crop = LossConfig(mask_size=32, kp2d_frame="crop")
    ours = compute_losses(out, batch, mano[0].faces, mano[1].faces, crop)[1]["kp2d"]
    cfg = LossConfig(mask_size=32, kp2d_frame="whole224", reduction="batch_mean")
    theirs = compute_losses(out, batch, mano[0].faces, mano[1].faces, cfg)[1]["kp2d"]
    # whole-image: (0.1^2) / 2 per joint = 0.005, divided by the 2 hands of the batch (hand 1 counts 0)
    assert theirs.item() == pytest.approx(0.0025, rel=1e-4)
    box = batch.inputs["boxes_224"][0]
    side = (box[2] - box[0]).item()
    assert ours.item() == pytest.approx((2 * 11.2 / side) ** 2 / 2, rel=1e-4)  # crop-normalised, / 1 hand


def test_l1_mask_error_sums_absolute_differences_over_all_pixels():
    sil = torch.zeros(1, 4, 4)
    mask = torch.zeros(1, 4, 4)
    mask[0, :2, :2] = 1.0  # 4 of 16 pixels wrong by 1
    valid = torch.ones(1, 4, 4)
    valid[0, 0, 0] = 0.0  # one of them ignored
    assert mask_error(sil, mask, valid, "l1").item() == pytest.approx(3 / 16)
    assert mask_error(sil, mask, valid, "l2").item() == pytest.approx(3 / 15)


def test_side_term_is_the_binary_cross_entropy_of_p_right_and_is_off_without_a_side_classifier(mano):
    batch, out = _gt_batch(mano, n=3)
    _with(batch, {"side": 1.0})
    batch.inputs["is_right"] = torch.tensor([True, True, False])
    # logits 0, 2, -2: -log(1/2), -log(1/(1+e^-2)), -log(1 - 1/(1+e^2)) = ln 2, ln(1+e^-2), ln(1+e^-2)
    out["side_logit"] = torch.tensor([0.0, 2.0, -2.0])
    _, terms = compute_losses(out, batch, mano[0].faces, mano[1].faces, LossConfig(mask_size=32))
    assert terms["side"].item() == pytest.approx((0.693147 + 2 * 0.126928) / 3, rel=1e-5)
    del out["side_logit"]
    _, terms = compute_losses(out, batch, mano[0].faces, mano[1].faces, LossConfig(mask_size=32))
    assert "side" not in terms
