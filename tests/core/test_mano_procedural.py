"""Tests of the procedural MANO-format hand (wildhands_core.mano.procedural), loaded through smplx."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import smplx
import torch
from mano_helpers import directed_edge_counts, edge_counts, self_intersections, signed_volume

from wildhands_core.constants import FINGERTIP_VERTEX_IDS, MANO_PARENTS
from wildhands_core.mano.procedural import build_procedural_hand, mano_dict, write_procedural_mano

FINGER_JOINTS = {"index": (1, 2, 3), "middle": (4, 5, 6), "pinky": (7, 8, 9), "ring": (10, 11, 12),
                 "thumb": (13, 14, 15)}


@pytest.fixture(scope="module")
def right(mano_dir: Path) -> dict:
    with open(mano_dir / "MANO_RIGHT.pkl", "rb") as fh:
        return pickle.load(fh)


@pytest.fixture(scope="module")
def left(mano_dir: Path) -> dict:
    with open(mano_dir / "MANO_LEFT.pkl", "rb") as fh:
        return pickle.load(fh)


def _smplx(mano_dir: Path, is_rhand: bool) -> smplx.MANO:
    return smplx.MANO(model_path=str(mano_dir), is_rhand=is_rhand, use_pca=False, flat_hand_mean=False)


def _flat(model: smplx.MANO, hand_pose: torch.Tensor | None = None, betas: torch.Tensor | None = None,
          global_orient: torch.Tensor | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and 16 joints with the mean pose removed (hand_pose relative to the flat hand)."""
    hp = -model.hand_mean[None] + (hand_pose if hand_pose is not None else torch.zeros(1, 45))
    out = model(betas=betas if betas is not None else torch.zeros(1, 10), hand_pose=hp,
                global_orient=global_orient if global_orient is not None else torch.zeros(1, 3))
    return out.vertices[0].detach().double().numpy(), out.joints[0].detach().double().numpy()


def test_smplx_mano_loads_the_pickles_with_mano_counts(mano_dir: Path) -> None:
    for is_rhand in (True, False):
        model = _smplx(mano_dir, is_rhand)
        assert model.v_template.shape == (778, 3)
        assert model.faces.shape == (1538, 3)
        assert model.shapedirs.shape == (778, 3, 10)
        assert model.posedirs.shape == (135, 778 * 3)
        assert model.J_regressor.shape == (16, 778)
        assert model.parents.tolist() == list(MANO_PARENTS)
        out = model(betas=torch.zeros(2, 10), global_orient=torch.zeros(2, 3), hand_pose=torch.zeros(2, 45))
        assert out.vertices.shape == (2, 778, 3) and out.joints.shape == (2, 16, 3)


def test_pickle_holds_plain_numpy_arrays_in_mano_layout(right: dict) -> None:
    shapes = {"v_template": (778, 3), "f": (1538, 3), "shapedirs": (778, 3, 10), "posedirs": (778, 3, 135),
              "J_regressor": (16, 778), "kintree_table": (2, 16), "weights": (778, 16),
              "hands_components": (45, 45), "hands_mean": (45,), "J": (16, 3)}
    for key, shape in shapes.items():
        assert type(right[key]) is np.ndarray and right[key].shape == shape, key
    assert right["f"].min() == 0 and right["f"].max() == 777
    assert right["kintree_table"][1].tolist() == list(range(16))


def test_mesh_is_closed_except_the_16_edge_wrist_opening_and_consistently_oriented(right: dict) -> None:
    faces = right["f"].astype(np.int64)
    counts = edge_counts(faces)
    boundary = [e for e, c in counts.items() if c == 1]
    assert len(boundary) == 16
    assert set(counts.values()) == {1, 2}
    # Every directed edge appears once: the two faces at an interior edge wind in opposite directions.
    assert max(directed_edge_counts(faces).values()) == 1
    # The boundary is one loop around the wrist, all vertices used, Euler characteristic of a disk.
    boundary_vertices = {v for e in boundary for v in e}
    assert len(boundary_vertices) == 16
    assert len(np.unique(faces)) == 778
    assert 778 - len(counts) + 1538 == 1
    v = right["v_template"]
    wrist_x = v[sorted(boundary_vertices), 0]
    assert wrist_x.min() > 0.085  # the opening is at the wrist end (+x)


def test_closing_the_wrist_gives_a_watertight_outward_mesh_of_hand_volume(right: dict) -> None:
    faces = right["f"].astype(np.int64)
    v = right["v_template"]
    counts = edge_counts(faces)
    boundary_vertices = sorted({x for e, c in counts.items() if c == 1 for x in e})
    centre = v[boundary_vertices].mean(axis=0)
    # Fan from the opening's centre: its triangles add no volume about that centre.
    volume_m3 = signed_volume(v - centre, faces)
    assert 150e-6 < volume_m3 < 500e-6  # an adult hand is a few hundred cm^3


