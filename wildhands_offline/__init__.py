"""The offline path, ROS-free (no rclpy, no ``wildhands_ros``): recordings -> hands -> datasets.

Three ideas:
- sources: rosbag2 bags, sqlite3 and MCAP, through ``rosbags`` (``process``: images + CameraInfo + boxes;
  ``types``, ``topics``, ``frames``, ``tf_bag``), and video files, cameras, image folders and a LeRobot
  v3.0 dataset's camera video (``sources``); hands bags for the exporters (``hands_bag``);
- the per-frame ``wildhands_core.pipeline.HandPipeline`` (the node's: detector, tracker, estimator,
  smoother), unchanged;
- sinks: a hands bag (``process``, messages from ``messages`` / ``hand_fields``), per-episode ``.npz`` +
  Parquet (``export``, ``wildhands_core.episodes``), a LeRobot v3.0 dataset (``lerobot_export``,
  ``lerobot_writer``, ``lerobot_features``), all written atomically (``atomic``).

Command lines: ``wildhands-bag`` (``cli.bag``), ``wildhands-video`` (``cli.video``), ``wildhands-batch``
(``cli.batch``: many inputs on Ray).
"""
