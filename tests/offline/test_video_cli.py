"""`wildhands-video` on a short generated video (cv2.VideoWriter) and on an image folder, with the demo
checkpoint; the intrinsics sources it offers."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from wildhands_core import intrinsics
from wildhands_core.detection import box_iou_xyxy
from wildhands_core.episodes import FRAME_ARRAYS, HAND_ARRAYS
from wildhands_offline.cli.video import main

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "models" / "demo"
DATA = REPO / "tests" / "core" / "data"
N_FRAMES = 6
SIZE = (320, 240)


def _camera_yaml(path: Path, K: np.ndarray, size: tuple[int, int], dist=(0.0, 0.0, 0.0, 0.0, 0.0)) -> Path:
    """A camera_calibration YAML (the layout cameracalibrator writes)."""
    d = {
        "image_width": size[0], "image_height": size[1], "camera_name": "head_cam",
        "camera_matrix": {"rows": 3, "cols": 3, "data": [float(v) for v in K.reshape(9)]},
        "distortion_model": "plumb_bob",
        "distortion_coefficients": {"rows": 1, "cols": 5, "data": [float(c) for c in dist]},
        "rectification_matrix": {"rows": 3, "cols": 3, "data": [1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0]},
        "projection_matrix": {"rows": 3, "cols": 4, "data": np.c_[K, np.zeros(3)].reshape(12).tolist()},
    }
    path.write_text(yaml.safe_dump(d))
    return path


@pytest.fixture(scope="module")
def synthetic_video(tmp_path_factory):
    """A 6-frame mp4 of the demo's held-out synthetic sequence, its K and true hand boxes."""
    from wildhands_synth.sequence import SyntheticSequence

    seq = SyntheticSequence(90_001, SIZE, threads=1)
    frames = list(seq.frames(N_FRAMES))
    d = tmp_path_factory.mktemp("video")
    path = d / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, SIZE)
    assert writer.isOpened()
    for f in frames:
        writer.write(np.ascontiguousarray(f.image[:, :, ::-1]))
    writer.release()
    truth = np.stack([f.labels["box_xyxy_px"] for f in frames])  # (F, 2, 4): right (0), left (1)
    present = np.stack([f.labels["present"] for f in frames])
    return path, seq.K_px, truth, present


def test_intrinsics_from_a_field_of_view_and_from_a_camera_info_yaml(tmp_path):
    fov = intrinsics.from_fov(640, 480, 90.0)
    np.testing.assert_allclose(fov.K_px, [[320.0, 0, 319.5], [0, 320.0, 239.5], [0, 0, 1]])  # tan 45 = 1
    K = np.array([[500.0, 0, 330.0], [0, 505.0, 250.0], [0, 0, 1]])
    got = intrinsics.from_camera_info_yaml(_camera_yaml(tmp_path / "c.yaml", K, (640, 480)))
    np.testing.assert_array_equal(got.K_px, K)
    assert got.size == (640, 480) and got.camera_name == "head_cam" and not got.distorted
    with pytest.raises(ValueError, match="positive focal"):
        intrinsics.from_values(0.0, 500.0, 320.0, 240.0)
    bad = yaml.safe_load((tmp_path / "c.yaml").read_text())
    del bad["camera_matrix"]
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(bad))
    with pytest.raises(ValueError, match="camera_matrix"):
        intrinsics.from_camera_info_yaml(tmp_path / "bad.yaml")


def test_undistortion_maps_a_distorted_point_back_to_its_pinhole_place(tmp_path):
    K = np.array([[300.0, 0, 159.5], [0, 300.0, 119.5], [0, 0, 1]])
    dist = (-0.3, 0.1, 0.0, 0.0, 0.0)
    intr = intrinsics.from_camera_info_yaml(_camera_yaml(tmp_path / "c.yaml", K, SIZE, dist))
    assert intr.distorted
    # A dot at pinhole pixel (300, 20) is imaged where OpenCV's distortion model puts it.
    ray = np.array([[(300 - 159.5) / 300.0, (20 - 119.5) / 300.0, 1.0]])
    uv_raw = cv2.projectPoints(ray, np.zeros(3), np.zeros(3), K, np.asarray(dist))[0].reshape(2)
    raw = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    cv2.circle(raw, (round(uv_raw[0]), round(uv_raw[1])), 3, (255, 255, 255), -1)
    fixed = intrinsics.Undistorter(intr)(raw)
    ys, xs = np.nonzero(fixed[:, :, 0] > 128)
    assert abs(xs.mean() - 300) < 2.0 and abs(ys.mean() - 20) < 2.0
    assert np.hypot(uv_raw[0] - 300, uv_raw[1] - 20) > 10  # the distortion moved it


