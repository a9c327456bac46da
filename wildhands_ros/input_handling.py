"""The hands node's inputs: subscriptions, cheap checks, pairing of images with CameraInfo, external boxes.

Runs in the subscription callbacks (one executor thread) and never waits for inference: an image is
checked (metadata only: encoding, size, stamp, frame), paired with its CameraInfo (``pairing.FramePairer``)
and handed on as a :class:`Frame`. A CameraInfo is validated and turned into intrinsics ONCE, when it
arrives (:class:`CameraModel`); an image is only compared with its size. Every rejected input is reported
by reason (``reporting.Reporter``). Stamps are int nanoseconds (``wildhands_core.stamps``); pixel
coordinates as in ``image_decoding``.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from rclpy.clock import Clock, ClockType
from rclpy.qos import QoSProfile
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header

from wildhands_core.detection.base import HandDetection
from wildhands_core.stamps import ns_to_seconds, seconds_to_ns, stamp_to_ns
from wildhands_core.undistortion import Undistorter, needs_undistortion, undistort_box_xyxy
from wildhands_ros import conversions as conv
from wildhands_ros import input_qos, params
from wildhands_ros.headers import StampOrder, check_stamp, resolve_frame_id
from wildhands_ros.message_loss import SequenceGapCounter
from wildhands_ros.msg import HandBoxArray
from wildhands_ros.pairing import Dropped, FramePairer, Paired
from wildhands_ros.reporting import Reporter

#: Messages of the drop reasons of ``pairing.FramePairer``.
PAIRING_WHY = {
    "camera_info_missing": "its camera never sent a usable CameraInfo",
    "camera_info_timeout": "its CameraInfo did not arrive within input.camera_info_wait_s",
    "camera_info_overflow": "more than input.pairing_buffer images of its camera were waiting",
    "camera_info_superseded": "a newer CameraInfo arrived first and reuse_camera_info is off",
}
#: External box arrays kept while they wait for their CameraInfo (oldest dropped first).
MAX_PENDING_BOXES = 32


@dataclass(frozen=True, eq=False)  # holds arrays: compared by identity
class CameraModel:
    """A validated CameraInfo: ``K_px`` (3, 3) float64 in pixels of its images (P[:, :3] for rectified
    input), the distortion to undo (``D`` empty for rectified input) and the (W, H) of its images."""

    info: CameraInfo
    K_px: np.ndarray
    distortion_model: str
    D: np.ndarray
    size: tuple[int, int]

    @classmethod
    def of(cls, info: CameraInfo, use_rectified: bool) -> CameraModel:
        """Raises ``conv.CameraInfoError`` (with its reason) when the CameraInfo is unusable."""
        K = conv.camera_info_to_K(info, None, use_rectified)
        model, D = conv.camera_info_distortion(info, use_rectified)
        return cls(info, K, model, D, conv.camera_info_size(info))

    @property
    def key(self) -> tuple:
        """What the node uses of this CameraInfo (K, distortion, image size), without its stamp: equal keys
        give the same estimates (``pairing.FramePairer``'s ``info_key``)."""
        return (self.K_px.tobytes(), self.distortion_model, self.D.tobytes(), self.size)


@dataclass
class Frame:
    """One paired frame waiting for (or in) inference; ``msg`` is a sensor_msgs/Image (metadata checked) or
    a CompressedImage (checked once decoded)."""

    msg: Any
    camera: CameraModel
    header: Header
    stamp_ns: int
    reset_tracking: bool = False


def keep_reset_request(replaced: Frame, new: Frame) -> Frame:
    """The frame that takes the mailbox when ``new`` replaces the unprocessed ``replaced``: ``new``, with
    ``replaced``'s tracking reset (a resolution change, a time jump or a camera switch must not be lost
    with the frame that carried it)."""
    if replaced.reset_tracking and not new.reset_tracking:
        return dataclasses.replace(new, reset_tracking=True)
    return new


def decode_frame(f: Frame, max_pixels: int, undistorter: Undistorter) -> np.ndarray:
    """The frame's (H, W, 3) uint8 RGB image, undistorted when its camera has distortion to undo (cached
    remap maps per camera frame). Raises ``conv.InputError`` for an undecodable / too large compressed
    image or one whose size is not its CameraInfo's."""
    if isinstance(f.msg, CompressedImage):
        image = conv.compressed_to_rgb(f.msg)
        conv.check_image_size(image.shape[1], image.shape[0], max_pixels)
        conv.check_info_size(f.camera.size, (image.shape[1], image.shape[0]))
    else:
        image = conv.image_to_rgb(f.msg, checked=True)
    cam = f.camera
    return undistorter.undistort(f.header.frame_id, image, cam.K_px, cam.distortion_model, cam.D)


def _with_message_info(callback):
    """A two-argument subscription callback (msg, MessageInfo) where rclpy offers it (Iron and later),
    else ``callback`` itself (called with the message only)."""
    from rclpy.subscription import Subscription

    if not hasattr(Subscription, "CallbackType"):
        return callback
    return lambda msg, msg_info: callback(msg, msg_info)


def _size_or_none(size: tuple[int, int]) -> tuple[int, int] | None:
    """A CameraInfo's image size for pairing: None when it gives none (a zero width or height)."""
    return size if size[0] and size[1] else None


class InputHandler:
    """The node's subscription callbacks (see the module docstring). ``submit(frame)`` takes each paired
    frame (the worker's mailbox); ``give_boxes(stamp_ns, detections)`` takes the external boxes of an image
    (undistorted like the image). Counters: ``reused_info``, ``default_frame_used``,
    ``resolution_changes``, ``camera_switches``."""

    def __init__(
        self,
        node: Any,
        settings: params.NodeSettings,
        reporter: Reporter,
        submit: Callable[[Frame], None],
        give_boxes: Callable[[int, list[HandDetection]], None],
    ) -> None:
        s = settings
        self._node = node
        self.settings = settings
        self.stats = reporter.stats
        self.report = reporter
        self._submit_frame = submit
        self._give_boxes_to = give_boxes
        self._steady = Clock(clock_type=ClockType.STEADY_TIME)
        self._use_rectified = bool(s["input.use_rectified"])
        self._max_pixels = int(s["input.max_image_pixels"])
        self._max_future_ns = seconds_to_ns(float(s["input.max_stamp_future_s"]))
        self.pairer = FramePairer(
            int(s["input.pairing_buffer"]),
            bool(s["input.reuse_camera_info"]),
            seconds_to_ns(float(s["input.camera_info_wait_s"])),
            info_key=lambda cam: cam.key,
        )
        self.order = StampOrder(seconds_to_ns(float(s["input.reset_on_jump_back_s"])))
        self._sizes: dict[str, tuple[int, int]] = {}
        self._gaps = SequenceGapCounter()
        self._pending_boxes: OrderedDict[tuple[str, int], list[HandDetection]] = OrderedDict()
        self._subs: list = []
        self._timers: list = []
        self.reused_info = 0
        self.default_frame_used = 0
        self.resolution_changes = 0
        self.camera_switches = 0
        self._last_camera: str | None = None

    # ------------------------------------------------------------------------------- subscriptions
    def subscribe(self, with_boxes: bool) -> None:
        """Subscribe to the image (raw or compressed), CameraInfo and, ``with_boxes``, the external boxes;
        start the pairing expiry timer."""
        from rclpy.event_handler import SubscriptionEventCallbacks

        s, node = self.settings, self._node
        image_qos, side_qos = input_qos.default_profiles(s)  # before the qos_overrides.* parameters
        events = SubscriptionEventCallbacks(
            message_lost=lambda info: self.stats.on_lost(middleware=int(info.total_count_change))
        )
        if s["input.use_compressed"]:
            image_type, topic, cb = CompressedImage, s["topics.compressed_image"], self.on_compressed
        else:
            image_type, topic, cb = Image, s["topics.image"], self.on_image
        try:
            sub = input_qos.subscribe(
                node, image_type, topic, _with_message_info(cb), image_qos, event_callbacks=events
            )
        except params.ParameterError:
            raise
        except Exception as exc:  # the middleware offers no message-lost event
            node.get_logger().info(f"message-lost event unavailable ({exc}); sequence gaps still counted")
            sub = input_qos.subscribe(node, image_type, topic, _with_message_info(cb), image_qos)
        self._subs.append(sub)
        self._subs.append(
            input_qos.subscribe(node, CameraInfo, s["topics.camera_info"], self.on_info, side_qos)
        )
        if with_boxes:
            self._subs.append(
                input_qos.subscribe(node, HandBoxArray, s["topics.boxes"], self.on_boxes, side_qos)
            )
            if s["topics.detections"]:
                self._subscribe_vision_msgs(s["topics.detections"], side_qos)
        period = min(max(float(s["input.camera_info_wait_s"]) / 4, 0.01), 0.1)
        self._timers.append(node.create_timer(period, self.expire_waiting, clock=self._steady))

    def _subscribe_vision_msgs(self, topic: str, qos: QoSProfile) -> None:
        try:
            from vision_msgs.msg import Detection2DArray
        except ImportError:
            self._node.get_logger().warning(
                f"topics.detections={topic!r} ignored: vision_msgs is not importable"
            )
            return

        def on_detections(msg) -> None:
            self._set_boxes(msg.header, conv.detection2d_array_to_detections(msg))

        self._subs.append(input_qos.subscribe(self._node, Detection2DArray, topic, on_detections, qos))

    def unsubscribe(self) -> None:
        """Destroy the subscriptions and the timer; forget waiting images, boxes and stamp history."""
        for sub in self._subs:
            self._node.destroy_subscription(sub)
        for t in self._timers:
            self._node.destroy_timer(t)
        self._subs, self._timers = [], []
        self.pairer.clear()
        self._pending_boxes.clear()
        self.order.clear()
        self._sizes.clear()
        self._last_camera = None

    # ------------------------------------------------------------------------------------ callbacks
    def on_info(self, msg: CameraInfo) -> None:
        frame = self._frame_id(msg, "CameraInfo")
        if frame is None:
            return
        try:
            cam = CameraModel.of(msg, self._use_rectified)
        except conv.InputError as exc:
            self.report.reject(exc.reason, f"{exc} (frame {frame!r})")
            return
        stamp_ns = stamp_to_ns(msg.header.stamp)
        self._release_boxes(frame, stamp_ns, cam)
        self._handle(self.pairer.add_info(frame, stamp_ns, cam, _size_or_none(cam.size), self._recv_ns()))

    def on_image(self, msg: Image, msg_info: dict | None = None) -> None:
        self._received(msg_info)
        try:
            conv.check_image(msg)
            conv.check_image_size(msg.width, msg.height, self._max_pixels)
        except conv.InputError as exc:
            self.report.reject(exc.reason, f"{exc} (frame {msg.header.frame_id!r})")
            return
        self._pair(msg, (int(msg.width), int(msg.height)))

    def on_compressed(self, msg: CompressedImage, msg_info: dict | None = None) -> None:
        self._received(msg_info)
        if len(msg.data) == 0:
            self.report.reject("empty_image", f"empty compressed image (frame {msg.header.frame_id!r})")
            return
        self._pair(msg, None)

    def on_boxes(self, msg: HandBoxArray) -> None:
        try:
            dets = conv.hand_boxes_to_detections(msg)
        except conv.InputError as exc:
            self.report.reject(exc.reason, str(exc))
            return
        self._set_boxes(msg.header, dets)

    def expire_waiting(self) -> None:
        """Resolve the images that waited too long for their CameraInfo (the expiry timer)."""
        self._handle(self.pairer.expire(self._recv_ns()))

    # ------------------------------------------------------------------------------------- internal
    def _recv_ns(self) -> int:
        return self._steady.now().nanoseconds

    def _now_ns(self) -> int:
        return self._node.get_clock().now().nanoseconds

    def _received(self, msg_info: dict | None) -> None:
        self.stats.on_received()
        if msg_info:
            gid = msg_info.get("publisher_gid") or {}
            key = tuple(gid.get("data", ())) if isinstance(gid, dict) else gid
            gap = self._gaps.on_message(key, msg_info.get("publication_sequence_number"))
            if gap:
                self.stats.on_lost(sequence_gaps=gap)

    def _frame_id(self, msg, what: str) -> str | None:
        """The message's camera frame (``input.default_frame_id`` when empty), or None (rejected)."""
        frame, fallback = resolve_frame_id(msg.header.frame_id, self.settings["input.default_frame_id"])
        if frame is None:
            self.report.reject(
                "frame_id_empty",
                f"{what} with an empty header.frame_id (TF needs a parent frame); set "
                "input.default_frame_id to use a fixed frame",
            )
            return None
        if fallback:
            msg.header.frame_id = frame
            self.default_frame_used += 1
            self.report.log_throttled(
                "frame_id_default", "warning", f"{what} with an empty frame_id: using {frame!r}"
            )
        return frame

    def _set_boxes(self, header: Header, dets: list[HandDetection]) -> None:
        """External boxes are drawn on the camera's raw image: they are undistorted like the image, with
        the CameraInfo of their stamp (boxes that arrive before it wait for it, or for their frame)."""
        frame = header.frame_id or self.settings["input.default_frame_id"]
        stamp_ns = stamp_to_ns(header.stamp)
        cam = self.pairer.info_at(frame, stamp_ns)
        last = self.order.last(frame)
        if cam is None and last is not None and last >= stamp_ns:
            cam = self.pairer.latest_info(frame)  # its frame is already in the worker
        if cam is None:  # given when its CameraInfo arrives or its frame is paired
            self._pending_boxes[(frame, stamp_ns)] = dets
            while len(self._pending_boxes) > MAX_PENDING_BOXES:
                self._pending_boxes.popitem(last=False)
            return
        self._give_boxes(stamp_ns, dets, cam)

    def _give_boxes(self, stamp_ns: int, dets: list[HandDetection], cam: CameraModel) -> None:
        info = cam.info
        if not self._use_rectified and needs_undistortion(info.d):
            dets = [
                HandDetection(
                    undistort_box_xyxy(d.box_xyxy_px, cam.K_px, info.distortion_model, info.d),
                    d.is_right,
                    d.score,
                    d.source,
                )
                for d in dets
            ]
        self._give_boxes_to(stamp_ns, dets)

    def _release_boxes(self, frame: str, stamp_ns: int, cam: CameraModel) -> None:
        dets = self._pending_boxes.pop((frame, stamp_ns), None)
        if dets is not None:
            self._give_boxes(stamp_ns, dets, cam)

    def _pair(self, msg, size: tuple[int, int] | None) -> None:
        frame = self._frame_id(msg, "image")
        if frame is None:
            return
        stamp_ns = stamp_to_ns(msg.header.stamp)
        now_ns = self._now_ns()
        bad = check_stamp(stamp_ns, now_ns, self._max_future_ns)
        if bad is not None:
            ahead = ns_to_seconds(stamp_ns - now_ns)
            what = "zero (not stamped)" if bad == "stamp_zero" else f"{ahead:.3f} s ahead of the node's clock"
            self.report.reject(
                bad, f"image stamp {ns_to_seconds(stamp_ns):.6f} s is {what} (frame {frame!r})"
            )
            return
        self._handle(self.pairer.add_image(frame, stamp_ns, msg, size, self._recv_ns()))

    def _handle(self, results: list[Paired | Dropped]) -> None:
        for r in results:
            if isinstance(r, Dropped):
                self.report.reject(
                    r.reason,
                    f"image of frame {r.frame_id!r} stamped {ns_to_seconds(r.stamp_ns):.6f} s dropped: "
                    + PAIRING_WHY.get(r.reason, r.reason),
                )
            else:
                self._submit(r)

    def _submit(self, p: Paired) -> None:
        msg, cam = p.image, p.info
        if isinstance(msg, Image):
            try:
                conv.check_info_size(cam.size, (msg.width, msg.height))
            except conv.InputError as exc:
                self.report.reject(exc.reason, f"{exc} (frame {p.frame_id!r})")
                return
        verdict = self.order.check(p.frame_id, p.stamp_ns)
        if verdict in ("duplicate_stamp", "stamp_backwards"):
            last = self.order.last(p.frame_id) or p.stamp_ns
            self.report.reject(
                verdict,
                f"image stamp {ns_to_seconds(p.stamp_ns):.6f} s is not newer than the camera's previous "
                f"{ns_to_seconds(last):.6f} s (frame {p.frame_id!r})",
            )
            return
        self._release_boxes(p.frame_id, p.stamp_ns, cam)
        reset = verdict == "time_jump_reset"
        if reset:
            self.report.flag(
                "time_jump_reset", f"image stamps of frame {p.frame_id!r} jumped back: tracking reset"
            )
        if isinstance(msg, Image):
            reset = self._size_changed(p.frame_id, (int(msg.width), int(msg.height))) or reset
        reset = self._camera_switched(p.frame_id) or reset
        self.reused_info += int(p.reused)
        self._submit_frame(Frame(msg, cam, msg.header, p.stamp_ns, reset))

    def _camera_switched(self, frame: str) -> bool:
        """True (tracking reset) when this frame comes from another camera than the previous one: the
        tracker and the smoothers follow one camera's hands (tracks of two cameras must not be blended)."""
        previous, self._last_camera = self._last_camera, frame
        if previous is None or previous == frame:
            return False
        self.camera_switches += 1
        self.report.log_throttled(
            "camera_switch", "warning",
            f"images of several cameras on one topic ({previous!r} -> {frame!r}): tracking resets at each "
            "switch; run one node per camera",
        )
        return True

    def _size_changed(self, frame: str, size: tuple[int, int]) -> bool:
        """Record the camera's image size; True (tracking reset) when it differs from its previous one."""
        old = self._sizes.get(frame)
        self._sizes[frame] = size
        if old is None or old == size:
            return False
        self.resolution_changes += 1
        self._node.get_logger().info(
            f"frame {frame!r}: resolution {old[0]}x{old[1]} -> {size[0]}x{size[1]}: tracking reset"
        )
        return True
