"""Retargeting of followed hands: one state per track (warm start from its previous solution, low-pass
filter, reset when the track is lost), one solver per robot hand side.

``RobotHandRetargeting.update(estimates)`` takes one frame's ``HandEstimate``s and returns, per estimate
retargeted, the robot hand's joint positions. A frame whose optimisation fails (or whose joints are not
finite) is counted in ``failures`` by reason and gives no output for that hand: never a stale or a zero
pose. A track that is absent from a frame is forgotten (its next appearance starts from scratch).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass

import numpy as np

from wildhands_core.estimate import HandEstimate
from wildhands_core.retargeting.config import RetargetingConfig
from wildhands_core.retargeting.hand_frame import DegenerateHandError
from wildhands_core.retargeting.solver import RobotHandSolver, SolveError


@dataclass(frozen=True)
class RobotHandState:
    """One hand's retargeting result: ``positions`` (rad, or m for prismatic joints) in ``joint_names``
    order (the URDF's movable joints), low-pass filtered; ``track_id`` and ``is_right`` of the estimate;
    ``cost``: the optimiser's final objective; ``solve_s``: optimisation time (s)."""

    is_right: bool
    track_id: int
    joint_names: tuple[str, ...]
    positions: np.ndarray
    cost: float
    solve_s: float


class TrackState:
    """One track's warm start (optimised variables) and filtered joint positions."""

    def __init__(self, solver: RobotHandSolver) -> None:
        self.solver = solver
        self.last_x = solver.initial_x.copy()
        self.filtered: np.ndarray | None = None

    def step(self, joints_m: np.ndarray) -> tuple[np.ndarray, float]:
        """Solve from the previous solution, filter, return (positions, cost); raises ``SolveError``
        or ``DegenerateHandError`` leaving the state unchanged."""
        solver = self.solver
        reference = solver.reference(joints_m)
        solution = solver.solve(reference, self.last_x)
        self.last_x = solution.x
        alpha = solver.cfg.low_pass_alpha
        if self.filtered is None or alpha >= 1.0:
            self.filtered = solution.q.copy()
        else:
            self.filtered = self.filtered + alpha * (solution.q - self.filtered)
        return self.filtered.copy(), solution.cost


class RobotHandRetargeting:
    """Robot hands for the left and right human hands (``configs``: True = right; a side without a config
    is not retargeted). Builds the solvers at once (the URDF/config errors surface at start-up)."""

    def __init__(self, configs: dict[bool, RetargetingConfig]) -> None:
        self.configs = dict(configs)
        self.solvers = {side: RobotHandSolver(cfg) for side, cfg in self.configs.items()}
        self._tracks: dict[tuple[bool, int], TrackState] = {}
        #: failed frames by reason ("optimisation", "invalid_joints", "degenerate_hand")
        self.failures: Counter[str] = Counter()
        self.solved = 0
        self.last_solve_s: dict[bool, float] = {}

    def joint_names(self, is_right: bool) -> tuple[str, ...]:
        return tuple(self.solvers[is_right].joint_names)

    def reset(self) -> None:
        """Forget every track (e.g. tracking was reset)."""
        self._tracks.clear()

    def update(self, estimates: list[HandEstimate]) -> list[RobotHandState]:
        """Retarget one frame's hands; tracks absent from ``estimates`` are forgotten. Untracked estimates
        (``track_id`` -1, tracking off) are followed per side while a side has one such hand per frame;
        with several, each is solved from scratch (no warm start)."""
        return self.update_joints([(bool(e.is_right), int(e.track_id), e.joints_m) for e in estimates])

    def update_joints(self, hands: list[tuple[bool, int, np.ndarray]]) -> list[RobotHandState]:
        """:meth:`update` from (is_right, track_id, (21, 3) MANO21 joints in metres) per hand."""
        seen: set[tuple[bool, int]] = set()
        out: list[RobotHandState] = []
        untracked = Counter(side for side, track_id, _ in hands if track_id < 0)
        for side, track_id, joints_m in hands:
            solver = self.solvers.get(side)
            if solver is None:
                continue
            key = (side, track_id)
            seen.add(key)
            joints = np.asarray(joints_m, dtype=np.float64)
            if joints.shape != (21, 3) or not np.all(np.isfinite(joints)):
                self.failures["invalid_joints"] += 1
                continue
            followed = track_id >= 0 or untracked[side] == 1
            state = self._tracks.get(key) if followed else None
            if state is None:
                state = TrackState(solver)
            t0 = time.perf_counter()
            try:
                positions, cost = state.step(joints)
            except SolveError:
                self.failures["optimisation"] += 1
                continue
            except DegenerateHandError:
                self.failures["degenerate_hand"] += 1
                continue
            finally:
                self.last_solve_s[side] = time.perf_counter() - t0
            if followed:
                self._tracks[key] = state
            self.solved += 1
            out.append(RobotHandState(side, track_id, tuple(solver.joint_names), positions, cost,
                                      self.last_solve_s[side]))
        for key in [k for k in self._tracks if k not in seen]:
            del self._tracks[key]
        return out

    @property
    def failed(self) -> int:
        return sum(self.failures.values())
