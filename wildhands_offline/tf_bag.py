"""The transform tree of a recorded bag: ``/tf`` and ``/tf_static`` (``tf2_msgs/TFMessage``) into a
:class:`wildhands_core.transforms.TransformBuffer`, and static extrinsics given as text.

Every TransformStamped is one edge ``header.frame_id`` (parent) -> ``child_frame_id`` at ``header.stamp``;
leading slashes are dropped from frame names (tf2 does the same). The hands' own wrist transforms that
``wildhands-bag process`` writes (``<prefix>left_wrist``...) are ordinary edges and do no harm.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
from rosbags.rosbag2 import Reader

from wildhands_core.stamps import stamp_to_ns
from wildhands_core.transforms import TransformBuffer
from wildhands_offline.types import TF_MESSAGE, make_typestore

TF_TOPICS = ("/tf", "/tf_static")


def _name(frame: str) -> str:
    return frame.lstrip("/")


def read_bag_transforms(path: str | Path, buf: TransformBuffer, malformed: Counter | None = None) -> int:
    """Add the ``/tf`` + ``/tf_static`` transforms of a bag to ``buf``; returns how many were added.
    Undecodable messages and invalid transforms are counted in ``malformed["tf_message"]``."""
    ts = make_typestore()
    n = 0
    with Reader(path) as reader:
        conns = [c for c in reader.connections if c.topic in TF_TOPICS and c.msgtype == TF_MESSAGE]
        if not conns:  # (rosbags reads every connection when given none)
            return 0
        for conn, _t, raw in reader.messages(connections=conns):
            try:
                msg = ts.deserialize_cdr(raw, TF_MESSAGE)
            except Exception:
                if malformed is not None:
                    malformed["tf_message"] += 1
                continue
            for tr in msg.transforms:
                s = tr.header.stamp
                tl, q = tr.transform.translation, tr.transform.rotation
                try:
                    buf.add(_name(tr.header.frame_id), _name(tr.child_frame_id),
                            stamp_to_ns(s), [tl.x, tl.y, tl.z],
                            [q.x, q.y, q.z, q.w], static=conn.topic == "/tf_static")
                    n += 1
                except ValueError:
                    if malformed is not None:
                        malformed["tf_message"] += 1
    return n


def parse_extrinsic(text: str) -> tuple[np.ndarray, np.ndarray]:
    """``"x y z qx qy qz qw"`` (metres, unit quaternion; commas allowed) -> (t_m, q_xyzw): the pose of the
    camera in the target frame (p_target = R(q) p_camera + t), as ``static_transform_publisher`` takes it
    with the target as parent."""
    vals = [float(v) for v in text.replace(",", " ").split()]
    if len(vals) != 7:
        raise ValueError(f"extrinsic must be 7 numbers 'x y z qx qy qz qw', got {len(vals)}: {text!r}")
    t, q = np.asarray(vals[:3]), np.asarray(vals[3:])
    if not np.all(np.isfinite(vals)) or abs(np.linalg.norm(q) - 1.0) > 1e-3:
        raise ValueError("extrinsic quaternion must be finite and unit length "
                         f"(|q| = {np.linalg.norm(q):.4f})")
    return t, q / np.linalg.norm(q)


__all__ = ["TF_TOPICS", "parse_extrinsic", "read_bag_transforms"]
