"""Human hand -> robot hand retargeting (``wildhands_core.retargeting``) on hands posed by the synthetic
generator (``wildhands_synth``), checked with the robot's own forward kinematics (pinocchio) against
geometry that holds by construction:

- the optimiser brings the robot's vectors (wrist -> fingertip, ...) to the config's ``scaling`` times the
  human ones, so for an open hand and a pinch the fingertip vectors agree within a stated fraction of their
  length, for a fist within a stated distance, per hand (as close as each robot's joints allow); a fist
  brings every fingertip much nearer the wrist than the open hand does, on the palm side;
- positions stay inside the URDF's joint limits;
- along a smooth 150-frame sequence the joint trajectories move no faster than the human hand implies;
- errors name what is wrong (unknown robot: the available ones; a bad file: its path); a frame that cannot
  be solved is counted and gives no output.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from wildhands_core.constants import JOINT_NAMES
from wildhands_core.estimate import HandEstimate
from wildhands_core.retargeting.config import RetargetingSetupError, configs_for, load_config
from wildhands_core.retargeting.hand_frame import human_hand_frame
from wildhands_core.retargeting.mounting import (
    mano_hand_frame_in_wrist,
    robot_root_in_wrist,
    static_transform_arguments,
    urdf_root_link,
)
from wildhands_core.retargeting.retargeter import RobotHandRetargeting, TrackState
from wildhands_core.retargeting.robot_hands import (
    UnknownRobotHandError,
    available_robot_hands,
    config_path,
    urdf_path,
)
from wildhands_core.retargeting.solver import RobotHandSolver
from wildhands_synth.hands import HandModel, load_hand_models
from wildhands_synth.poses import FAMILIES, FAMILY_NAMES
from wildhands_synth.sequence import SyntheticSequence

#: The robot hands whose joints span the human poses used here (finger flexion ranges >= 1.5 rad per
#: joint, a thumb with at least 4 joints): their vectors must match tightly.
FULLY_ACTUATED = ("allegro", "shadow")
#: Frames one pose is held for before it is checked (1/3 s at 30 Hz): each frame's optimum is pulled
#: towards the previous solution (``norm_delta``), so a fresh track needs a few frames to settle; after 2
#: frames LEAP's ring fingertip is still 40 mm from its fist target, after 10 it is at 10 mm, like its 30th.
HELD_FRAMES = 10
#: Open hand and pinch, per hand: the largest fingertip error (index to pinky, then thumb) as a fraction of
#: the scaled human vector's length, about 1.1-1.3 x the largest measured on either side (in comments:
#: fingers, thumb). Where a hand needs more than 0.15, its kinematics cannot do better: the error is that of
#: the best fingertip fit within the joint limits (least squares on the fingertip vectors alone, several
#: starts) to within 3 mm unless stated otherwise.
OPEN_PINCH_TOLERANCE = {
    "allegro": (0.08, 0.06),  # 0.054, 0.034
    "shadow": (0.08, 0.06),  # 0.062, 0.043
    # 0.041, 0.110: the thumb tip alone could be matched; the thumb IP target (thumb3) pulls it away
    "leap": (0.06, 0.14),
    # 0.245, 0.225: no finger abduction (the open hand's spread pinky: 36 mm), one flexion actuator per
    # finger (2 coupled joints), a 2-joint thumb
    "ability": (0.28, 0.26),
    # 0.223, 0.598: no finger abduction (open pinky 41 mm), a thumb of 2 actuated joints (yaw, pitch <= 0.6
    # rad) whose base sits 69 mm up the palm: in the pinch its tip stays 75 mm from the target
    "inspire": (0.25, 0.65),
    # 0.164, 0.472: ring and pinky on one flexion actuator (pinch ring tip 29 mm), a thumb of 2 actuators
    # (opposition, coupled flexion)
    "svh": (0.19, 0.52),
}
#: Fist, per hand: each fingertip vector (index to pinky; thumb) within this many mm of the scaled human
#: one (64 to 87 mm long for the fingers), about 1.1-1.3 x the largest error measured on either side (in
#: comments). More than 20 mm: the robot cannot curl that far (errors within 3 mm of the best fingertip
#: fit within the joint limits).
FIST_TOLERANCE_MM = {
    "allegro": (14.0, 13.0),  # 11.2, 10.7
    # 8.8, 28.3: thumb joint limits (THJ1-5) keep the tip 27.8 mm from the wrapped human thumb's
    "shadow": (12.0, 32.0),
    "leap": (14.0, 16.0),  # 10.9, 13.1
    # 8.6, 36.9: a 2-joint thumb (rotation, flexion) cannot tuck (best fit 35.9 mm)
    "ability": (11.0, 41.0),
    # 42.0, 82.5: 2 coupled joints per finger with the proximal at its 1.47 rad limit, a 137 mm palm and
    # 80 mm fingers (scaled human: about 110 and 100 mm); the thumb as in the pinch
    "inspire": (46.0, 88.0),
    # 55.8, 54.6: every finger flexion joint at its upper limit (proximal <= 0.98 rad, distal <= 1.33
    # rad); the thumb opposition at its lower limit
    "svh": (60.0, 59.0),
}
SIDES = (True, False)
#: An arbitrary camera-from-hand rotation: the hand frame must undo it.
ROTATION = Rotation.from_euler("xyz", [0.4, -1.0, 2.0]).as_matrix()


@pytest.fixture(scope="module")
def models() -> dict[bool, HandModel]:
    return load_hand_models()


@pytest.fixture(scope="module")
def solvers() -> dict[tuple[str, bool], RobotHandSolver]:
    return {(name, side): RobotHandSolver(load_config(config_path(name, side)))
            for name in available_robot_hands() for side in SIDES}


def _joints(models: dict[bool, HandModel], family: str, is_right: bool) -> np.ndarray:
    art = FAMILIES[FAMILY_NAMES.index(family)].articulation
    posed = models[is_right].pose(art[None], ROTATION[None], np.zeros((1, 10)), np.array([[0.1, 0.0, 0.5]]))
    return posed.joints_cam_m[0]


def _solve(solver: RobotHandSolver, joints: np.ndarray, frames: int = HELD_FRAMES) -> np.ndarray:
    """The same hand for ``frames`` frames (each warm-started from the previous one), the last frame's
    unfiltered joint positions."""
    state = TrackState(solver)
    for _ in range(frames - 1):
        state.step(joints)
    return solver.solve(solver.reference(joints), state.last_x).q


def _tips(solver: RobotHandSolver) -> list[int]:
    return [k for k, name in enumerate(solver.cfg.targets) if name.endswith("_tip")]


def _relative_errors(solver: RobotHandSolver, joints: np.ndarray, q: np.ndarray) -> dict[str, float]:
    target = solver.cfg.scaling * solver.reference(joints)
    robot = solver.robot_vectors(q)
    names = list(solver.cfg.targets)
    return {names[k]: float(np.linalg.norm(robot[k] - target[k]) / np.linalg.norm(target[k]))
            for k in _tips(solver)}


def test_the_hand_frame_is_the_same_for_any_camera_rotation(models):
    """Rotating the whole hand in the camera does not change its vectors in the hand frame."""
    j = _joints(models, "pinch", True)
    frame = human_hand_frame(j)
    other = Rotation.from_euler("zyx", [1.0, 0.3, -2.0]).as_matrix()
    j2 = j @ other.T + [0.2, -0.1, 0.3]
    frame2 = human_hand_frame(j2)
    v, v2 = (j - j[0]) @ frame, (j2 - j2[0]) @ frame2
    np.testing.assert_allclose(v, v2, atol=1e-9)
    np.testing.assert_allclose(frame.T @ frame, np.eye(3), atol=1e-12)
    assert np.linalg.det(frame) == pytest.approx(1.0)


@pytest.mark.parametrize("name", available_robot_hands())
@pytest.mark.parametrize("is_right", SIDES)
def test_robot_hand_frames_put_the_thumb_on_the_thumb_side(solvers, name, is_right):
    """At zero joint positions the robot's thumb tip lies on the +y (thumb) side of its hand frame and its
    middle fingertip ahead of the wrist (+x): the palm links of the config are the right ones."""
    solver = solvers[(name, is_right)]
    q0 = np.clip(np.zeros(len(solver.joint_names)), solver.lower, solver.upper)
    v = solver.robot_vectors(q0) @ solver.robot_frame  # hand-frame coordinates
    names = list(solver.cfg.targets)
    assert v[names.index("thumb_tip"), 1] > 0.02
    assert v[names.index("middle_tip"), 0] > 0.1


@pytest.mark.parametrize("name", available_robot_hands())
@pytest.mark.parametrize("is_right", SIDES)
def test_scaling_is_the_ratio_of_robot_to_human_finger_length(solvers, models, name, is_right):
    """The config's scaling = robot wrist -> middle fingertip / human wrist -> middle fingertip, both
    straight (the robot at zero joint positions, the template hand flat), within 3 %."""
    solver = solvers[(name, is_right)]
    flat = models[is_right].pose(np.zeros((1, 20)), np.eye(3)[None], np.zeros((1, 10)), np.zeros((1, 3)))
    human = np.linalg.norm(flat.joints_cam_m[0, 18] - flat.joints_cam_m[0, 0])
    q0 = np.clip(np.zeros(len(solver.joint_names)), solver.lower, solver.upper)
    robot = np.linalg.norm(solver.robot_vectors(q0)[list(solver.cfg.targets).index("middle_tip")])
    assert solver.cfg.scaling == pytest.approx(robot / human, rel=0.03)


@pytest.mark.parametrize("name", available_robot_hands())
@pytest.mark.parametrize("is_right", SIDES)
def test_open_hand_and_pinch_fingertip_vectors_match_the_scaled_human_ones(solvers, models, name, is_right):
    """Open hand and pinch, each held ``HELD_FRAMES`` frames: each robot fingertip vector within the hand's
    ``OPEN_PINCH_TOLERANCE`` (a fraction of the scaled human vector's length; 0.15 or less for Allegro,
    Shadow and LEAP, more where the robot lacks the joints, see there). Joint limits hold."""
    solver = solvers[(name, is_right)]
    finger_tolerance, thumb_tolerance = OPEN_PINCH_TOLERANCE[name]
    for family in ("open", "pinch"):
        joints = _joints(models, family, is_right)
        q = _solve(solver, joints)
        assert np.all(q >= solver.lower - 1e-9) and np.all(q <= solver.upper + 1e-9)
        errors = _relative_errors(solver, joints, q)
        fingers = {k: v for k, v in errors.items() if k != "thumb_tip"}
        assert max(fingers.values()) < finger_tolerance, (family, errors)
        assert errors["thumb_tip"] < thumb_tolerance, (family, errors)


@pytest.mark.parametrize("name", available_robot_hands())
@pytest.mark.parametrize("is_right", SIDES)
def test_fist_closes_every_finger_towards_the_palm(solvers, models, name, is_right):
    """A fist brings every robot fingertip (index to pinky) nearer the wrist than the open hand does
    (below 75 % of its open distance; the human's is about 35 %) and to the palm side of the hand frame
    (z < 0 for a right hand, z > 0 for a left one, see ``hand_frame``). Every fingertip vector, thumb
    included, is within the hand's ``FIST_TOLERANCE_MM`` of the scaled human one (fingers: 14 mm or less
    for Allegro, Shadow, LEAP and Ability; Inspire and SVH reach their joint limits first). Joint limits
    hold."""
    solver = solvers[(name, is_right)]
    q_open = _solve(solver, _joints(models, "open", is_right))
    q_fist = _solve(solver, _joints(models, "fist", is_right))
    assert np.all(q_fist >= solver.lower - 1e-9) and np.all(q_fist <= solver.upper + 1e-9)
    names = list(solver.cfg.targets)
    fingers = [k for k in _tips(solver) if names[k] != "thumb_tip"]
    v_open = solver.robot_vectors(q_open)[fingers]
    v_fist = solver.robot_vectors(q_fist)[fingers]
    ratio = np.linalg.norm(v_fist, axis=1) / np.linalg.norm(v_open, axis=1)
    assert np.all(ratio < 0.75), ratio
    palm_side = -1.0 if is_right else 1.0
    z = (v_fist @ solver.robot_frame)[:, 2]
    assert np.all(palm_side * z > 0.0), z
    finger_mm, thumb_mm = FIST_TOLERANCE_MM[name]
    target = solver.cfg.scaling * solver.reference(_joints(models, "fist", is_right))
    error_mm = 1e3 * np.linalg.norm(solver.robot_vectors(q_fist) - target, axis=1)
    assert np.all(error_mm[fingers] < finger_mm), error_mm[fingers]
    assert error_mm[names.index("thumb_tip")] < thumb_mm, error_mm[names.index("thumb_tip")]


@pytest.mark.parametrize("name", FULLY_ACTUATED)
@pytest.mark.parametrize("is_right", SIDES)
def test_the_mounted_robot_hand_lies_over_the_scaled_human_hand(solvers, models, name, is_right):
    """Display (``mounting``): with the robot's root placed in the wrist TF frame (which the node puts at
    the wrist joint with the MANO global orientation, here the generator's ``ROTATION``), the retargeted
    robot's fingertips (its FK) land in the camera frame within 15 % of the scaled human vector's length
    of wrist + scaling x (human fingertip - wrist): RViz draws the robot hand over the human one. The root
    link is the URDF's. Mounted without the rotation, they miss by far more."""
    solver = solvers[(name, is_right)]
    joints = _joints(models, "open", is_right)
    q = _solve(solver, joints)
    t, quat = robot_root_in_wrist(solver, mano_hand_frame_in_wrist(is_right))
    assert urdf_root_link(solver.cfg.urdf) == solver.robot.model.frames[1].name  # pinocchio's root body
    solver.robot.compute_forward_kinematics(q)
    tips = {h: solver.robot.get_link_pose(solver.robot.get_link_index(r))[:3, 3]
            for h, r in solver.cfg.targets.items() if h.endswith("_tip")}
    names = list(JOINT_NAMES)
    for rotation, bound in ((Rotation.from_quat(quat).as_matrix(), 0.15), (np.eye(3), None)):
        for human, tip_root in tips.items():
            scaled = solver.cfg.scaling * (joints[names.index(human)] - joints[0])
            tip_cam = joints[0] + ROTATION @ (t + rotation @ tip_root)
            error = np.linalg.norm(tip_cam - joints[0] - scaled) / np.linalg.norm(scaled)
            if bound is not None:
                assert error < bound, (human, error)
            elif human == "middle_tip":
                assert error > 0.5, error


