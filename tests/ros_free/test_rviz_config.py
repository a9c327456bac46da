"""config/hands.rviz shows what the node publishes under the launch file's default names."""

from __future__ import annotations

from pathlib import Path

import yaml

from wildhands_ros.launch_logic import node_description

ROOT = Path(__file__).resolve().parents[2]


def test_rviz_config_displays_the_default_camera_image_markers_and_tf():
    rviz = yaml.safe_load((ROOT / "config" / "hands.rviz").read_text())
    displays = {d["Class"]: d for d in rviz["Visualization Manager"]["Displays"] if d.get("Enabled")}
    d = node_description()  # the launch file's defaults: node "hands", camera namespace "camera" (relative)
    image_topic = dict(d.remappings)["image"]
    # RViz names topics absolutely: a relative name launched in the root namespace resolves to /<name>
    assert image_topic == "camera/image_raw"
    assert displays["rviz_default_plugins/Image"]["Topic"]["Value"] == "/" + image_topic
    assert displays["rviz_default_plugins/MarkerArray"]["Topic"]["Value"] == f"/{d.name}/markers"
    assert "rviz_default_plugins/TF" in displays
    assert rviz["Visualization Manager"]["Global Options"]["Fixed Frame"]
