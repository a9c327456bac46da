"""The layout this project ASSUMED before issue #17 (kept to check that the adapter now rejects it):
writes a tiny Ego4D hand/grasp split ("train", 2 images of 64x48) in the assumed COCO-style layout of
``training.datasets.ego4d_grasp``."""

from __future__ import annotations

import json
from pathlib import Path

from fixtures_common import write_image


def write_ego4d_grasp(root: Path, extra_annotations: list[dict] | None = None) -> dict:
    """Image 1: right hand "Pow-Pris" (polygon x 10..20, y 5..15, no bbox) and left hand "Later" (bbox
    given); image 2: right hand with ``grasp_type`` null and one with "None"."""
    square = [10, 5, 20, 5, 20, 15, 10, 15]
    anns = [
        {"id": 1, "image_id": 1, "hand_side": "right", "segmentation": [square], "grasp_type": "Pow-Pris"},
        {
            "id": 2,
            "image_id": 1,
            "hand_side": "left",
            "segmentation": [[30, 30, 40, 30, 35, 40]],
            "bbox": [29.0, 29.0, 12.0, 12.0],
            "grasp_type": "Later",
        },
        {"id": 3, "image_id": 2, "hand_side": "right", "segmentation": [square], "grasp_type": None},
        {"id": 4, "image_id": 2, "hand_side": "right", "segmentation": [square], "grasp_type": "None"},
    ]
    anns += extra_annotations or []
    images = [
        {"id": i, "file_name": f"ego4d/clip_{i}/frame_{i:04d}.jpg", "width": 64, "height": 48} for i in (1, 2)
    ]
    for img in images:
        write_image(root / "images" / img["file_name"], 64, 48, (120, 60, 30))
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / "train.json").write_text(json.dumps({"images": images, "annotations": anns}))
    return {"annotations": anns}
