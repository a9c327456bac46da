"""Writes a tiny VISOR sparse split ("train", video P01_01, 2 frames, 64x36 JPEGs = 1920x1080 / 30) in the
layout of ``training.datasets.epic_visor``."""

from __future__ import annotations

import json
from pathlib import Path

from fixtures_common import write_image

VISOR_W, VISOR_H = 64, 36  # 1920x1080 scaled by 1/30

#: "left hand" of frame 140 in 1920x1080 coordinates: the rectangle x 300..900, y 300..750 → pixels 10..30,
#: 10..25 of the 64x36 image.
LEFT_RECT = [[300, 300], [900, 300], [900, 750], [300, 750]]
#: "right hand": two polygons (x 1200..1500, y 150..450 and x 1560..1650, y 600..690) → 40..50 × 5..15 and
#: 52..55 × 20..23.
RIGHT_POLYS = [
    [[1200, 150], [1500, 150], [1500, 450], [1200, 450]],
    [[1560, 600], [1650, 600], [1650, 690], [1560, 690]],
]


def write_epic_visor(root: Path) -> dict:
    """Frame 140: left hand, right hand (two polygons), a knife, a glove; frame 250: right hand only."""
    frames = [
        (
            "P01_01_frame_0000000140.jpg",
            [
                {
                    "id": "a",
                    "name": "left hand",
                    "class_id": 300,
                    "segments": [LEFT_RECT],
                    "in_contact_object": "b",
                },
                {"id": "b", "name": "knife", "class_id": 5, "segments": [[[0, 0], [100, 0], [100, 100]]]},
                {
                    "id": "c",
                    "name": "right hand",
                    "class_id": 301,
                    "segments": RIGHT_POLYS,
                    "in_contact_object": "hand-not-in-contact",
                },
                {"id": "d", "name": "left glove", "class_id": 60, "segments": [LEFT_RECT]},
            ],
        ),
        (
            "P01_01_frame_0000000250.jpg",
            [
                {"id": "e", "name": "right hand", "class_id": 301, "segments": [LEFT_RECT]},
            ],
        ),
    ]
    entries = []
    for name, anns in frames:
        entries.append(
            {
                "image": {
                    "name": name,
                    "video": "P01_01",
                    "subsequence": "P01_01_seq_00001",
                    "image_path": f"P01_01/Part_001/{name}",
                },
                "annotations": anns,
            }
        )
        write_image(root / "rgb_frames" / "train" / "P01" / "P01_01" / name, VISOR_W, VISOR_H, (0, 255, 0))
    ann_dir = root / "annotations" / "train"
    ann_dir.mkdir(parents=True)
    (ann_dir / "P01_01.json").write_text(json.dumps({"info": {}, "video_annotations": entries}))
    return {"frames": frames}


AUTHORS_FRAME_1 = "EPIC-KITCHENS/P01/rgb_frames/P01_01/P01_01_frame_0000000140.jpg"
AUTHORS_FRAME_2 = "EPIC-KITCHENS/P01/rgb_frames/P01_01/P01_01_frame_0000000250.jpg"


def write_epic_authors(root: Path) -> None:
    """The authors' EPIC files (reference/datasets.md) for 2 frames of 64x36: ``epic_hands/
    grasp_visor_train.pkl`` (boxes, grasp names, None = no grasp), ``visor_pred_masks_train.npz`` (red 255 =
    right, 127 = left; frame 1 only) and ``modal_amodal_annot.pkl`` (frame 1: right unoccluded, left
    occluded)."""
    import pickle

    import numpy as np

    grasp = {
        AUTHORS_FRAME_1: {"right_bbox": [40, 5, 51, 16], "left_bbox": [10, 10, 31, 26],
                          "right_grasp": "Pre-Pris", "left_grasp": None},
        AUTHORS_FRAME_2: {"right_bbox": [0, 0, 8, 8], "left_bbox": None, "right_grasp": "Other",
                          "left_grasp": None},
    }
    m = np.zeros((36, 64, 3), np.uint8)
    m[5:16, 40:51, 0] = 255
    m[10:26, 10:31, 0] = 127
    d = root / "epic_hands"
    d.mkdir(parents=True, exist_ok=True)
    (d / "grasp_visor_train.pkl").write_bytes(pickle.dumps(grasp))
    (d / "modal_amodal_annot.pkl").write_bytes(pickle.dumps({AUTHORS_FRAME_1: {"right": 1, "left": 0}}))
    np.savez(d / "visor_pred_masks_train.npz", **{AUTHORS_FRAME_1: m})
    for name in (AUTHORS_FRAME_1, AUTHORS_FRAME_2):
        write_image(root / name, VISOR_W, VISOR_H, (9, 9, 9))
