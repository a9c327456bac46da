"""Tests of wildhands_synth.raster: soft silhouette vs hard z-buffer, known coverage, gradients."""

from __future__ import annotations

import math

import pytest
import torch

from wildhands_synth.raster import Fragments, SoftSilhouetteConfig, rasterize, soft_silhouette
from wildhands_synth.raster.primitives import box, uv_sphere

# f = 100 px, principal point at 0, z = 1 m: a point (x, y, 1) lands on pixel (100 x, 100 y).
K_UNIT = torch.tensor([[100.0, 0.0, 0.0], [0.0, 100.0, 0.0], [0.0, 0.0, 1.0]])
K_SMALL = torch.tensor([[200.0, 0.0, 80.0], [0.0, 200.0, 60.0], [0.0, 0.0, 1.0]])


def _triangle_at_px(corners_px: list[tuple[float, float]], z_m: float = 1.0) -> torch.Tensor:
    return torch.tensor([[u / 100.0 * z_m, v / 100.0 * z_m, z_m] for u, v in corners_px])


def _iou(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a & b).sum()) / float((a | b).sum())


def test_hard_rasterizer_covers_exactly_the_pixel_centres_inside_a_triangle() -> None:
    verts = _triangle_at_px([(1.5, 1.5), (8.5, 1.5), (1.5, 8.5)])
    frags = rasterize(verts, torch.tensor([[0, 1, 2]]), K_UNIT, (10, 10))
    expected = torch.zeros(10, 10, dtype=torch.bool)
    for v in range(10):
        for u in range(10):
            expected[v, u] = u >= 1.5 and v >= 1.5 and u + v <= 10.0
    assert torch.equal(frags.covered, expected)
    assert int(expected.sum()) == 28  # u, v in 2..8 with u + v <= 10: 7+6+5+4+3+2+1
    assert torch.allclose(frags.depth_m[expected], torch.ones(28))
    assert torch.allclose(frags.bary[expected].sum(-1), torch.ones(28))


def test_hard_rasterizer_barycentrics_are_perspective_correct() -> None:
    # A plane tilted in depth: z = 1 + x. Its depth at a pixel must follow the plane, not a screen lerp.
    verts = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 2.0], [0.0, 1.0, 1.0]])
    frags = rasterize(verts, torch.tensor([[0, 1, 2]]), K_UNIT, (60, 60))
    u, v = 30, 10  # ray (0.3, 0.1, 1) * t meets z = 1 + x at t = 1 / 0.7
    assert frags.depth_m[v, u].item() == pytest.approx(1.0 / 0.7, rel=1e-5)
    point = (frags.bary[v, u].unsqueeze(1).double() * verts.double()).sum(0)
    assert point.tolist() == pytest.approx([0.3 / 0.7, 0.1 / 0.7, 1.0 / 0.7], rel=1e-5)


def test_hard_rasterizer_keeps_the_nearest_face() -> None:
    near = _triangle_at_px([(0, 0), (9, 0), (0, 9)], z_m=1.0)
    far = _triangle_at_px([(0, 0), (9, 0), (0, 9)], z_m=2.0)
    verts = torch.cat([far, near])
    frags = rasterize(verts, torch.tensor([[0, 1, 2], [3, 4, 5]]), K_UNIT, (10, 10))
    assert set(frags.face_id[frags.covered].tolist()) == {1}
    assert torch.allclose(frags.depth_m[frags.covered], torch.ones(int(frags.covered.sum())))


def test_hard_rasterizer_area_of_a_projected_sphere_matches_the_disc() -> None:
    verts, faces = uv_sphere(0.1, 48, 64)
    verts = verts + torch.tensor([0.02, 0.01, 0.5])
    frags = rasterize(verts, faces, K_SMALL, (120, 160))
    # silhouette of a sphere of radius r at distance D: a cone of half-angle asin(r/D); image ~ disc.
    d = math.sqrt(0.02**2 + 0.01**2 + 0.5**2)
    radius_px = 200.0 * math.tan(math.asin(0.1 / d))
    assert float(frags.covered.sum()) == pytest.approx(math.pi * radius_px**2, rel=0.03)
    assert frags.depth_m[frags.covered].min().item() == pytest.approx(0.4, abs=2e-3)


def test_soft_silhouette_of_one_triangle_gives_the_softras_probabilities() -> None:
    verts = _triangle_at_px([(2.0, 2.0), (12.0, 2.0), (2.0, 12.0)])
    sigma = 0.5
    cfg = SoftSilhouetteConfig(sigma_px2=sigma)
    sil = soft_silhouette(verts, torch.tensor([[0, 1, 2]]), K_UNIT, (16, 16), cfg)[0]
    assert sil[2, 5].item() == pytest.approx(0.5, abs=1e-6)  # on the top edge: d = 0
    assert sil[3, 5].item() == pytest.approx(1 / (1 + math.exp(-1.0 / sigma)), abs=1e-6)  # inside, d = 1
    assert sil[0, 5].item() == pytest.approx(1 / (1 + math.exp(4.0 / sigma)), abs=1e-6)  # outside, d = 2
    assert sil[15, 15].item() == 0.0  # far outside: skipped pair, exactly 0


