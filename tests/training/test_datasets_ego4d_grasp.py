"""Tests of the Ego4D grasp adapters on fixtures in the authors' pickle/npz layout and Hands23's COCO."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures_ego4d_grasp import FRAME_A, write_ego4d_authors, write_hands23
from old_layout_ego4d_grasp import write_ego4d_grasp as write_old_layout

from training.datasets.base import DatasetFileError, DatasetFormatError
from training.datasets.ego4d_grasp import Ego4DGraspDataset
from training.datasets.hands23 import Hands23Dataset


def test_ego4d_reads_boxes_grasps_and_none_as_no_grasp(tmp_path):
    write_ego4d_authors(tmp_path)
    ds = Ego4DGraspDataset(tmp_path)
    s = [ds[i] for i in range(len(ds))]
    assert [(x.is_right, x.grasp_label) for x in s] == [
        (True, 2),
        (False, 6),
        (True, 8),
    ]  # B's left: bbox None
    np.testing.assert_allclose(s[0].box_xyxy_px, [10, 5, 21, 16])
    np.testing.assert_allclose(s[0].image[0, 0], [120, 60, 30], atol=3)


def test_ego4d_predicted_mask_is_the_sides_colour_cut_to_its_box(tmp_path):
    write_ego4d_authors(tmp_path)
    s = [Ego4DGraspDataset(tmp_path)[i] for i in range(3)]
    assert int(s[0].mask.sum()) == 11 * 11  # 255-square x 8..23, y 4..17 cut to [10, 21) x [5, 16)
    assert s[0].mask[5, 10] == 1 and s[0].mask[4, 8] == 0
    assert int(s[1].mask.sum()) == 11 * 11  # 127-square x 30..40, y 30..40 inside its box
    assert s[2].mask is None  # frame B is not in the archive: grasp only
    assert int(s[0].mask_ignore.sum()) == 11 * 11  # the left hand's predicted pixels


def test_ego4d_uses_the_authors_no_intrinsics_focal_half_the_longest_side(tmp_path):
    write_ego4d_authors(tmp_path)
    s = Ego4DGraspDataset(tmp_path)[0]
    np.testing.assert_allclose(s.K_px, [[32, 0, 31.5], [0, 32, 23.5], [0, 0, 1]])  # f = max(64, 48) / 2


def test_ego4d_rejects_the_layout_it_used_to_assume_naming_the_pickle(tmp_path):
    write_old_layout(tmp_path)  # annotations/train.json, COCO with grasp names
    with pytest.raises(DatasetFileError, match=r"ego4d_hands/grasp_ego\.pkl"):
        Ego4DGraspDataset(tmp_path)


def test_ego4d_unknown_grasp_name_is_reported_with_the_image(tmp_path):
    import pickle

    write_ego4d_authors(tmp_path)
    p = tmp_path / "ego4d_hands" / "grasp_ego.pkl"
    data = pickle.loads(p.read_bytes())
    data[FRAME_A]["left_grasp"] = "Exten"
    p.write_bytes(pickle.dumps(data))
    with pytest.raises(DatasetFormatError, match=r"frame_0001\.jpg.*left_grasp.*'Exten'"):
        Ego4DGraspDataset(tmp_path)


def test_hands23_integer_sides_and_grasps_map_to_the_head_with_exten_unlabelled(tmp_path):
    write_hands23(tmp_path)
    ds = Hands23Dataset(tmp_path, split="val")
    s = [ds[i] for i in range(len(ds))]
    assert [(x.is_right, x.grasp_label) for x in s] == [(True, 2), (False, None), (True, 8)]  # object skipped
    assert ds.exten_hands == 1
    assert Hands23Dataset(tmp_path, split="val", exten_as="other")[1].grasp_label == 7
    np.testing.assert_allclose(s[0].box_xyxy_px, [10, 5, 20, 15])
    assert int(s[0].mask.sum()) == 11 * 11
    # the other annotations minus this hand: object columns 21..30 (10 x 11) + two 11 x 11 hands
    assert int(s[0].mask_ignore.sum()) == 10 * 11 + 2 * 11 * 11