def test_static_transform_arguments_put_the_allegro_wrist_on_the_human_wrist(models):
    """README's robot_state_publisher + RViz snippet: the static transform hand_right_wrist ->
    right_robot/base_link. From the Allegro right URDF by hand: the ``wrist`` link is at (0, 0, -0.095) in
    ``base_link`` (fixed joints palm -0.065, wrist -0.03 along z), the index, middle and little bases at
    y = +0.0435, 0, -0.0435 with z about 0, so its hand frame's axes are (z, y, -x) of ``base_link``. The
    transform must bring that wrist to the wrist joint (the origin) and those axes onto the human hand
    frame, which in the wrist frame (axes = MANO's global orientation) is that of the template hand posed
    flat with no rotation. ``python -m wildhands_core.retargeting.mounting`` prints the same arguments."""
    args = static_transform_arguments("allegro", True, "hand_right_wrist", "right_robot/")
    kv = dict(zip(args[::2], args[1::2], strict=True))
    assert kv["--frame-id"] == "hand_right_wrist" and kv["--child-frame-id"] == "right_robot/base_link"
    t = np.array([float(kv[k]) for k in ("--x", "--y", "--z")])
    rotation = Rotation.from_quat([float(kv[k]) for k in ("--qx", "--qy", "--qz", "--qw")]).as_matrix()
    np.testing.assert_allclose(t + rotation @ [0.0, 0.0, -0.095], 0.0, atol=3e-6)
    flat = models[True].pose(np.zeros((1, 20)), np.eye(3)[None], np.zeros((1, 10)), np.zeros((1, 3)))
    robot_axes = np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])  # columns z, y, -x
    np.testing.assert_allclose(rotation @ robot_axes, human_hand_frame(flat.joints_cam_m[0]), atol=1e-4)
    cli = subprocess.run([sys.executable, "-m", "wildhands_core.retargeting.mounting", "allegro", "right",
                          "--robot-frame-prefix", "right_robot/"], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2], timeout=300)
    assert cli.stdout.split() == args