def test_video_with_the_demo_model_writes_overlay_and_the_bag_exporters_arrays(synthetic_video, tmp_path,
                                                                              capsys):
    video, K, truth, present = synthetic_video
    cam = _camera_yaml(tmp_path / "cam.yaml", K, SIZE)
    out = tmp_path / "out"
    rc = main([str(video), "--checkpoint", str(DEMO / "wildhands_demo.pt"), "--camera-info", str(cam),
               "--detector", "learned", "--detector-checkpoint", str(DEMO / "detector_demo.pt"),
               "--min-score", "0.25", "--backend", "torch", "--out", str(out), "--no-progress"])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    assert f"intrinsics: camera_info YAML {cam}" in printed
    arrays = np.load(out / "clip.npz")
    assert len(arrays["frame_stamp_ns"]) == N_FRAMES
    np.testing.assert_allclose(np.diff(arrays["frame_stamp_ns"]), 1e9 / 30, atol=2e6)  # the video's 30 Hz
    for k, (shape, dtype) in {**HAND_ARRAYS, **FRAME_ARRAYS}.items():
        assert arrays[k].dtype == dtype and arrays[k].shape[1:] == shape, k
    assert str(arrays["frame_id"]) == "head_cam_optical"
    n = len(arrays["frame_index"])
    assert n >= N_FRAMES - 2  # the tracker confirms a hand after 2 detections
    # the hands found lie on the rendered hands of their side: their box overlaps that hand's true (visible
    # mask) box, and more than the other hand's
    for fi, side, box in zip(arrays["frame_index"], arrays["handedness"], arrays["box_xyxy_px"], strict=True):
        row = 1 - side  # handedness 1 = right = row 0 of the labels
        iou = box_iou_xyxy(box, truth[fi])[0] * present[fi]
        assert iou[row] > 0.1 and iou[row] > iou[1 - row], (fi, side, iou)
    hands = pq.read_table(out / "clip_hands.parquet")
    frames = pq.read_table(out / "clip_frames.parquet")
    assert hands.column_names == list(HAND_ARRAYS) and frames.column_names == list(FRAME_ARRAYS)
    assert hands.num_rows == n and frames.num_rows == N_FRAMES
    np.testing.assert_allclose(np.asarray(hands.column("joints_m").to_pylist()).reshape(n, 21, 3),
                               arrays["joints_m"])
    cap = cv2.VideoCapture(str(out / "overlay.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == N_FRAMES
    assert (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))) == SIZE
    cap.release()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == N_FRAMES and summary["hands"] == n and summary["K_px"] == K.tolist()
    assert set(summary["tracks_ended"]) == {"missed", "implausible", "side", "replaced"}  # not published
    assert isinstance(summary["estimates_withheld"], dict)


def test_image_folder_with_mediapipe_and_a_field_of_view(tmp_path, capsys):
    folder = tmp_path / "images"
    folder.mkdir()
    for i, name in enumerate(("synth_hand_right.jpg", "synth_hand_left.jpg")):
        (folder / f"{i:03d}.jpg").write_bytes((DATA / name).read_bytes())
    out = tmp_path / "out"
    rc = main([str(folder), "--checkpoint", str(DEMO / "wildhands_demo.pt"), "--fov-deg", "90",
               "--no-tracking", "--overlay", "png", "--backend", "torch", "--out", str(out), "--no-progress"])
    printed = capsys.readouterr().out
    assert rc == 0, printed
    assert "intrinsics: horizontal field of view 90 deg (f = 160.0 px)" in printed  # 320 px wide
    arrays = np.load(out / "images.npz")
    np.testing.assert_array_equal(arrays["frame_num_hands"], [1, 1])  # MediaPipe finds each hand
    np.testing.assert_array_equal(arrays["is_right"], [True, False])
    np.testing.assert_array_equal(arrays["frame_stamp_ns"], [0, round(1e9 / 30)])
    assert sorted(p.name for p in (out / "overlay").iterdir()) == ["000000.png", "000001.png"]


def test_bad_input_and_conflicting_intrinsics_fail_with_a_message(tmp_path, capsys):
    ckpt = str(DEMO / "wildhands_demo.pt")
    assert main([str(tmp_path / "missing.mp4"), "--checkpoint", ckpt, "--out", str(tmp_path / "o")]) == 2
    assert "no such file, folder or camera device" in capsys.readouterr().err
    folder = tmp_path / "imgs"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.zeros((48, 64, 3), np.uint8))
    assert main([str(folder), "--checkpoint", ckpt, "--fov-deg", "60", "--fx", "100",
                 "--out", str(tmp_path / "o")]) == 2
    assert "give one of" in capsys.readouterr().err
    cam = _camera_yaml(tmp_path / "c.yaml", np.eye(3) * [100, 100, 1], (640, 480))
    assert main([str(folder), "--checkpoint", ckpt, "--camera-info", str(cam),
                 "--out", str(tmp_path / "o")]) == 2
    assert "calibrated for 640x480, the frames are 64x48" in capsys.readouterr().err
