"""Where the project's shipped demo checkpoints are (``models/demo``: estimator + learned detector)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def default_model_dir() -> Path:
    """The demo checkpoints: $WILDHANDS_DEMO_MODEL_DIR, the repository's models/demo, or the ROS share dir."""
    env = os.environ.get("WILDHANDS_DEMO_MODEL_DIR")
    if env:
        return Path(env)
    if (REPO / "models" / "demo").is_dir():
        return REPO / "models" / "demo"
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory("wildhands_ros")) / "models" / "demo"
    except Exception:
        return REPO / "models" / "demo"