def test_no_self_intersection_at_rest_and_in_the_mean_pose(right: dict, mano_dir: Path) -> None:
    faces = right["f"].astype(np.int64)
    assert self_intersections(right["v_template"], faces) == 0
    model = _smplx(mano_dir, True)
    out = model(betas=torch.zeros(1, 10), global_orient=torch.zeros(1, 3), hand_pose=torch.zeros(1, 45))
    assert self_intersections(out.vertices[0].detach().double().numpy(), faces) == 0


def test_self_intersection_check_detects_two_crossing_triangles() -> None:
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0.2, 0.2, -1], [0.3, 0.2, 1], [0.2, 0.3, 1]], float)
    assert self_intersections(v, np.array([[0, 1, 2], [3, 4, 5]])) > 0
    shifted = v + np.array([[0, 0, 0]] * 3 + [[5, 0, 0]] * 3)
    assert self_intersections(shifted, np.array([[0, 1, 2], [3, 4, 5]])) == 0


def test_wrist_to_middle_fingertip_is_18_to_19_cm_and_finger_lengths_are_ordered(right: dict) -> None:
    v, j = right["v_template"], right["J"]
    tips = {name: v[i] for name, i in FINGERTIP_VERTEX_IDS.items()}
    wrist_to_middle = np.linalg.norm(tips["middle"] - j[0])
    assert 0.18 <= wrist_to_middle <= 0.19
    fingers = ("index", "middle", "ring", "pinky")
    length = {n: np.linalg.norm(tips[n] - j[FINGER_JOINTS[n][0]]) for n in fingers}
    assert length["middle"] > length["ring"] > length["pinky"]
    assert length["middle"] > length["index"] > length["pinky"]
    assert 0.085 < length["middle"] < 0.10 and 0.06 < length["pinky"] < 0.08


def test_right_hand_follows_manos_frame_fingers_minus_x_thumb_plus_z_palm_minus_y(right: dict) -> None:
    v, j = right["v_template"], right["J"]
    assert (v[[320, 443, 554, 671], 0] < j[0, 0] - 0.15).all()  # fingers along -x from the wrist
    assert v[744, 2] > v[320, 2] > v[443, 2] > v[554, 2] > v[671, 2]  # thumb, index ... pinky along -z
    # The mean pose curls the fingertips towards -y (the palm side).
    assert right["hands_mean"].reshape(15, 3)[[0, 3, 9, 6], 2].min() > 0


def test_fingertip_ids_are_the_apex_vertices_of_each_digit(right: dict) -> None:
    v, w, j = right["v_template"], right["weights"], right["J"]
    for name, tip in FINGERTIP_VERTEX_IDS.items():
        distal = FINGER_JOINTS[name][2]
        assert w[tip, distal] == pytest.approx(1.0)
        direction = (v[tip] - j[distal]) / np.linalg.norm(v[tip] - j[distal])
        on_digit = np.flatnonzero(w[:, distal] > 0.5)
        assert np.argmax((v[on_digit] - j[distal]) @ direction) == np.flatnonzero(on_digit == tip)[0]


def test_left_model_is_the_exact_mirror_of_the_right(right: dict, left: dict, mano_dir: Path) -> None:
    np.testing.assert_array_equal(left["v_template"], right["v_template"] * [-1, 1, 1])
    np.testing.assert_array_equal(left["f"], right["f"][:, ::-1])
    np.testing.assert_array_equal(left["weights"], right["weights"])
    mirror = np.tile([1.0, -1.0, -1.0], 15)
    np.testing.assert_array_equal(left["hands_mean"], right["hands_mean"] * mirror)
    # Mirrored pose and shape through smplx give mirrored meshes.
    pose = torch.from_numpy(np.random.default_rng(0).normal(0, 0.3, 48)).float()[None]
    betas = torch.linspace(-1, 1, 10)[None]
    out_r = _smplx(mano_dir, True)(betas=betas, global_orient=pose[:, :3], hand_pose=pose[:, 3:])
    mirror48 = torch.tensor(np.tile([1.0, -1.0, -1.0], 16), dtype=torch.float32)
    pose_l = pose * mirror48
    out_l = _smplx(mano_dir, False)(betas=betas, global_orient=pose_l[:, :3], hand_pose=pose_l[:, 3:])
    torch.testing.assert_close(out_l.vertices * torch.tensor([-1.0, 1, 1]), out_r.vertices, atol=1e-6, rtol=0)


