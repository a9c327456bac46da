"""Frame sources of the offline path that are not bags: a video file, a camera, an image folder, and the
camera video of a LeRobot v3.0 dataset. Every source yields ``(stamp_ns, RGB (H, W, 3) uint8)`` in order.
(Bags are read by ``wildhands_offline.process``: their images come with CameraInfo and boxes.)

- video file (anything OpenCV reads: .mp4, .avi, .mkv, ...): stamps = the video's presentation times
  (frame index / rate where the container gives none);
- image folder (.png, .jpg, .jpeg, .bmp, .tif, .tiff, in name order): stamp = index / ``fps``;
- camera device (``0``, ``/dev/video0``): stamps = the wall clock; read until ``max_frames`` or Ctrl-C;
- LeRobot v3.0 dataset (a folder with ``meta/info.json``, codebase_version ``v3.0``), so hands can be added
  to a dataset someone else recorded: one episode's frames of one video feature, located as LeRobot does
  (``meta/episodes/chunk-*/file-*.parquet`` columns ``videos/<key>/chunk_index``, ``file_index``,
  ``from_timestamp``, ``to_timestamp``; the file from ``info.json``'s ``video_path`` template); frame i of
  the episode has stamp i / fps (LeRobot's ``timestamp``, s -> ns), decoded with PyAV.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wildhands_core.stamps import frame_stamp_ns

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


@dataclass
class Source:
    """Frames of the input: ``frames()`` yields (stamp_ns, RGB image); ``total`` frames if known."""

    kind: str  # "video" | "folder" | "camera"
    name: str
    total: int | None
    fps: float
    _open: object

    def frames(self) -> Iterator[tuple[int, np.ndarray]]:
        return self._open()  # type: ignore[operator]


def open_source(spec: str, fps: float, max_frames: int | None, episode: int = 0,
                camera: str | None = None) -> Source:
    """The frames of ``spec`` (see the module docstring); ValueError when it cannot be read. ``episode`` and
    ``camera`` (the video feature's key, None = the only one) choose what of a LeRobot dataset is read."""
    import cv2

    path = Path(spec)
    limit = max_frames if max_frames is not None else None
    if is_lerobot_dataset(path):
        return open_lerobot_video(path, episode, camera, limit)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ValueError(f"{path}: no image ({', '.join(IMAGE_SUFFIXES)}) in this folder")
        files = files[:limit] if limit is not None else files

        def folder() -> Iterator[tuple[int, np.ndarray]]:
            for i, f in enumerate(files):
                bgr = cv2.imread(str(f), cv2.IMREAD_COLOR)
                if bgr is None:
                    raise ValueError(f"{f}: not a readable image")
                yield frame_stamp_ns(i, fps), np.ascontiguousarray(bgr[:, :, ::-1])

        return Source("folder", path.name, len(files), fps, folder)
    is_device = spec.isdigit() or spec.startswith("/dev/video")
    if not is_device and not path.is_file():
        raise ValueError(f"{spec}: no such file, folder or camera device")
    cap = cv2.VideoCapture(int(spec) if spec.isdigit() else spec)
    if not cap.isOpened():
        raise ValueError(f"{spec}: OpenCV cannot open this {'camera' if is_device else 'video'}")
    rate = cap.get(cv2.CAP_PROP_FPS) or fps
    if is_device:
        name = "camera" + "".join(c for c in spec if c.isdigit())

        def wall_clock(_n: int) -> int:
            return time.time_ns()

        return Source("camera", name, limit, rate, lambda: _read_capture(cap, limit, wall_clock))
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    if count is not None and limit is not None:
        count = min(count, limit)

    def video_stamp(n: int) -> int:
        # the frame's presentation time; some containers report 0: then index / rate
        pos_ms = cap.get(cv2.CAP_PROP_POS_MSEC)
        return round(pos_ms * 1e6) if n > 0 and pos_ms > 0 else frame_stamp_ns(n, rate)

    return Source("video", path.stem, count, rate, lambda: _read_capture(cap, limit, video_stamp))


def _read_capture(cap, limit: int | None, stamp_of: Callable[[int], int]) -> Iterator[tuple[int, np.ndarray]]:
    """(stamp_ns, RGB) of the frames of an OpenCV capture, at most ``limit``; ``stamp_of(n)`` = the stamp of
    frame ``n`` (0-based), asked right after it was read. Releases the capture at the end."""
    n = 0
    try:
        while limit is None or n < limit:
            ok, bgr = cap.read()
            if not ok:
                break
            stamp = stamp_of(n)
            n += 1
            yield stamp, np.ascontiguousarray(bgr[:, :, ::-1])
    finally:
        cap.release()


def is_lerobot_dataset(path: Path) -> bool:
    """A folder holding a LeRobot dataset (``meta/info.json``)."""
    return (path / "meta" / "info.json").is_file()


def lerobot_episodes(root: Path) -> list[int]:
    """The episode indices of the LeRobot dataset at ``root``, sorted."""
    import pyarrow.parquet as pq

    files = sorted((root / "meta" / "episodes").glob("chunk-*/file-*.parquet"))
    if not files:
        raise ValueError(f"{root}: no meta/episodes/chunk-*/file-*.parquet")
    return sorted(int(e) for f in files
                  for e in pq.read_table(f, columns=["episode_index"]).column(0).to_pylist())


def _lerobot_episode_row(root: Path, episode: int) -> dict:
    """The row of ``episode`` in the dataset's ``meta/episodes`` Parquet files."""
    import pyarrow.parquet as pq

    for f in sorted((root / "meta" / "episodes").glob("chunk-*/file-*.parquet")):
        table = pq.read_table(f)
        for row in table.to_pylist():
            if row["episode_index"] == episode:
                return row
    raise ValueError(f"{root}: no episode {episode} in meta/episodes")


def open_lerobot_video(root: Path, episode: int, camera: str | None, limit: int | None) -> Source:
    """Episode ``episode`` of video feature ``camera`` of the LeRobot v3.0 dataset at ``root``."""
    info = json.loads((root / "meta" / "info.json").read_text())
    if info.get("codebase_version") != "v3.0":
        raise ValueError(f"{root}: LeRobot dataset version {info.get('codebase_version')!r}, this reads v3.0")
    keys = sorted(k for k, f in info.get("features", {}).items() if f.get("dtype") == "video")
    if camera is None:
        if len(keys) != 1:
            raise ValueError(f"{root}: {len(keys)} video features {keys}; choose one")
        camera = keys[0]
    elif camera not in keys:
        raise ValueError(f"{root}: no video feature {camera!r} (there are {keys})")
    row = _lerobot_episode_row(root, episode)
    fps = float(info["fps"])
    video = root / info["video_path"].format(video_key=camera,
                                             chunk_index=row[f"videos/{camera}/chunk_index"],
                                             file_index=row[f"videos/{camera}/file_index"])
    if not video.is_file():
        raise ValueError(f"{video}: the episode's video file is missing")
    t0, t1 = float(row[f"videos/{camera}/from_timestamp"]), float(row[f"videos/{camera}/to_timestamp"])
    n = int(row["length"]) if limit is None else min(int(row["length"]), limit)

    def frames() -> Iterator[tuple[int, np.ndarray]]:
        import av

        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            if t0 > 0:
                container.seek(int(t0 / stream.time_base), stream=stream, backward=True)
            i = 0
            for frame in container.decode(stream):
                t = float(frame.pts * stream.time_base)
                if t < t0 - 0.5 / fps:
                    continue
                if t >= t1 - 0.5 / fps or i >= n:
                    break
                yield frame_stamp_ns(i, fps), frame.to_ndarray(format="rgb24")
                i += 1

    return Source("lerobot", f"{root.name}_ep{episode:03d}_{camera.split('.')[-1]}", n, fps, frames)
