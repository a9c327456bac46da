"""``process_bag``: every frame accounted for (written with its original stamps, or counted by reason),
both storages in and out, batching equal to single-frame estimation, atomic output."""

from __future__ import annotations

import json

import numpy as np
import pytest
from bag_fixtures import (
    BOXES_TOPIC,
    CAMERA_FRAME,
    FOCAL,
    IMAGE_TOPIC,
    LEFT_BOX,
    RIGHT_BOX,
    FrameSpec,
    H,
    W,
    frame_image,
    small_estimator,
    write_camera_bag,
)
from rosbags.rosbag2 import Reader

from wildhands_core.estimate import HandBox
from wildhands_core.tracking.config import TrackerConfig
from wildhands_offline.process import ProcessConfig, offline_pipeline_config, process_bag, summary_path
from wildhands_offline.types import HAND_ARRAY, TF_MESSAGE, make_typestore

T0 = 1_700_000_000 * 1_000_000_000
DT = 33_333_333
BOTH = [(RIGHT_BOX, True), (LEFT_BOX, False)]
# frames 4 and 5 were dropped by the recorder (a 100 ms gap in the stamps)
DEFECTS = {2: "truncated", 3: "cdr", 6: "encoding", 8: "no_info", 10: "size"}
ENCODINGS = {1: "bgr8", 7: "mono8"}
# the network runs only where there are boxes (keeps the test fast); every good frame is written anyway
BOXES = {0: BOTH, 1: [(RIGHT_BOX, True)]}
EXPECTED_REJECTED = {"deserialize": 1, "encoding": 1, "image_layout": 1, "camera_info_missing": 1,
                     "camera_info_size": 1}
GOOD = [0, 1, 7, 9, 11, 12, 13]


def _sequence() -> list[FrameSpec]:
    out = []
    for i in [i for i in range(14) if i not in (4, 5)]:
        stamp = T0 + i * DT
        out.append(FrameSpec(i, stamp, stamp + 20_000_000 + 1_000 * i, DEFECTS.get(i),
                             ENCODINGS.get(i, "rgb8"), BOXES.get(i, [])))
    return out


@pytest.fixture(scope="module")
def estimator():
    return small_estimator()


def _read(bag) -> dict[str, list]:
    ts = make_typestore()
    out: dict[str, list] = {}
    with Reader(bag) as r:
        for c, log_time, raw in r.messages():
            msg = ts.deserialize_cdr(raw, c.msgtype) if c.msgtype in (HAND_ARRAY, TF_MESSAGE) else bytes(raw)
            out.setdefault(c.topic, []).append((log_time, msg))
    return out


@pytest.mark.parametrize(("in_storage", "out_storage"), [("sqlite3", "mcap"), ("mcap", "sqlite3")])
def test_every_good_frame_is_written_with_its_stamps_and_every_bad_frame_is_counted_by_reason(
        tmp_path, estimator, in_storage, out_storage):
    ts = make_typestore()
    seq = _sequence()
    write_camera_bag(tmp_path / "in", in_storage, seq, ts)
    cfg = ProcessConfig(boxes_topic=BOXES_TOPIC, storage=out_storage, copy_topics=("*",),
                        progress=False)
    s = process_bag(tmp_path / "in", tmp_path / "out", estimator, cfg)

    assert s.image_topic == IMAGE_TOPIC and s.info_topic == "/cam/camera_info"
    assert s.frames_total == 12
    assert s.rejected == EXPECTED_REJECTED
    assert s.frames_written == len(GOOD) == 12 - sum(EXPECTED_REJECTED.values())
    bad = {f.index: f for f in seq if f.defect}
    assert sorted((r["log_time_ns"], r["reason"]) for r in s.rejected_frames) == sorted(
        (bad[i].log_time_ns, {"truncated": "image_layout", "cdr": "deserialize", "encoding": "encoding",
                              "no_info": "camera_info_missing", "size": "camera_info_size"}[d])
        for i, d in DEFECTS.items())
    assert json.loads(summary_path(tmp_path / "out").read_text())["rejected"] == EXPECTED_REJECTED

    with Reader(tmp_path / "out") as r:
        assert r.connections[0].msgtype == HAND_ARRAY
        assert (tmp_path / "out" / "metadata.yaml").is_file()
        assert any(p.suffix == (".mcap" if out_storage == "mcap" else ".db3")
                   for p in (tmp_path / "out").iterdir())
    got = _read(tmp_path / "out")
    hands = got["/wildhands/hands"]
    by_index = {f.index: f for f in seq}
    assert [lt for lt, _ in hands] == [by_index[i].log_time_ns for i in GOOD]
    stamps = [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for _, m in hands]
    assert stamps == [T0 + i * DT for i in GOOD]
    assert all(m.header.frame_id == CAMERA_FRAME for _, m in hands)
    assert all((m.image_width, m.image_height) == (W, H) for _, m in hands)
    assert [len(m.hands) for _, m in hands] == [len(by_index[i].boxes) for i in GOOD] == [2, 1, 0, 0, 0, 0, 0]
    assert s.hands_written == 3
    # TF: one message per frame with hands, camera frame -> <prefix>{left,right}_wrist at the wrist joint
    tfs = got["/tf"]
    assert [lt for lt, _ in tfs] == [by_index[i].log_time_ns for i in GOOD if by_index[i].boxes]
    _, first = tfs[0]
    _, arr0 = hands[0]
    assert sorted(t.child_frame_id for t in first.transforms) == ["hand_left_wrist", "hand_right_wrist"]
    for t in first.transforms:
        hand = next(h for h in arr0.hands if (h.handedness == 1) == ("right" in t.child_frame_id))
        assert t.header.frame_id == CAMERA_FRAME and t.header.stamp == arr0.header.stamp
        np.testing.assert_allclose([t.transform.translation.x, t.transform.translation.y,
                                    t.transform.translation.z], hand.joints_m[:3], atol=1e-6)
    # copied through unchanged, including the frames that were rejected
    assert len(got[IMAGE_TOPIC]) == 12 and len(got[BOXES_TOPIC]) == 2
    with Reader(tmp_path / "in") as r:
        conn = next(c for c in r.connections if c.topic == IMAGE_TOPIC)
        original = [(lt, bytes(raw)) for _, lt, raw in r.messages(connections=[conn])]
    assert got[IMAGE_TOPIC] == original


