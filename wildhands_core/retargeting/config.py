"""Our retargeting config: one robot hand, one side, from a YAML file of ours
(``wildhands_core/retargeting/configs/<robot>_<side>.yaml``) or a user's.

Keys (units: metres, radians)::

    robot: allegro            # a name, for logs and metadata
    side: right               # right | left
    urdf: dexi-rs:allegro_hand/allegro_hand_right.urdf   # "dexi-rs:" = in the dexi-rs wheel's hands
                              # folder; else a path, relative to this file's folder or absolute
    method: vector            # vector (live teleoperation) | dexpilot (vector + pinch projection)
    scaling: 1.31             # robot length / human length of the compared vectors
    low_pass_alpha: 0.7       # weight of the new solution per frame, (0, 1]; 1 = no filtering
    palm: {wrist: wrist, index: link_0.0, middle: link_4.0, little: link_8.0}   # robot hand frame links
    targets:                  # human MANO21 joint -> robot link; each pair is a vector from the wrist
      thumb_tip: link_15.0_tip
    fixed_joints: {}          # joints held at a value (rad), e.g. a wrist the hand pose does not drive

DexPilot takes fingertips only, the thumb first. Every load error raises :class:`RetargetingSetupError`
naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from wildhands_core.constants import JOINT_NAMES

METHODS = ("vector", "dexpilot")
PALM_KEYS = ("wrist", "index", "middle", "little")
DEXI_PREFIX = "dexi-rs:"
_KEYS = {"robot", "side", "urdf", "method", "scaling", "low_pass_alpha", "palm", "targets", "fixed_joints",
         "huber_delta_m", "norm_delta", "max_evaluations"}


class RetargetingSetupError(ValueError):
    """A retargeting config, URDF or robot name that cannot be used; the message names the file."""


@dataclass(frozen=True)
class RetargetingConfig:
    """A loaded config (see the module docstring); ``urdf`` resolved, ``source`` the YAML file."""

    robot: str
    is_right: bool
    urdf: Path
    method: str
    scaling: float
    low_pass_alpha: float
    palm: dict[str, str]
    targets: dict[str, str]
    fixed_joints: dict[str, float] = field(default_factory=dict)
    huber_delta_m: float = 0.02
    norm_delta: float = 4e-3
    max_evaluations: int = 300
    source: Path | None = None

    @property
    def side(self) -> str:
        return "right" if self.is_right else "left"

    @property
    def human_joint_indices(self) -> list[int]:
        """MANO21 indices of ``targets``' human joints, in the config's order."""
        return [JOINT_NAMES.index(name) for name in self.targets]


def _resolve_urdf(value: str, config_file: Path) -> Path:
    if value.startswith(DEXI_PREFIX):
        from wildhands_core.retargeting.robot_hands import assets_dir

        return assets_dir() / value[len(DEXI_PREFIX):]
    path = Path(value).expanduser()
    return path if path.is_absolute() else config_file.parent / path


def config_from_dict(d: dict[str, Any], source: Path, urdf: str | Path | None = None) -> RetargetingConfig:
    """A config from the YAML's mapping (``source`` is named in errors and anchors relative paths);
    ``urdf`` (optional) replaces the file's ``urdf``."""

    def bad(message: str) -> RetargetingSetupError:
        return RetargetingSetupError(f"retargeting config {source}: {message}")

    if not isinstance(d, dict):
        raise bad("is not a mapping of keys")
    unknown = sorted(set(d) - _KEYS)
    if unknown:
        raise bad(f"unknown keys {unknown} (known: {sorted(_KEYS)})")
    for key in ("side", "method", "scaling", "palm", "targets"):
        if key not in d:
            raise bad(f"missing key '{key}'")
    if urdf is None and "urdf" not in d:
        raise bad("missing key 'urdf'")
    if d["side"] not in ("right", "left"):
        raise bad(f"side {d['side']!r} is not 'right' or 'left'")
    if d["method"] not in METHODS:
        raise bad(f"method {d['method']!r} is not one of {list(METHODS)}")
    scaling = float(d["scaling"])
    alpha = float(d.get("low_pass_alpha", 1.0))
    if not 0.0 < scaling < 10.0:
        raise bad(f"scaling {scaling} is outside (0, 10)")
    if not 0.0 < alpha <= 1.0:
        raise bad(f"low_pass_alpha {alpha} is outside (0, 1]")
    palm = dict(d["palm"] or {})
    if sorted(palm) != sorted(PALM_KEYS):
        raise bad(f"palm must name the links {list(PALM_KEYS)}, got {sorted(palm)}")
    targets = dict(d["targets"] or {})
    unknown_joints = [name for name in targets if name not in JOINT_NAMES]
    if unknown_joints:
        raise bad(f"targets name human joints {unknown_joints} that are not MANO21 joints "
                  f"{list(JOINT_NAMES)}")
    if "wrist" in targets or len(targets) < 2:
        raise bad("targets needs at least two human joints other than the wrist")
    if d["method"] == "dexpilot":
        names = list(targets)
        if names[0] != "thumb_tip" or not all(n.endswith("_tip") for n in names) or len(names) > 5:
            raise bad("dexpilot targets are 2 to 5 fingertips (*_tip), thumb_tip first")
    path = _resolve_urdf(str(urdf if urdf is not None else d["urdf"]), source)
    if not path.is_file():
        raise bad(f"URDF {path} does not exist")
    return RetargetingConfig(
        robot=str(d.get("robot", path.stem)), is_right=d["side"] == "right", urdf=path, method=d["method"],
        scaling=scaling, low_pass_alpha=alpha, palm={k: str(v) for k, v in palm.items()},
        targets={k: str(v) for k, v in targets.items()},
        fixed_joints={str(k): float(v) for k, v in (d.get("fixed_joints") or {}).items()},
        huber_delta_m=float(d.get("huber_delta_m", 0.02)), norm_delta=float(d.get("norm_delta", 4e-3)),
        max_evaluations=int(d.get("max_evaluations", 300)), source=source,
    )


