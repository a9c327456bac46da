"""rosbags messages (dataclasses) of the bag tools, built from the plain field dicts of ``hand_fields``.

``from_fields(ts, msgtype, fields)`` walks the type store's field definitions, so the layout lives only in
the ``.msg`` files and in ``wildhands_offline.hand_fields``; fields left out get ROS defaults (0, "", empty).
Stamps are int nanoseconds; 3D in metres in the camera optical frame ``frame_id`` of the image.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rosbags.interfaces import Nodetype
from rosbags.typesys.store import Typestore

from wildhands_core.estimate import HandEstimate
from wildhands_offline.hand_fields import hand_fields, stamp_fields, wrist_transform_fields
from wildhands_offline.types import HAND_ARRAY, TF_MESSAGE

_NUMPY = {
    "bool": np.bool_, "byte": np.uint8, "char": np.uint8, "int8": np.int8, "uint8": np.uint8,
    "int16": np.int16, "uint16": np.uint16, "int32": np.int32, "uint32": np.uint32, "int64": np.int64,
    "uint64": np.uint64, "float32": np.float32, "float64": np.float64,
}


def _base_default(name: str):
    if name == "string":
        return ""
    if name == "bool":
        return False
    return 0.0 if name.startswith("float") else 0


def _value(ts: Typestore, node: tuple, v):
    kind, info = node
    if kind == Nodetype.BASE:
        name = info[0]
        if v is None:
            return _base_default(name)
        if name == "string":
            return str(v)
        if name == "bool":
            return bool(v)
        return float(v) if name.startswith("float") else int(v)
    if kind == Nodetype.NAME:
        return from_fields(ts, info, v or {})
    sub, size = info  # ARRAY (fixed size) or SEQUENCE
    if sub[0] == Nodetype.BASE and sub[1][0] in _NUMPY:
        a = np.zeros(size if kind == Nodetype.ARRAY else 0) if v is None else v
        a = np.ascontiguousarray(np.asarray(a).reshape(-1), dtype=_NUMPY[sub[1][0]])
        if kind == Nodetype.ARRAY and a.size != size:
            raise ValueError(f"fixed array needs {size} values, got {a.size}")
        return a
    items = list(v) if v is not None else [None] * (size if kind == Nodetype.ARRAY else 0)
    return [_value(ts, sub, x) for x in items]


def from_fields(ts: Typestore, msgtype: str, fields: dict):
    """A rosbags message of ``msgtype`` from a (nested) dict of field values."""
    cls = ts.types[msgtype]
    _, defs = ts.fielddefs[msgtype]
    unknown = set(fields) - {name for name, _ in defs}
    if unknown:
        raise KeyError(f"{msgtype} has no field(s) {sorted(unknown)}")
    return cls(**{name: _value(ts, node, fields.get(name)) for name, node in defs})


def hand_array_fields(estimates: Sequence[HandEstimate], stamp_ns: int, frame_id: str,
                      image_size: tuple[int, int], latency_ms: float = 0.0,
                      with_vertices: bool = False) -> dict:
    """``HandArray`` fields of one image: header = the image's stamp (ns) and optical frame."""
    return {
        "header": {"stamp": stamp_fields(stamp_ns), "frame_id": frame_id},
        "hands": [hand_fields(e, with_vertices) for e in estimates],
        "image_width": int(image_size[0]),
        "image_height": int(image_size[1]),
        "latency_ms": float(latency_ms),
    }


def hand_array_msg(ts: Typestore, estimates: Sequence[HandEstimate], stamp_ns: int, frame_id: str,
                   image_size: tuple[int, int], latency_ms: float = 0.0, with_vertices: bool = False):
    return from_fields(ts, HAND_ARRAY, hand_array_fields(estimates, stamp_ns, frame_id, image_size,
                                                         latency_ms, with_vertices))


def tf_msg(ts: Typestore, estimates: Sequence[HandEstimate], stamp_ns: int, frame_id: str, prefix: str):
    """``tf2_msgs/TFMessage``: camera optical frame -> ``<prefix>{left,right}_wrist`` per hand."""
    transforms = wrist_transform_fields(estimates, stamp_fields(stamp_ns), frame_id, prefix)
    return from_fields(ts, TF_MESSAGE, {"transforms": transforms})
