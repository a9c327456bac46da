"""The hands node: Image (+ CameraInfo, + external boxes) in; HandArray, TF, markers, diagnostics out.

A managed (lifecycle) node, as yolo_ros and Nav2's: *unconfigured* after construction (parameters declared
and validated); **configure** loads the model, warms it up and creates the publishers and /diagnostics;
**activate** subscribes and starts the inference worker; **deactivate** unsubscribes and stops the worker;
**cleanup** frees the model and the publishers. ``lifecycle.autostart`` (default true) configures and
activates at start-up, so a plain ``ros2 launch`` / ``ros2 run`` just works.

Threads: subscription callbacks (one executor thread) only check metadata, pair images with CameraInfo
(``pairing.FramePairer``) and put the frame in the one-slot mailbox of ``worker.LatestFrameWorker``; they
never wait for inference. The worker thread decodes (a zero-copy view for rgb8), undistorts (cached remap
maps, when the CameraInfo has non-zero D and ``input.use_rectified`` is false), runs
``wildhands_core.pipeline.HandPipeline.process`` and publishes. When images arrive faster than inference,
the newest frame wins and each replaced frame is counted (diagnostics ``frames_dropped``).

Outputs (header = the input image's header: its stamp and camera optical frame, never "now"):
``~/hands`` (wildhands_ros/HandArray), ``/tf`` (optical frame -> ``<prefix>{left,right}_wrist``, optionally
-> fingertips), ``~/markers`` (visualization_msgs/MarkerArray), ``/diagnostics``, ``~/debug_image``.
Every rejected input is counted by reason, every flagged one (kept, but suspicious) too; both are reported
on /diagnostics and logged at most once per ``LOG_PERIOD_S`` per reason.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
from rclpy.clock import Clock, ClockType
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.qos import QoSDurabilityPolicy, QoSHistoryPolicy, QoSProfile, QoSReliabilityPolicy
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from std_msgs.msg import Header
from visualization_msgs.msg import MarkerArray

from wildhands_core.detection.base import HandDetection
from wildhands_core.estimate import HandEstimate
from wildhands_core.pipeline import Estimator, HandPipeline
from wildhands_core.undistortion import Undistorter, needs_undistortion, undistort_box_xyxy
from wildhands_ros import conversions as conv
from wildhands_ros import params
from wildhands_ros.diagnostics import NodeStats, stats_to_diagnostics
from wildhands_ros.gripper_targets import GripperTargetOutput
from wildhands_ros.headers import StampOrder, check_stamp, latency_is_meaningful, resolve_frame_id
from wildhands_ros.message_loss import SequenceGapCounter
from wildhands_ros.msg import HandArray, HandBoxArray
from wildhands_ros.pairing import Dropped, FramePairer, Paired
from wildhands_ros.worker import LatestFrameWorker

LOG_PERIOD_S = 5.0
#: QoS tf2_ros's TransformBroadcaster uses on /tf.
TF_QOS = QoSProfile(
    depth=100,
    reliability=QoSReliabilityPolicy.RELIABLE,
    durability=QoSDurabilityPolicy.VOLATILE,
    history=QoSHistoryPolicy.KEEP_LAST,
)
#: Messages of the drop reasons of ``pairing.FramePairer``.
_PAIRING_WHY = {
    "camera_info_missing": "its camera never sent a usable CameraInfo",
    "camera_info_timeout": "its CameraInfo did not arrive within input.camera_info_wait_s",
    "camera_info_overflow": "more than input.pairing_buffer images of its camera were waiting",
    "camera_info_superseded": "a newer CameraInfo arrived first and reuse_camera_info is off",
}


@dataclass
class Frame:
    """One paired frame waiting for (or in) inference."""

    msg: Any  # sensor_msgs/Image or CompressedImage
    K_px: np.ndarray | None  # None for compressed images until decoded (size unknown)
    info: CameraInfo
    header: Header
    stamp_ns: int
    received_ns: int  # steady clock, ns
    reset_tracking: bool = False


def build_estimator(settings: params.NodeSettings) -> Estimator:
    """The project's HandPoseEstimator from the ``model.*`` parameters."""
    from wildhands_core.estimator import EstimatorConfig, HandPoseEstimator

    ckpt = settings["model.checkpoint"] or None
    cfg = EstimatorConfig(
        checkpoint=ckpt,
        mano_dir=settings["model.mano_dir"] or None,
        backend=settings["model.backend"],
        onnx_path=settings["model.onnx_path"] or None,
        device=settings["model.device"],
        threads=int(settings["model.threads"]),
        crop_scale=float(settings["model.crop_scale"]),
        max_hands=int(settings["model.max_hands"]),
        return_vertices=bool(settings["model.publish_mesh"]),
        allow_random_weights=ckpt is None,
    )
    return HandPoseEstimator(cfg)