def load_config(path: str | Path, urdf: str | Path | None = None) -> RetargetingConfig:
    """Load a config file; raises :class:`RetargetingSetupError` naming the file when it cannot be read,
    parsed or used."""
    source = Path(path).expanduser().resolve()
    try:
        d = yaml.safe_load(source.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise RetargetingSetupError(f"retargeting config {source}: cannot be read: {exc}") from exc
    try:
        return config_from_dict(d, source, urdf)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, RetargetingSetupError):
            raise
        raise RetargetingSetupError(f"retargeting config {source}: {exc}") from exc


def configs_for(robot: str = "", config: str = "", urdf: str = "") -> dict[bool, RetargetingConfig]:
    """The configs per side (True = right) of the node's ``retargeting.*`` parameters: ``robot`` a catalogue
    name (both sides, our configs), or ``config`` a user's file (``{side}`` in the path is replaced by
    ``right`` / ``left``; without it the one file serves the side it states), ``urdf`` (optional, also with
    ``{side}``) replacing the config's URDF. Empty ``robot`` and ``config``: {} (retargeting off).
    Raises ``UnknownRobotHandError`` (listing the names) or :class:`RetargetingSetupError` (naming the
    file)."""
    from wildhands_core.retargeting.robot_hands import config_path, robot_hand

    robot = robot.strip()
    if robot.lower() == "none":
        robot = ""
    if robot and config:
        raise RetargetingSetupError("give a robot name or a config file, not both")
    if robot:
        robot_hand(robot)
        return {side: load_config(config_path(robot, side), urdf.format(side=_side(side)) if urdf else None)
                for side in (True, False)}
    if not config:
        if urdf:
            raise RetargetingSetupError(f"a URDF ({urdf}) needs a retargeting config naming its links")
        return {}
    if "{side}" in config:
        out = {}
        for side in (True, False):
            path = Path(config.format(side=_side(side))).expanduser()
            if path.exists():
                out[side] = load_config(path, urdf.format(side=_side(side)) if urdf else None)
        if not out:
            raise RetargetingSetupError(f"retargeting config {config}: no file for either side")
        return out
    cfg = load_config(config)
    if urdf:
        cfg = load_config(config, urdf.format(side=cfg.side))
    return {cfg.is_right: cfg}


def _side(is_right: bool) -> str:
    return "right" if is_right else "left"