def _estimate(joints: np.ndarray, is_right: bool, track_id: int) -> HandEstimate:
    z = np.zeros
    return HandEstimate(is_right, z(3), z(45), z(10), z(3), joints, z((21, 2)), z(4), z(4), 1.0, z(9),
                        track_id=track_id)


@pytest.mark.parametrize("name", ["allegro", "inspire"])
def test_a_150_frame_sequence_gives_continuous_joint_trajectories(models, name):
    """The demo's smooth synthetic sequence (30 Hz), both hands followed as tracks 1 and 2: every frame is
    solved inside the joint limits, and no joint moves in one frame more than the human motion allows: a
    joint that turns by dq moves a point at distance r from its axis by r dq, so dq <= (largest change of
    a scaled target vector) / r_min + 0.05 rad, with r_min = 15 mm (shorter than any phalanx of these
    hands)."""
    seq = SyntheticSequence(90_001, models=models)
    retargeting = RobotHandRetargeting(configs_for(robot=name))
    solvers = retargeting.solvers
    previous: dict[bool, tuple[np.ndarray, np.ndarray]] = {}
    worst = 0.0
    for i in range(150):
        estimates = []
        for spec in seq.hand_specs(i):
            posed = models[spec.is_right].pose(spec.articulation[None], spec.global_rotmat[None],
                                               spec.betas[None], spec.palm_centre_cam_m[None])
            estimates.append(_estimate(posed.joints_cam_m[0], spec.is_right, 1 if spec.is_right else 2))
        states = retargeting.update(estimates)
        assert len(states) == 2 and retargeting.failed == 0
        for state, est in zip(sorted(states, key=lambda s: not s.is_right),
                              sorted(estimates, key=lambda e: not e.is_right), strict=True):
            solver = solvers[state.is_right]
            q = state.positions
            assert np.all(q >= solver.lower - 1e-9) and np.all(q <= solver.upper + 1e-9), i
            target = solver.cfg.scaling * solver.reference(est.joints_m)
            if state.is_right in previous:
                q0, t0 = previous[state.is_right]
                human_step = float(np.max(np.linalg.norm(target - t0, axis=1)))
                joint_step = float(np.max(np.abs(state.positions - q0)))
                assert joint_step <= human_step / 0.015 + 0.05, (i, joint_step, human_step)
                worst = max(worst, joint_step)
            previous[state.is_right] = (state.positions, target)
    assert worst > 0.0  # the hands did move