def _with_message_info(callback):
    """A two-argument subscription callback (msg, MessageInfo) where rclpy offers it (Iron and later),
    else ``callback`` itself (called with the message only)."""
    from rclpy.subscription import Subscription

    if not hasattr(Subscription, "CallbackType"):
        return callback
    return lambda msg, msg_info: callback(msg, msg_info)


class HandsNode(LifecycleNode):
    """See the module docstring. ``estimator`` may be given (benchmarks); else built from parameters at
    configure.

    Raises ``params.ParameterError`` (naming the parameter) when the configuration is invalid, and
    ``RuntimeError`` when ``lifecycle.autostart`` is set and configure or activate fails.
    """

    def __init__(self, node_name: str = "hands", estimator: Estimator | None = None, **kwargs) -> None:
        super().__init__(node_name, **kwargs)
        self.settings = params.load(self)
        s = self.settings
        if estimator is None and not s["model.checkpoint"] and not s["model.allow_random_weights"]:
            raise params.ParameterError(
                "model.checkpoint", "is empty: set a checkpoint file (or model.allow_random_weights)"
            )
        self._given_estimator = estimator
        self.estimator: Estimator | None = None
        self.pipeline: HandPipeline | None = None
        self.worker: LatestFrameWorker | None = None
        self.stats = NodeStats(int(s["diagnostics.window"]))
        self._log_times: dict[str, float] = {}
        self._steady = Clock(clock_type=ClockType.STEADY_TIME)
        self.pairer = FramePairer(
            int(s["input.pairing_buffer"]),
            bool(s["input.reuse_camera_info"]),
            round(float(s["input.camera_info_wait_s"]) * 1e9),
        )
        self._order = StampOrder(round(float(s["input.reset_on_jump_back_s"]) * 1e9))
        self._sizes: dict[str, tuple[int, int]] = {}
        self._undistorter = Undistorter()
        self._gaps = SequenceGapCounter()
        self._pending_boxes: OrderedDict[tuple[str, int], list[HandDetection]] = OrderedDict()
        self.reused_info = 0
        self.default_frame_used = 0
        self.resolution_changes = 0
        self._stopping = False
        self._subs: list = []
        self._timers: list = []
        self._transition_error: BaseException | None = None
        self._state = "unconfigured"
        self.add_on_set_parameters_callback(self._on_set_parameters)
        if s["lifecycle.autostart"]:
            self.autostart()

    def autostart(self) -> None:
        """configure + activate; raises RuntimeError (with the cause) when either fails."""
        for name, trigger in (("configure", self.trigger_configure), ("activate", self.trigger_activate)):
            if trigger() != TransitionCallbackReturn.SUCCESS:
                raise RuntimeError(f"{name} failed: {self._transition_error}") from self._transition_error

    # --------------------------------------------------------------------------------- lifecycle
    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        s = self.settings
        try:
            estimator = self._given_estimator
            if estimator is None:
                if not s["model.checkpoint"]:
                    self.get_logger().warning(
                        "model.checkpoint is empty: RANDOM network weights, outputs are "
                        "meaningless (testing only)"
                    )
                estimator = build_estimator(s)
            self.estimator = estimator
            self.backend_name = str(getattr(estimator, "backend_name", "unknown"))
            self.pipeline = HandPipeline(estimator, s.pipeline_config())
            for source, why in self.pipeline.skipped_sources.items():
                self.get_logger().warning(f"detector source '{source}' skipped: {why}")
            if not self.pipeline.active_sources:
                self.get_logger().error("no detector source is available: no hand will ever be found")
            self._faces = self._mesh_faces() if s["model.publish_mesh"] else None
            t_warm = time.perf_counter()
            self.pipeline.warmup()
            self.get_logger().info(f"warm-up: {1e3 * (time.perf_counter() - t_warm):.0f} ms")
            self._create_outputs()
        except Exception as exc:
            self._transition_error = exc
            self.get_logger().error(f"configure failed: {type(exc).__name__}: {exc}")
            self._free()
            return TransitionCallbackReturn.FAILURE
        self._state = "inactive"
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stopping = False
        self.worker = LatestFrameWorker(
            self._process, on_error=self._on_worker_error, on_drop=lambda _f: self.stats.on_dropped()
        )
        try:
            self._create_inputs()
        except Exception as exc:
            self._transition_error = exc
            self.get_logger().error(f"activate failed: {type(exc).__name__}: {exc}")
            self._stop_inputs()
            return TransitionCallbackReturn.FAILURE
        self._state = "active"
        s = self.settings
        self.get_logger().info(
            f"active: backend {self.backend_name}, detector sources {self.pipeline.active_sources}, "
            f"image topic {self.resolve_topic_name(s['topics.image'])}, "
            f"MANO {getattr(self.estimator, 'mano_source', 'unknown')}"
        )
        return super().on_activate(state)

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_inputs()
        self._state = "inactive"
        return super().on_deactivate(state)

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._free()
        self._state = "unconfigured"
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_inputs()
        self._free()
        self._state = "finalized"
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_inputs()
        self._free()
        self._state = "unconfigured"
        return TransitionCallbackReturn.SUCCESS

    def _stop_inputs(self) -> None:
        """Unsubscribe, stop the worker (after the frame in progress, whose outputs are not published)
        and forget waiting images."""
        self._stopping = True
        for sub in self._subs:
            self.destroy_subscription(sub)
        for t in self._timers:
            self.destroy_timer(t)
        self._subs, self._timers = [], []
        if self.worker is not None:
            self.worker.stop(timeout_s=0.5)
            self.worker = None
        self.pairer.clear()
        self._pending_boxes.clear()
        self._order.clear()
        self._sizes.clear()

    def _free(self) -> None:
        for pub in getattr(self, "_lifecycle_pubs", []):
            self.destroy_lifecycle_publisher(pub)
        for pub in getattr(self, "_plain_pubs", []):
            self.destroy_publisher(pub)
        diag_timer = getattr(self, "_diag_timer", None)
        if diag_timer is not None:
            self.destroy_timer(diag_timer)
        self._diag_timer = None
        self._lifecycle_pubs, self._plain_pubs = [], []
        self.hands_pub = self.markers_pub = self.raw_pub = self.debug_pub = self.diag_pub = None
        self._tf_send = None
        if getattr(self, "gripper_out", None) is not None:
            self.gripper_out.destroy()
        self.gripper_out = None
        self.pipeline = None
        self.estimator = None
        self._undistorter.clear()

    # ------------------------------------------------------------------------------------ set-up
    def _create_outputs(self) -> None:
        """Every publisher of the node (one place): lifecycle publishers for the per-frame outputs (they
        publish only while active), a plain one for /diagnostics (reported in every configured state)."""
        from diagnostic_msgs.msg import DiagnosticArray

        s = self.settings
        self._lifecycle_pubs, self._plain_pubs = [], []

        def out(msg_type, topic: str, depth: int):
            pub = self.create_lifecycle_publisher(msg_type, topic, depth)
            self._lifecycle_pubs.append(pub)
            return pub

        self.hands_pub = out(HandArray, "~/hands", 10)
        self.markers_pub = out(MarkerArray, "~/markers", 5) if s["output.markers"] else None
        self.raw_pub = out(HandArray, "~/hands_raw", 10) if s["output.publish_raw"] else None
        self.debug_pub = out(Image, "~/debug_image", 2) if s["output.debug_image"] else None
        self._tf_send = self._make_tf_sender() if s["tf.publish"] else None
        self.gripper_out = GripperTargetOutput.create(self, s, make_publisher=out)
        self.diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._plain_pubs.append(self.diag_pub)
        self._diag_timer = self.create_timer(
            float(s["diagnostics.period_s"]), self._publish_diagnostics, clock=self._steady
        )

    def _create_inputs(self) -> None:
        from rclpy.event_handler import SubscriptionEventCallbacks

        s = self.settings
        reliability = (
            QoSReliabilityPolicy.RELIABLE
            if s["qos.image_reliability"] == "reliable"
            else QoSReliabilityPolicy.BEST_EFFORT
        )
        image_qos = QoSProfile(
            depth=int(s["qos.image_depth"]), reliability=reliability, durability=QoSDurabilityPolicy.VOLATILE
        )
        side_qos = QoSProfile(
            depth=max(int(s["input.pairing_buffer"]), 5),
            reliability=reliability,
            durability=QoSDurabilityPolicy.VOLATILE,
        )
        events = SubscriptionEventCallbacks(
            message_lost=lambda info: self.stats.on_lost(middleware=int(info.total_count_change))
        )
        if s["input.use_compressed"]:
            image_type, topic, cb = CompressedImage, s["topics.compressed_image"], self._on_compressed
        else:
            image_type, topic, cb = Image, s["topics.image"], self._on_image
        try:
            sub = self.create_subscription(
                image_type, topic, _with_message_info(cb), image_qos, event_callbacks=events
            )
        except Exception as exc:  # the middleware offers no message-lost event
            self.get_logger().info(f"message-lost event unavailable ({exc}); sequence gaps still counted")
            sub = self.create_subscription(image_type, topic, _with_message_info(cb), image_qos)
        self._subs.append(sub)
        self._subs.append(
            self.create_subscription(CameraInfo, s["topics.camera_info"], self._on_info, side_qos)
        )
        if self.pipeline.external is not None:
            self._subs.append(
                self.create_subscription(HandBoxArray, s["topics.boxes"], self._on_boxes, side_qos)
            )
            if s["topics.detections"]:
                self._subscribe_vision_msgs(s["topics.detections"], side_qos)
        period = min(max(float(s["input.camera_info_wait_s"]) / 4, 0.01), 0.1)
        self._timers.append(self.create_timer(period, self._expire_waiting, clock=self._steady))

    def _make_tf_sender(self):
        try:
            from tf2_ros import TransformBroadcaster

            broadcaster = TransformBroadcaster(self)
            if getattr(broadcaster, "pub_tf", None) is not None:
                self._plain_pubs.append(broadcaster.pub_tf)
            return broadcaster.sendTransform
        except ImportError:
            pass
        try:
            from tf2_msgs.msg import TFMessage
        except ImportError:
            self.get_logger().warning("neither tf2_ros nor tf2_msgs is importable: TF is not published")
            return None
        pub = self.create_publisher(TFMessage, "/tf", TF_QOS)
        self._plain_pubs.append(pub)
        return lambda transforms: pub.publish(TFMessage(transforms=list(transforms)))

    def _subscribe_vision_msgs(self, topic: str, qos: QoSProfile) -> None:
        try:
            from vision_msgs.msg import Detection2DArray
        except ImportError:
            self.get_logger().warning(f"topics.detections={topic!r} ignored: vision_msgs is not importable")
            return

        def on_detections(msg) -> None:
            self._set_boxes(msg.header, conv.detection2d_array_to_detections(msg))

        self._subs.append(self.create_subscription(Detection2DArray, topic, on_detections, qos))

    def _mesh_faces(self) -> np.ndarray | None:
        mano = getattr(getattr(self.estimator, "model", None), "mano_r", None)
        faces = getattr(mano, "faces", None)
        return None if faces is None else np.asarray(faces.cpu() if hasattr(faces, "cpu") else faces)

    def _on_set_parameters(self, ps):
        apply = self.pipeline.update_smoothing if self.pipeline is not None else (lambda _s: None)
        return params.on_set_parameters(self.settings, ps, apply)

    # --------------------------------------------------------------------------------- reporting
    def _log_throttled(self, key: str, level: str, message: str) -> None:
        now = time.monotonic()
        if now - self._log_times.get(key, -1e9) >= LOG_PERIOD_S:
            self._log_times[key] = now
            # one call site per severity: rclpy refuses a severity change at a call site
            if level == "error":
                self.get_logger().error(message)
            elif level == "warning":
                self.get_logger().warning(message)
            else:
                self.get_logger().info(message)

    def _reject(self, reason: str, message: str) -> None:
        self.stats.on_rejected(reason, message)
        self._log_throttled(reason, "error", f"input rejected ({reason}): {message}")

    def _flag(self, reason: str, message: str) -> None:
        self.stats.on_flagged(reason, message)
        self._log_throttled(reason, "warning", f"{reason}: {message}")

    def _on_worker_error(self, frame: Frame, exc: BaseException) -> None:
        if self._stopping:
            return  # the context may be going away: outputs of the last frame are dropped quietly
        if isinstance(exc, conv.InputError):
            self._reject(exc.reason, str(exc))
        else:
            self.stats.on_failed()
            self._reject("processing_error", f"{type(exc).__name__}: {exc}")

    # ---------------------------------------------------------------------------------- callbacks
    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _frame_id(self, msg, what: str) -> str | None:
        """The message's camera frame (``input.default_frame_id`` when empty), or None (rejected)."""
        frame, fallback = resolve_frame_id(msg.header.frame_id, self.settings["input.default_frame_id"])
        if frame is None:
            self._reject(
                "frame_id_empty",
                f"{what} with an empty header.frame_id (TF needs a parent frame); set "
                "input.default_frame_id to use a fixed frame",
            )
            return None
        if fallback:
            msg.header.frame_id = frame
            self.default_frame_used += 1
            self._log_throttled(
                "frame_id_default", "warning", f"{what} with an empty frame_id: using {frame!r}"
            )
        return frame

    def _on_info(self, msg: CameraInfo) -> None:
        frame = self._frame_id(msg, "CameraInfo")
        if frame is None:
            return
        rectified = bool(self.settings["input.use_rectified"])
        try:
            conv.camera_info_to_K(msg, None, rectified)
            conv.camera_info_distortion(msg, rectified)
        except conv.InputError as exc:
            self._reject(exc.reason, f"{exc} (frame {frame!r})")
            return
        size = _info_size(msg)
        self._release_boxes(frame, conv.stamp_to_ns(msg.header.stamp), msg)
        self._handle(
            self.pairer.add_info(frame, conv.stamp_to_ns(msg.header.stamp), msg, size, self._recv_ns())
        )

    def _on_image(self, msg: Image, msg_info: dict | None = None) -> None:
        self._received(msg_info)
        try:
            conv.check_image(msg)
            conv.check_image_size(msg.width, msg.height, int(self.settings["input.max_image_pixels"]))
        except conv.InputError as exc:
            self._reject(exc.reason, f"{exc} (frame {msg.header.frame_id!r})")
            return
        self._pair(msg, (int(msg.width), int(msg.height)))

    def _on_compressed(self, msg: CompressedImage, msg_info: dict | None = None) -> None:
        self._received(msg_info)
        if len(msg.data) == 0:
            self._reject("empty_image", f"empty compressed image (frame {msg.header.frame_id!r})")
            return
        self._pair(msg, None)

    def _received(self, msg_info: dict | None) -> None:
        self.stats.on_received()
        if msg_info:
            gid = msg_info.get("publisher_gid") or {}
            key = tuple(gid.get("data", ())) if isinstance(gid, dict) else gid
            gap = self._gaps.on_message(key, msg_info.get("publication_sequence_number"))
            if gap:
                self.stats.on_lost(sequence_gaps=gap)

    def _on_boxes(self, msg: HandBoxArray) -> None:
        try:
            dets = conv.hand_boxes_to_detections(msg)
        except conv.InputError as exc:
            self._reject(exc.reason, str(exc))
            return
        self._set_boxes(msg.header, dets)

    def _set_boxes(self, header: Header, dets: list[HandDetection]) -> None:
        """External boxes are drawn on the camera's raw image: they are undistorted like the image, with
        the CameraInfo of their stamp (boxes that arrive before it wait for it, or for their frame)."""
        frame = header.frame_id or self.settings["input.default_frame_id"]
        stamp_ns = conv.stamp_to_ns(header.stamp)
        info = self.pairer.info_at(frame, stamp_ns)
        last = self._order.last(frame)
        if info is None and last is not None and last >= stamp_ns:
            info = self.pairer.latest_info(frame)  # its frame is already in the worker
        if info is None:  # given when its CameraInfo arrives or its frame is paired
            self._pending_boxes[(frame, stamp_ns)] = dets
            while len(self._pending_boxes) > 32:
                self._pending_boxes.popitem(last=False)
            return
        self._give_boxes(stamp_ns, dets, info)

    def _undistorts(self) -> bool:
        return not self.settings["input.use_rectified"]

    def _give_boxes(self, stamp_ns: int, dets: list[HandDetection], info: CameraInfo) -> None:
        if self._undistorts() and needs_undistortion(info.d):
            K = conv.camera_info_to_K(info)
            dets = [
                HandDetection(
                    undistort_box_xyxy(d.box_xyxy_px, K, info.distortion_model, info.d),
                    d.is_right,
                    d.score,
                    d.source,
                )
                for d in dets
            ]
        if self.pipeline is not None:
            self.pipeline.set_external_boxes(stamp_ns, dets)

    def _release_boxes(self, frame: str, stamp_ns: int, info: CameraInfo) -> None:
        dets = self._pending_boxes.pop((frame, stamp_ns), None)
        if dets is not None:
            self._give_boxes(stamp_ns, dets, info)

    def _recv_ns(self) -> int:
        return self._steady.now().nanoseconds

    def _pair(self, msg, size: tuple[int, int] | None) -> None:
        frame = self._frame_id(msg, "image")
        if frame is None:
            return
        stamp_ns = conv.stamp_to_ns(msg.header.stamp)
        bad = check_stamp(
            stamp_ns, self._now_ns(), round(float(self.settings["input.max_stamp_future_s"]) * 1e9)
        )
        if bad is not None:
            ahead = (stamp_ns - self._now_ns()) / 1e9
            what = "zero (not stamped)" if bad == "stamp_zero" else f"{ahead:.3f} s ahead of the node's clock"
            self._reject(bad, f"image stamp {stamp_ns / 1e9:.6f} s is {what} (frame {frame!r})")
            return
        self._handle(self.pairer.add_image(frame, stamp_ns, msg, size, self._recv_ns()))

    def _expire_waiting(self) -> None:
        self._handle(self.pairer.expire(self._recv_ns()))

    def _handle(self, results: list[Paired | Dropped]) -> None:
        for r in results:
            if isinstance(r, Dropped):
                self._reject(
                    r.reason,
                    f"image of frame {r.frame_id!r} stamped {r.stamp_ns / 1e9:.6f} s dropped: "
                    + _PAIRING_WHY.get(r.reason, r.reason),
                )
            else:
                self._submit(r)

    def _submit(self, p: Paired) -> None:
        msg, info = p.image, p.info
        K = None
        if isinstance(msg, Image):
            try:
                K = conv.camera_info_to_K(
                    info, (msg.width, msg.height), bool(self.settings["input.use_rectified"])
                )
            except conv.InputError as exc:
                self._reject(exc.reason, f"{exc} (frame {p.frame_id!r})")
                return
        verdict = self._order.check(p.frame_id, p.stamp_ns)
        if verdict in ("duplicate_stamp", "stamp_backwards"):
            last = self._order.last(p.frame_id) or p.stamp_ns
            self._reject(
                verdict,
                f"image stamp {p.stamp_ns / 1e9:.6f} s is not newer than the camera's previous "
                f"{last / 1e9:.6f} s (frame {p.frame_id!r})",
            )
            return
        self._release_boxes(p.frame_id, p.stamp_ns, info)
        reset = verdict == "time_jump_reset"
        if reset:
            self._flag("time_jump_reset", f"image stamps of frame {p.frame_id!r} jumped back: tracking reset")
        if isinstance(msg, Image):
            size = (int(msg.width), int(msg.height))
            old = self._sizes.get(p.frame_id)
            if old is not None and old != size:
                reset = True
                self.resolution_changes += 1
                self.get_logger().info(
                    f"frame {p.frame_id!r}: resolution {old[0]}x{old[1]} -> {size[0]}x{size[1]}: "
                    "tracking reset"
                )
            self._sizes[p.frame_id] = size
        self.reused_info += int(p.reused)
        worker = self.worker
        if worker is not None:
            worker.submit(Frame(msg, K, info, msg.header, p.stamp_ns, self._recv_ns(), reset))

    # ------------------------------------------------------------------------------------- worker
    def _process(self, f: Frame) -> None:
        t0 = time.perf_counter()
        rectified = bool(self.settings["input.use_rectified"])
        if isinstance(f.msg, CompressedImage):
            image = conv.compressed_to_rgb(f.msg)
            conv.check_image_size(
                image.shape[1], image.shape[0], int(self.settings["input.max_image_pixels"])
            )
            K = conv.camera_info_to_K(f.info, (image.shape[1], image.shape[0]), rectified)
        else:
            image, K = conv.image_to_rgb(f.msg), f.K_px
        model, D = conv.camera_info_distortion(f.info, rectified)
        image = self._undistorter.undistort(f.header.frame_id, image, K, model, D)
        pipeline = self.pipeline
        if pipeline is None or self._stopping:
            return
        if f.reset_tracking:
            pipeline.reset()
        estimates = pipeline.process(image, K, f.stamp_ns)
        model_s = pipeline.last_timing.estimate_s + pipeline.last_timing.detect_s
        if self._stopping:
            return  # shutting down: the publishers (or the context) may already be gone
        published = self._publish(f, image, estimates)
        now_ns = self._now_ns()
        latency_ms = (now_ns - f.stamp_ns) / 1e6
        if not latency_is_meaningful(
            f.stamp_ns, now_ns, round(float(self.settings["input.max_stamp_age_s"]) * 1e9)
        ):
            self._flag(
                "stamp_old",
                f"image stamp {f.stamp_ns / 1e9:.3f} s is {latency_ms / 1e3:.1f} s behind the node's clock "
                "(bag without use_sim_time?): left out of the latency statistics",
            )
            latency_ms = None
        self.stats.on_processed(latency_ms, (time.perf_counter() - t0) * 1e3, model_s * 1e3, published)

    def _publish(self, f: Frame, image: np.ndarray, estimates: list[HandEstimate]) -> bool:
        s = self.settings
        if not estimates and not s["output.publish_empty"]:
            return False
        header = Header(stamp=f.header.stamp, frame_id=f.header.frame_id)
        latency_ms = (self._now_ns() - f.stamp_ns) / 1e6
        size = (image.shape[1], image.shape[0])
        msg = conv.estimates_to_hand_array(
            estimates, header, size, latency_ms, with_vertices=bool(s["model.publish_mesh"])
        )
        self.hands_pub.publish(msg)
        if self.raw_pub is not None:
            self.raw_pub.publish(
                conv.estimates_to_hand_array(self.pipeline.last_raw, header, size, latency_ms)
            )
        if self._tf_send is not None and estimates:
            self._tf_send(
                conv.estimates_to_transforms(
                    estimates, header, s["tf.frame_prefix"], bool(s["tf.fingertips"])
                )
            )
        if self.gripper_out is not None:
            self.gripper_out.publish(estimates, header)
        if self.markers_pub is not None:
            self.markers_pub.publish(conv.estimates_to_markers(estimates, header, self._faces))
        if self.debug_pub is not None:
            self.debug_pub.publish(conv.rgb_to_image_msg(conv.draw_hands(image, estimates), header))
        return True

    # -------------------------------------------------------------------------------- diagnostics
    def _publish_diagnostics(self) -> None:
        if self.diag_pub is None or self.pipeline is None:
            return
        snap = self.stats.snapshot()
        header = Header(stamp=self.get_clock().now().to_msg())
        extra = {
            "lifecycle_state": self._state,
            "detector_sources": ",".join(self.pipeline.active_sources),
            "camera_info_reused": str(self.reused_info),
            "waiting_for_camera_info": str(self.pairer.waiting),
            "undistortion_map_builds": str(self._undistorter.builds),
            "frames_with_default_frame_id": str(self.default_frame_used),
            "resolution_changes": str(self.resolution_changes),
            "mano_model": str(getattr(self.estimator, "mano_source", "unknown")),
        }
        for source, why in self.pipeline.skipped_sources.items():
            extra[f"detector_skipped.{source}"] = why
        self.diag_pub.publish(
            stats_to_diagnostics(
                snap,
                header,
                f"{self.get_name()}: hand pose",
                f"wildhands/{self.backend_name}",
                self.backend_name,
                extra,
                inactive=self._state != "active",
            )
        )

    def stop(self) -> None:
        """Stop taking frames and let the worker finish (its last outputs are not published): call before
        the context shuts down, so nothing publishes on a dead context."""
        self._stop_inputs()

    def destroy_node(self) -> None:
        if hasattr(self, "pairer"):  # absent when __init__ failed (invalid parameters)
            self._stop_inputs()
        super().destroy_node()


def _info_size(info: CameraInfo) -> tuple[int, int] | None:
    """(W, H) of the images a CameraInfo describes (ROI, binning), or None when it gives no size."""
    bx, by = max(int(info.binning_x), 1), max(int(info.binning_y), 1)
    w = int(info.roi.width) or int(info.width)
    h = int(info.roi.height) or int(info.height)
    if not w or not h:
        return None
    return (w // bx, h // by)


def spin(node: HandsNode, stop: threading.Event | None = None) -> None:
    """Spin ``node`` until ``stop`` is set or the context shuts down (polling every 0.1 s, so a signal
    handler that sets ``stop`` is honoured at once)."""
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor

    try:
        executor = SingleThreadedExecutor(context=node.context)
    except Exception:
        if not node.context.ok():
            return  # shut down during start-up
        raise
    executor.add_node(node)
    try:
        while node.context.ok() and not (stop is not None and stop.is_set()):
            executor.spin_once(timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        executor.shutdown(timeout_sec=0.5)


__all__ = ["Frame", "HandsNode", "build_estimator", "spin"]
