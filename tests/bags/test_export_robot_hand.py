"""``wildhands-bag export`` with a robot hand: the exporters add the robot hand's joint positions per side
(npz/Parquet frame arrays, LeRobot ``action.robot_hand``), named per joint in the metadata. Hands posed by
the synthetic generator (an open right hand, a left fist); checked against the URDF file (joint names and
limits read here), the frames where each side is present, and the robot's forward kinematics."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from bag_fixtures import random_estimate
from scipy.spatial.transform import Rotation
from test_export_robot import DT, LEROBOT_PYTHON, T0, _run_lerobot, _write
from urdf_facts import urdf_joint_limits

from wildhands_core.retargeting.config import load_config
from wildhands_core.retargeting.robot_hands import config_path
from wildhands_core.retargeting.solver import RobotHandSolver
from wildhands_offline.export import ExportConfig, export_bags
from wildhands_offline.types import make_typestore
from wildhands_synth.hands import load_hand_models
from wildhands_synth.poses import FAMILIES, FAMILY_NAMES


@pytest.fixture(scope="module")
def episode(tmp_path_factory):
    """Frames 0..5: the open right hand every frame, the left fist on even frames (absent on odd ones)."""
    models = load_hand_models()
    rot = Rotation.from_euler("xyz", [0.4, -1.0, 2.0]).as_matrix()[None]

    def joints(family: str, is_right: bool) -> np.ndarray:
        art = FAMILIES[FAMILY_NAMES.index(family)].articulation[None]
        return models[is_right].pose(art, rot, np.zeros((1, 10)), np.array([[0.1, 0.0, 0.5]])).joints_cam_m[0]

    right, left = joints("open", True), joints("fist", False)
    rng = np.random.default_rng(3)
    frames = []
    for k in range(6):
        ests = [dataclasses.replace(random_estimate(rng, True, 1), joints_m=right)]
        if k % 2 == 0:
            ests.append(dataclasses.replace(random_estimate(rng, False, 2), joints_m=left))
        frames.append((k, T0 + k * DT, ests))
    tmp = tmp_path_factory.mktemp("robot_hand")
    _write(tmp / "b", frames, make_typestore(), tf_static=False)
    return tmp, right


def test_npz_export_adds_the_robot_hand_joint_positions_per_side(episode):
    tmp, right = episode
    s = export_bags([tmp / "b"], tmp / "npz", ExportConfig(robot_hand="allegro", progress=False))
    z = np.load(tmp / "npz" / "b_ep000.npz")
    for side, is_right, present in (("right", True, [True] * 6), ("left", False, [True, False] * 3)):
        limits = urdf_joint_limits("allegro", is_right)
        names = [str(n) for n in z[f"robot_hand_joint_names_{side}"]]
        assert sorted(names) == sorted(limits) and s.robot_hand[f"robot_hand_joint_names_{side}"] == names
        q = z[f"robot_hand_q_{side}"]
        assert q.shape == (6, len(names))
        assert list(z["robot_hand_valid"][:, int(is_right)]) == present
        assert np.all(np.isnan(q[~np.asarray(present)]))  # no hand: NaN, never a zero or held pose
        for col, name in enumerate(names):
            lo, hi = limits[name]
            assert np.all((q[present, col] >= lo - 1e-6) & (q[present, col] <= hi + 1e-6))
    assert str(z["robot_hand"]) == "allegro"
    # the open right hand: the robot's fingertip vectors are the scaled human ones (within 15 %, as in
    # tests/robot/test_retargeting.py), checked by the robot's own FK on the exported positions
    solver = RobotHandSolver(load_config(config_path("allegro", True)))
    names_right = [str(n) for n in z["robot_hand_joint_names_right"]]
    order = [names_right.index(n) for n in solver.joint_names]
    q_last = z["robot_hand_q_right"][-1][order].astype(np.float64)
    target = solver.cfg.scaling * solver.reference(right)
    robot = solver.robot_vectors(q_last)
    for k, name in enumerate(solver.cfg.targets):
        if name.endswith("_tip"):
            assert np.linalg.norm(robot[k] - target[k]) < 0.15 * np.linalg.norm(target[k]), name
    frames = pq.read_table(tmp / "npz" / "b_ep000_frames.parquet").to_pydict()
    assert np.allclose(np.asarray(frames["robot_hand_q_right"], np.float32), z["robot_hand_q_right"])


def test_lerobot_export_adds_the_robot_hand_action_named_per_joint(episode):
    tmp, _ = episode
    export_bags([tmp / "b"], tmp / "npz2", ExportConfig(robot_hand="allegro", progress=False))
    z = np.load(tmp / "npz2" / "b_ep000.npz")
    export_bags([tmp / "b"], tmp / "lr", ExportConfig(format="lerobot", robot_hand="allegro", progress=False))
    info = json.loads((tmp / "lr" / "meta" / "info.json").read_text())
    feat = info["features"]["action.robot_hand"]
    left = [f"left.{n}" for n in z["robot_hand_joint_names_left"]]
    right = [f"right.{n}" for n in z["robot_hand_joint_names_right"]]
    assert feat["names"] == left + right and feat["shape"] == [len(left) + len(right)]
    assert feat["info"]["unit"] == ["rad"] * feat["shape"][0] and feat["info"]["robot"] == "allegro"
    d = pq.read_table(tmp / "lr" / info["data_path"].format(chunk_index=0, file_index=0)).to_pydict()
    a = np.asarray(d["action.robot_hand"], np.float32)
    assert np.allclose(a[:, len(left):], z["robot_hand_q_right"], atol=1e-6)
    assert np.allclose(a[0::2, :len(left)], z["robot_hand_q_left"][0::2], atol=1e-6)
    # the left hand's absent frames hold its last seen values (LeRobot export convention)
    assert np.allclose(a[1::2, :len(left)], z["robot_hand_q_left"][0::2], atol=1e-6)


_LOAD = """
import json, sys
from lerobot.datasets.lerobot_dataset import LeRobotDataset
ds = LeRobotDataset("wildhands/test", root=sys.argv[1], video_backend="pyav")
print(json.dumps({"names": ds.meta.features["action.robot_hand"]["names"],
                  "rows": [ds[i]["action.robot_hand"].tolist() for i in range(len(ds))],
                  "stats": sorted(ds.meta.stats["action.robot_hand"])}))