def test_weights_and_regressor_rows_sum_to_one_and_regress_the_joints(right: dict) -> None:
    np.testing.assert_allclose(right["weights"].sum(axis=1), 1.0, atol=1e-7)
    assert right["weights"].min() >= 0
    np.testing.assert_allclose(right["J_regressor"].sum(axis=1), 1.0, atol=1e-7)
    np.testing.assert_allclose(right["J_regressor"] @ right["v_template"], right["J"], atol=1e-8)
    np.testing.assert_allclose(right["J"][0], [0.09, 0.0, 0.0], atol=1e-6)


def test_posing_the_index_finger_moves_its_tip_and_no_other_finger(mano_dir: Path) -> None:
    model = _smplx(mano_dir, True)
    v0, _ = _flat(model)
    pose = torch.zeros(1, 45)
    pose[0, 0:3] = torch.tensor([0.0, 0.0, 0.8])  # index1 flexes 0.8 rad about +z
    v1, _ = _flat(model, pose)
    moved = np.linalg.norm(v1 - v0, axis=1)
    ids = FINGERTIP_VERTEX_IDS
    assert moved[ids["index"]] > 0.04
    assert v1[ids["index"], 1] < v0[ids["index"], 1] - 0.04  # flexes towards the palm (-y)
    for other in ("thumb", "middle", "ring", "pinky"):
        assert moved[ids[other]] < 1e-6
    assert moved[:16].max() < 1e-6  # the wrist opening stays put


def test_pose_correctives_vanish_at_rest_and_bulge_a_bent_joint(right: dict, mano_dir: Path) -> None:
    pd = right["posedirs"]
    assert np.count_nonzero(np.abs(pd).sum(axis=(1, 2))) > 100
    # The offsets depend on (R - I); zero for the identity.
    model = _smplx(mano_dir, True)
    pose = torch.zeros(1, 45)
    pose[0, 3:6] = torch.tensor([0.0, 0.0, 1.2])  # index2 (PIP) flexes 1.2 rad
    posedirs = model.posedirs
    model.posedirs = torch.zeros_like(posedirs)
    v_plain, _ = _flat(model, pose)
    model.posedirs = posedirs
    v_corr, _ = _flat(model, pose)
    bulge = np.linalg.norm(v_corr - v_plain, axis=1)
    assert 0.5e-3 < bulge.max() < 5e-3
    assert bulge[FINGERTIP_VERTEX_IDS["middle"]] == 0.0


def test_shape_directions_change_size_sensibly(mano_dir: Path) -> None:
    model = _smplx(mano_dir, True)

    def measure(betas: torch.Tensor) -> dict[str, float]:
        v, j = _flat(model, betas=betas[None])
        return {
            "hand": float(np.linalg.norm(v[FINGERTIP_VERTEX_IDS["middle"]] - j[0])),
            "middle": float(np.linalg.norm(v[FINGERTIP_VERTEX_IDS["middle"]] - j[4])),
            "width": float(np.linalg.norm(j[1] - j[7])),
        }

    base = measure(torch.zeros(10))
    scale = measure(torch.eye(10)[0])
    assert scale["hand"] / base["hand"] == pytest.approx(1.05, abs=1e-3)
    longer = measure(torch.eye(10)[1])
    assert longer["middle"] / base["middle"] == pytest.approx(1.06, abs=5e-3)
    assert longer["width"] == pytest.approx(base["width"], abs=1e-6)
    wider = measure(torch.eye(10)[2])
    assert wider["width"] / base["width"] == pytest.approx(1.06, abs=5e-3)
    smaller = measure(-torch.eye(10)[0])
    assert smaller["hand"] < base["hand"] < scale["hand"]


def test_hands_components_are_orthonormal_and_the_mean_is_a_mild_curl(right: dict, left: dict) -> None:
    for data in (right, left):
        c = data["hands_components"]
        np.testing.assert_allclose(c @ c.T, np.eye(45), atol=1e-8)
    angles = np.linalg.norm(right["hands_mean"].reshape(15, 3), axis=1)
    assert 0.1 < angles.min() and angles.max() < 0.5


def test_generation_is_byte_identical(tmp_path: Path, mano_dir: Path) -> None:
    paths = write_procedural_mano(tmp_path)
    for side in ("right", "left"):
        assert paths[side].read_bytes() == (mano_dir / paths[side].name).read_bytes()
    first, second = mano_dict(build_procedural_hand()), mano_dict(build_procedural_hand())
    assert pickle.dumps(first) == pickle.dumps(second)