def test_soft_silhouette_aggregates_overlapping_faces_as_one_minus_product() -> None:
    tri = _triangle_at_px([(2.0, 2.0), (12.0, 2.0), (2.0, 12.0)])
    verts = torch.cat([tri, tri + torch.tensor([0.0, 0.0, 0.0])])
    cfg = SoftSilhouetteConfig(sigma_px2=0.5)
    one = soft_silhouette(tri, torch.tensor([[0, 1, 2]]), K_UNIT, (16, 16), cfg)
    two = soft_silhouette(verts, torch.tensor([[0, 1, 2], [3, 4, 5]]), K_UNIT, (16, 16), cfg)
    assert torch.allclose(two, 1 - (1 - one) ** 2, atol=1e-6)


@pytest.mark.parametrize("mesh", ["sphere", "box"])
def test_soft_silhouette_converges_to_the_hard_mask_as_sigma_shrinks(mesh: str) -> None:
    if mesh == "sphere":
        verts, faces = uv_sphere(0.1, 24, 32)
    else:
        verts, faces = box((0.12, 0.08, 0.1))
        rot = torch.tensor([[0.8, -0.6, 0.0], [0.6, 0.8, 0.0], [0.0, 0.0, 1.0]]) @ torch.tensor(
            [[1.0, 0.0, 0.0], [0.0, 0.8, -0.6], [0.0, 0.6, 0.8]]
        )
        verts = verts @ rot.T
    verts = verts + torch.tensor([0.03, 0.02, 0.5])
    hard = rasterize(verts, faces, K_SMALL, (120, 160)).covered
    ious = []
    for sigma in (1.0, 0.1, 0.01):
        cfg = SoftSilhouetteConfig(sigma_px2=sigma)
        soft = soft_silhouette(verts.unsqueeze(0), faces, K_SMALL, (120, 160), cfg)
        ious.append(_iou(soft[0] > 0.5, hard))
    assert ious[-1] > 0.97
    assert ious[0] <= ious[1] + 1e-9 <= ious[2] + 2e-9


def test_soft_silhouette_sends_finite_nonzero_gradients_to_vertices() -> None:
    verts, faces = uv_sphere(0.1, 12, 16)
    verts = (verts + torch.tensor([0.0, 0.0, 0.5])).unsqueeze(0).repeat(2, 1, 1)
    verts[1, :, 0] += 0.05
    verts.requires_grad_(True)
    target = torch.zeros(2, 120, 160)
    cfg = SoftSilhouetteConfig(sigma_px2=1.0, max_pairs=20_000)
    sil = soft_silhouette(verts, faces, K_SMALL, (120, 160), cfg)
    loss = ((sil - target) ** 2).mean()
    loss.backward()
    grad = verts.grad
    assert torch.isfinite(grad).all()
    assert grad[0].abs().sum() > 0 and grad[1].abs().sum() > 0
    # pushing all pixels to 0 shrinks the sphere: the x gradient of the rightmost vertex is positive
    right = verts[0, :, 0].argmax()
    assert grad[0, right, 0] > 0


def test_soft_silhouette_chunking_does_not_change_the_result() -> None:
    verts, faces = uv_sphere(0.1, 12, 16)
    verts = verts + torch.tensor([0.0, 0.0, 0.5])
    a = soft_silhouette(verts, faces, K_SMALL, (120, 160), SoftSilhouetteConfig(max_pairs=10_000_000))
    b = soft_silhouette(verts, faces, K_SMALL, (120, 160), SoftSilhouetteConfig(max_pairs=5_000))
    assert torch.allclose(a, b, atol=1e-6)


def test_faces_behind_the_camera_are_ignored() -> None:
    verts = _triangle_at_px([(2.0, 2.0), (12.0, 2.0), (2.0, 12.0)], z_m=-1.0)
    faces = torch.tensor([[0, 1, 2]])
    frags: Fragments = rasterize(verts, faces, K_UNIT, (16, 16))
    assert not bool(frags.covered.any())
    assert float(soft_silhouette(verts, faces, K_UNIT, (16, 16)).sum()) == 0.0


def test_soft_silhouette_of_the_mano_hand_matches_the_hard_mask() -> None:
    from wildhands_core.mano.layer import load_mano_pair

    right, _ = load_mano_pair()
    pose = torch.zeros(1, 48)
    pose[0, :3] = torch.tensor([1.2, 0.3, -0.4])
    with torch.no_grad():
        verts = right.forward_aa(pose, torch.zeros(1, 10))["vertices"][0]
    verts = verts - verts.mean(dim=0) + torch.tensor([0.0, 0.0, 0.4])
    hard = rasterize(verts, right.faces, K_SMALL, (120, 160)).covered
    assert int(hard.sum()) > 1000
    soft = soft_silhouette(verts, right.faces, K_SMALL, (120, 160), SoftSilhouetteConfig(sigma_px2=0.01))
    assert _iou(soft[0] > 0.5, hard) > 0.97


@pytest.mark.gpu
def test_soft_and_hard_rasterizers_run_on_cuda_like_on_cpu() -> None:
    verts, faces = uv_sphere(0.1, 12, 16)
    verts = verts + torch.tensor([0.0, 0.0, 0.5])
    cpu = soft_silhouette(verts, faces, K_SMALL, (120, 160))
    vg = verts.cuda().requires_grad_(True)
    gpu = soft_silhouette(vg, faces.cuda(), K_SMALL.cuda(), (120, 160))
    gpu.sum().backward()
    assert torch.allclose(gpu.cpu(), cpu, atol=1e-4) and torch.isfinite(vg.grad).all()
    hard_gpu = rasterize(verts.cuda(), faces.cuda(), K_SMALL.cuda(), (120, 160))
    assert torch.equal(hard_gpu.face_id.cpu(), rasterize(verts, faces, K_SMALL, (120, 160)).face_id)
