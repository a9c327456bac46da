"""What ``launch/hands.launch.py`` starts, as plain data (no ``launch`` package needed).

:func:`node_description` builds the node's description from the launch arguments (camera namespace and
topics, params file, backend, ``use_sim_time``); :func:`command_line` turns it into the equivalent
``python -m wildhands_ros --ros-args ...`` command, which is how the tests start the node here.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "wildhands_ros"
EXECUTABLE = "hands_node"


def default_params_file() -> Path:
    """config/hands.yaml of the source tree, or of the installed share directory."""
    src = Path(__file__).resolve().parents[1] / "config" / "hands.yaml"
    if src.exists():
        return src
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory(PACKAGE)) / "config" / "hands.yaml"
    except Exception:
        return src


@dataclass
class NodeDescription:
    """Everything launch_ros.actions.Node needs (same field names)."""

    package: str = PACKAGE
    executable: str = EXECUTABLE
    name: str = "hands"
    namespace: str = ""
    parameters: list = field(default_factory=list)  # params-file paths and dicts, in order
    remappings: list[tuple[str, str]] = field(default_factory=list)
    output: str = "screen"


def _join(ns: str, topic: str) -> str:
    if topic.startswith("/") or not ns:
        return topic
    return "/" + "/".join(p for p in (ns.strip("/"), topic) if p)


def node_description(
    camera_namespace: str = "/camera",
    image_topic: str = "image_raw",
    camera_info_topic: str = "camera_info",
    params_file: str | Path | None = None,
    backend: str = "",
    use_sim_time: bool | str = False,
    namespace: str = "",
    name: str = "hands",
    boxes_topic: str = "",
    overrides: dict | None = None,
) -> NodeDescription:
    """The node for one camera: its input topics ``<camera_namespace>/<image_topic>`` etc. are remapped
    onto the node's ``image`` / ``camera_info`` / ``image/compressed`` inputs; ``backend`` (empty = the
    params file's), ``use_sim_time`` and ``overrides`` (parameter name -> value) override the file."""
    if isinstance(use_sim_time, str):
        use_sim_time = use_sim_time.strip().lower() in ("1", "true", "yes", "on")
    params: dict = {"use_sim_time": bool(use_sim_time)}
    if backend:
        params["model.backend"] = backend
    params.update(overrides or {})
    remaps = [
        ("image", _join(camera_namespace, image_topic)),
        ("camera_info", _join(camera_namespace, camera_info_topic)),
        ("image/compressed", _join(camera_namespace, image_topic) + "/compressed"),
    ]
    if boxes_topic:
        remaps.append(("hand_boxes", boxes_topic))
    return NodeDescription(
        name=name,
        namespace=namespace,
        parameters=[str(params_file or default_params_file()), params],
        remappings=remaps,
    )


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return str(v)


def command_line(desc: NodeDescription, python: str | None = None) -> list[str]:
    """``[python, -m, wildhands_ros, --ros-args, ...]`` equivalent to launching ``desc``."""
    cmd = [python or sys.executable, "-m", PACKAGE, "--ros-args", "-r", f"__node:={desc.name}"]
    if desc.namespace:
        cmd += ["-r", f"__ns:=/{desc.namespace.strip('/')}"]
    for p in desc.parameters:
        if isinstance(p, dict):
            for k, v in p.items():
                cmd += ["-p", f"{k}:={_value(v)}"]
        else:
            cmd += ["--params-file", str(p)]
    for src, dst in desc.remappings:
        cmd += ["-r", f"{src}:={dst}"]
    return cmd
