"""Console commands of wildhands_core (no ROS)."""
