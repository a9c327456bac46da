"""Tests of the Ego4D hand/grasp adapter on a fixture in its documented layout."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures_ego4d_grasp import write_ego4d_grasp

from training.datasets.base import DatasetFormatError
from training.datasets.ego4d_grasp import Ego4DGraspDataset, grasp_index
from wildhands_core.constants import GRASP_CLASS_NAMES


def test_grasp_names_map_to_the_head_order():
    assert [grasp_index(n) for n in GRASP_CLASS_NAMES] == list(range(9))
    assert grasp_index("pow_pris") == 2
    assert grasp_index("Later") == 6
    assert grasp_index("None") == 8
    assert grasp_index(None) is None


def test_ego4d_grasp_labels_sides_and_masks(tmp_path):
    write_ego4d_grasp(tmp_path)
    ds = Ego4DGraspDataset(tmp_path)
    assert len(ds) == 4
    s = [ds[i] for i in range(4)]
    assert [x.grasp_label for x in s] == [2, 6, None, 8]
    assert [x.is_right for x in s] == [True, False, True, True]
    assert s[0].has_grasp and not s[2].has_grasp
    assert int(s[0].mask.sum()) == 11 * 11
    np.testing.assert_allclose(s[0].box_xyxy_px, [10, 5, 20, 15])  # from the mask
    np.testing.assert_allclose(s[1].box_xyxy_px, [29, 29, 41, 41])  # COCO xywh bbox → xyxy
    np.testing.assert_allclose(s[0].K_px, [[64, 0, 31.5], [0, 64, 23.5], [0, 0, 1]])
    np.testing.assert_allclose(s[0].image[0, 0], [120, 60, 30], atol=3)


def test_ego4d_unknown_grasp_name_is_reported_with_the_file(tmp_path):
    write_ego4d_grasp(
        tmp_path,
        [
            {
                "id": 9,
                "image_id": 1,
                "hand_side": "left",
                "segmentation": [[0, 0, 5, 0, 5, 5]],
                "grasp_type": "Pinch",
            }
        ],
    )
    with pytest.raises(DatasetFormatError, match=r"train\.json annotation 9: unknown grasp_type 'Pinch'"):
        Ego4DGraspDataset(tmp_path)


def test_ego4d_ignore_map_is_the_other_hands_of_the_image_minus_the_hand_itself(tmp_path):
    write_ego4d_grasp(tmp_path)
    s = [Ego4DGraspDataset(tmp_path)[i] for i in range(4)]
    np.testing.assert_array_equal(s[0].mask_ignore, s[1].mask)  # image 1: right <-> left
    np.testing.assert_array_equal(s[1].mask_ignore, s[0].mask)
    assert int(s[1].mask_ignore.sum()) == 11 * 11
    # image 2: both annotations cover the same square, so neither leaves an unknown pixel for the other
    assert s[2].mask_ignore.sum() == 0 and s[3].mask_ignore.sum() == 0
    assert s[0].mask_ignore.shape == (48, 64) and s[0].mask_ignore.dtype == np.uint8
