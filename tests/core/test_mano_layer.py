"""Tests of ManoLayer (wildhands_core.mano.layer), on the procedural model."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch

from wildhands_core.constants import FINGERTIP_VERTEX_IDS, JOINT_NAMES
from wildhands_core.mano.layer import (
    MANO_DIR_ENV,
    ManoLayer,
    find_mano_files,
    load_mano_pair,
    resolve_mano_dir,
)
from wildhands_core.mano.procedural import write_procedural_mano
from wildhands_core.rotations import axis_angle_to_rotmat, rotmat_to_axis_angle


@pytest.fixture(scope="module")
def pair(mano_dir: Path) -> tuple[ManoLayer, ManoLayer]:
    return load_mano_pair(mano_dir)


def _random_pose(batch: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return 0.4 * torch.randn(batch, 16, 3, generator=g), torch.randn(batch, 10, generator=g)


def test_outputs_have_mano21_shapes_and_tips_in_thumb_index_middle_ring_pinky_order(pair) -> None:
    right, _ = pair
    aa, betas = _random_pose(3)
    out = right(axis_angle_to_rotmat(aa), betas)
    assert out["vertices"].shape == (3, 778, 3) and out["joints"].shape == (3, len(JOINT_NAMES), 3)
    tips = [FINGERTIP_VERTEX_IDS[n] for n in ("thumb", "index", "middle", "ring", "pinky")]
    torch.testing.assert_close(out["joints"][:, 16:], out["vertices"][:, tips])
    assert right.faces.shape == (1538, 3) and right.faces.dtype == torch.long


def test_flat_pose_gives_the_template_and_regressed_joints_in_metres(pair) -> None:
    right, _ = pair
    pose = torch.cat([torch.zeros(3), -right.mano.hand_mean])[None]  # undo the mean pose
    out = right.forward_aa(pose, torch.zeros(1, 10))
    torch.testing.assert_close(out["vertices"][0], right.mano.v_template, atol=1e-6, rtol=0)
    torch.testing.assert_close(out["joints"][0, :16], right.mano.J_regressor @ right.mano.v_template,
                               atol=1e-6, rtol=0)
    wrist_to_middle_tip = torch.linalg.norm(out["joints"][0, 18] - out["joints"][0, 0])
    assert 0.18 <= float(wrist_to_middle_tip) <= 0.19


def test_identity_rotations_give_the_mean_pose(pair) -> None:
    right, _ = pair
    eye = torch.eye(3).expand(1, 16, 3, 3)
    out = right(eye, torch.zeros(1, 10))
    flat = right.forward_aa(torch.cat([torch.zeros(3), -right.mano.hand_mean])[None], torch.zeros(1, 10))
    # the mean curls the middle fingertip towards the palm (-y) by more than 2 cm
    assert float(out["joints"][0, 18, 1]) < float(flat["joints"][0, 18, 1]) - 0.02


def test_forward_matches_forward_aa_of_the_same_rotations(pair) -> None:
    right, _ = pair
    aa, betas = _random_pose(4, seed=1)
    rotmat = axis_angle_to_rotmat(aa)
    a = right(rotmat, betas)
    b = right.forward_aa(rotmat_to_axis_angle(rotmat).reshape(4, 48), betas)
    torch.testing.assert_close(a["vertices"], b["vertices"])


def test_batch_size_zero_returns_empty_tensors(pair) -> None:
    right, left = pair
    for layer in (right, left):
        out = layer(torch.zeros(0, 16, 3, 3), torch.zeros(0, 10))
        assert out["vertices"].shape == (0, 778, 3) and out["joints"].shape == (0, 21, 3)


def test_gradients_reach_rotations_and_betas(pair) -> None:
    right, _ = pair
    aa, betas = _random_pose(2, seed=2)
    rotmat = axis_angle_to_rotmat(aa).requires_grad_(True)
    betas.requires_grad_(True)
    right(rotmat, betas)["joints"].square().sum().backward()
    assert torch.isfinite(rotmat.grad).all() and rotmat.grad.abs().sum() > 0
    assert betas.grad.abs().sum() > 0


def test_left_layer_is_the_mirror_of_the_right_for_mirrored_poses(pair) -> None:
    right, left = pair
    aa, betas = _random_pose(2, seed=3)
    mirrored = aa * torch.tensor([1.0, -1.0, -1.0])
    out_r = right(axis_angle_to_rotmat(aa), betas)
    out_l = left(axis_angle_to_rotmat(mirrored), betas)
    torch.testing.assert_close(out_l["joints"] * torch.tensor([-1.0, 1.0, 1.0]), out_r["joints"],
                               atol=1e-6, rtol=0)


def test_source_and_lookup_order_argument_then_env_then_procedural(mano_dir: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "env_dir"
    write_procedural_mano(other)
    monkeypatch.setenv(MANO_DIR_ENV, str(other))
    assert resolve_mano_dir(mano_dir) == mano_dir
    assert resolve_mano_dir() == other
    assert ManoLayer("left").source.endswith(str(other))
    monkeypatch.delenv(MANO_DIR_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    layer = ManoLayer("right")
    assert layer.source.startswith("procedural MANO-format hand (not the licensed MANO model)")
    assert (tmp_path / "cache" / "wildhands").is_dir()
    with pytest.raises(FileNotFoundError):
        ManoLayer("right", tmp_path / "nowhere")
    with pytest.raises(ValueError):
        ManoLayer("both", mano_dir)


class _Export(torch.nn.Module):
    def __init__(self, layer: ManoLayer) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, rotmat: torch.Tensor, betas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.layer(rotmat, betas)
        return out["vertices"], out["joints"]


def test_layer_exports_to_onnx_and_onnxruntime_matches_within_10_micrometres(pair) -> None:
    onnxruntime = pytest.importorskip("onnxruntime")
    right, _ = pair
    aa, betas = _random_pose(2, seed=4)
    buf = io.BytesIO()
    torch.onnx.export(_Export(right), (axis_angle_to_rotmat(aa), betas), buf, opset_version=17, dynamo=False,
                      input_names=["rotmat", "betas"], output_names=["vertices", "joints"],
                      dynamic_axes={"rotmat": {0: "batch"}, "betas": {0: "batch"}})
    session = onnxruntime.InferenceSession(buf.getvalue(), providers=["CPUExecutionProvider"])
    aa3, betas3 = _random_pose(3, seed=5)  # another batch size than at export
    rotmat3 = axis_angle_to_rotmat(aa3)
    vertices, joints = session.run(None, {"rotmat": rotmat3.numpy(), "betas": betas3.numpy()})
    ref = right(rotmat3, betas3)
    np.testing.assert_allclose(vertices, ref["vertices"].numpy(), atol=1e-5)
    np.testing.assert_allclose(joints, ref["joints"].numpy(), atol=1e-5)


def test_a_mano_folder_is_read_flat_or_in_the_smplx_layout_and_a_wrong_one_names_the_files(
    mano_dir: Path, tmp_path: Path
) -> None:
    """Flat ``D/MANO_RIGHT.pkl`` (the MANO download) and smplx's model folder ``D/mano/MANO_RIGHT.pkl``
    (smplx 0.1.28 ``smplx.create``, body_models.py L2394-2395: a folder ``model_path`` is joined with
    ``model_type``) both give the same layer; a folder with neither names the four files looked for."""
    smplx_layout = tmp_path / "models"
    write_procedural_mano(smplx_layout / "mano")
    assert find_mano_files(mano_dir) == mano_dir
    assert find_mano_files(smplx_layout) == smplx_layout / "mano"
    assert resolve_mano_dir(smplx_layout) == smplx_layout / "mano"
    pose, betas = _random_pose(2, seed=5)
    torch.testing.assert_close(
        ManoLayer("left", smplx_layout)(axis_angle_to_rotmat(pose), betas)["joints"],
        ManoLayer("left", mano_dir)(axis_angle_to_rotmat(pose), betas)["joints"],
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError) as err:
        resolve_mano_dir(empty)
    for path in (empty / "MANO_RIGHT.pkl", empty / "MANO_LEFT.pkl", empty / "mano" / "MANO_RIGHT.pkl",
                 empty / "mano" / "MANO_LEFT.pkl"):
        assert str(path) in str(err.value)
