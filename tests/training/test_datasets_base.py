"""Tests of the shared adapter helpers (joint orders, boxes, masks, readers) and the dataset registry."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fixtures_common import interhand_to_openpose_named, write_image
from fixtures_h2o import write_h2o

from training.datasets import DATASETS, H2ODataset, base, build_dataset
from wildhands_core.constants import JOINT_NAMES, MANO21_TO_OPENPOSE


def test_openpose_to_mano21_inverts_mano21_to_openpose():
    mano = np.arange(21 * 3.0).reshape(21, 3)
    np.testing.assert_array_equal(base.openpose_to_mano21(mano[list(MANO21_TO_OPENPOSE)]), mano)
    op = np.arange(21)
    # OpenPose: 0 wrist, 1-4 thumb, 5-8 index, 9-12 middle, 13-16 ring, 17-20 pinky (base → tip)
    m = base.openpose_to_mano21(op)
    names = dict(zip(JOINT_NAMES, m, strict=True))
    assert (names["wrist"], names["thumb1"], names["thumb_tip"], names["index1"], names["pinky3"]) == (
        0,
        1,
        4,
        5,
        19,
    )
    assert (names["ring1"], names["middle_tip"]) == (13, 12)


def test_interhand_to_mano21_matches_the_named_reference():
    ih = np.random.default_rng(0).normal(size=(21, 3))
    np.testing.assert_array_equal(
        base.interhand_to_mano21(ih)[list(MANO21_TO_OPENPOSE)], interhand_to_openpose_named(ih)
    )
    assert base.interhand_to_mano21(np.arange(21))[JOINT_NAMES.index("wrist")] == 20
    assert base.interhand_to_mano21(np.arange(21))[JOINT_NAMES.index("thumb_tip")] == 0


def test_box_from_keypoints_pads_clips_and_ignores_invalid_points():
    uv = np.array([[10.0, 20.0], [30.0, 60.0], [500.0, 500.0]])
    valid = np.array([True, True, False])
    np.testing.assert_allclose(base.box_from_keypoints(uv, valid), [10, 20, 30, 60])
    np.testing.assert_allclose(base.box_from_keypoints(uv, valid, pad=0.25), [5, 10, 35, 70])
    np.testing.assert_allclose(
        base.box_from_keypoints(uv, valid, pad=0.25, image_wh=(32, 64)), [5, 10, 31, 63]
    )
    assert base.box_from_keypoints(uv, np.zeros(3, dtype=bool)) is None


def test_polygon_mask_and_its_box():
    mask = base.polygons_to_mask([[0, 0, 4, 0, 4, 2, 0, 2]], 5, 6, scale_xy=(0.5, 1.0))
    expected = np.zeros((5, 6), dtype=np.uint8)
    expected[0:3, 0:3] = 1
    np.testing.assert_array_equal(mask, expected)
    np.testing.assert_allclose(base.box_from_mask(mask), [0, 0, 2, 2])
    assert base.box_from_mask(np.zeros((3, 3))) is None


def test_focal_over_width_K_and_in_image():
    K = base.focal_over_width_K(640, 480, 1.0)
    np.testing.assert_allclose(K, [[640, 0, 319.5], [0, 640, 239.5], [0, 0, 1]])
    np.testing.assert_array_equal(
        base.in_image(np.array([[0, 0], [639, 479], [639.5, 0], [np.nan, 1]]), 640, 480),
        [True, True, False, False],
    )


def test_load_rgb_returns_rgb_and_names_missing_or_corrupt_files(tmp_path):
    write_image(tmp_path / "a.png", 4, 3, (255, 0, 0))
    img = base.load_rgb(tmp_path / "a.png")
    assert img.shape == (3, 4, 3)
    np.testing.assert_array_equal(img[0, 0], [255, 0, 0])
    with pytest.raises(base.DatasetFileError, match="nope"):
        base.load_rgb(tmp_path / "nope.jpg")
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    with pytest.raises(base.DatasetFileError, match=r"bad\.jpg"):
        base.load_rgb(tmp_path / "bad.jpg")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(base.DatasetFormatError, match=r"bad\.json"):
        base.read_json(tmp_path / "bad.json")


def test_registry_names_every_adapter_and_builds_by_name(tmp_path):
    assert set(DATASETS) == {
        "arctic",
        "assemblyhands",
        "epic_visor",
        "ego4d_grasp",
        "h2o",
        "epic_handkps",
        "egoexo4d_hands",
        "hands23",
    }
    assert all(cls.name == name for name, cls in DATASETS.items())
    write_h2o(tmp_path)
    ds = build_dataset("h2o", root=tmp_path)
    assert isinstance(ds, H2ODataset) and len(ds) == 3
    assert ds[-1].frame_id == ds[2].frame_id
    with pytest.raises(IndexError):
        ds[3]
    with pytest.raises(KeyError, match="unknown dataset"):
        build_dataset("freihand", root=tmp_path)
    with pytest.raises(base.DatasetFileError, match="root not found"):
        H2ODataset(tmp_path / "missing")


def test_keypoint_box_boxes_visible_points_then_falls_back_to_unclipped_box_then_whole_image():
    uv = np.array([[10.0, 20.0], [30.0, 60.0], [700.0, 10.0]])  # the third is right of a 640-wide image
    box, valid = base.keypoint_box(uv, (640, 480), 0.25)
    np.testing.assert_allclose(box, [5, 10, 35, 70])  # 20 x 40 box grown by 5 / 10 per side
    np.testing.assert_array_equal(valid, [True, True, False])
    box, valid = base.keypoint_box(uv, (640, 480), 0.0, annotated=np.array([False, True, True]))
    np.testing.assert_allclose(box, [30, 60, 30, 60])
    np.testing.assert_array_equal(valid, [False, True, False])

    outside = np.array([[700.0, 10.0], [800.0, 50.0]])  # x 700..800, y 10..50: grown by 50 / 20 per side
    box, valid = base.keypoint_box(outside, (640, 480), 0.5, unclipped_fallback=True)
    np.testing.assert_allclose(box, [650, -10, 850, 70])
    assert not valid.any()
    np.testing.assert_allclose(base.keypoint_box(outside, (640, 480), 0.5)[0], [0, 0, 639, 479])
    behind = np.full((2, 2), np.nan)
    np.testing.assert_allclose(
        base.keypoint_box(behind, (640, 480), 0.5, unclipped_fallback=True)[0], [0, 0, 639, 479]
    )


def _write_coco(root, annotations):
    (root / "annotations").mkdir(parents=True)
    data = {"images": [{"id": 7, "file_name": "a.jpg", "width": 4, "height": 3}], "annotations": annotations}
    (root / "annotations" / "val.json").write_text(json.dumps(data))


def _parse_score(ann: dict, where: str) -> int | None:
    assert where.endswith(f"annotation {ann['id']}")
    return None if ann["score"] == 0 else 2 * ann["score"]


def test_coco_hands_reads_side_image_and_parsed_fields_and_skips_what_parse_drops(tmp_path):
    _write_coco(
        tmp_path,
        [
            {"id": 1, "image_id": 7, "hand_side": "Right", "score": 3},
            {"id": 2, "image_id": 7, "hand_side": "left", "score": 0},  # dropped by parse
            {"id": 3, "image_id": 99, "hand_side": "middle", "score": 0},  # dropped before any check
            {"id": 4, "image_id": 7, "hand_side": "LEFT", "score": 1},
        ],
    )
    hands = base.coco_hands(tmp_path, "val", ("score",), _parse_score)
    assert [(h.frame_id, h.is_right, h.fields) for h in hands] == [
        ("a.jpg/1", True, 6),
        ("a.jpg/4", False, 2),
    ]
    assert hands[0].image_path == tmp_path / "images" / "a.jpg"


@pytest.mark.parametrize(
    ("annotation", "message"),
    [
        ({"id": 5, "image_id": 7, "hand_side": "left"}, r"annotation 5: missing key\(s\) \['score'\]"),
        ({"id": 5, "image_id": 9, "hand_side": "left", "score": 1}, "annotation 5: unknown image_id 9"),
        ({"id": 5, "image_id": 7, "hand_side": "both", "score": 1}, "annotation 5: hand_side must be"),
    ],
)
def test_coco_hands_names_the_annotation_with_a_missing_key_unknown_image_or_bad_side(
    tmp_path, annotation, message
):
    _write_coco(tmp_path, [annotation])
    with pytest.raises(base.DatasetFormatError, match=message):
        base.coco_hands(tmp_path, "val", ("score",), _parse_score)


def test_assumed_intrinsics_sample_uses_default_k_of_the_image_size_and_flags_it():
    image = np.zeros((4, 6, 3), dtype=np.uint8)
    mask = np.ones((4, 6), dtype=np.uint8)
    s = base.assumed_intrinsics_sample(
        image, 0.5, np.array([1.0, 1, 3, 2]), True, "toy", "f/1", {"note": 1}, mask=mask, grasp_label=2
    )
    # f = 0.5 · 6 = 3 px, principal point ((6 − 1) / 2, (4 − 1) / 2) = (2.5, 1.5)
    np.testing.assert_allclose(s.K_px, [[3, 0, 2.5], [0, 3, 1.5], [0, 0, 1]])
    assert s.extra == {"K_assumed": True, "note": 1}
    assert (s.is_right, s.dataset, s.frame_id, s.grasp_label) == (True, "toy", "f/1", 2)
    assert s.mask is mask and s.image is image
    np.testing.assert_allclose(s.box_xyxy_px, [1, 1, 3, 2])
    assert base.assumed_intrinsics_sample(image, 1.0, s.box_xyxy_px, False, "toy", "f/2").extra == {
        "K_assumed": True
    }


def test_pinhole_joints_sample_projects_joints_and_boxes_the_visible_annotated_ones():
    image = np.zeros((480, 640, 3), dtype=np.uint8)
    K = np.array([[100.0, 0, 320], [0, 100, 240], [0, 0, 1]])
    joints = np.tile([0.0, 0.0, 1.0], (21, 1))  # → (320, 240)
    joints[0] = [0.1, 0.0, 1.0]  # → (330, 240)
    joints[1] = [0.0, -0.2, 0.5]  # → (320, 200), but not annotated
    joints[2] = [0.0, 0.0, -1.0]  # behind the camera → keypoint (0, 0), not visible
    annotated = np.ones(21, dtype=bool)
    annotated[1] = False
    s = base.pinhole_joints_sample(image, K, joints, annotated, 0.0, False, "toy", "f/3")
    np.testing.assert_allclose(s.keypoints_px[:3], [[330, 240], [320, 200], [0, 0]])
    np.testing.assert_allclose(s.keypoints_px[3:], np.tile([320.0, 240.0], (18, 1)))
    np.testing.assert_array_equal(s.keypoints_valid[:3], [True, False, False])
    assert s.keypoints_valid[3:].all()
    np.testing.assert_allclose(s.box_xyxy_px, [320, 240, 330, 240])
    assert (s.is_right, s.dataset, s.frame_id) == (False, "toy", "f/3")
    K[0, 0], joints[0, 0], annotated[0] = 1.0, 9.0, False  # the sample holds copies
    assert s.K_px[0, 0] == 100 and s.joints_cam_m[0, 0] == 0.1 and s.extra["joints3d_valid"][0]
    assert not s.extra["joints3d_valid"][1]


def test_overlapping_polygons_are_united_not_xored():
    square = [[0, 0], [10, 0], [10, 10], [0, 10]]
    shifted = [[5, 0], [15, 0], [15, 10], [5, 10]]
    from training.datasets.base import polygons_to_mask

    assert polygons_to_mask([square, square], 20, 20).sum() == 121  # 11 x 11 pixels, drawn inclusive
    assert polygons_to_mask([square, shifted], 20, 20).sum() == 16 * 11