def test_batched_estimates_equal_single_frame_estimates_with_the_camera_info_K(tmp_path, estimator):
    ts = make_typestore()
    seq = [FrameSpec(0, T0, T0, None, "rgb8", BOTH), FrameSpec(1, T0 + DT, T0 + DT, None, "rgb8", BOTH[:1])]
    write_camera_bag(tmp_path / "in", "mcap", seq, ts)
    process_bag(tmp_path / "in", tmp_path / "out", estimator,
                ProcessConfig(boxes_topic=BOXES_TOPIC, progress=False))
    hands = _read(tmp_path / "out")["/wildhands/hands"]
    K = np.array([[FOCAL, 0, (W - 1) / 2], [0, FOCAL, (H - 1) / 2], [0, 0, 1]])
    for i, (_, arr) in enumerate(hands):
        boxes = [HandBox(np.array(b), r, 0.9) for b, r in seq[i].boxes]
        single = estimator.estimate(frame_image(i), K, boxes)
        assert len(arr.hands) == len(single) == len(seq[i].boxes)
        for est in single:
            h = next(h for h in arr.hands if (h.handedness == 1) == est.is_right)
            np.testing.assert_allclose(h.joints_m.reshape(21, 3), est.joints_m, atol=2e-4)
            np.testing.assert_allclose(h.keypoints_px.reshape(21, 2), est.keypoints_px, atol=0.05)
            np.testing.assert_allclose(h.box_xyxy_px, est.box_xyxy_px, atol=1e-5)
            assert h.confidence == pytest.approx(est.confidence, abs=1e-6)


def test_a_corrupt_compressed_frame_is_counted_as_decode_and_the_others_are_written(tmp_path, estimator):
    ts = make_typestore()
    seq = [FrameSpec(i, T0 + i * DT, T0 + i * DT, "jpeg_corrupt" if i == 1 else None, "jpeg")
           for i in range(3)]
    write_camera_bag(tmp_path / "in", "sqlite3", seq, ts)
    s = process_bag(tmp_path / "in", tmp_path / "out", estimator,
                    ProcessConfig(boxes_topic=BOXES_TOPIC, progress=False))
    assert s.image_topic == IMAGE_TOPIC + "/compressed" and s.info_topic == "/cam/camera_info"
    assert s.rejected == {"decode": 1} and s.frames_written == 2


