"""``export_bags``: npz and Parquet values equal the recorded message values, episodes split on stamp gaps,
malformed messages counted by reason, atomic output; the ``wildhands-bag export`` command."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from bag_fixtures import CAMERA_FRAME, H, W, random_estimate, write_hands_bag
from scipy.spatial.transform import Rotation

from wildhands_offline.cli.bag import main
from wildhands_offline.export import FRAME_ARRAYS, HAND_ARRAYS, ExportConfig, export_bags
from wildhands_offline.messages import from_fields, hand_array_fields
from wildhands_offline.types import HAND_ARRAY, make_typestore

T0 = 1_700_000_000 * 1_000_000_000
DT = 33_333_333


def _frames(rng) -> list[tuple[int, list]]:
    """9 stamps: 0..5 at 30 Hz, then a 3 s gap, 6..8; frame 2 has no hand; frame 7 repeats frame 6's
    stamp (a duplicate)."""
    stamps = [T0 + k * DT for k in range(6)] + [T0 + 3_000_000_000 + k * DT for k in range(2)]
    stamps = stamps[:7] + [stamps[6]] + [T0 + 3_000_000_000 + 2 * DT]
    sides = [[True, False], [True], [], [False, True], [True], [True, False], [False], [True], [True, False]]
    return [(s, [random_estimate(rng, r, track_id=j) for j, r in enumerate(sd)])
            for s, sd in zip(stamps, sides, strict=True)]


def _bad_raw(ts, stamp: int, est, **changes) -> bytes:
    f = hand_array_fields([est], stamp, CAMERA_FRAME, (W, H))
    f["hands"][0].update(changes)
    return bytes(ts.serialize_cdr(from_fields(ts, HAND_ARRAY, f), HAND_ARRAY))


@pytest.fixture()
def recorded(tmp_path):
    """Bag "run_a" (sqlite3) with 9 good frames + 3 malformed messages, bag "run_b" (MCAP), clean."""
    ts = make_typestore()
    rng = np.random.default_rng(3)
    frames = _frames(rng)
    good = list(frames)
    # three malformed messages recorded between the good ones (stamps no good frame uses)
    bad_est = random_estimate(rng, True)
    nan_joints = np.asarray(bad_est.joints_m, np.float32).reshape(-1).copy()
    nan_joints[5] = np.nan
    extra = [(T0 + 10 * DT, [bad_est]), (T0 + 11 * DT, [bad_est]), (T0 + 12 * DT, [bad_est])]
    all_frames = frames[:3] + extra + frames[3:]
    full = bytes(ts.serialize_cdr(from_fields(ts, HAND_ARRAY, hand_array_fields([bad_est], extra[0][0],
                                                                                  CAMERA_FRAME, (W, H))),
                                  HAND_ARRAY))
    overrides = {
        3: full[: len(full) // 3],  # truncated: not deserialisable
        4: _bad_raw(ts, extra[1][0], bad_est, handedness=5),
        5: _bad_raw(ts, extra[2][0], bad_est, joints_m=nan_joints),
    }
    write_hands_bag(tmp_path / "run_a", "sqlite3", all_frames, ts, overrides)
    frames_b = [(T0 + 100 * DT + k * DT, [random_estimate(rng, k % 2 == 0)]) for k in range(3)]
    write_hands_bag(tmp_path / "run_b", "mcap", frames_b, ts)
    kept = [f for i, f in enumerate(good) if i != 7]  # the duplicate (second message of a stamp) is skipped
    return tmp_path, kept, frames_b


def _check_episode(npz, hands_pq, frames_pq, frames):
    assert list(npz["frame_stamp_ns"]) == [s for s, _ in frames]
    assert list(npz["frame_log_time_ns"]) == [s + 5_000_000 for s, _ in frames]
    assert list(npz["frame_num_hands"]) == [len(e) for _, e in frames]
    assert npz["image_size_px"].tolist() == [[W, H]] * len(frames)
    ests = [(fi, s, e) for fi, (s, es) in enumerate(frames) for e in es]
    assert len(npz["stamp_ns"]) == len(ests)
    for row, (fi, s, e) in enumerate(ests):
        assert npz["frame_index"][row] == fi and npz["stamp_ns"][row] == s
        assert npz["is_right"][row] == e.is_right and npz["handedness"][row] == int(e.is_right)
        assert npz["track_id"][row] == e.track_id
        assert npz["confidence"][row] == np.float32(e.confidence)
        np.testing.assert_array_equal(npz["joints_m"][row], np.float32(e.joints_m))
        np.testing.assert_array_equal(npz["keypoints_px"][row], np.float32(e.keypoints_px))
        np.testing.assert_array_equal(npz["wrist_position_m"][row], np.float32(e.joints_m[0]))
        q = Rotation.from_rotvec(e.global_orient_aa).as_quat()
        np.testing.assert_allclose(npz["wrist_quat_xyzw"][row], q, atol=1e-7)
        np.testing.assert_array_equal(npz["global_orient_aa"][row], np.float32(e.global_orient_aa))
        np.testing.assert_array_equal(npz["hand_pose_aa"][row], np.float32(e.hand_pose_aa))
        np.testing.assert_array_equal(npz["betas"][row], np.float32(e.betas))
        np.testing.assert_array_equal(npz["mano_translation_m"][row], np.float32(e.transl_m))
        np.testing.assert_array_equal(npz["grasp_prob"][row], np.float32(e.grasp_prob))
        assert npz["grasp_class"][row] == e.grasp_class
        np.testing.assert_array_equal(npz["box_xyxy_px"][row], np.float32(e.box_xyxy_px))
        np.testing.assert_array_equal(npz["crop_xyxy_px"][row], np.float32(e.crop_xyxy_px))
    # the most confident hand of each side per frame
    for fi in range(len(frames)):
        for side in (0, 1):
            rows = [r for r, (f, _, e) in enumerate(ests) if f == fi and int(e.is_right) == side]
            best = max(rows, key=lambda r: ests[r][2].confidence) if rows else -1
            assert npz["hand_index_by_side"][fi, side] == best
    # Parquet: the same values, multi-dimensional arrays flattened row-major
    assert hands_pq.num_rows == len(ests) and frames_pq.num_rows == len(frames)
    for k, (shape, _) in HAND_ARRAYS.items():
        col = hands_pq.column(k).to_pylist()
        np.testing.assert_array_equal(np.asarray(col, dtype=npz[k].dtype).reshape(-1, *shape), npz[k])
    for k, (shape, _) in FRAME_ARRAYS.items():
        col = frames_pq.column(k).to_pylist()
        np.testing.assert_array_equal(np.asarray(col, dtype=npz[k].dtype).reshape(-1, *shape), npz[k])
    assert hands_pq.schema.metadata[b"shape.joints_m"] == b"[21, 3]"


def test_export_round_trip_equals_message_values_split_on_gaps_with_malformed_counted(recorded):
    tmp, kept, frames_b = recorded
    cfg = ExportConfig(episode_gap_s=1.0, progress=False)
    s = export_bags([tmp / "run_a", tmp / "run_b"], tmp / "ds", cfg)
    assert s.malformed == {"deserialize": 1, "handedness": 1, "non_finite": 1, "duplicate_stamp": 1}
    assert [e["name"] for e in s.episodes] == ["run_a_ep000", "run_a_ep001", "run_b_ep000"]
    assert [e["frames"] for e in s.episodes] == [6, 2, 3]
    assert sorted(p.name for p in (tmp / "ds").iterdir()) == sorted(
        ["summary.json"] + [f"{e['name']}{x}" for e in s.episodes
                            for x in (".npz", "_hands.parquet", "_frames.parquet")])
    assert json.loads((tmp / "ds" / "summary.json").read_text())["malformed"] == s.malformed
    # the malformed messages' stamps fall in episode 0's stamp range but none of them was exported
    for name, frames in (("run_a_ep000", kept[:6]), ("run_a_ep001", kept[6:]), ("run_b_ep000", frames_b)):
        with np.load(tmp / "ds" / f"{name}.npz") as npz:
            assert str(npz["frame_id"]) == CAMERA_FRAME
            _check_episode(npz, pq.read_table(tmp / "ds" / f"{name}_hands.parquet"),
                           pq.read_table(tmp / "ds" / f"{name}_frames.parquet"), frames)


def test_without_episode_gap_one_bag_is_one_episode(recorded):
    tmp, kept, _ = recorded
    s = export_bags([tmp / "run_a"], tmp / "ds", ExportConfig(progress=False))
    assert [e["frames"] for e in s.episodes] == [8]
    with np.load(tmp / "ds" / "run_a_ep000.npz") as npz:
        assert list(npz["frame_stamp_ns"]) == [st for st, _ in kept]


def test_an_interrupted_export_leaves_no_output(recorded):
    tmp, _, _ = recorded

    def interrupt(name: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        export_bags([tmp / "run_a"], tmp / "ds", ExportConfig(episode_gap_s=1.0, progress=False),
                    on_episode=interrupt)
    assert sorted(p.name for p in tmp.iterdir()) == ["run_a", "run_b"]


def test_cli_export_exit_codes_say_whether_messages_were_skipped(recorded, capsys):
    tmp, _, _ = recorded
    assert main(["export", str(tmp / "run_b"), str(tmp / "clean"), "--no-progress"]) == 0
    dirty = ["export", str(tmp / "run_a"), str(tmp / "dirty"), "--episode-gap", "1", "--no-progress"]
    assert main(dirty) == 1
    assert "duplicate_stamp" in capsys.readouterr().out
    assert main(["export", str(tmp / "run_b"), str(tmp / "clean"), "--no-progress"]) == 2  # exists
    assert (tmp / "dirty" / "run_a_ep001.npz").is_file()
