"""KPE: golden values, layout, symmetry and what a crop shift changes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from wildhands_core.kpe import (
    box_center_and_corners,
    dense_kpe,
    intrinsics_free_K,
    pixel_angles,
    sinusoidal_encoding,
    sparse_kpe,
    sparse_kpe_map,
)

GOLDEN = Path(__file__).resolve().parents[3] / "shared" / "reference" / "kpe_golden.json"
CASES = json.loads(GOLDEN.read_text())["cases"] if GOLDEN.exists() else []


def _k(f: float, c: float, dtype=torch.float64) -> torch.Tensor:
    return torch.tensor([[[f, 0.0, c], [0.0, f, c], [0.0, 0.0, 1.0]]], dtype=dtype)


@pytest.mark.skipif(not CASES, reason="shared/reference/kpe_golden.json not available")
@pytest.mark.parametrize("case_index", range(3))
def test_sparse_kpe_matches_the_golden_cases(case_index: int) -> None:
    case = CASES[case_index]
    box = torch.tensor([case["box_xyxy_224"]], dtype=torch.float64)
    K = torch.tensor([case["K_224"]], dtype=torch.float64)
    center, corners = box_center_and_corners(box)
    torch.testing.assert_close(
        pixel_angles(center, K)[0],
        torch.tensor(case["center_angles"], dtype=torch.float64),
        atol=1e-9,
        rtol=0,
    )
    torch.testing.assert_close(
        pixel_angles(corners, K)[0].flatten(),
        torch.tensor(case["corner_angles"], dtype=torch.float64),
        atol=1e-9,
        rtol=0,
    )
    torch.testing.assert_close(
        sparse_kpe(box, K)[0], torch.tensor(case["sparse_kpe_80"], dtype=torch.float64), atol=1e-9, rtol=0
    )


def test_pixel_angles_follow_atan2_of_offset_over_focal() -> None:
    K = torch.tensor([[[100.0, 0.0, 50.0], [0.0, 200.0, 60.0], [0.0, 0.0, 1.0]]], dtype=torch.float64)
    ang = pixel_angles(torch.tensor([[150.0, 260.0]], dtype=torch.float64), K)
    assert ang[0, 0].item() == pytest.approx(math.pi / 4)  # (150 - 50) / 100 = 1
    assert ang[0, 1].item() == pytest.approx(math.pi / 4)  # (260 - 60) / 200 = 1


def test_encoding_layout_is_frequency_outer_component_middle_sin_cos_inner() -> None:
    a, b = 0.1, 0.2
    enc = sinusoidal_encoding(torch.tensor([a, b], dtype=torch.float64), num_freqs=2)
    expected = [math.sin(a), math.cos(a), math.sin(b), math.cos(b),
                math.sin(2 * a), math.cos(2 * a), math.sin(2 * b), math.cos(2 * b)]
    torch.testing.assert_close(enc, torch.tensor(expected, dtype=torch.float64))


def test_sparse_kpe_has_80_values_centre_first_then_corners_in_release_order() -> None:
    K = _k(100.0, 112.0)
    box = torch.tensor([[10.0, 20.0, 50.0, 90.0]], dtype=torch.float64)
    enc = sparse_kpe(box, K)
    assert enc.shape == (1, 80)
    centre = pixel_angles(torch.tensor([[30.0, 55.0]], dtype=torch.float64), K)
    torch.testing.assert_close(enc[0, :16], sinusoidal_encoding(centre)[0])
    corners = torch.tensor([[[10.0, 20.0], [10.0, 90.0], [50.0, 20.0], [50.0, 90.0]]], dtype=torch.float64)
    torch.testing.assert_close(enc[0, 16:], sinusoidal_encoding(pixel_angles(corners, K).flatten(1))[0])
    # k = 0, first corner (x0, y0): sin(theta_x) is value 16, sin(theta_y) is value 18.
    assert enc[0, 16].item() == pytest.approx(math.sin(math.atan2(10.0 - 112.0, 100.0)))
    assert enc[0, 18].item() == pytest.approx(math.sin(math.atan2(20.0 - 112.0, 100.0)))


def test_kpe_is_symmetric_about_the_principal_point() -> None:
    K = _k(150.0, 112.0)
    box = torch.tensor([[62.0, 72.0, 162.0, 152.0]], dtype=torch.float64)  # centre (112, 112)
    enc = sparse_kpe(box, K)[0]
    sin_idx = torch.arange(0, 16, 2)
    assert torch.all(enc[sin_idx].abs() < 1e-12)  # centre angles are 0 -> every sine is 0
    assert torch.allclose(enc[1:16:2], torch.ones(8, dtype=torch.float64))
    _, corners = box_center_and_corners(box)
    ang = pixel_angles(corners, K)[0]  # (4, 2): (x0,y0), (x0,y1), (x1,y0), (x1,y1)
    torch.testing.assert_close(ang[0], -ang[3])
    torch.testing.assert_close(ang[1], -ang[2])
    dense = dense_kpe(box, K, size=7, grid=28)[0]
    # theta_x sine (channel 0) is odd under a left-right flip, its cosine (channel 1) is even.
    torch.testing.assert_close(dense[0].flip(-1), -dense[0], atol=1e-12, rtol=0)
    torch.testing.assert_close(dense[1].flip(-1), dense[1], atol=1e-12, rtol=0)


def test_shifting_the_crop_horizontally_changes_only_the_x_angles() -> None:
    K = _k(120.0, 112.0)
    box = torch.tensor([[40.0, 50.0, 100.0, 110.0]], dtype=torch.float64)
    shifted = box + torch.tensor([[30.0, 0.0, 30.0, 0.0]], dtype=torch.float64)
    a, b = sparse_kpe(box, K)[0], sparse_kpe(shifted, K)[0]
    # Angle index within each encoded vector: value j encodes component (j // 2) % c.
    comp_centre = (torch.arange(16) // 2) % 2
    comp_corner = (torch.arange(64) // 2) % 8 % 2  # components alternate x, y per corner
    y_mask = torch.cat((comp_centre == 1, comp_corner == 1))
    torch.testing.assert_close(a[y_mask], b[y_mask])
    assert torch.all((a[~y_mask] - b[~y_mask]).abs().max() > 1e-3)


def test_kpe_depends_only_on_the_position_relative_to_the_principal_point() -> None:
    box = torch.tensor([[40.0, 50.0, 100.0, 110.0]], dtype=torch.float64)
    K = torch.tensor([[[120.0, 0.0, 100.0], [0.0, 130.0, 90.0], [0.0, 0.0, 1.0]]], dtype=torch.float64)
    K_moved = K.clone()
    K_moved[0, 0, 2] += 17.0
    K_moved[0, 1, 2] -= 5.0
    moved = box + torch.tensor([[17.0, -5.0, 17.0, -5.0]], dtype=torch.float64)
    torch.testing.assert_close(sparse_kpe(box, K), sparse_kpe(moved, K_moved))
    torch.testing.assert_close(dense_kpe(box, K), dense_kpe(moved, K_moved))


def test_intrinsics_free_K_has_focal_and_principal_point_112() -> None:
    K = intrinsics_free_K(3)
    assert K.shape == (3, 3, 3)
    expected = torch.tensor([[112.0, 0.0, 112.0], [0.0, 112.0, 112.0], [0.0, 0.0, 1.0]])
    torch.testing.assert_close(K[1], expected)


def test_sparse_map_broadcasts_the_same_80_values_to_every_cell() -> None:
    box = torch.tensor([[10.0, 20.0, 50.0, 90.0], [0.0, 0.0, 223.0, 223.0]])
    K = _k(100.0, 112.0, torch.float32).expand(2, 3, 3)
    m = sparse_kpe_map(box, K, size=7)
    assert m.shape == (2, 80, 7, 7)
    torch.testing.assert_close(m[:, :, 3, 5], sparse_kpe(box, K))
    torch.testing.assert_close(m[:, :, 0, 0], m[:, :, 6, 6])


def test_dense_kpe_on_a_7x7_grid_encodes_the_cell_centres() -> None:
    K = _k(100.0, 112.0)
    box = torch.tensor([[14.0, 28.0, 84.0, 98.0]], dtype=torch.float64)  # cells of 10 px
    dense = dense_kpe(box, K, size=7, grid=7)
    assert dense.shape == (1, 16, 7, 7)
    uv = torch.tensor([[19.0 + 10.0 * 2, 33.0 + 10.0 * 4]], dtype=torch.float64)  # row 4, column 2
    torch.testing.assert_close(dense[0, :, 4, 2], sinusoidal_encoding(pixel_angles(uv, K))[0])


def test_kpe_is_differentiable_with_respect_to_boxes_and_intrinsics() -> None:
    box = torch.tensor([[40.0, 50.0, 100.0, 110.0]], dtype=torch.float64, requires_grad=True)
    K = _k(120.0, 112.0).requires_grad_(True)
    (sparse_kpe(box, K).sum() + dense_kpe(box, K).sum()).backward()
    assert box.grad is not None and K.grad is not None
    assert box.grad.abs().sum() > 0 and K.grad.abs().sum() > 0