def test_unknown_robot_name_lists_the_available_ones():
    with pytest.raises(UnknownRobotHandError) as err:
        configs_for(robot="alegro")
    for name in ("allegro", "leap", "shadow", "inspire", "ability", "svh"):
        assert name in str(err.value)


def test_retargeting_is_off_without_robot_or_config():
    assert configs_for() == {} and configs_for(robot="none") == {}


def test_a_config_that_does_not_load_names_its_file(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("side: right\nmethod: [vector\n")
    with pytest.raises(RetargetingSetupError, match=str(broken)):
        configs_for(config=str(broken))
    missing = tmp_path / "missing.yaml"
    with pytest.raises(RetargetingSetupError, match=str(missing)):
        configs_for(config=str(missing))
    text = config_path("allegro", True).read_text()
    wrong_link = tmp_path / "wrong_link.yaml"
    wrong_link.write_text(text.replace("link_3.0_tip", "link_99_tip"))
    with pytest.raises(RetargetingSetupError, match=r"link_99_tip.*not in URDF") as err:
        RobotHandRetargeting(configs_for(config=str(wrong_link)))
    assert str(wrong_link) in str(err.value)


def test_a_urdf_that_does_not_load_stops_start_up_naming_it(tmp_path):
    bad_urdf = tmp_path / "not_a_robot.urdf"
    bad_urdf.write_text("<robot name='x'><link name='a'></robot>")
    with pytest.raises(RetargetingSetupError, match=str(bad_urdf)):
        RobotHandRetargeting(configs_for(robot="allegro", urdf=str(bad_urdf)))
    with pytest.raises(RetargetingSetupError, match="does not exist"):
        configs_for(robot="allegro", urdf=str(tmp_path / "absent_{side}.urdf"))


def test_a_custom_config_and_urdf_per_side(tmp_path):
    """A user's files: ``{side}`` in the paths picks each side's file."""
    for side in ("right", "left"):
        (tmp_path / f"hand_{side}.yaml").write_text(config_path("leap", side == "right").read_text())
    configs = configs_for(config=str(tmp_path / "hand_{side}.yaml"))
    assert sorted(configs) == [False, True] and configs[True].urdf.name == "leap_hand_right.urdf"


def test_a_frame_that_cannot_be_solved_is_counted_and_gives_no_output(models):
    """Non-finite joints, a degenerate hand (every joint at one point) and a hand 1e39 m large (beyond
    float32: the optimiser itself fails) are counted by reason and give no joint positions; the track goes
    on from its last good solution."""
    retargeting = RobotHandRetargeting(configs_for(robot="allegro"))
    good = _joints(models, "open", True)
    assert len(retargeting.update([_estimate(good, True, 5)])) == 1
    nan = good.copy()
    nan[3] = np.nan
    assert retargeting.update([_estimate(nan, True, 5)]) == []
    assert retargeting.update([_estimate(np.full((21, 3), 0.4), True, 5)]) == []
    huge = np.random.default_rng(0).normal(size=(21, 3)) * 1e39
    assert retargeting.update([_estimate(huge, True, 5)]) == []
    assert dict(retargeting.failures) == {"invalid_joints": 1, "degenerate_hand": 1, "optimisation": 1}
    assert len(retargeting.update([_estimate(good, True, 5)])) == 1


def test_a_lost_track_starts_again_from_scratch(models):
    """A track absent from one frame is forgotten: its next frame gives what a new retargeter gives; without
    the gap it is warm-started and low-pass filtered from the previous pose, and differs."""
    open_hand, fist = _joints(models, "open", True), _joints(models, "fist", True)
    fresh = RobotHandRetargeting(configs_for(robot="allegro")).update([_estimate(fist, True, 1)])[0]
    gap = RobotHandRetargeting(configs_for(robot="allegro"))
    gap.update([_estimate(open_hand, True, 1)])
    gap.update([])
    after_gap = gap.update([_estimate(fist, True, 1)])[0]
    np.testing.assert_allclose(after_gap.positions, fresh.positions, atol=1e-9)
    kept = RobotHandRetargeting(configs_for(robot="allegro"))
    kept.update([_estimate(open_hand, True, 1)])
    followed = kept.update([_estimate(fist, True, 1)])[0]
    assert np.max(np.abs(followed.positions - fresh.positions)) > 0.05


@pytest.mark.parametrize("name", ["allegro", "inspire", "svh"])  # inspire and svh have mimic joints
def test_the_numpy_vector_objective_is_dex_retargetings(solvers, models, name):
    """``vector_objective`` against dex-retargeting's own ``VectorOptimizer`` objective (torch autograd) at
    random joint positions: the same value once our regulariser norm_delta |x - x_prev|^2 is taken off
    (dex-retargeting leaves it out of the value), the same gradient (which includes it in both)."""
    from wildhands_core.retargeting.vector_objective import vector_objective

    solver = solvers[(name, True)]
    reference = solver.reference(_joints(models, "pinch", True)).astype(np.float32)
    last = solver.initial_x.astype(np.float32)
    cfg = solver.cfg
    theirs = solver.optimizer.get_objective_function(reference, solver.fixed_q, last)
    ours = vector_objective(solver.optimizer, cfg.scaling * reference.astype(np.float64), solver.fixed_q,
                            last, cfg.huber_delta_m, cfg.norm_delta)
    rng = np.random.default_rng(1)
    for _ in range(3):
        x = np.clip(solver.initial_x + rng.normal(size=solver.initial_x.shape) * 0.3, solver.x_lower,
                    solver.x_upper)
        g_theirs, g_ours = np.zeros_like(x), np.zeros_like(x)
        dx = x - last
        assert ours(x, g_ours) - cfg.norm_delta * dx @ dx == pytest.approx(theirs(x, g_theirs), rel=1e-5)
        np.testing.assert_allclose(g_ours, g_theirs, atol=1e-6 * max(1.0, np.abs(g_theirs).max()))


def test_a_dexpilot_config_closes_the_robot_pinch_with_the_human_one(models, tmp_path):
    """DexPilot (fingertips only, thumb first): a human thumb tip 1 cm from the index tip brings the
    robot's together (under 1.5 cm; DexPilot projects human distances under 3 cm to a near touch); 8 cm
    apart keeps them apart (over 5 cm)."""
    import yaml

    d = yaml.safe_load(config_path("allegro", True).read_text())
    d["method"] = "dexpilot"
    d["targets"] = {k: v for k, v in d["targets"].items() if k.endswith("_tip")}
    d["urdf"] = str(urdf_path("allegro", True))
    path = tmp_path / "allegro_dexpilot.yaml"
    path.write_text(yaml.safe_dump(d, sort_keys=False))
    solver = RobotHandSolver(load_config(path))
    joints = _joints(models, "pinch", True)
    thumb = (joints[16] - joints[17]) / np.linalg.norm(joints[16] - joints[17])
    for gap_m, check in ((0.01, lambda d: d < 0.015), (0.08, lambda d: d > 0.05)):
        j = joints.copy()
        j[16] = j[17] + gap_m * thumb
        state = TrackState(solver)
        for _ in range(3):
            q, _ = state.step(j)
        v = solver.robot_vectors(q)  # DexPilot's vectors: pairs of fingertips, then wrist -> fingertips
        tips = {name: v[-len(solver.cfg.targets) + k] for k, name in enumerate(solver.cfg.targets)}
        assert check(float(np.linalg.norm(tips["thumb_tip"] - tips["index_tip"]))), gap_m


def test_untracked_hands_are_followed_per_side_when_one_per_side(models):
    """Tracking off (track id -1): one hand of a side per frame is followed like a track (warm start,
    low-pass); two hands of one side in a frame are each solved from scratch."""
    open_hand, fist = _joints(models, "open", True), _joints(models, "fist", True)
    fresh = RobotHandRetargeting(configs_for(robot="allegro")).update([_estimate(fist, True, -1)])[0]
    followed = RobotHandRetargeting(configs_for(robot="allegro"))
    followed.update([_estimate(open_hand, True, -1)])
    assert np.max(np.abs(followed.update([_estimate(fist, True, -1)])[0].positions - fresh.positions)) > 0.05
    both = RobotHandRetargeting(configs_for(robot="allegro"))
    both.update([_estimate(open_hand, True, -1), _estimate(open_hand, True, -1)])
    states = both.update([_estimate(fist, True, -1), _estimate(fist, True, -1)])
    for s in states:
        np.testing.assert_allclose(s.positions, fresh.positions, atol=1e-9)