def test_tracking_mode_gives_track_ids_and_writes_every_frame(tmp_path, estimator):
    ts = make_typestore()
    seq = [FrameSpec(i, T0 + i * DT, T0 + i * DT, None, "rgb8", BOTH[:1]) for i in range(3)]
    write_camera_bag(tmp_path / "in", "mcap", seq, ts)
    # min_hits=1: a track is confirmed at birth (an untrained network's keypoints cannot be followed), and
    # every estimate counts as a hand (an untrained network's hands are nowhere near plausible)
    any_estimate = {"min_keypoints_in_crop": 0.0, "min_plausible_estimates": 0, "min_hand_depth_m": 0.0,
                    "max_hand_depth_m": 100.0, "min_hand_size_ratio": 0.0, "max_hand_size_ratio": 100.0}
    pipeline = offline_pipeline_config(tracking=True, tracker=TrackerConfig(min_hits=1, redetect_every_n=1,
                                                                            **any_estimate))
    s = process_bag(tmp_path / "in", tmp_path / "out", estimator,
                    ProcessConfig(boxes_topic=BOXES_TOPIC, pipeline=pipeline, progress=False))
    assert s.frames_written == 3 and not s.rejected
    hands = [h for _, m in _read(tmp_path / "out")["/wildhands/hands"] for h in m.hands]
    assert len(hands) >= 1 and all(h.track_id >= 0 for h in hands)


def test_hands_that_do_not_look_like_hands_are_counted_not_dropped_silently(tmp_path, estimator):
    """The tracker's plausibility check (``TrackerConfig``: a track ends after ``max_implausible_estimates``
    = 3 estimates in a row that do not look like a hand): an untrained network's estimates of one recorded
    hand over 6 frames publish nothing, and the summary says why (the track ended twice)."""
    ts = make_typestore()
    seq = [FrameSpec(i, T0 + i * DT, T0 + i * DT, None, "rgb8", BOTH[:1]) for i in range(6)]
    write_camera_bag(tmp_path / "in", "mcap", seq, ts)
    pipeline = offline_pipeline_config(tracking=True, tracker=TrackerConfig(min_hits=1, redetect_every_n=1))
    s = process_bag(tmp_path / "in", tmp_path / "out", estimator,
                    ProcessConfig(boxes_topic=BOXES_TOPIC, pipeline=pipeline, progress=False))
    assert s.frames_written == 6 and s.hands_written == 0
    assert s.tracks_ended == {"missed": 0, "implausible": 2, "side": 0, "replaced": 0}
    assert json.loads(summary_path(tmp_path / "out").read_text())["tracks_ended"] == s.tracks_ended


def test_an_interrupted_run_leaves_no_output_and_no_temporary_files(tmp_path, estimator):
    ts = make_typestore()
    write_camera_bag(tmp_path / "in", "mcap", _sequence(), ts)

    def interrupt(n: int) -> None:
        if n == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        process_bag(tmp_path / "in", tmp_path / "out", estimator,
                    ProcessConfig(boxes_topic=BOXES_TOPIC, progress=False), on_frame=interrupt)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_an_existing_output_is_kept_unless_overwrite(tmp_path, estimator):
    ts = make_typestore()
    seq = [FrameSpec(0, T0, T0)]
    write_camera_bag(tmp_path / "in", "mcap", seq, ts)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep").write_text("x")
    cfg = ProcessConfig(boxes_topic=BOXES_TOPIC, progress=False)
    with pytest.raises(FileExistsError):
        process_bag(tmp_path / "in", tmp_path / "out", estimator, cfg)
    assert (tmp_path / "out" / "keep").read_text() == "x"
    cfg.overwrite = True
    assert process_bag(tmp_path / "in", tmp_path / "out", estimator, cfg).frames_written == 1
    assert not (tmp_path / "out" / "keep").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "out", "out.summary.json"]


def test_no_detector_and_no_boxes_topic_is_an_error_before_any_output(tmp_path, estimator):
    ts = make_typestore()
    write_camera_bag(tmp_path / "in", "mcap", [FrameSpec(0, T0, T0)], ts)
    with pytest.raises(ValueError, match="no hand detector"):
        process_bag(tmp_path / "in", tmp_path / "out", estimator, ProcessConfig(progress=False))
    assert not (tmp_path / "out").exists()


def test_the_offline_pipeline_config_is_the_one_source_of_tracking_and_max_hands(tmp_path, estimator):
    ts = make_typestore()
    seq = [FrameSpec(i, T0 + i * DT, T0 + i * DT, None, "rgb8", BOTH) for i in range(2)]
    write_camera_bag(tmp_path / "in", "mcap", seq, ts)
    assert ProcessConfig().pipeline.tracking is False  # offline default: no tracking
    process_bag(tmp_path / "in", tmp_path / "out", estimator,
                ProcessConfig(boxes_topic=BOXES_TOPIC, pipeline=offline_pipeline_config(max_hands=1),
                              progress=False))
    arrays = [m for _, m in _read(tmp_path / "out")["/wildhands/hands"]]
    assert [len(a.hands) for a in arrays] == [1, 1]  # two boxes per frame, one kept
    assert all(h.track_id == -1 for a in arrays for h in a.hands)
