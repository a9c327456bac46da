"""Episode files (``wildhands_core.episodes``): an episode in which no hand was seen, and files that depend
on their contents only (the merged datasets of ``wildhands-batch`` are compared byte for byte)."""

from __future__ import annotations

import time

import numpy as np
import pyarrow.parquet as pq

from wildhands_core.episodes import HAND_ARRAYS, write_episode


def _frames(n: int) -> list[dict]:
    return [{"stamp_ns": i * 100_000_000, "log_time_ns": i, "size": (64, 48), "hands": []} for i in range(n)]


def test_an_episode_without_hands_has_empty_hand_tables_of_the_right_shapes(tmp_path):
    write_episode(tmp_path, "empty", _frames(3), "cam_optical")
    npz = np.load(tmp_path / "empty.npz")
    assert npz["joints_m"].shape == (0, 21, 3) and npz["frame_num_hands"].tolist() == [0, 0, 0]
    hands = pq.read_table(tmp_path / "empty_hands.parquet")
    assert hands.num_rows == 0 and set(hands.column_names) == set(HAND_ARRAYS)
    assert hands.schema.metadata[b"shape.joints_m"] == b"[21, 3]"
    assert pq.read_table(tmp_path / "empty_frames.parquet").num_rows == 3


def test_the_files_do_not_depend_on_when_they_were_written(tmp_path, monkeypatch):
    # zip entries carry a modification time (2 s resolution): an hour apart, the same arrays
    for i, clock in enumerate((1.7e9, 1.7e9 + 3600.0)):
        monkeypatch.setattr(time, "time", lambda c=clock: c)
        (tmp_path / str(i)).mkdir()
        write_episode(tmp_path / str(i), "ep", _frames(2), "cam_optical")
    for suffix in (".npz", "_hands.parquet", "_frames.parquet"):
        assert (tmp_path / "0" / f"ep{suffix}").read_bytes() == (tmp_path / "1" / f"ep{suffix}").read_bytes()
