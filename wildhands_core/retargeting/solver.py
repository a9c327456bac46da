"""One robot hand's kinematic model and retargeting optimiser: ``dex-retargeting``'s ``VectorOptimizer``
or ``DexPilotOptimizer`` (SLSQP through nlopt, pinocchio forward kinematics) built from our config; the
vector method evaluates its cost with ``vector_objective`` (NumPy, same cost, a fraction of the time).

What this adds to ``dex_retargeting.seq_retarget.SeqRetargeting``: a failed optimisation is reported
(``SolveError``) instead of silently returning the previous solution; the human vectors are taken from
the hand frame (``hand_frame``), not from dex-retargeting's MediaPipe operator frame; mimic joints, joints
held fixed and joint limits come from the URDF + config. Joint positions: radians (metres for prismatic
joints), in the order of ``joint_names`` (the URDF's movable joints as pinocchio orders them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wildhands_core.retargeting.config import RetargetingConfig, RetargetingSetupError
from wildhands_core.retargeting.hand_frame import frame_from_points, human_hand_frame
from wildhands_core.retargeting.vector_objective import vector_objective


class SolveError(RuntimeError):
    """The optimisation of one frame failed (``reason``: nlopt's error, a non-finite result)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Solution:
    """``x``: the optimised variables (warm start of the next frame); ``q``: every movable joint, in
    ``joint_names`` order (mimic joints filled in, fixed joints at their value); ``cost``: the final
    objective (Huber of the vector errors, m)."""

    x: np.ndarray
    q: np.ndarray
    cost: float


def _mimic_joints(urdf: Path) -> tuple[list[str], list[str], list[float], list[float]]:
    """(source joints, mimic joints, multipliers, offsets) of the URDF's ``<mimic>`` tags, through
    dex-retargeting's parser."""
    from dex_retargeting import yourdfpy
    from dex_retargeting.retargeting_config import parse_mimic_joint

    robot_urdf = yourdfpy.URDF.load(str(urdf), build_scene_graph=False, load_meshes=False)
    _, sources, mimics, multipliers, offsets = parse_mimic_joint(robot_urdf)
    return sources, mimics, multipliers, offsets


class RobotHandSolver:
    """The model + optimiser of ``cfg`` (one robot hand, one side). Raises
    :class:`~wildhands_core.retargeting.config.RetargetingSetupError` naming the URDF or config when they
    do not fit together (unknown links or joints, a URDF pinocchio cannot load)."""

    def __init__(self, cfg: RetargetingConfig) -> None:
        self.cfg = cfg
        try:
            self._build(cfg)
        except RetargetingSetupError:
            raise
        except Exception as exc:  # pinocchio, yourdfpy, dex-retargeting raise various types
            raise RetargetingSetupError(
                f"robot hand {cfg.robot} ({cfg.side}): URDF {cfg.urdf} with config {cfg.source}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    def _build(self, cfg: RetargetingConfig) -> None:
        from dex_retargeting.kinematics_adaptor import MimicJointKinematicAdaptor
        from dex_retargeting.optimizer import DexPilotOptimizer, VectorOptimizer
        from dex_retargeting.robot_wrapper import RobotWrapper

        robot = RobotWrapper(str(cfg.urdf))
        self.robot = robot
        links = set(robot.link_names)
        missing = [n for n in [*cfg.palm.values(), *cfg.targets.values()] if n not in links]
        if missing:
            raise RetargetingSetupError(
                f"config {cfg.source}: links {missing} are not in URDF {cfg.urdf} "
                f"(its links: {sorted(links)})"
            )
        self.joint_names: list[str] = list(robot.dof_joint_names)
        unknown = [n for n in cfg.fixed_joints if n not in self.joint_names]
        if unknown:
            raise RetargetingSetupError(
                f"config {cfg.source}: fixed_joints {unknown} are not movable joints of {cfg.urdf}"
            )
        sources, mimics, multipliers, offsets = _mimic_joints(cfg.urdf)
        optimised = [n for n in self.joint_names if n not in mimics and n not in cfg.fixed_joints]
        wrist = cfg.palm["wrist"]
        human = cfg.human_joint_indices
        if cfg.method == "vector":
            tasks = list(cfg.targets.values())
            self.human_pairs = np.array([[0] * len(human), human])
            opt = VectorOptimizer(
                robot, optimised, target_origin_link_names=[wrist] * len(tasks), target_task_link_names=tasks,
                target_link_human_indices=self.human_pairs, huber_delta=cfg.huber_delta_m,
                norm_delta=cfg.norm_delta, scaling=cfg.scaling,
            )
        else:
            origin, task = DexPilotOptimizer.generate_link_indices(len(human))
            points = [0, *human]  # [wrist] + fingertips, as the optimiser's link list
            self.human_pairs = np.array([[points[i] for i in origin], [points[i] for i in task]])
            opt = DexPilotOptimizer(
                robot, optimised, finger_tip_link_names=list(cfg.targets.values()), wrist_link_name=wrist,
                target_link_human_indices=self.human_pairs, huber_delta=cfg.huber_delta_m,
                norm_delta=cfg.norm_delta, scaling=cfg.scaling,
            )
        if mimics:
            opt.set_kinematic_adaptor(MimicJointKinematicAdaptor(
                robot, target_joint_names=optimised, source_joint_names=sources, mimic_joint_names=mimics,
                multipliers=multipliers, offsets=offsets,
            ))
        limits = robot.joint_limits  # (dof, 2), pinocchio order = joint_names
        self.lower, self.upper = limits[:, 0].copy(), limits[:, 1].copy()
        opt.set_joint_limit(limits[opt.idx_pin2target], epsilon=0.0)
        opt.opt.set_maxeval(int(cfg.max_evaluations))
        self.optimizer = opt
        self.fixed_q = np.array([cfg.fixed_joints.get(self.joint_names[i], 0.0) for i in opt.idx_pin2fixed],
                                 dtype=np.float64)
        self.x_lower = limits[opt.idx_pin2target, 0]
        self.x_upper = limits[opt.idx_pin2target, 1]
        # the robot's hand frame, at zero joint positions (clipped into the limits)
        q0 = np.clip(np.zeros(robot.dof), self.lower, self.upper)
        robot.compute_forward_kinematics(q0)
        palm = [robot.get_link_pose(robot.get_link_index(cfg.palm[k]))[:3, 3] for k in ("wrist", "index",
                                                                                         "middle", "little")]
        self.robot_frame = frame_from_points(*palm)

    @property
    def initial_x(self) -> np.ndarray:
        """Start of a new track: the middle of every optimised joint's range (dex-retargeting's choice)."""
        return 0.5 * (self.x_lower + self.x_upper)

    def reference(self, joints_m: np.ndarray) -> np.ndarray:
        """(n, 3) human vectors of the config (unscaled, metres) in the robot's root frame, from (21, 3)
        MANO21 joints in any frame (camera optical frame for an estimate)."""
        j = np.asarray(joints_m, dtype=np.float64).reshape(21, 3)
        rot = self.robot_frame @ human_hand_frame(j).T
        v = j[self.human_pairs[1]] - j[self.human_pairs[0]]
        return v @ rot.T

    def robot_vectors(self, q: np.ndarray) -> np.ndarray:
        """(n, 3) the robot's vectors (link-to-link, root frame, metres) at joint positions ``q``: what the
        optimiser brings to ``scaling * reference``."""
        robot, opt = self.robot, self.optimizer
        robot.compute_forward_kinematics(np.asarray(q, dtype=np.float64))
        names = opt.computed_link_names
        pos = np.array([robot.get_link_pose(i)[:3, 3] for i in opt.computed_link_indices])
        origin = [names.index(n) for n in opt.origin_link_names]
        task = [names.index(n) for n in opt.task_link_names]
        return pos[task] - pos[origin]

    def solve(self, reference: np.ndarray, last_x: np.ndarray) -> Solution:
        """Optimise from ``last_x`` towards the (n, 3) ``reference``; raises :class:`SolveError`."""
        import nlopt

        opt = self.optimizer
        start = np.clip(np.asarray(last_x, dtype=np.float64), self.x_lower, self.x_upper)
        with np.errstate(over="ignore"):  # an out-of-range reference fails in nlopt, reported below
            reference32 = np.asarray(reference, dtype=np.float32)
        if self.cfg.method == "vector":
            target = self.cfg.scaling * np.asarray(reference32, np.float64)
            objective = vector_objective(opt, target, self.fixed_q, start, self.cfg.huber_delta_m,
                                         self.cfg.norm_delta)
        else:
            objective = opt.get_objective_function(reference32, self.fixed_q, start.astype(np.float32))
        best: list = [np.inf, None]

        def tracked(x: np.ndarray, grad: np.ndarray) -> float:
            value = objective(x, grad)
            if np.isfinite(value) and value < best[0]:
                best[0], best[1] = value, np.array(x, dtype=np.float64)
            return value

        opt.opt.set_min_objective(tracked)
        try:
            x = np.asarray(opt.opt.optimize(start), dtype=np.float64)
            cost = float(opt.opt.last_optimum_value())
        except nlopt.RoundoffLimited:
            # nlopt: "the optimization still typically returns a useful result": keep the best point seen
            if best[1] is None:
                raise SolveError("nlopt roundoff-limited before any finite evaluation") from None
            x, cost = best[1], float(best[0])
        except (RuntimeError, ValueError, nlopt.ForcedStop, MemoryError) as exc:
            raise SolveError(f"nlopt {type(exc).__name__}: {exc}") from exc
        if not np.all(np.isfinite(x)) or not np.isfinite(cost):
            raise SolveError("non-finite solution")
        x = np.clip(x, self.x_lower, self.x_upper)
        q = np.zeros(self.robot.dof)
        q[opt.idx_pin2fixed] = self.fixed_q
        q[opt.idx_pin2target] = x
        if opt.adaptor is not None:
            q = opt.adaptor.forward_qpos(q)
        return Solution(x=x, q=np.clip(q, self.lower, self.upper), cost=cost)
