"""config/foxglove_hands.json: a Foxglove layout (configById + a mosaic ``layout`` tree of panel ids) whose
panels all exist, and whose topics and message paths name what the node publishes and fields that the
project's .msg files define."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NODE_TOPICS = {"/hands/hands": "HandArray", "/hands/gripper_targets": "GripperTargetArray",
               "/hands/markers": None, "/hands/debug_image": None, "/cam/image_raw": None}


def _leaves(node) -> list[str]:
    return [node] if isinstance(node, str) else _leaves(node["first"]) + _leaves(node["second"])


def _fields(msg: str) -> set[str]:
    text = (ROOT / "msg" / f"{msg}.msg").read_text()
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#") and "=" not in ln]
    return {ln.split()[1] for ln in lines}


def test_layout_panels_exist_and_paths_name_published_fields():
    lay = json.loads((ROOT / "config" / "foxglove_hands.json").read_text())
    panels = _leaves(lay["layout"])
    assert sorted(panels) == sorted(lay["configById"])
    kinds = {p.split("!")[0] for p in panels}
    assert {"3D", "Image", "Plot"} <= kinds
    cfg = lay["configById"]
    assert cfg["Image!wildhands_debug"]["imageMode"]["imageTopic"] == "/hands/debug_image"
    assert cfg["3D!wildhands"]["topics"]["/hands/markers"]["visible"] is True
    paths = [p["value"] for c in cfg.values() for p in c.get("paths", [])]
    assert any("aperture_m" in p for p in paths) and any("confidence" in p for p in paths)
    for p in paths:
        m = re.fullmatch(r"(/[\w/]+)\.(\w+)\[:\]\{handedness==[01]\}\.(\w+)", p)
        assert m, p
        topic, array, field = m.groups()
        outer = NODE_TOPICS[topic]
        assert array in _fields(outer)
        inner = {"HandArray": "Hand", "GripperTargetArray": "GripperTarget"}[outer]
        assert {"handedness", field} <= _fields(inner), p
