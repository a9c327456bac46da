"""The node's robot-hand output: per side, the joint positions of a robot hand following the human hand
(``wildhands_core.retargeting``), as ``sensor_msgs/JointState`` on ``~/robot_hand/left/joint_states`` and
``~/robot_hand/right/joint_states`` (joint names as in the URDF, positions in rad (m for prismatic joints),
header stamp = the image's, frame_id empty as robot_state_publisher expects).

Parameters: ``retargeting.robot`` (a catalogue name: allegro, leap, shadow, inspire, ability, svh; empty =
off), or ``retargeting.config`` (a config of one's own, ``{side}`` in the path for per-side files) with
optionally ``retargeting.urdf``. The solvers are built at configure (dex-retargeting and torch are imported
only then); a URDF or config that does not load fails configure with the file named. When several hands of
one side are followed, the most confident one drives that side's robot hand. A frame whose optimisation
fails publishes nothing for that hand (counted by reason on /diagnostics, ``retargeting_failed.*``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sensor_msgs.msg import JointState
from std_msgs.msg import Header

from wildhands_core.estimate import HandEstimate

PARAMETERS = ("retargeting.robot", "retargeting.config", "retargeting.urdf")


def topic(is_right: bool) -> str:
    return f"~/robot_hand/{'right' if is_right else 'left'}/joint_states"


def retargeting_enabled(settings: Any) -> bool:
    robot = str(settings["retargeting.robot"]).strip()
    return robot not in ("", "none") or bool(settings["retargeting.config"])


class RobotHandOutput:
    """The JointState publishers and the per-track retargeting of the configured robot hand."""

    def __init__(self, settings: Any, make_publisher: Callable[[type, str, int], Any]) -> None:
        from wildhands_core.retargeting.config import configs_for
        from wildhands_core.retargeting.retargeter import RobotHandRetargeting

        configs = configs_for(robot=str(settings["retargeting.robot"]),
                              config=str(settings["retargeting.config"]),
                              urdf=str(settings["retargeting.urdf"]))
        self.retargeting = RobotHandRetargeting(configs)
        self.robot = ", ".join(sorted({c.robot for c in configs.values()}))
        self.pubs = {side: make_publisher(JointState, topic(side), 10) for side in configs}

    @classmethod
    def create(cls, settings: Any, make_publisher: Callable[[type, str, int], Any]) -> RobotHandOutput | None:
        """The output, or None when retargeting is off."""
        return cls(settings, make_publisher) if retargeting_enabled(settings) else None

    def publish(self, estimates: Sequence[HandEstimate], header: Header) -> int:
        """Retarget the frame's hands and publish one JointState per side; returns how many were published."""
        states = self.retargeting.update(list(estimates))
        confidence = {(bool(e.is_right), int(e.track_id)): float(e.confidence) for e in estimates}
        best: dict[bool, Any] = {}
        for s in states:
            c = confidence.get((s.is_right, s.track_id), 0.0)
            if s.is_right not in best or c > best[s.is_right][0]:
                best[s.is_right] = (c, s)
        for side, (_, s) in best.items():
            msg = JointState(header=Header(stamp=header.stamp, frame_id=""))
            msg.name = list(s.joint_names)
            msg.position = [float(v) for v in s.positions]
            self.pubs[side].publish(msg)
        return len(best)

    def reset(self) -> None:
        self.retargeting.reset()

    def diagnostics(self) -> dict[str, str]:
        """Key/values for /diagnostics: robot, frames solved, failures by reason, last solve time per side."""
        r = self.retargeting
        out = {"retargeting_robot": self.robot, "retargeting_solved": str(r.solved),
               "retargeting_failed": str(r.failed)}
        for reason, n in sorted(r.failures.items()):
            out[f"retargeting_failed.{reason}"] = str(n)
        for side, seconds in sorted(r.last_solve_s.items()):
            out[f"retargeting_last_ms.{'right' if side else 'left'}"] = f"{1e3 * seconds:.2f}"
        return out
