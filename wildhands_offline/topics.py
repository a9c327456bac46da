"""The topics :func:`wildhands_offline.process.process_bag` reads, picked from a bag's connections by name
or, when not named, by message type (a ``ValueError`` names the candidates when the choice is ambiguous)."""

from __future__ import annotations

from rosbags.rosbag2 import Reader

from wildhands_offline.types import CAMERA_INFO, COMPRESSED_IMAGE, HAND_BOX_ARRAY, IMAGE


def pick_image(reader: Reader, topic: str | None):
    """The image connection of ``topic``, else (None) the bag's only Image/CompressedImage topic."""
    by_topic = {c.topic: c for c in reader.connections}
    if topic is None:
        images = [c for c in reader.connections if c.msgtype in (IMAGE, COMPRESSED_IMAGE)]
        if len(images) != 1:
            raise ValueError(
                f"{len(images)} image topics in the bag ({[c.topic for c in images]}); "
                "choose one (--image-topic)"
            )
        return images[0]
    if topic not in by_topic:
        raise ValueError(f"image topic {topic!r} not in the bag; topics: {sorted(by_topic)}")
    image = by_topic[topic]
    if image.msgtype not in (IMAGE, COMPRESSED_IMAGE):
        raise ValueError(f"{topic} has type {image.msgtype}, not an image")
    return image


def pick_info(reader: Reader, topic: str | None, image_topic: str):
    """The CameraInfo connection of ``topic``, else (None) ``<image namespace>/camera_info``, else the
    bag's only CameraInfo topic; None when the bag has none."""
    by_topic = {c.topic: c for c in reader.connections}
    if topic is not None:
        if topic not in by_topic or by_topic[topic].msgtype != CAMERA_INFO:
            raise ValueError(f"CameraInfo topic {topic!r} not in the bag")
        return by_topic[topic]
    infos = [c for c in reader.connections if c.msgtype == CAMERA_INFO]
    ns = image_topic.removesuffix("/compressed").rsplit("/", 1)[0]
    same_ns = [c for c in infos if c.topic == f"{ns}/camera_info"]
    if same_ns:
        return same_ns[0]
    if len(infos) > 1:
        raise ValueError(
            f"{len(infos)} CameraInfo topics ({[c.topic for c in infos]}); choose one (--info-topic)")
    return infos[0] if infos else None


def pick_boxes(reader: Reader, topic: str | None):
    """The recorded HandBoxArray connection of ``topic`` (None when ``topic`` is None)."""
    if topic is None:
        return None
    by_topic = {c.topic: c for c in reader.connections}
    if topic not in by_topic or by_topic[topic].msgtype != HAND_BOX_ARRAY:
        raise ValueError(f"boxes topic {topic!r} ({HAND_BOX_ARRAY}) not in the bag")
    return by_topic[topic]
