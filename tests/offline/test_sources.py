"""Frame sources of the offline path on real files written here: a LeRobot v3.0 dataset in LeRobot's
documented layout (two episodes sharing one video file, as LeRobot's own writer concatenates them:
meta/info.json ``video_path`` template, meta/episodes/chunk-000/file-000.parquet with
``videos/<key>/from_timestamp`` / ``to_timestamp``), and an image folder."""

from __future__ import annotations

import json
from pathlib import Path

import av
import cv2
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wildhands_offline.sources import lerobot_episodes, open_source

FPS = 10
SIZE = (64, 48)
KEY = "observation.images.front"
#: Frames per episode; episode 1 starts at 0.4 s in the shared file.
LENGTHS = (4, 5)


def _colour(i: int) -> tuple[int, int, int]:
    """A flat RGB colour per frame of the file, far apart so H.264 cannot confuse them."""
    return (20 + 50 * (i % 5), 200 - 40 * (i % 4), 30 * (i % 7))


def _write_dataset(root: Path, version: str = "v3.0", second_key: bool = False) -> None:
    video = root / "videos" / KEY / "chunk-000" / "file-000.mp4"
    video.parent.mkdir(parents=True)
    with av.open(str(video), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        for i in range(sum(LENGTHS)):
            img = np.empty((SIZE[1], SIZE[0], 3), np.uint8)
            img[:] = _colour(i)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    video_feature = {"dtype": "video", "shape": [SIZE[1], SIZE[0], 3],
                     "names": ["height", "width", "channels"]}
    features = {KEY: video_feature, "timestamp": {"dtype": "float32", "shape": [1], "names": None}}
    if second_key:
        features["observation.images.wrist"] = video_feature
    info = {"codebase_version": version, "fps": FPS, "features": features,
            "video_path": "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4",
            "data_path": "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"}
    (root / "meta").mkdir()
    (root / "meta" / "info.json").write_text(json.dumps(info))
    starts = np.cumsum((0, *LENGTHS))[:-1] / FPS
    rows = {"episode_index": [0, 1], "length": list(LENGTHS),
            f"videos/{KEY}/chunk_index": [0, 0], f"videos/{KEY}/file_index": [0, 0],
            f"videos/{KEY}/from_timestamp": [float(s) for s in starts],
            f"videos/{KEY}/to_timestamp": [float(s + n / FPS) for s, n in zip(starts, LENGTHS, strict=True)]}
    ep = root / "meta" / "episodes" / "chunk-000" / "file-000.parquet"
    ep.parent.mkdir(parents=True)
    pq.write_table(pa.table(rows), ep)


def test_a_lerobot_episode_is_read_from_its_place_in_the_shared_video_file(tmp_path):
    _write_dataset(tmp_path / "ds")
    assert lerobot_episodes(tmp_path / "ds") == [0, 1]
    for episode, first in ((0, 0), (1, LENGTHS[0])):
        src = open_source(str(tmp_path / "ds"), 30.0, None, episode=episode)
        assert src.kind == "lerobot" and src.total == LENGTHS[episode] and src.fps == FPS
        frames = list(src.frames())
        assert [s for s, _ in frames] == [round(i * 1e9 / FPS) for i in range(LENGTHS[episode])]
        for i, (_, rgb) in enumerate(frames):
            assert rgb.shape == (SIZE[1], SIZE[0], 3) and rgb.dtype == np.uint8
            assert np.abs(rgb.reshape(-1, 3).mean(0) - _colour(first + i)).max() < 8, (episode, i)
    assert len(list(open_source(str(tmp_path / "ds"), 30.0, 2, episode=1).frames())) == 2


def test_a_lerobot_dataset_of_another_version_or_camera_is_refused_by_name(tmp_path):
    _write_dataset(tmp_path / "v21", version="v2.1")
    with pytest.raises(ValueError, match=r"v2\.1"):
        open_source(str(tmp_path / "v21"), 30.0, None)
    _write_dataset(tmp_path / "two", second_key=True)
    with pytest.raises(ValueError, match="2 video features"):
        open_source(str(tmp_path / "two"), 30.0, None)
    with pytest.raises(ValueError, match="no episode 7"):
        open_source(str(tmp_path / "two"), 30.0, None, episode=7, camera=KEY)


def test_an_image_folder_in_name_order_with_stamps_from_the_rate(tmp_path):
    for i in (2, 0, 1):
        img = np.full((SIZE[1], SIZE[0], 3), _colour(i), np.uint8)
        cv2.imwrite(str(tmp_path / f"{i:03d}.png"), img[:, :, ::-1])
    (tmp_path / "notes.txt").write_text("not an image")
    src = open_source(str(tmp_path), 20.0, None)
    frames = list(src.frames())
    assert src.kind == "folder" and src.total == 3
    assert [s for s, _ in frames] == [0, 50_000_000, 100_000_000]
    assert [tuple(rgb[0, 0]) for _, rgb in frames] == [_colour(i) for i in range(3)]
