"""What ``launch/hands.launch.py`` starts, as plain data (no ``launch`` package needed).

:func:`node_description` builds the node's description from the launch arguments (camera namespace and
topics, params file, checkpoint, MANO directory, backend, ``use_sim_time``, TF prefix, autostart);
:func:`command_line` turns it into the equivalent ``python -m wildhands_ros --ros-args ...`` command,
which is how the tests start the node here.

Naming rules (ROS 2 name resolution):

- A relative ``camera_namespace`` (``camera``, the default) stays relative: the inputs resolve inside the
  node's namespace, so under ``PushRosNamespace('robot1')`` (or ``namespace:=robot1``) the node reads
  ``/robot1/camera/image_raw``. An absolute one (``/camera``) is used as is; an absolute topic argument
  (``image_topic:=/other/image``) ignores ``camera_namespace``.
- With the launch file, the inputs are named ONLY by its arguments: it pins the node's ``topics.*``
  parameters to their default names (``image``, ``camera_info``, ...) and remaps those names, so a params
  file's ``topics.*`` cannot silently defeat the remaps. ``topics.*`` are for starting the node without the
  launch file (``ros2 run`` / ``python -m wildhands_ros``).
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


#: The node's input names (``topics.*`` defaults) that the launch file remaps.
PINNED_TOPICS = {
    "topics.image": "image",
    "topics.camera_info": "camera_info",
    "topics.compressed_image": "image/compressed",
    "topics.boxes": "hand_boxes",
}


def _join(ns: str, topic: str) -> str:
    """``ns/topic``; stays relative when ``ns`` is; an absolute ``topic`` is returned as is."""
    if topic.startswith("/") or not ns.strip("/"):
        return topic
    joined = "/".join(p for p in (ns.strip("/"), topic.strip("/")) if p)
    return "/" + joined if ns.startswith("/") else joined


def _truthy(v: bool | str) -> bool:
    return v.strip().lower() in ("1", "true", "yes", "on") if isinstance(v, str) else bool(v)


def node_description(
    camera_namespace: str = "camera",
    image_topic: str = "image_raw",
    camera_info_topic: str = "camera_info",
    params_file: str | Path | None = None,
    backend: str = "",
    use_sim_time: bool | str = False,
    namespace: str = "",
    name: str = "hands",
    boxes_topic: str = "",
    frame_prefix: str = "",
    autostart: bool | str = True,
    checkpoint: str = "",
    mano_dir: str = "",
    overrides: dict | None = None,
) -> NodeDescription:
    """The node for one camera: its input topics ``<camera_namespace>/<image_topic>`` etc. are remapped
    onto the node's ``image`` / ``camera_info`` / ``image/compressed`` inputs (see the module docstring);
    ``checkpoint`` (``model.checkpoint``), ``mano_dir`` (``model.mano_dir``), ``backend`` and ``frame_prefix``
    (each: empty = the params file's), ``use_sim_time``, ``autostart`` (``lifecycle.autostart``) and
    ``overrides`` (parameter name -> value) override the file. With no checkpoint here nor in the file the
    node runs the shipped demo checkpoint (synthetic hands only) and warns so."""
    params: dict = {"use_sim_time": _truthy(use_sim_time), "lifecycle.autostart": _truthy(autostart)}
    params.update(PINNED_TOPICS)
    if checkpoint:
        params["model.checkpoint"] = checkpoint
    if mano_dir:
        params["model.mano_dir"] = mano_dir
    if backend:
        params["model.backend"] = backend
    if frame_prefix:
        params["tf.frame_prefix"] = frame_prefix
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
