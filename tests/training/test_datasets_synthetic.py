"""The synthetic adapter's mask-ignore map (format versions 1 and 2) and the occluder mask value."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from training.datasets.base import DatasetFormatError
from training.datasets.synthetic import SyntheticHandsDataset
from wildhands_synth.generate import generate_dataset


@pytest.fixture(scope="module")
def v2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # seed 0: frame 0 has a right hand behind an occluder blob, frame 1 both hands (right behind left)
    return generate_dataset(tmp_path_factory.mktemp("synth_v2") / "ds", 2, 0, (160, 120), progress=False)


def _v1_copy(v2: Path, out: Path) -> Path:
    """The same dataset as format version 1 wrote it: occluder pixels 0, version 1, no "occluder" value."""
    shutil.copytree(v2, out)
    for path in (out / "masks").glob("*.png"):
        m = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        m[m == 3] = 0
        cv2.imwrite(str(path), m)
    meta = json.loads((out / "meta.json").read_text())
    meta["version"] = 1
    del meta["mask_values"]["occluder"]
    (out / "meta.json").write_text(json.dumps(meta))
    return out


def test_v2_masks_label_occluders_3_and_the_ignore_map_is_every_other_segment(v2_dir: Path) -> None:
    ds = SyntheticHandsDataset(v2_dir)
    m0 = cv2.imread(str(v2_dir / "masks/000000.png"), cv2.IMREAD_UNCHANGED)
    m1 = cv2.imread(str(v2_dir / "masks/000001.png"), cv2.IMREAD_UNCHANGED)
    assert (m0 == 3).sum() > 100 and set(np.unique(m0)) == {0, 1, 3}
    assert set(np.unique(m1)) == {0, 1, 2}
    r0, r1, l1 = ds[0], ds[1], ds[2]
    assert (r0.frame_id, r1.frame_id, l1.frame_id) == ("000000", "000001", "000001")
    np.testing.assert_array_equal(r0.mask_ignore, (m0 == 3).astype(np.uint8))
    np.testing.assert_array_equal(r1.mask_ignore, (m1 == 2).astype(np.uint8))
    np.testing.assert_array_equal(l1.mask_ignore, (m1 == 1).astype(np.uint8))
    assert r0.mask_ignore.dtype == np.uint8 and not np.any(r0.mask_ignore & r0.mask)


def test_v1_datasets_still_load_with_the_other_hand_as_the_only_ignored_segment(
    v2_dir: Path, tmp_path: Path
) -> None:
    v1, v2 = SyntheticHandsDataset(_v1_copy(v2_dir, tmp_path / "v1")), SyntheticHandsDataset(v2_dir)
    assert len(v1) == len(v2) == 3
    assert v1[0].mask_ignore.sum() == 0  # the occluder is background in version 1
    np.testing.assert_array_equal(v1[0].mask, v2[0].mask)
    np.testing.assert_array_equal(v1[1].mask_ignore, v2[1].mask_ignore)  # the other hand, as in v2
    np.testing.assert_array_equal(v1[0].image, v2[0].image)


def test_an_unknown_version_is_rejected(v2_dir: Path, tmp_path: Path) -> None:
    out = shutil.copytree(v2_dir, tmp_path / "v3")
    meta = json.loads((out / "meta.json").read_text())
    meta["version"] = 3
    (out / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(DatasetFormatError, match="version 3"):
        SyntheticHandsDataset(out)
