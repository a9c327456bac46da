"""The rosbags type store of the bag tools: ROS 2 standard types plus the project's messages from msg/*.msg.

The project's ``.msg`` files are read (never copied): from ``$WILDHANDS_MSG_DIR``, the source tree's
``msg/`` or an ament prefix's ``share/wildhands_ros/msg/`` (a colcon install), first found wins. Messages
serialised with this store are CDR byte for byte as rclpy writes them, and their RIHS01 type hashes are
the ones rosidl generates, so a real ROS 2 plays the bags back.
"""

from __future__ import annotations

import os
from pathlib import Path

from rosbags.interfaces import MessageDefinitionFormat
from rosbags.typesys import Stores, get_types_from_idl, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

PACKAGE = "wildhands_ros"
#: The project's message names (msg/<name>.msg -> ``wildhands_ros/msg/<name>``).
PROJECT_MESSAGES = ("Hand", "HandArray", "HandBoxArray", "GripperTarget", "GripperTargetArray")
HAND_ARRAY = f"{PACKAGE}/msg/HandArray"
HAND_BOX_ARRAY = f"{PACKAGE}/msg/HandBoxArray"
HAND = f"{PACKAGE}/msg/Hand"
GRIPPER_TARGET_ARRAY = f"{PACKAGE}/msg/GripperTargetArray"
TF_MESSAGE = "tf2_msgs/msg/TFMessage"
IMAGE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"
#: ROS 2 distribution whose standard message definitions the store uses (those of the PyPI wheels).
DEFAULT_STORE = Stores.ROS2_KILTED


def msg_dir_candidates() -> list[Path]:
    """Where the project's ``.msg`` files are looked for, in order."""
    out = []
    if os.environ.get("WILDHANDS_MSG_DIR"):
        out.append(Path(os.environ["WILDHANDS_MSG_DIR"]))
    out.append(Path(__file__).resolve().parents[2] / "msg")
    for prefix in filter(None, os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep)):
        out.append(Path(prefix) / "share" / PACKAGE / "msg")
    return out


def find_msg_dir() -> Path:
    for d in msg_dir_candidates():
        if all((d / f"{name}.msg").is_file() for name in PROJECT_MESSAGES):
            return d
    raise FileNotFoundError(
        "wildhands_ros .msg files not found; looked in " + ", ".join(str(d) for d in msg_dir_candidates())
        + " (set WILDHANDS_MSG_DIR)"
    )


def project_types(msg_dir: Path | None = None) -> dict:
    """rosbags type definitions of the project's messages, parsed from their ``.msg`` text."""
    d = Path(msg_dir) if msg_dir is not None else find_msg_dir()
    types: dict = {}
    for name in PROJECT_MESSAGES:
        types.update(get_types_from_msg((d / f"{name}.msg").read_text(), f"{PACKAGE}/msg/{name}"))
    return types


def make_typestore(store: Stores = DEFAULT_STORE, msg_dir: str | None = None) -> Typestore:
    """A new type store with ``store``'s standard types and the project's messages registered."""
    ts = get_typestore(store)
    ts.register(project_types(Path(msg_dir) if msg_dir else None))
    return ts


def register_bag_types(ts: Typestore, connections) -> list[str]:
    """Register the message definitions a bag carries (MCAP, rosbag2 >= v8 sqlite3) for the types ``ts``
    lacks (the store's own definitions win); returns the types that stay unknown."""
    unknown = []
    for conn in connections:
        if conn.msgtype in ts.types:
            continue
        fmt, data = conn.msgdef.format, conn.msgdef.data
        try:
            if fmt == MessageDefinitionFormat.MSG and data:
                ts.register(get_types_from_msg(data, conn.msgtype))
            elif fmt == MessageDefinitionFormat.IDL and data:
                sep = "=" * 80 + "\n"
                parts = [p.split("\n", 1)[1] for p in data.split(sep)[1:]] if data.startswith(sep) else [data]
                for idl in parts:
                    ts.register(get_types_from_idl(idl))
        except Exception:  # a definition rosbags cannot parse leaves the type unknown
            pass
        if conn.msgtype not in ts.types:
            unknown.append(conn.msgtype)
    return unknown
