"""``wildhands-data check``: counts on a release-layout fixture, a named error on a wrong layout."""

from __future__ import annotations

import pytest
from fixtures_arctic import write_arctic
from fixtures_assemblyhands import write_assemblyhands
from fixtures_h2o import write_h2o
from old_layout_assemblyhands import write_assemblyhands as write_old_layout

from training.data_cli import main
from wildhands_core.mano.procedural import write_procedural_mano


def test_check_counts_frames_and_hands_and_the_labels_it_read(tmp_path, capsys):
    write_assemblyhands(tmp_path)
    assert main(["check", "assemblyhands", str(tmp_path), "-o", "split=test"]) == 0
    out = capsys.readouterr().out
    assert "3 hands in 2 frames" in out
    assert "read 3 samples: mano 0, joints3d 3, keypoints2d 3, mask 0, grasp 0, right 2, K_assumed 0" in out


def test_check_of_a_wrong_layout_names_the_file_it_expected(tmp_path, capsys):
    write_old_layout(tmp_path)
    assert main(["check", "assemblyhands", str(tmp_path), "-o", "split=test"]) == 2
    assert "assemblyhands_test_joint_3d_v1-1.json" in capsys.readouterr().err


def test_check_reports_the_first_problems_and_keeps_counting(tmp_path, capsys):
    gt = write_h2o(tmp_path)
    (gt["cam_dir"] / "rgb" / "000001.png").unlink()
    assert main(["check", "h2o", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "3 hands in 2 frames" in out and "read 2 samples" in out
    assert "1 problem(s)" in out and "000001.png" in out


@pytest.fixture(scope="module")
def mano_folders(tmp_path_factory):
    """The same MANO files flat (``D/MANO_RIGHT.pkl``, the README's table) and in smplx's layout
    (``D/mano/MANO_RIGHT.pkl``); procedural files stand in for the licensed ones."""
    base = tmp_path_factory.mktemp("mano")
    write_procedural_mano(base / "flat")
    write_procedural_mano(base / "smplx" / "mano")
    return {"flat": base / "flat", "smplx": base / "smplx"}


@pytest.mark.parametrize("layout", ["flat", "smplx"])
def test_check_builds_arctic_with_a_mano_folder_of_either_layout(tmp_path, capsys, mano_folders, layout):
    """ARCTIC in its documented layout (23 MANO frames: the first and last 10 images dropped leave 3 frames,
    both hands in view) builds through ``wildhands-data check arctic --mano-dir D`` with D flat or in
    smplx's layout, and every sample reads with its MANO labels."""
    write_arctic(tmp_path, n_frames=23)
    assert main(["check", "arctic", str(tmp_path), "--mano-dir", str(mano_folders[layout])]) == 0
    out = capsys.readouterr().out
    assert "6 hands in 3 frames" in out
    assert "read 6 samples: mano 6, joints3d 6, keypoints2d 6" in out


def test_check_of_arctic_without_mano_files_names_the_files_it_looked_for(tmp_path, capsys):
    write_arctic(tmp_path / "arctic", n_frames=23)
    (tmp_path / "nomano").mkdir()
    assert main(["check", "arctic", str(tmp_path / "arctic"), "--mano-dir", str(tmp_path / "nomano")]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / "nomano" / "MANO_RIGHT.pkl") in err
    assert str(tmp_path / "nomano" / "mano" / "MANO_LEFT.pkl") in err
