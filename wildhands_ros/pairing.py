"""Pairing of images with their CameraInfo by (frame_id, stamp), with a small buffer (no ROS types needed).

Policy (as image_pipeline's camera subscribers, plus reuse):

- An image whose CameraInfo (same ``frame_id``, same stamp) has already arrived is paired at once.
- Otherwise, with ``reuse_info`` and a CameraInfo of the same camera (``frame_id``) seen before, the image is
  paired at once with the newest such CameraInfo (``reused=True``): intrinsics rarely change, and some
  drivers publish CameraInfo once or slower than the images.
- Otherwise the image waits in a buffer of ``buffer_size`` images for its CameraInfo; when the buffer is
  full the oldest waiting image is dropped and reported (``camera_info_missing``).

Stamps are int nanoseconds; the CameraInfo store keeps the newest ``buffer_size`` stamps per camera.
The class is not thread-safe: call it from one thread (the node's subscription callbacks).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Any


@dataclass
class Paired:
    """An image and the CameraInfo to use with it; ``reused``: the info's stamp differs from the image's."""

    image: Any
    info: Any
    frame_id: str
    stamp_ns: int
    reused: bool = False


@dataclass
class Dropped:
    """An image that will never be paired, and why (``reason`` is a diagnostics key)."""

    image: Any
    frame_id: str
    stamp_ns: int
    reason: str = "camera_info_missing"


class FramePairer:
    """See the module docstring. ``add_image`` / ``add_info`` return what became ready or was dropped."""

    def __init__(self, buffer_size: int = 5, reuse_info: bool = True) -> None:
        if buffer_size < 1:
            raise ValueError("buffer_size must be >= 1")
        self.buffer_size = int(buffer_size)
        self.reuse_info = bool(reuse_info)
        self._infos: dict[str, OrderedDict[int, Any]] = {}
        self._waiting: deque[tuple[str, int, Any]] = deque()

    def clear(self) -> None:
        self._infos.clear()
        self._waiting.clear()

    @property
    def waiting(self) -> int:
        """Number of images waiting for their CameraInfo."""
        return len(self._waiting)

    def latest_info(self, frame_id: str) -> Any | None:
        store = self._infos.get(frame_id)
        return next(reversed(store.values())) if store else None

    def add_info(self, frame_id: str, stamp_ns: int, info: Any) -> list[Paired]:
        """Store a (valid) CameraInfo; returns the waiting images it completes."""
        store = self._infos.setdefault(frame_id, OrderedDict())
        store[int(stamp_ns)] = info
        store.move_to_end(int(stamp_ns))
        while len(store) > self.buffer_size:
            store.popitem(last=False)
        ready = [w for w in self._waiting if w[0] == frame_id and w[1] == int(stamp_ns)]
        for w in ready:
            self._waiting.remove(w)
        return [Paired(img, info, fid, stamp) for fid, stamp, img in ready]

    def add_image(self, frame_id: str, stamp_ns: int, image: Any) -> list[Paired | Dropped]:
        """Offer an image: returns it paired, or nothing (it waits), plus images pushed out of the buffer."""
        stamp_ns = int(stamp_ns)
        store = self._infos.get(frame_id)
        if store and stamp_ns in store:
            return [Paired(image, store[stamp_ns], frame_id, stamp_ns)]
        if self.reuse_info and store:
            return [Paired(image, next(reversed(store.values())), frame_id, stamp_ns, reused=True)]
        self._waiting.append((frame_id, stamp_ns, image))
        out: list[Paired | Dropped] = []
        while len(self._waiting) > self.buffer_size:
            fid, stamp, img = self._waiting.popleft()
            out.append(Dropped(img, fid, stamp))
        return out
