"""wildhands_core: the ROS-free heart of wildhands (model, KPE, camera geometry, MANO, inference,
detection, tracking, smoothing). Never imports rclpy."""

__version__ = "0.1.0"
