"""QoS of the node's input subscriptions, set the standard ROS 2 way.

Every input subscription (image or compressed image, CameraInfo, external boxes) is created with rclpy's
``QoSOverridingOptions.with_default_policies()``, as image_pipeline's nodes do: it declares the read-only
parameters ``qos_overrides.<resolved topic>.subscription.{history,depth,reliability}``, which a params file
or ``-p`` sets, e.g. for the launch file's default camera::

    qos_overrides:
      /camera/image_raw:
        subscription: {reliability: reliable, depth: 10}

Defaults (when not overridden): images best effort, keep last 1 (a camera stream: only the newest frame
matters; a reliable publisher matches too); CameraInfo and boxes best effort, keep last
``max(input.pairing_buffer, 5)``.

Migration: the former parameters ``qos.image_reliability`` (every input's reliability) and ``qos.image_depth``
(the image's depth) are still read (``params.DEPRECATED``): when set they replace those defaults, a
``qos_overrides`` parameter still wins, and the node warns once (:func:`deprecation_warnings`).
"""

from __future__ import annotations

from typing import Any

from rclpy.qos import QoSDurabilityPolicy, QoSHistoryPolicy, QoSProfile, QoSReliabilityPolicy
from rclpy.qos_overriding_options import QoSOverridingOptions

from wildhands_ros import params

#: Defaults of the image subscription: reliability, history depth.
IMAGE_RELIABILITY = "best_effort"
IMAGE_DEPTH = 1
#: Least history depth of the CameraInfo and box subscriptions (at least ``input.pairing_buffer``).
SIDE_MIN_DEPTH = 5


def override_name(topic: str, policy: str) -> str:
    """The rclpy QoS-override parameter of a subscription of the resolved ``topic``."""
    return f"qos_overrides.{topic}.subscription.{policy}"


def default_profiles(settings: params.NodeSettings) -> tuple[QoSProfile, QoSProfile]:
    """(image, CameraInfo/boxes) profiles before overrides, the deprecated ``qos.*`` applied."""
    reliability_name = settings["qos.image_reliability"] or IMAGE_RELIABILITY
    reliability = (
        QoSReliabilityPolicy.RELIABLE if reliability_name == "reliable" else QoSReliabilityPolicy.BEST_EFFORT
    )
    image = QoSProfile(
        history=QoSHistoryPolicy.KEEP_LAST,
        depth=int(settings["qos.image_depth"] or IMAGE_DEPTH),
        reliability=reliability,
        durability=QoSDurabilityPolicy.VOLATILE,
    )
    side = QoSProfile(
        history=QoSHistoryPolicy.KEEP_LAST,
        depth=max(int(settings["input.pairing_buffer"]), SIDE_MIN_DEPTH),
        reliability=reliability,
        durability=QoSDurabilityPolicy.VOLATILE,
    )
    return image, side


def deprecation_warnings(settings: params.NodeSettings, image_topic: str) -> list[str]:
    """One warning per deprecated ``qos.*`` parameter that is set, naming the parameter that replaces it
    for the resolved ``image_topic``."""
    policy = {"qos.image_reliability": "reliability", "qos.image_depth": "depth"}
    return [
        f"parameter {name} is deprecated (applied for now): set {override_name(image_topic, policy[name])}"
        f"{' (and the same for the CameraInfo and box topics)' if name == 'qos.image_reliability' else ''}"
        " instead, rclpy's standard QoS override parameter"
        for name in params.DEPRECATED
        if settings[name] is not None
    ]


def subscribe(node: Any, msg_type: type, topic: str, callback, qos: QoSProfile, **kwargs: Any):
    """``node.create_subscription`` with QoS override parameters (see the module docstring). A value rclpy
    cannot use (``reliability: sometimes``, ``depth: many``) raises :class:`params.ParameterError` naming
    the parameter."""
    from rclpy.exceptions import ParameterAlreadyDeclaredException, ParameterException

    resolved = node.resolve_topic_name(topic)
    try:
        return node.create_subscription(
            msg_type,
            topic,
            callback,
            qos,
            qos_overriding_options=QoSOverridingOptions.with_default_policies(),
            **kwargs,
        )
    except ParameterAlreadyDeclaredException:
        # an rclpy that does not reuse the parameters of an earlier subscription (re-activation)
        return node.create_subscription(msg_type, topic, callback, _declared(node, resolved, qos), **kwargs)
    except (RuntimeError, ParameterException) as exc:
        if isinstance(exc, RuntimeError) and "QoS override" not in str(exc):
            raise
        policy = next((p for p in ("reliability", "history", "depth") if p in str(exc)), "reliability")
        raise params.ParameterError(override_name(resolved, policy), str(exc)) from exc


def _declared(node: Any, topic: str, qos: QoSProfile) -> QoSProfile:
    """``qos`` with the values of the already declared override parameters of ``topic``."""
    out = QoSProfile(
        history=qos.history, depth=qos.depth, reliability=qos.reliability, durability=qos.durability
    )
    policies = ("history", "depth", "reliability")
    value = {p: node.get_parameter(override_name(topic, p)).value for p in policies}
    out.history = QoSHistoryPolicy[value["history"].upper()]
    out.depth = int(value["depth"])
    out.reliability = QoSReliabilityPolicy[value["reliability"].upper()]
    return out
