"""The demo's bag is a rosbag2 directory that ``ros2 bag info DIR`` reads and whose .mcap Foxglove
opens (rosbag2 layout: DIR/metadata.yaml listing DIR/<file>; an MCAP file starts with its magic
bytes)."""

from __future__ import annotations

import pytest
import yaml

pytest.importorskip("rosbags")


def test_demo_bag_directory_holds_metadata_and_one_plainly_named_mcap(tmp_path):
    from rosbags.rosbag2 import StoragePlugin, Writer
    from rosbags.typesys import Stores, get_typestore

    from wildhands_ros.demo.cli import demo_bag_dir

    bag = demo_bag_dir(tmp_path)
    assert not bag.name.endswith(".mcap")  # a directory named *.mcap makes tools guess
    ts = get_typestore(Stores.ROS2_HUMBLE)
    with Writer(bag, version=8, storage_plugin=StoragePlugin.MCAP) as w:  # as DemoStream writes it
        conn = w.add_connection("/chatter", "std_msgs/msg/String", typestore=ts)
        w.write(conn, 1, ts.serialize_cdr(ts.types["std_msgs/msg/String"](data="hi"), "std_msgs/msg/String"))
    meta = yaml.safe_load((bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert meta["relative_file_paths"] == [f"{bag.name}.mcap"]
    assert meta["storage_identifier"] == "mcap" and meta["version"] == 8
    assert (bag / f"{bag.name}.mcap").read_bytes()[:8] == b"\x89MCAP0\r\n"
