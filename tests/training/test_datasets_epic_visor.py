"""Tests of the EPIC-Kitchens VISOR adapter on a fixture in the sparse-annotation layout."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures_epic_visor import write_epic_authors, write_epic_visor

from training.datasets.base import DatasetFileError
from training.datasets.epic_visor import EpicVisorDataset


def test_visor_keeps_only_left_and_right_hand_entities(tmp_path):
    write_epic_visor(tmp_path)
    ds = EpicVisorDataset(tmp_path)
    assert len(ds) == 3
    assert [ds[i].is_right for i in range(3)] == [False, True, True]
    assert ds[0].frame_id == "P01_01/P01_01_frame_0000000140.jpg/left hand"


def test_visor_masks_are_the_polygons_scaled_to_the_image(tmp_path):
    write_epic_visor(tmp_path)
    left, right = EpicVisorDataset(tmp_path)[0], EpicVisorDataset(tmp_path)[1]
    assert left.mask.shape == (36, 64) and left.mask.dtype == np.uint8
    expected = np.zeros((36, 64), dtype=np.uint8)
    expected[10:26, 10:31] = 1  # rectangle x 10..30, y 10..25, edges included
    np.testing.assert_array_equal(left.mask, expected)
    np.testing.assert_allclose(left.box_xyxy_px, [10, 10, 30, 25])
    assert int(right.mask.sum()) == 11 * 11 + 4 * 4  # union of both polygons
    np.testing.assert_allclose(right.box_xyxy_px, [40, 5, 55, 23])


def test_visor_uses_the_assumed_intrinsics_and_keeps_contact_info(tmp_path):
    write_epic_visor(tmp_path)
    s = EpicVisorDataset(tmp_path, focal_over_width=0.5)[0]
    np.testing.assert_allclose(s.K_px, [[32, 0, 31.5], [0, 32, 17.5], [0, 0, 1]])
    assert s.extra["K_assumed"] is True
    assert s.extra["in_contact_object"] == "b"
    assert not s.has_joints3d and not s.has_grasp and s.has_mask
    np.testing.assert_allclose(s.image[5, 5], [0, 255, 0], atol=3)


def test_visor_missing_frame_is_named_when_read(tmp_path):
    write_epic_visor(tmp_path)
    ds = EpicVisorDataset(tmp_path)
    (tmp_path / "rgb_frames" / "train" / "P01" / "P01_01" / "P01_01_frame_0000000250.jpg").unlink()
    with pytest.raises(DatasetFileError, match="P01_01_frame_0000000250"):
        ds[2]


def test_visor_ignore_map_is_the_other_entities_minus_the_hand_itself(tmp_path):
    write_epic_visor(tmp_path)
    ds = EpicVisorDataset(tmp_path)
    left, right, alone = ds[0], ds[1], ds[2]
    knife = np.zeros((36, 64), dtype=np.uint8)
    knife[0, 0:4] = knife[1, 1:4] = knife[2, 2:4] = knife[3, 3] = 1  # (0,0),(100,0),(100,100) / 30, rounded
    # left hand: the right hand and the knife; the glove has the left hand's own polygon, so adds nothing
    np.testing.assert_array_equal(left.mask_ignore, right.mask | knife)
    assert int(left.mask_ignore.sum()) == 11 * 11 + 4 * 4 + 10
    # right hand: the left hand (= the glove) and the knife
    np.testing.assert_array_equal(right.mask_ignore, left.mask | knife)
    assert int(right.mask_ignore.sum()) == 16 * 21 + 10
    assert left.mask_ignore.dtype == np.uint8 and not np.any(left.mask_ignore & left.mask)
    assert alone.mask_ignore.sum() == 0  # frame 250: the right hand is the only entity


def test_visor_default_K_is_the_authors_focal_1000_at_1920(tmp_path):
    write_epic_visor(tmp_path)
    s = EpicVisorDataset(tmp_path)[0]
    np.testing.assert_allclose(s.K_px[0, 0], 1000 * 64 / 1920)


def test_visor_authors_seg_uses_predicted_masks_only_on_unoccluded_hands(tmp_path):
    write_epic_authors(tmp_path)
    ds = EpicVisorDataset(tmp_path, source="authors_seg")
    s = [ds[i] for i in range(len(ds))]  # frame 2 is not in the mask archive / occlusion labels
    sides = [(x.is_right, x.frame_id.endswith("0140.jpg/" + ("right" if x.is_right else "left"))) for x in s]
    assert sides == [(True, True), (False, True)]
    assert int(s[0].mask.sum()) == 11 * 11 and s[1].mask is None  # left hand labelled occluded: no mask loss
    np.testing.assert_allclose(s[0].box_xyxy_px, [40, 5, 51, 16])
    assert s[0].grasp_label is None  # the seg source carries masks only


def test_visor_authors_grasp_labels_come_from_the_grasp_pickle(tmp_path):
    write_epic_authors(tmp_path)
    ds = EpicVisorDataset(tmp_path, source="authors_grasp")
    assert [(ds[i].is_right, ds[i].grasp_label, ds[i].mask) for i in range(len(ds))] == [
        (True, 3, None), (False, 8, None), (True, 7, None)]


def test_visor_grasp_pickle_attaches_grasp_classes_to_the_ground_truth_hands(tmp_path):
    write_epic_visor(tmp_path)
    write_epic_authors(tmp_path)
    ds = EpicVisorDataset(tmp_path, grasp_pickle=tmp_path / "epic_hands" / "grasp_visor_train.pkl")
    assert [ds[i].grasp_label for i in range(3)] == [8, 3, 7]  # frame 140 left, right; frame 250 right


def test_visor_authors_source_without_its_files_names_the_first_one_missing(tmp_path):
    write_epic_visor(tmp_path)  # ground truth only
    with pytest.raises(DatasetFileError, match=r"epic_hands/grasp_visor_train\.pkl"):
        EpicVisorDataset(tmp_path, source="authors_seg")
