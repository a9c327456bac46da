"""Tests of wildhands_core.rotations against scipy.spatial.transform.Rotation."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from wildhands_core import rotations as R  # noqa: N812


def _random_rotations(n: int, seed: int = 0) -> Rotation:
    return Rotation.random(n, random_state=seed)


def _special_rotations() -> Rotation:
    """Identity, tiny angles and angles at / near pi about several axes."""
    axes = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, -2, 3], [-0.3, 0.2, -0.9]], float)
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    angles = [0.0, 1e-7, 1e-4, 2e-3, 0.5, np.pi - 1e-3, np.pi - 1e-6, np.pi]
    rotvecs = np.array([a * ax for ax in axes for a in angles])
    return Rotation.from_rotvec(rotvecs)


def _all_rotations() -> Rotation:
    return Rotation.concatenate([_random_rotations(200), _special_rotations()])


def _t(a: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(a, dtype=torch.float64)


def test_axis_angle_to_rotmat_matches_scipy() -> None:
    rots = _all_rotations()
    ours = R.axis_angle_to_rotmat(_t(rots.as_rotvec())).numpy()
    np.testing.assert_allclose(ours, rots.as_matrix(), atol=1e-12)


def test_quaternion_to_rotmat_matches_scipy_xyzw_order() -> None:
    rots = _all_rotations()
    ours = R.quaternion_to_rotmat(_t(rots.as_quat())).numpy()
    np.testing.assert_allclose(ours, rots.as_matrix(), atol=1e-12)


def test_rotmat_to_quaternion_matches_scipy_up_to_sign_and_has_nonnegative_w() -> None:
    rots = _all_rotations()
    ours = R.rotmat_to_quaternion(_t(rots.as_matrix())).numpy()
    ref = rots.as_quat()
    ref = ref * np.where(ref[:, 3:4] < 0, -1.0, 1.0)
    assert (ours[:, 3] >= 0).all()
    # At exactly pi, q and -q both have w = 0: compare the rotation instead of the sign.
    same = np.minimum(np.abs(ours - ref).max(axis=1), np.abs(ours + ref).max(axis=1))
    assert same.max() < 1e-9


def test_rotmat_to_axis_angle_matches_scipy_including_identity_and_pi() -> None:
    rots = _all_rotations()
    ours = R.rotmat_to_axis_angle(_t(rots.as_matrix())).numpy()
    ref = rots.as_rotvec()
    angle = np.linalg.norm(ref, axis=1)
    near_pi = angle > np.pi - 1e-5
    np.testing.assert_allclose(ours[~near_pi], ref[~near_pi], atol=1e-9)
    # At pi, axis and -axis are the same rotation: compare the matrices and the angle.
    np.testing.assert_allclose(np.linalg.norm(ours[near_pi], axis=1), angle[near_pi], atol=1e-6)
    np.testing.assert_allclose(Rotation.from_rotvec(ours).as_matrix(), rots.as_matrix(), atol=1e-9)


def test_identity_matrix_gives_zero_axis_angle_and_unit_w_quaternion() -> None:
    eye = torch.eye(3, dtype=torch.float64)
    assert torch.equal(R.rotmat_to_axis_angle(eye), torch.zeros(3, dtype=torch.float64))
    assert torch.equal(R.rotmat_to_quaternion(eye), torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=torch.float64))


def test_half_turn_about_z_gives_pi_about_z() -> None:
    rz = torch.tensor([[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    aa = R.rotmat_to_axis_angle(rz)
    assert abs(abs(aa[2].item()) - np.pi) < 1e-12
    assert abs(aa[0].item()) < 1e-12 and abs(aa[1].item()) < 1e-12


def test_rot6d_is_the_first_two_rows_and_round_trips() -> None:
    mats = _t(_all_rotations().as_matrix())
    r6 = R.rotmat_to_rot6d(mats)
    assert r6.shape == (mats.shape[0], 6)
    torch.testing.assert_close(r6[:, :3], mats[:, 0, :])
    torch.testing.assert_close(r6[:, 3:], mats[:, 1, :])
    torch.testing.assert_close(R.rot6d_to_rotmat(r6), mats, atol=1e-12, rtol=0)


def test_rot6d_gram_schmidt_of_a_hand_checked_example() -> None:
    # a1 = (2, 0, 0) -> b1 = x; a2 = (1, 3, 0) -> minus its x part -> (0, 3, 0) -> b2 = y; b3 = z.
    out = R.rot6d_to_rotmat(torch.tensor([2.0, 0.0, 0.0, 1.0, 3.0, 0.0]))
    torch.testing.assert_close(out, torch.eye(3))
    # a2 along -z gives rows x, -z, x cross -z = y.
    out = R.rot6d_to_rotmat(torch.tensor([1.0, 0.0, 0.0, 0.5, 0.0, -4.0]))
    torch.testing.assert_close(out, torch.tensor([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]]))


def test_rot6d_output_is_a_proper_rotation_for_arbitrary_input() -> None:
    x = torch.randn(500, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    m = R.rot6d_to_rotmat(x)
    eye = torch.eye(3, dtype=torch.float64).expand(500, 3, 3)
    torch.testing.assert_close(m @ m.transpose(-1, -2), eye, atol=1e-12, rtol=0)
    torch.testing.assert_close(torch.linalg.det(m), torch.ones(500, dtype=torch.float64))


def test_functions_keep_arbitrary_leading_batch_dimensions() -> None:
    aa = torch.randn(2, 16, 3, generator=torch.Generator().manual_seed(2))
    m = R.axis_angle_to_rotmat(aa)
    assert m.shape == (2, 16, 3, 3)
    assert R.rotmat_to_rot6d(m).shape == (2, 16, 6)
    assert R.rotmat_to_quaternion(m).shape == (2, 16, 4)
    assert R.rotmat_to_axis_angle(m).shape == (2, 16, 3)
    assert R.rot6d_to_rotmat(torch.zeros(0, 16, 6)).shape == (0, 16, 3, 3)


@pytest.mark.parametrize("angle", [0.0, 1e-6, 0.3, np.pi - 1e-3])
def test_gradients_are_finite_at_identity_and_near_pi(angle: float) -> None:
    aa = torch.tensor([angle, 0.0, 0.0], dtype=torch.float64, requires_grad=True)
    out = R.rotmat_to_axis_angle(R.axis_angle_to_rotmat(aa))
    out.sum().backward()
    assert torch.isfinite(aa.grad).all()
    x = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0], requires_grad=True)
    R.rotmat_to_axis_angle(R.rot6d_to_rotmat(x)).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_gradients_match_finite_differences() -> None:
    aa = torch.tensor([[0.3, -0.5, 0.8], [1e-5, 2e-5, 0.0], [0.0, 0.0, 2.0]], dtype=torch.float64,
                      requires_grad=True)
    assert torch.autograd.gradcheck(R.axis_angle_to_rotmat, (aa,))
    x = torch.randn(4, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(3), requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: R.rotmat_to_axis_angle(R.rot6d_to_rotmat(v)), (x,))


class _Chain(torch.nn.Module):
    def forward(self, rot_6d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        m = R.rot6d_to_rotmat(rot_6d)
        return m, R.rotmat_to_axis_angle(m), R.axis_angle_to_rotmat(R.rotmat_to_axis_angle(m))


def test_chain_exports_to_onnx_opset17_and_onnxruntime_matches_torch() -> None:
    onnxruntime = pytest.importorskip("onnxruntime")
    mats = _all_rotations().as_matrix().astype(np.float32)
    x = R.rotmat_to_rot6d(torch.from_numpy(mats)) + 0.01 * torch.randn(
        mats.shape[0], 6, generator=torch.Generator().manual_seed(4))
    buf = io.BytesIO()
    torch.onnx.export(_Chain(), (x,), buf, opset_version=17, input_names=["rot_6d"], dynamo=False,
                      dynamic_axes={"rot_6d": {0: "n"}})
    sess = onnxruntime.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    outs = sess.run(None, {"rot_6d": x[:50].numpy()})
    ref = _Chain()(x[:50])
    for o, r in zip(outs, ref, strict=True):
        np.testing.assert_allclose(o, r.numpy(), atol=1e-5)
