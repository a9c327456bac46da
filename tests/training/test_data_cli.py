"""``wildhands-data check``: counts on a release-layout fixture, a named error on a wrong layout."""

from __future__ import annotations

from fixtures_assemblyhands import write_assemblyhands
from fixtures_h2o import write_h2o
from old_layout_assemblyhands import write_assemblyhands as write_old_layout

from training.data_cli import main


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
