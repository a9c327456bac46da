"""Tests of wildhands_core.metrics with hand-computed values."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from wildhands_core import metrics as m


def _hand(seed: int = 0) -> np.ndarray:
    """A (21, 3) random skeleton about 10 cm across, 40 cm in front of the camera (metres)."""
    rng = np.random.default_rng(seed)
    return rng.normal(scale=0.05, size=(21, 3)) + np.array([0.0, 0.0, 0.4])


def test_mpjpe_of_a_pure_translation_is_zero_root_relative_and_the_offset_length_absolute():
    gt = _hand()
    pred = gt + np.array([0.003, 0.004, 0.0])  # a 3-4-5 offset of 5 mm
    assert m.mpjpe_mm(pred, gt)[0] == pytest.approx(0.0, abs=1e-9)
    assert m.mpjpe_mm(pred, gt, root_relative=False)[0] == pytest.approx(5.0)


def test_mpjpe_averages_over_all_joints_and_only_valid_ones():
    gt = _hand()
    pred = gt.copy()
    pred[5] += [0.003, 0.004, 0.0]  # one joint off by 5 mm
    assert m.mpjpe_mm(pred, gt)[0] == pytest.approx(5.0 / 21)
    valid = np.zeros(21, dtype=bool)
    valid[[0, 5]] = True
    assert m.mpjpe_mm(pred, gt, valid=valid)[0] == pytest.approx(2.5)


def test_mpjpe_root_offset_moves_every_other_joint_in_the_root_relative_frame():
    gt = _hand()
    pred = gt.copy()
    pred[0] += [0.003, 0.004, 0.0]
    assert m.mpjpe_mm(pred, gt)[0] == pytest.approx(20 * 5.0 / 21)


def test_mpjpe_is_per_hand_and_nan_without_valid_joints():
    gt = np.stack([_hand(0), _hand(1)])
    pred = gt + np.array([0.0, 0.0, 0.01])
    out = m.mpjpe_mm(pred, gt, valid=np.array([[True] * 21, [False] * 21]), root_relative=False)
    assert out.shape == (2,)
    assert out[0] == pytest.approx(10.0)
    assert math.isnan(out[1])


def test_pa_mpjpe_is_zero_after_a_known_similarity_transform():
    gt = _hand()
    R = Rotation.from_euler("xyz", [30, -50, 120], degrees=True).as_matrix()
    pred = 1.7 * gt @ R.T + np.array([0.3, -0.2, 1.0])
    assert m.pa_mpjpe_mm(pred, gt)[0] == pytest.approx(0.0, abs=1e-6)
    assert m.mpjpe_mm(pred, gt)[0] > 10.0  # the unaligned error is large


def test_pa_mpjpe_of_a_stretched_cross_is_300_mm():
    # gt: a cross of half-width 1 m; pred stretched ×2 along y. Best scale Σp·g / Σ|p|² = 6 / 10 = 0.6, R = I:
    # aligned (±0.6, 0), (0, ±1.2) → errors 0.4, 0.4, 0.2, 0.2 m → mean 0.3 m.
    gt = np.array([[-1.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, -1, 0]])
    pred = np.array([[-1.0, 0, 0], [1, 0, 0], [0, 2, 0], [0, -2, 0]])
    assert m.pa_mpjpe_mm(pred, gt)[0] == pytest.approx(300.0)
    np.testing.assert_allclose(
        m.procrustes_align(pred, gt), [[-0.6, 0, 0], [0.6, 0, 0], [0, 1.2, 0], [0, -1.2, 0]], atol=1e-12
    )


def test_procrustes_never_uses_a_reflection():
    gt = _hand(3)
    mirrored = gt * np.array([-1.0, 1.0, 1.0])
    assert m.pa_mpjpe_mm(mirrored, gt)[0] > 5.0


def test_procrustes_matches_scipy_align_vectors_on_noisy_data():
    gt = _hand(4)
    rng = np.random.default_rng(5)
    R = Rotation.from_rotvec([0.3, 0.2, -1.0]).as_matrix()
    pred = 0.8 * gt @ R.T + 0.02 + rng.normal(scale=0.005, size=gt.shape)
    p0, g0 = pred - pred.mean(0), gt - gt.mean(0)
    rot, _ = Rotation.align_vectors(g0, p0)  # proper rotation minimising Σ||g0 − R p0||²
    rp = rot.apply(p0)
    s = (rp * g0).sum() / (p0**2).sum()
    expected = s * rp + gt.mean(0)
    np.testing.assert_allclose(m.procrustes_align(pred, gt), expected, atol=1e-9)


def test_procrustes_fits_only_valid_joints():
    gt = _hand(6)
    pred = gt + 0.01
    pred[3] += [1.0, 0, 0]  # a wild outlier, marked invalid
    valid = np.ones(21, dtype=bool)
    valid[3] = False
    assert m.pa_mpjpe_mm(pred, gt, valid=valid)[0] == pytest.approx(0.0, abs=1e-6)


def test_mrrpe_is_the_3_4_5_error_of_the_relative_root():
    pr, pl = np.array([[0.1, 0.0, 0.5]]), np.array([[0.0, 0.0, 0.5]])
    gr, gl = np.array([[0.1, 0.0, 0.5]]), np.array([[0.003, 0.004, 0.5]])
    assert m.mrrpe_mm(pr, pl, gr, gl)[0] == pytest.approx(5.0)
    # a common shift of both predicted hands does not change it; full skeletons use joint 0
    shift = np.array([0.2, -0.1, 0.3])
    jr, jl = np.tile(pr[:, None] + shift, (1, 21, 1)), np.tile(pl[:, None] + shift, (1, 21, 1))
    assert m.mrrpe_mm(jr, jl, gr, gl)[0] == pytest.approx(5.0)


def test_to_crop_px_maps_box_corners_and_centre():
    box = np.array([100.0, 50.0, 200.0, 150.0])
    pts = np.array([[100.0, 50.0], [150.0, 100.0], [200.0, 150.0]])
    np.testing.assert_allclose(m.to_crop_px(pts, box), [[0, 0], [112, 112], [224, 224]])


def test_keypoint_error_crop_scales_with_the_crop_box_and_needs_three_visible_joints():
    gt = np.random.default_rng(0).uniform(300, 400, size=(21, 2))
    pred = gt + np.array([3.0, 4.0])  # 5 px in the full image
    valid = np.ones(21, dtype=bool)
    big = np.array([[0.0, 0.0, 224.0, 224.0]])  # crop scale 1
    small = np.array([[300.0, 300.0, 412.0, 412.0]])  # crop scale 2
    assert m.keypoint_error_crop_px(pred[None], gt[None], valid[None], big)[0] == pytest.approx(5.0)
    assert m.keypoint_error_crop_px(pred[None], gt[None], valid[None], small)[0] == pytest.approx(10.0)
    two = np.zeros(21, dtype=bool)
    two[:2] = True
    assert math.isnan(m.keypoint_error_crop_px(pred[None], gt[None], two[None], big)[0])
    three = two.copy()
    three[2] = True
    assert m.keypoint_error_crop_px(pred[None], gt[None], three[None], big)[0] == pytest.approx(5.0)


def test_jitter_of_a_constant_acceleration_with_uneven_timestamps_is_its_magnitude():
    t = np.array([0.0, 0.03, 0.07, 0.1, 0.16])
    a = np.array([3.0, 4.0, 0.0])  # 5 m/s² = 5000 mm/s²
    x = 0.5 * t[:, None] * t[:, None] * a + 0.2 * t[:, None] + 0.4
    joints = np.repeat(x[:, None, :], 21, axis=1)
    assert m.jitter_mm_s2(joints, t) == pytest.approx(5000.0)


def test_jitter_of_constant_velocity_is_zero_and_short_sequences_are_rejected():
    t = np.array([0.0, 0.1, 0.25])
    x = t[:, None] * np.array([1.0, 2.0, 3.0])
    assert m.jitter_mm_s2(x, t) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError):
        m.jitter_mm_s2(x[:2], t[:2])
    with pytest.raises(ValueError):
        m.jitter_mm_s2(x, np.array([0.0, 0.2, 0.1]))


def test_metrics_accept_torch_tensors():
    gt = _hand()
    pred = gt + np.array([0.003, 0.004, 0.0])
    out = m.mpjpe_mm(torch.tensor(pred, requires_grad=True), torch.tensor(gt), root_relative=False)
    assert out[0] == pytest.approx(5.0)


def test_nanmean_ignores_nan():
    assert m.nanmean([1.0, float("nan"), 3.0]) == pytest.approx(2.0)
    assert math.isnan(m.nanmean([float("nan")]))


def test_results_table_has_one_row_per_dataset_and_dashes_for_missing():
    results = {
        "arctic": {"mpjpe": 21.456, "pa_mpjpe": 7.1},
        "epic_handkps": {"kp2d_px": 12.0, "mpjpe": math.nan},
    }
    text = m.format_results_table(results)
    lines = text.splitlines()
    assert lines[0].split() == ["dataset", "mpjpe", "pa_mpjpe", "kp2d_px"]
    assert lines[2].split() == ["arctic", "21.46", "7.10", "-"]
    assert lines[3].split() == ["epic_handkps", "-", "-", "12.00"]
    assert len({len(line) for line in lines}) == 1  # aligned columns


def test_results_json_writes_nan_as_null():
    data = json.loads(m.results_to_json({"h2o": {"mpjpe": 20.0, "mrrpe": float("nan")}}))
    assert data == {"h2o": {"mpjpe": 20.0, "mrrpe": None}}


def test_2d_error_in_the_whole_image_letterboxed_to_224_is_the_crop_error_times_crop_side_over_image_side():
    """A 1920x1080 EPIC frame, every joint 10 px off to the right; the hand's crop is 480 px square. In the
    224 crop one original pixel is 224/480 px, in the letterboxed whole image 224/1920 px: 4.667 vs 1.167 px,
    a factor 1920/480 = 4 (the paper reports the second)."""
    gt = np.stack([np.linspace(700, 900, 21), np.linspace(400, 600, 21)], axis=1)
    pred = gt + [10.0, 0.0]
    valid = np.ones(21, dtype=bool)
    crop = np.array([560.0, 260.0, 1040.0, 740.0])  # 480 x 480 px
    e_crop = m.keypoint_error_crop_px(pred[None], gt[None], valid[None], crop[None], 224, 4)[0]
    e_224 = m.keypoint_error_letterbox224_px(pred, gt, valid, (1920, 1080))[0]
    assert e_crop == pytest.approx(10 * 224 / 480)
    assert e_224 == pytest.approx(10 * 224 / 1920)
    assert e_crop / e_224 == pytest.approx(4.0)


def test_letterbox_2d_error_counts_a_hand_only_with_more_than_3_visible_joints():
    gt = np.zeros((2, 21, 2)) + 100.0
    pred = gt + [0.0, 8.0]
    valid = np.zeros((2, 21), dtype=bool)
    valid[0, :4] = True  # 4 visible: scored
    valid[1, :3] = True  # 3 visible: not scored
    out = m.keypoint_error_letterbox224_px(pred, gt, valid, (448, 224))  # scale 0.5
    assert out[0] == pytest.approx(4.0) and math.isnan(out[1])


def test_mpjpe_is_averaged_per_frame_then_over_frames():
    # frame A: two hands, 10 and 30 mm; frame B: one hand, 50 mm → (20 + 50) / 2, not (10 + 30 + 50) / 3
    assert m.mean_over_frames([10.0, 30.0, 50.0], ["A", "A", "B"]) == pytest.approx(35.0)
    assert m.mean_over_frames([10.0, math.nan, 50.0], ["A", "A", "B"]) == pytest.approx(30.0)


def test_the_authors_zero_biased_pa_mpjpe_divides_by_two_hands_per_frame():
    # 3 frames, 4 valid hands of 6 mm each: ours 6 mm; the authors' 4 x 6 / (2 x 3) = 4 mm (= 6 x 4/6)
    assert m.zero_biased_mean([6.0, 6.0, 6.0, 6.0], num_frames=3) == pytest.approx(4.0)
    assert m.mean_over_frames([6.0] * 4, [0, 0, 1, 2]) == pytest.approx(6.0)