"""


@pytest.mark.slow
@pytest.mark.skipif(not LEROBOT_PYTHON.exists(), reason=f"no lerobot venv at {LEROBOT_PYTHON}")
def test_lerobot_itself_loads_the_robot_hand_action(episode):
    """LeRobot 0.4.4 (its own venv) reads ``action.robot_hand``: the names per joint and every row as
    written, with statistics."""
    tmp, _ = episode
    out = tmp / "lr_load"
    export_bags([tmp / "b"], out, ExportConfig(format="lerobot", robot_hand="allegro", progress=False))
    res = _run_lerobot(_LOAD, str(out), tmp=tmp)
    info = json.loads((out / "meta" / "info.json").read_text())
    assert res["names"] == info["features"]["action.robot_hand"]["names"]
    d = pq.read_table(out / info["data_path"].format(chunk_index=0, file_index=0)).to_pydict()
    np.testing.assert_allclose(res["rows"], np.asarray(d["action.robot_hand"], np.float32), atol=1e-6)
    assert {"mean", "std", "min", "max"} <= set(res["stats"])


def test_an_unknown_robot_hand_stops_the_export_listing_the_names(episode):
    from wildhands_core.retargeting.robot_hands import UnknownRobotHandError

    tmp, _ = episode
    with pytest.raises(UnknownRobotHandError, match="allegro"):
        export_bags([tmp / "b"], tmp / "bad", ExportConfig(robot_hand="alegro", progress=False))
    assert not (tmp / "bad").exists()


def test_a_frame_that_cannot_be_retargeted_is_counted_and_left_invalid(episode, tmp_path):
    """A right hand whose joints all lie at one point (no hand frame) in frame 2: that frame's robot hand
    is NaN and not valid (never the previous frame's pose), counted in the episode's ``robot_hand_failed``
    (npz summary and LeRobot alike); the frames around it are solved."""
    _, right = episode
    rng = np.random.default_rng(4)
    frames = []
    for k in range(4):
        joints = np.full((21, 3), 0.4) if k == 2 else right
        frames.append((k, T0 + k * DT, [dataclasses.replace(random_estimate(rng, True, 1), joints_m=joints)]))
    _write(tmp_path / "b", frames, make_typestore(), tf_static=False)
    s = export_bags([tmp_path / "b"], tmp_path / "npz", ExportConfig(robot_hand="allegro", progress=False))
    z = np.load(tmp_path / "npz" / "b_ep000.npz")
    assert list(z["robot_hand_valid"][:, 1]) == [True, True, False, True]
    assert np.all(np.isnan(z["robot_hand_q_right"][2])) and not np.any(np.isnan(z["robot_hand_q_right"][3]))
    assert s.episodes[0]["robot_hand_failed"] == {"degenerate_hand": 1}
    lr = export_bags([tmp_path / "b"], tmp_path / "lr",
                     ExportConfig(format="lerobot", robot_hand="allegro", progress=False))
    assert lr.episodes[0]["robot_hand_failed"] == {"degenerate_hand": 1}
