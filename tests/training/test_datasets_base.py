"""Tests of the shared adapter helpers (joint orders, boxes, masks, readers) and the dataset registry."""

from __future__ import annotations

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


def test_default_intrinsics_and_projection():
    K = base.default_intrinsics(640, 480, 1.0)
    np.testing.assert_allclose(K, [[640, 0, 319.5], [0, 640, 239.5], [0, 0, 1]])
    uv = base.project_points(np.array([[0.1, -0.05, 1.0], [0.0, 0.0, -1.0]]), K)
    np.testing.assert_allclose(uv[0], [383.5, 207.5])
    assert np.isnan(uv[1]).all()
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
