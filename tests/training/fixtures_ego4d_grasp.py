"""Writes tiny copies of the files the authors distribute for Ego4D (reference/datasets.md): ``ego4d_hands/
grasp_ego.pkl`` ({image: {right_bbox, left_bbox (x0, y0, x1, y1 | None), right_grasp, left_grasp
(name | None)}})
and ``ego4d_hands/ego_blur_pred_masks.npz`` (red channel 255 = right, 127 = left), 2 frames of 64x48; and a
Hands23 COCO split as Hands23's converter writes it (integer ``handside`` 0 left / 1 right, integer
``grasptype`` -1..8 with 6 = Exten)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
from fixtures_common import write_image

FRAME_A = "ego4d/v1/frames/clip_a/frame_0001.jpg"
FRAME_B = "ego4d/v1/frames/clip_b/frame_0002.jpg"


def write_ego4d_authors(root: Path) -> dict:
    """Frame A: right hand "Pow-Pris" box (10, 5, 21, 16), left hand "Later"; the predicted mask paints a
    right square x 8..23, y 4..17 (larger than the right box) and a left square x 30..40, y 30..40.
    Frame B: right grasp None (= no grasp), left bbox None (absent); not in the mask archive."""
    data = {
        FRAME_A: {
            "right_bbox": [10, 5, 21, 16],
            "left_bbox": [30, 30, 41, 41],
            "right_grasp": "Pow-Pris",
            "left_grasp": "Later",
        },
        FRAME_B: {"right_bbox": [0, 0, 20, 20], "left_bbox": None, "right_grasp": None, "left_grasp": None},
    }
    (root / "ego4d_hands").mkdir(parents=True)
    with open(root / "ego4d_hands" / "grasp_ego.pkl", "wb") as f:
        pickle.dump(data, f)
    m = np.zeros((48, 64, 3), np.uint8)
    m[4:18, 8:24, 0] = 255
    m[30:41, 30:41, 0] = 127
    np.savez(root / "ego4d_hands" / "ego_blur_pred_masks.npz", **{FRAME_A: m})
    for name in (FRAME_A, FRAME_B):
        write_image(root / name, 64, 48, (120, 60, 30))
    return data


def write_hands23(root: Path, split: str = "val") -> None:
    """One 64x48 image: a right hand grasptype 2 (Pow-Pris), a left hand grasptype 6 (Exten), a hand with
    grasptype -1 (None) and an object (category 2) overlapping the right hand."""
    sq = [10, 5, 20, 5, 20, 15, 10, 15]
    anns = [
        {
            "id": 1,
            "image_id": 0,
            "category_id": 1,
            "bbox": [10, 5, 10, 10],
            "segmentation": [sq],
            "handside": 1,
            "grasptype": 2,
            "isincontact": 3,
        },
        {
            "id": 2,
            "image_id": 0,
            "category_id": 1,
            "bbox": [30, 30, 10, 10],
            "segmentation": [[30, 30, 40, 30, 40, 40, 30, 40]],
            "handside": 0,
            "grasptype": 6,
        },
        {
            "id": 3,
            "image_id": 0,
            "category_id": 1,
            "bbox": [45, 5, 10, 10],
            "segmentation": [[45, 5, 55, 5, 55, 15, 45, 15]],
            "handside": 1,
            "grasptype": -1,
        },
        {
            "id": 4,
            "image_id": 0,
            "category_id": 2,
            "bbox": [15, 5, 15, 10],
            "segmentation": [[15, 5, 30, 5, 30, 15, 15, 15]],
            "handside": -1,
            "grasptype": -1,
        },
    ]
    images = [{"id": 0, "file_name": "EK_0001_P01_frame_0000000140.jpg", "height": 48, "width": 64}]
    write_image(root / split / images[0]["file_name"], 64, 48, (1, 2, 3))
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / f"{split}.json").write_text(
        json.dumps(
            {
                "images": images,
                "annotations": anns,
                "categories": [{"id": 1, "name": "hand"}, {"id": 2, "name": "firstobject"}],
            }
        )
    )
