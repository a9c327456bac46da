"""The robot hands the project retargets to out of the box: URDFs from the ``dexi-rs`` wheel (its
``dexi_rs/resources/assets/robots/hands/<folder>/``, each folder with its licence file), configs of ours
(``wildhands_core/retargeting/configs/<name>_<side>.yaml``).

Licences of the URDFs and meshes (read from each folder's licence file in dexi-rs 0.4.1): Allegro
BSD-2-Clause (SimLab), LEAP MIT (Ananye Agarwal), Shadow Apache-2.0, Schunk SVH GPL-3.0; Inspire and
Ability carry a copyright notice (derived from the vendor's files, modified by the dex_urdf authors) and no
licence grant: check with the vendor before redistributing them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: Folder of our retargeting configs.
CONFIG_DIR = Path(__file__).resolve().parent / "configs"


class UnknownRobotHandError(ValueError):
    """A robot hand name that is not in the catalogue; the message lists the available ones."""


@dataclass(frozen=True)
class RobotHand:
    """One catalogue entry: ``folder`` in the dexi-rs hands assets, URDF file per side, licence."""

    name: str
    folder: str
    urdf_right: str
    urdf_left: str
    licence: str

    def urdf_file(self, is_right: bool) -> str:
        return self.urdf_right if is_right else self.urdf_left


#: Name -> robot hand (the names of the ``retargeting.robot`` parameter and ``--robot-hand``).
ROBOT_HANDS: dict[str, RobotHand] = {
    h.name: h
    for h in (
        RobotHand("allegro", "allegro_hand", "allegro_hand_right.urdf", "allegro_hand_left.urdf",
                  "BSD-2-Clause (SimLab)"),
        RobotHand("leap", "leap_hand", "leap_hand_right.urdf", "leap_hand_left.urdf", "MIT (Ananye Agarwal)"),
        RobotHand("shadow", "shadow_hand", "shadow_hand_right.urdf", "shadow_hand_left.urdf", "Apache-2.0"),
        RobotHand("inspire", "inspire_hand", "inspire_hand_right.urdf", "inspire_hand_left.urdf",
                  "copyright notice only (vendor-derived, modified by dex_urdf), no licence grant"),
        RobotHand("ability", "ability_hand", "ability_hand_right.urdf", "ability_hand_left.urdf",
                  "copyright notice only (vendor-derived, modified by dex_urdf), no licence grant"),
        RobotHand("svh", "schunk_hand", "schunk_svh_hand_right.urdf", "schunk_svh_hand_left.urdf", "GPL-3.0"),
    )
}


def available_robot_hands() -> tuple[str, ...]:
    """The catalogue's names, sorted."""
    return tuple(sorted(ROBOT_HANDS))


def robot_hand(name: str) -> RobotHand:
    """The catalogue entry ``name``; raises :class:`UnknownRobotHandError` listing the available ones."""
    try:
        return ROBOT_HANDS[name]
    except KeyError:
        raise UnknownRobotHandError(
            f"unknown robot hand {name!r}: available are {', '.join(available_robot_hands())} "
            "(or give your own URDF and config)"
        ) from None


def assets_dir() -> Path:
    """The ``dexi-rs`` wheel's folder of robot hands; raises ``ModuleNotFoundError`` naming the package
    when the wheel is missing."""
    try:
        import dexi_rs.resources.assets.robots.hands as hands
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            "the robot hand URDFs come from the 'dexi-rs' package (pip install dexi-rs): not installed"
        ) from exc
    return Path(hands.__file__).resolve().parent


def urdf_path(name: str, is_right: bool) -> Path:
    """The URDF of robot hand ``name`` for that side, in the dexi-rs wheel."""
    hand = robot_hand(name)
    return assets_dir() / hand.folder / hand.urdf_file(is_right)


def config_path(name: str, is_right: bool) -> Path:
    """Our retargeting config of robot hand ``name`` for that side."""
    robot_hand(name)
    return CONFIG_DIR / f"{name}_{'right' if is_right else 'left'}.yaml"
