"""Pairing of images with their CameraInfo by (frame_id, stamp), bounded per camera (no ROS types needed).

Policy (image_pipeline's camera subscribers, plus bounded waiting and reuse):

- Each camera (``frame_id``) has its own queue of waiting images; one camera never evicts another's.
- Images of a camera are released strictly in arrival order: an image waiting for its CameraInfo holds the
  later images of that camera behind it, so the node never sees a camera's stamps go backwards because of
  pairing.
- An image whose own CameraInfo (same camera, same stamp) is known is paired with it, also when the image
  arrives first (image_transport's CameraPublisher publishes the image before the CameraInfo).
- An image without its own CameraInfo is resolved when (a) a CameraInfo NEWER than the image arrives for its
  camera (its own will not come), (b) it waited ``max_wait_ns`` (receipt time, steady clock), or (c) its
  camera has more than ``max_waiting`` waiting images. It is then paired with the camera's newest
  CameraInfo of the same image size when ``reuse_info`` allows (``reused=True``), else dropped with a
  reason: ``camera_info_missing`` (the camera never sent a usable CameraInfo), ``camera_info_timeout``,
  ``camera_info_overflow``, ``camera_info_superseded``.
- Cameras whose CameraInfo stamps never match their images (a driver that publishes CameraInfo once, or at
  a lower rate) are recognised after the first such image: their later images reuse at once instead of
  waiting ``max_wait_ns`` each.
- Cameras with a constant calibration: with ``info_key`` given (a function of a CameraInfo that is equal
  for interchangeable ones, e.g. K, distortion and size without the stamp), when the camera's newest
  ``constant_after`` CameraInfos all have the same key, an image whose own CameraInfo has not arrived yet
  is paired at once with the newest one (``reused=True``): waiting would give the same numbers. So a
  CameraInfo stream that arrives late or in bursts (DDS repairing lost samples of a reliable topic while
  images of 1 MB share the transport) does not hold images back and release them in bursts. A camera whose
  calibration changes waits for each image's own CameraInfo again until it is constant for
  ``constant_after`` CameraInfos.

Sizes: ``size`` = (width, height) of the image, or None when unknown (compressed images); a CameraInfo is
reused only for images of its size (a resolution change waits for the new CameraInfo). Stamps and times
are int nanoseconds. Not thread-safe: call from one thread (the node's callbacks and its expiry timer).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Hashable
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


@dataclass
class _Waiting:
    stamp_ns: int
    image: Any
    size: tuple[int, int] | None
    received_ns: int


@dataclass
class _Info:
    info: Any
    size: tuple[int, int] | None
    key: Hashable = None


class _Camera:
    def __init__(self) -> None:
        self.infos: OrderedDict[int, _Info] = OrderedDict()  # stamp -> info, oldest first
        self.waiting: deque[_Waiting] = deque()
        self.infos_match_images = True  # until an image was released without its own CameraInfo
        self.reused_stamps: deque[int] = deque(maxlen=8)  # images released with another stamp's info


class FramePairer:
    """See the module docstring. ``add_image`` / ``add_info`` / ``expire`` return what became ready or was
    dropped, in release order."""

    def __init__(
        self,
        max_waiting: int = 5,
        reuse_info: bool = True,
        max_wait_ns: int = 500_000_000,
        infos_kept: int = 10,
        info_key: Callable[[Any], Hashable] | None = None,
        constant_after: int = 3,
    ) -> None:
        if max_waiting < 1 or infos_kept < 1:
            raise ValueError("max_waiting and infos_kept must be >= 1")
        if not 1 <= constant_after <= infos_kept:
            raise ValueError(f"constant_after must be in [1, infos_kept={infos_kept}], got {constant_after}")
        if max_wait_ns < 0:
            raise ValueError("max_wait_ns must be >= 0")
        self.max_waiting = int(max_waiting)
        self.reuse_info = bool(reuse_info)
        self.max_wait_ns = int(max_wait_ns)
        self.infos_kept = int(infos_kept)
        self.info_key = info_key
        self.constant_after = int(constant_after)
        self._cams: dict[str, _Camera] = {}

    def clear(self) -> None:
        self._cams.clear()

    @property
    def waiting(self) -> int:
        """Number of images waiting for their CameraInfo (all cameras)."""
        return sum(len(c.waiting) for c in self._cams.values())

    def latest_info(self, frame_id: str) -> Any | None:
        cam = self._cams.get(frame_id)
        return next(reversed(cam.infos.values())).info if cam and cam.infos else None

    def info_at(self, frame_id: str, stamp_ns: int) -> Any | None:
        """The camera's CameraInfo of exactly this stamp, if stored."""
        cam = self._cams.get(frame_id)
        entry = cam.infos.get(int(stamp_ns)) if cam else None
        return None if entry is None else entry.info

    def add_info(
        self, frame_id: str, stamp_ns: int, info: Any, size: tuple[int, int] | None, now_ns: int
    ) -> list[Paired | Dropped]:
        """Store a (valid) CameraInfo of image size ``size``; returns the images it releases."""
        cam = self._cams.setdefault(frame_id, _Camera())
        key = None if self.info_key is None else self.info_key(info)
        cam.infos[int(stamp_ns)] = _Info(info, None if size is None else tuple(size), key)
        cam.infos.move_to_end(int(stamp_ns))
        if int(stamp_ns) in cam.reused_stamps:  # its own info came after all: wait for them again
            cam.infos_match_images = True
        while len(cam.infos) > self.infos_kept:
            cam.infos.popitem(last=False)
        return self._release(frame_id, cam, now_ns)

    def add_image(
        self, frame_id: str, stamp_ns: int, image: Any, size: tuple[int, int] | None, now_ns: int
    ) -> list[Paired | Dropped]:
        """Offer an image (``now_ns``: receipt time); returns what it releases (possibly itself)."""
        cam = self._cams.setdefault(frame_id, _Camera())
        cam.waiting.append(_Waiting(int(stamp_ns), image, None if size is None else tuple(size), int(now_ns)))
        return self._release(frame_id, cam, now_ns)

    def expire(self, now_ns: int) -> list[Paired | Dropped]:
        """Resolve the images that waited longer than ``max_wait_ns`` (call it periodically)."""
        out: list[Paired | Dropped] = []
        for fid, cam in list(self._cams.items()):
            out += self._release(fid, cam, now_ns)
        return out

    # ------------------------------------------------------------------------------------- internal
    def _reusable(self, cam: _Camera, w: _Waiting) -> _Info | None:
        if not self.reuse_info:
            return None
        for entry in reversed(cam.infos.values()):
            if w.size is None or entry.size is None or entry.size == w.size:
                return entry
        return None

    def _calibration_constant(self, cam: _Camera, w: _Waiting) -> bool:
        """True when the camera's newest ``constant_after`` CameraInfos are interchangeable (same key) and
        made for images of ``w``'s size (an image of another size waits for its own)."""
        if self.info_key is None or len(cam.infos) < self.constant_after:
            return False
        newest = list(cam.infos.values())[-self.constant_after:]
        same_size = w.size is None or newest[-1].size is None or newest[-1].size == w.size
        return same_size and all(e.key == newest[0].key for e in newest)

    def _release(self, fid: str, cam: _Camera, now_ns: int) -> list[Paired | Dropped]:
        out: list[Paired | Dropped] = []
        while cam.waiting:
            w = cam.waiting[0]
            own = cam.infos.get(w.stamp_ns)
            if own is not None:
                cam.waiting.popleft()
                cam.infos_match_images = True
                out.append(Paired(w.image, own.info, fid, w.stamp_ns))
                continue
            newest = next(reversed(cam.infos)) if cam.infos else None
            if newest is not None and newest > w.stamp_ns:
                why = "camera_info_superseded"
            elif len(cam.waiting) > self.max_waiting:
                why = "camera_info_overflow"
            elif now_ns - w.received_ns >= self.max_wait_ns:
                why = "camera_info_timeout"
            elif ((not cam.infos_match_images or self._calibration_constant(cam, w))
                  and self._reusable(cam, w) is not None):
                why = "reuse"
            else:
                break  # keep waiting for its own CameraInfo (and hold the later images behind it)
            cam.waiting.popleft()
            entry = self._reusable(cam, w)
            if entry is not None:
                cam.infos_match_images = False
                cam.reused_stamps.append(w.stamp_ns)
                out.append(Paired(w.image, entry.info, fid, w.stamp_ns, reused=True))
            else:
                out.append(Dropped(w.image, fid, w.stamp_ns, "camera_info_missing" if not cam.infos else why))
        return out
