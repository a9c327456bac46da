"""``wildhands-bag export`` for robot learning: hands in another TF frame (bag /tf + /tf_static, or a static
extrinsic), gripper targets, and LeRobot datasets (layout of LeRobot's documented v3.0 format; loaded with
``lerobot``'s own ``LeRobotDataset`` where a lerobot venv exists)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from bag_fixtures import CAMERA_FRAME, STORAGES, H, W, frame_image, random_estimate
from rosbags.rosbag2 import Writer
from scipy.spatial.transform import Rotation

from wildhands_offline.cli.bag import main
from wildhands_offline.export import ExportConfig, export_bags
from wildhands_offline.hand_fields import stamp_fields
from wildhands_offline.messages import from_fields, hand_array_msg
from wildhands_offline.types import HAND_ARRAY, IMAGE, TF_MESSAGE, make_typestore

T0 = 1_700_000_000 * 1_000_000_000
DT = 33_333_333
#: The camera's pose in "base" (what a calibration gives): p_base = R p_cam + t.
EXTRINSIC_T = np.array([0.4, -0.1, 1.2])
EXTRINSIC_Q = Rotation.from_euler("xyz", [-100, 5, -90], degrees=True).as_quat()
LEROBOT_PYTHON = Path(os.environ.get("WILDHANDS_LEROBOT_PYTHON", "/work/lerobot-venv/bin/python"))


def _with_aperture(est, aperture_m: float):
    j = np.asarray(est.joints_m, np.float64).copy()
    j[17] = j[16] + [aperture_m, 0.0, 0.0]  # MANO21: 16 thumb tip, 17 index tip
    return dataclasses.replace(est, joints_m=j)


def _tf(ts, stamp_ns: int, parent: str, child: str, t, q):
    return from_fields(ts, TF_MESSAGE, {"transforms": [{
        "header": {"stamp": stamp_fields(stamp_ns), "frame_id": parent}, "child_frame_id": child,
        "transform": {"translation": dict(zip("xyz", map(float, t), strict=True)),
                      "rotation": dict(zip("xyzw", map(float, q), strict=True))}}]})


def _write(path: Path, frames, ts, images=True, tf_static=True, tf_dynamic=None, storage="mcap"):
    """frames: (k, stamp, estimates or None = no HandArray); images rgb8 from ``frame_image(k)``."""
    w = Writer(path, version=9, storage_plugin=STORAGES[storage])
    with w:
        img_c = w.add_connection("/cam/image_raw", IMAGE, typestore=ts)
        hand_c = w.add_connection("/wildhands/hands", HAND_ARRAY, typestore=ts)
        if tf_static:
            c = w.add_connection("/tf_static", TF_MESSAGE, typestore=ts)
            w.write(c, T0, ts.serialize_cdr(_tf(ts, T0, "base", CAMERA_FRAME, EXTRINSIC_T, EXTRINSIC_Q),
                                            TF_MESSAGE))
        if tf_dynamic:
            c = w.add_connection("/tf", TF_MESSAGE, typestore=ts)
            for s, t, q in tf_dynamic:
                w.write(c, s, ts.serialize_cdr(_tf(ts, s, "world", CAMERA_FRAME, t, q), TF_MESSAGE))
        for k, stamp, ests in frames:
            if images:
                f = {"header": {"stamp": stamp_fields(stamp), "frame_id": CAMERA_FRAME}, "height": H,
                     "width": W, "encoding": "rgb8", "is_bigendian": 0, "step": W * 3,
                     "data": frame_image(k).reshape(-1)}
                w.write(img_c, stamp + 1_000_000, ts.serialize_cdr(from_fields(ts, IMAGE, f), IMAGE))
            if ests is not None:
                w.write(hand_c, stamp + 5_000_000,
                        ts.serialize_cdr(hand_array_msg(ts, ests, stamp, CAMERA_FRAME, (W, H)), HAND_ARRAY))


def _demo_frames(rng):
    """Images 0..5, (6 missing: a gap), 7..9 at 30 Hz, then 3 s later 10, 11. Image 2: no hand; image 3:
    no HandArray at all. Right hand aperture 1 + k cm; left hand (even k) 12 - k cm."""
    ks = [0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11]
    out = []
    for k in ks:
        stamp = T0 + k * DT + (3_000_000_000 if k >= 10 else 0)
        ests = [_with_aperture(random_estimate(rng, True), 0.01 * (1 + k))]
        if k % 2 == 0:
            ests.append(_with_aperture(random_estimate(rng, False), 0.01 * (12 - k)))
        out.append((k, stamp, None if k == 3 else ([] if k == 2 else ests)))
    return out


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("robot")
    ts = make_typestore()
    frames = _demo_frames(np.random.default_rng(5))
    _write(tmp / "demo", frames, ts)
    out = tmp / "lerobot"
    cfg = ExportConfig(format="lerobot", target_frame="base", episode_gap_s=1.0, progress=False, plot=True,
                       task="pick the cup")
    s = export_bags([tmp / "demo"], out, cfg)
    return tmp, frames, out, s


def _R():
    return Rotation.from_quat(EXTRINSIC_Q).as_matrix()


def test_npz_export_in_the_tf_static_frame_matches_the_extrinsic(tmp_path):
    ts = make_typestore()
    frames = _demo_frames(np.random.default_rng(7))
    _write(tmp_path / "b", frames, ts, images=False)
    s = export_bags([tmp_path / "b"], tmp_path / "out", ExportConfig(target_frame="base", progress=False))
    z = np.load(tmp_path / "out" / "b_ep000.npz")
    hands = [e for _, _, es in frames if es for e in es]
    joints_cam = np.stack([np.asarray(e.joints_m, np.float32) for e in hands]).astype(np.float64)
    expected = joints_cam @ _R().T + EXTRINSIC_T
    assert np.max(np.abs(z["joints_target_m"] - expected)) < 1e-6
    assert np.max(np.abs(z["wrist_position_target_m"] - expected[:, 0])) < 1e-6
    assert str(z["target_frame"]) == "base" and z["transform_ok"].all() and s.transform_missing == {}
    # the same with the extrinsic given on the command line and no TF in the bag
    _write(tmp_path / "c", frames, ts, images=False, tf_static=False)
    ext = " ".join(f"{v:.17g}" for v in [*EXTRINSIC_T, *EXTRINSIC_Q])
    assert main(["export", str(tmp_path / "c"), str(tmp_path / "out_c"), "--target-frame", "base",
                 "--extrinsic", ext, "--no-progress", "--plot"]) == 0
    zc = np.load(tmp_path / "out_c" / "c_ep000.npz")
    assert (tmp_path / "out_c" / "c_ep000_plot.png").stat().st_size > 10_000
    assert np.max(np.abs(zc["joints_target_m"] - expected)) < 1e-6
    # gripper targets: the exported aperture is the synthetic one, the command its documented mapping
    right = zc["hand_index_by_side"][:, 1]
    ks = [k for k, _, es in frames if es is not None]
    truth = np.array([0.01 * (1 + k) for k in ks])
    has = right >= 0
    assert np.max(np.abs(zc["gripper_aperture_m"][has, 1] - truth[has])) < 2e-3
    assert np.max(np.abs(zc["gripper_command"][has, 1] - np.clip((truth[has] - 0.02) / 0.08, 0, 1))) < 0.02
    assert np.isnan(zc["gripper_command"][~has, 1]).all()


def test_missing_or_stale_tf_is_counted_per_frame_never_identity(tmp_path):
    ts = make_typestore()
    frames = _demo_frames(np.random.default_rng(8))[:6]  # images 0..5 (3: no HandArray)
    q = Rotation.from_euler("z", 30, degrees=True).as_quat()
    # world -> camera recorded at images 0 and 1 only: 4 and 5 lie after the last sample
    tf = [(T0, [0, 0, 1], q), (T0 + DT, [0, 0.1, 1], q)]
    _write(tmp_path / "b", frames, ts, images=False, tf_static=False, tf_dynamic=tf)
    s = export_bags([tmp_path / "b"], tmp_path / "out", ExportConfig(target_frame="world", progress=False))
    z = np.load(tmp_path / "out" / "b_ep000.npz")
    assert list(z["transform_ok"]) == [True, True, False, False, False]
    assert s.transform_missing == {"extrapolation": 3}
    late = z["frame_index"] >= 2
    assert np.isnan(z["joints_target_m"][late]).all() and not np.isnan(z["joints_target_m"][~late]).any()
    assert main(["export", str(tmp_path / "b"), str(tmp_path / "o2"), "--target-frame", "world",
                 "--no-progress"]) == 1  # exit code 1: frames without a transform


def test_lerobot_dataset_files_follow_the_v3_layout(demo):
    _tmp, frames, out, s = demo
    info = json.loads((out / "meta" / "info.json").read_text())
    assert info["codebase_version"] == "v3.0" and info["fps"] == 30
    assert info["total_episodes"] == 2 and info["total_frames"] == 12 and info["total_tasks"] == 1
    assert info["features"]["observation.images.camera"]["dtype"] == "video"
    assert info["features"]["observation.images.camera"]["shape"] == [H, W, 3]
    for k in ("timestamp", "frame_index", "episode_index", "index", "task_index"):
        assert info["features"][k]["shape"] == [1]
    names = info["features"]["observation.state"]["names"]
    assert len(names) == info["features"]["observation.state"]["shape"][0]
    # LeRobot's policies take every observation.* feature as an input: only the image and the state
    assert sorted(k for k in info["features"] if k.startswith("observation.")) == [
        "observation.images.camera", "observation.state"]
    eps = pq.read_table(out / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    # image 6 was dropped: its row is filled (see the test of timestamps below)
    assert [(e["length"], e["dataset_from_index"], e["dataset_to_index"]) for e in eps] == [(10, 0, 10),
                                                                                           (2, 10, 12)]
    d0 = pq.read_table(out / info["data_path"].format(chunk_index=0, file_index=0)).to_pydict()
    assert d0["frame_index"] == list(range(10))
    assert d0["timestamp"] == pytest.approx([i / 30 for i in range(10)])
    assert [st for st, r in zip(d0["stamp_ns"], d0["recorded"], strict=True) if r] == [st for _, st, _ in
                                                                                     frames[:9]]
    # masks: image 2 has no hand, image 3 no HandArray; both rows kept
    assert d0["estimated"] == [True, True, True, False, True, True, False, True, True, True]
    assert [list(v) for v in d0["hands_valid"]][2:4] == [[False, False], [False, False]]
    # the state columns named right.wrist_x.. hold the right wrist in "base"
    st = np.asarray(d0["observation.state"], np.float64)
    i = names.index("right.wrist_x")
    right0 = np.asarray(frames[0][2][0].joints_m, np.float32)[0].astype(np.float64)
    assert np.max(np.abs(st[0, i:i + 3] - (_R() @ right0 + EXTRINSIC_T))) < 1e-6
    ia = names.index("right.pinch_aperture_m")
    assert st[0, ia] == pytest.approx(0.01, abs=2e-3) and st[4, ia] == pytest.approx(0.05, abs=2e-3)
    # the gap between images 5 and 7 is reported; the 3 s gap split the episodes
    assert s.episodes[0]["gaps"] == [{"after_index": 5, "gap_s": pytest.approx(2 * DT / 1e9),
                                      "missing_frames": 1}]
    assert s.episodes[0]["frames_without_estimate"] == 1 and s.episodes[0]["frames_without_hands"] == 2
    assert s.malformed == {}
    # video: one frame per row, images equal to the recorded ones up to H.264 loss
    import av

    with av.open(str(out / info["video_path"].format(video_key="observation.images.camera", chunk_index=0,
                                                   file_index=0))) as c:
        decoded = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(decoded) == 10
    assert np.mean(np.abs(decoded[7].astype(float) - frame_image(7))) < 6.0
    assert (out / "plots" / "episode_000000.png").stat().st_size > 10_000


def test_lerobot_image_stats_count_frames_as_lerobot_does(demo):
    """lerobot 0.4.4 compute_stats.py: an episode's image statistics sample every frame below 100 frames
    (``sample_indices``), reduce over (frames, H, W) per channel, divide by 255, keep shape (3, 1, 1), and
    ``count`` = the number of frames sampled (``get_feature_stats``: ``sample_count`` = batch size)."""
    _tmp, _frames, out, _s = demo
    st = json.loads((out / "meta" / "stats.json").read_text())["observation.images.camera"]
    assert st["count"] == [12]  # the 11 images and the row filled for image 6 (a copy of image 5)
    imgs = np.stack([frame_image(k) for k in (0, 1, 2, 3, 4, 5, 5, 7, 8, 9, 10, 11)]).astype(np.float64) / 255
    for k in ("min", "max", "mean", "std", "q01", "q50", "q99"):
        assert np.asarray(st[k]).shape == (3, 1, 1)
    assert np.asarray(st["mean"]).reshape(3) == pytest.approx(imgs.mean((0, 1, 2)), abs=0.02)
    assert np.asarray(st["std"]).reshape(3) == pytest.approx(imgs.std((0, 1, 2)), abs=0.02)


def test_lerobot_episodes_carry_their_statistics_as_lerobot_writes_them(demo):
    """lerobot 0.4.4 ``LeRobotDatasetMetadata.save_episode`` stores ``flatten_dict({"stats": ep_stats})``
    in the episode's row: one ``stats/<feature>/<stat>`` column per feature (every feature LeRobot has
    stats for: all but strings, its own timestamp/frame_index/episode_index/index/task_index included) and
    stat (min, max, mean, std, count, q01, q10, q50, q90, q99); ``count`` = [episode length]."""
    _tmp, _frames, out, _s = demo
    info = json.loads((out / "meta" / "info.json").read_text())
    eps = pq.read_table(out / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    stat_names = ("min", "max", "mean", "std", "count", "q01", "q10", "q50", "q90", "q99")
    for e in eps:
        for f, spec in info["features"].items():
            for st in stat_names:
                assert f"stats/{f}/{st}" in e, (f, st)
            if spec["dtype"] != "video":
                assert np.asarray(e[f"stats/{f}/mean"]).shape == tuple(spec["shape"])
            assert e[f"stats/{f}/count"] == [e["length"]]
    d1 = pq.read_table(out / "data/chunk-000/file-001.parquet").to_pydict()
    ts = np.asarray(d1["timestamp"], np.float64)
    assert eps[1]["stats/timestamp/max"] == pytest.approx([ts.max()])
    assert eps[1]["stats/frame_index/mean"] == pytest.approx([np.mean(d1["frame_index"])])


def test_lerobot_splits_at_pauses_by_default_and_timestamps_follow_the_stamps(demo, tmp_path):
    """LeRobot reads a frame's time as ``timestamp`` = frame_index / fps (the video is queried there), so a
    pause must end the episode and a dropped frame must keep its slot: without --episode-gap the 3 s pause
    splits the recording; the dropped image 6 becomes a marked row repeating image 5, and every recorded
    row's timestamp is its stamp minus the episode's first, within half a frame."""
    tmp, frames, _out, _s = demo
    assert main(["export", str(tmp / "demo"), str(tmp_path / "o"), "--format", "lerobot",
                 "--no-progress"]) == 0
    s = json.loads((tmp_path / "o" / "wildhands_export.json").read_text())
    assert [(e["frames"], e["filled_frames"]) for e in s["episodes"]] == [(10, 1), (2, 0)]
    info = json.loads((tmp_path / "o" / "meta" / "info.json").read_text())
    assert info["features"]["observation.state"]["info"]["frame"] == CAMERA_FRAME  # no target frame
    stamps = {k: st for k, st, _ in frames}
    for ep, ks in ((0, [0, 1, 2, 3, 4, 5, None, 7, 8, 9]), (1, [10, 11])):
        d = pq.read_table(tmp_path / "o" / f"data/chunk-000/file-{ep:03d}.parquet").to_pydict()
        assert d["recorded"] == [k is not None for k in ks]
        first = stamps[ks[0]]
        for i, k in enumerate(ks):
            if k is not None:
                assert d["stamp_ns"][i] == stamps[k]
                assert abs(d["timestamp"][i] - (stamps[k] - first) / 1e9) < 0.5 / 30
    d0 = pq.read_table(tmp_path / "o" / "data/chunk-000/file-000.parquet").to_pydict()
    assert stamps[5] < d0["stamp_ns"][6] < stamps[7] and d0["hands_valid"][6] == [False, False]
    assert d0["estimated"][6] is False
    import av

    with av.open(str(tmp_path / "o/videos/observation.images.camera/chunk-000/file-000.mp4")) as c:
        decoded = [f.to_ndarray(format="rgb24").astype(float) for f in c.decode(video=0)]
    assert np.mean(np.abs(decoded[6] - frame_image(5))) < 6.0  # the filled row shows the last image
    # a frame rate that would re-time the images is refused, with the camera's rate
    assert main(["export", str(tmp / "demo"), str(tmp_path / "o15"), "--format", "lerobot", "--fps", "15",
                 "--no-progress"]) == 2
    assert not (tmp_path / "o15").exists()


def _wrists_in_base(frames, right: bool) -> dict[int, np.ndarray]:
    """Image k -> the recorded wrist (joint 0) of that side in "base", where the side was estimated."""
    out = {}
    for k, _, ests in frames:
        for e in ests or []:
            if e.is_right == right:
                out[k] = _R() @ np.asarray(e.joints_m, np.float32)[0].astype(np.float64) + EXTRINSIC_T
    return out


def test_lerobot_missing_hands_hold_their_last_pose_and_stay_out_of_the_statistics(demo):
    """A hand not seen must neither sit at the origin with a zero quaternion nor pull the normalisation:
    its rows repeat its last seen values (flag 0), and meta/stats.json's mean/std/min/max of its columns
    are those of the frames where it was seen (computed here from the recorded messages)."""
    _tmp, frames, out, _s = demo
    info = json.loads((out / "meta" / "info.json").read_text())
    names = info["features"]["observation.state"]["names"]
    anames = info["features"]["action"]["names"]
    stats = json.loads((out / "meta" / "stats.json").read_text())
    for side, right in (("left", False), ("right", True)):
        w = np.stack(list(_wrists_in_base(frames, right).values()))
        i = names.index(f"{side}.wrist_x")
        for st, ref in (("mean", w.mean(0)), ("std", w.std(0)), ("min", w.min(0)), ("max", w.max(0))):
            got = np.asarray(stats["observation.state"][st][i:i + 3])
            assert got == pytest.approx(ref, abs=1e-6), (side, st)
        j = anames.index(f"{side}.wrist_x")
        assert np.asarray(stats["action"]["mean"][j:j + 3]) == pytest.approx(w.mean(0), abs=1e-6)
    d0 = pq.read_table(out / "data/chunk-000/file-000.parquet").to_pydict()
    st, act = np.asarray(d0["observation.state"]), np.asarray(d0["action"])
    r0, rv = names.index("right.valid"), names.index("right.wrist_x")
    # rows: images 0 1 2 3 4 5 (6 filled) 7 8 9; the right hand is missing at images 2 and 3 and row 6
    assert [v for v in st[:, r0]] == [1, 1, 0, 0, 1, 1, 0, 1, 1, 1]
    right = _wrists_in_base(frames, True)
    for row, k in ((2, 1), (3, 1), (6, 5)):
        assert st[row, rv:rv + 3] == pytest.approx(right[k], abs=1e-6)
        assert st[row, r0 + 2:r0 + 133] == pytest.approx(st[row - 1 if row != 3 else 1, r0 + 2:r0 + 133])
    left = _wrists_in_base(frames, False)
    lv = names.index("left.wrist_x")
    assert st[1, lv:lv + 3] == pytest.approx(left[0], abs=1e-6)  # left seen at image 0, not at 1
    for s0 in (0, 8):  # every action quaternion is a unit one (never (0, 0, 0, 0))
        assert np.linalg.norm(act[:, s0 + 3:s0 + 7], axis=1) == pytest.approx(np.ones(len(act)), abs=1e-5)


def test_lerobot_writer_episode_without_a_valid_value_is_neutral_in_lerobots_aggregation(tmp_path):
    """LeRobot's aggregate_feature_stats (lerobot 0.4.4 compute_stats.py) weights episode means by count
    and adds count * (std^2 + (mean - total mean)^2) to the variance: an episode carrying the dataset's
    own mean and std for a column it has no value of leaves both unchanged. Its rows hold the first value
    seen in the dataset."""
    from wildhands_offline.lerobot_writer import LeRobotWriter

    w = LeRobotWriter(tmp_path / "ds", 10, {"x": {"dtype": "float32", "shape": [2], "names": ["a", "b"]}},
                      None)
    x0 = np.array([[1.0, 5.0], [3.0, 7.0], [2.0, 9.0]], np.float32)
    w.end_episode({"x": x0}, "t")
    w.end_episode({"x": np.array([[4.0, 0.0], [6.0, 0.0]], np.float32)}, "t",
                  valid={"x": np.array([[True, False], [True, False]])})
    w.finalize()
    eps = pq.read_table(tmp_path / "ds/meta/episodes/chunk-000/file-000.parquet").to_pylist()
    ds = json.loads((tmp_path / "ds/meta/stats.json").read_text())["x"]
    assert ds["mean"] == pytest.approx([16 / 5, 7.0]) and ds["std"][1] == pytest.approx(np.std([5, 7, 9]))
    assert eps[1]["stats/x/mean"][1] == pytest.approx(7.0)
    assert eps[1]["stats/x/std"][1] == pytest.approx(ds["std"][1])
    counts = np.array([e["stats/x/count"][0] for e in eps], float)
    means = np.array([e["stats/x/mean"] for e in eps])
    stds = np.array([e["stats/x/std"] for e in eps])
    total = (means * counts[:, None]).sum(0) / counts.sum()
    var = ((stds**2 + (means - total) ** 2) * counts[:, None]).sum(0) / counts.sum()
    assert total[1] == pytest.approx(7.0) and np.sqrt(var[1]) == pytest.approx(ds["std"][1])
    d1 = pq.read_table(tmp_path / "ds/data/chunk-000/file-001.parquet").to_pydict()["x"]
    assert [v[1] for v in d1] == [5.0, 5.0]


def test_lerobot_info_names_every_column_with_its_unit_and_frame(demo):
    """LeRobot's meta/info.json carries, per feature, ``names`` (one per column) and an ``info`` dict, and a
    ``robot_type``: every column of ours is named there with its unit, the poses with their frame (the
    target frame "base" here), the joints by name in MANO21 order (index tip = joint 17, 3 values each)."""
    _tmp, _frames, out, _s = demo
    info = json.loads((out / "meta" / "info.json").read_text())
    assert isinstance(info["robot_type"], str) and info["robot_type"]
    lerobot_own = {"timestamp", "frame_index", "episode_index", "index", "task_index"}
    for k, f in info["features"].items():
        if k in lerobot_own or f["dtype"] == "video":
            continue
        n = int(np.prod(f["shape"]))
        assert len(f["names"]) == n and len(set(f["names"])) == n, k
        assert len(f["info"]["unit"]) == n and set(f["info"]["unit"]) <= {"m", "rad", "1", "ns"}, k
        assert f["info"]["description"], k
    for k in ("observation.state", "action"):
        assert info["features"][k]["info"]["frame"] == "base"
    st = info["features"]["observation.state"]
    unit = dict(zip(st["names"], st["info"]["unit"], strict=True))
    assert (unit["right.wrist_x"], unit["right.wrist_qw"], unit["right.global_orient_x"],
            unit["left.hand_pose_thumb3_z"], unit["left.pinch_aperture_m"]) == ("m", "1", "rad", "rad", "m")
    names = st["names"]
    assert names.index("right.joint_index_tip_x") == names.index("right.joint_wrist_x") + 17 * 3
    assert len(st["info"]["joint_names"]) == 21 and st["info"]["joint_names"][17] == "index_tip"
    assert info["features"]["stamp_ns"]["info"]["unit"] == ["ns"]


def test_export_without_an_image_topic_says_how_to_record_one(tmp_path):
    ts = make_typestore()
    _write(tmp_path / "b", _demo_frames(np.random.default_rng(9))[:3], ts, images=False)
    assert main(["export", str(tmp_path / "b"), str(tmp_path / "o"), "--format", "lerobot",
                 "--no-progress"]) == 2
    assert not (tmp_path / "o").exists()


_LOAD = """
import json, sys
from lerobot.datasets.lerobot_dataset import LeRobotDataset
from lerobot.datasets.utils import dataset_to_policy_features
out = {}
backends = ["pyav"]
try:
    import torchcodec.decoders  # noqa: F401 (needs a system FFmpeg)
    backends.append("torchcodec")
except Exception:
    pass
for backend in backends:
    ds = LeRobotDataset("wildhands/test", root=sys.argv[1], video_backend=backend)
    x = ds[11]
    out[backend] = {"len": len(ds), "episodes": ds.meta.total_episodes, "task": x["task"],
                    "policy_features": sorted(dataset_to_policy_features(ds.meta.features)),
                  "image": list(x["observation.images.camera"].shape),
                  "pixel": float(x["observation.images.camera"][:, 20, 5].mean()),
                  "state": x["observation.state"].tolist(), "ep": int(x["episode_index"]),
                  "frame": int(x["frame_index"]), "fps": ds.fps}
# the README's loss mask: hands_valid over an action chunk, LeRobot's padding past the episode's end
import torch
chunk = [0, 1 / 30, 2 / 30]
ds = LeRobotDataset("wildhands/test", root=sys.argv[1], video_backend="pyav",
                    delta_timestamps={"action": chunk, "hands_valid": chunk})
b = torch.utils.data.default_collate([ds[8]])
mask = b["hands_valid"].float().repeat_interleave(8, dim=-1)
mask = mask * ~b["action_is_pad"][..., None]
out["mask"] = mask[0].tolist()
print(json.dumps(out))
"""


@pytest.mark.slow
@pytest.mark.skipif(not LEROBOT_PYTHON.exists(),
                    reason=f"no lerobot venv at {LEROBOT_PYTHON} (python3.11 -m venv; pip install "
                           "lerobot==0.4.4; or set WILDHANDS_LEROBOT_PYTHON)")
def test_lerobot_loads_the_exported_dataset(demo):
    tmp, _frames, out, _s = demo
    res = _run_lerobot(_LOAD, str(out), tmp=tmp)
    mask = np.asarray(res.pop("mask"))
    print("backends:", sorted(res))
    for got in res.values():
        _check_loaded(got, out)
    # rows 8, 9 of episode 0 (images 8, 9: both hands, the right one only), then past its end: zeros
    valid = pq.read_table(out / "data/chunk-000/file-000.parquet").to_pydict()["hands_valid"]
    assert valid[8] == [True, True] and valid[9] == [False, True]
    assert mask.tolist() == [[1.0] * 16, [0.0] * 8 + [1.0] * 8, [0.0] * 16]


_SPLIT = """
import json, sys
from pathlib import Path
from lerobot.datasets.dataset_tools import delete_episodes, split_dataset
from lerobot.datasets.lerobot_dataset import LeRobotDataset
src, tmp = sys.argv[1], Path(sys.argv[2])
ds = LeRobotDataset("wildhands/test", root=src, video_backend="pyav")
parts = split_dataset(ds, {"first": [0], "second": [1]}, output_dir=tmp / "split")
kept = delete_episodes(ds, [0], output_dir=tmp / "deleted", repo_id="wildhands/deleted")
out = {}
for name, d in [*parts.items(), ("deleted", kept)]:
    st = json.loads((Path(d.root) / "meta" / "stats.json").read_text())
    out[name] = {"stats": st, "episodes": d.meta.total_episodes, "frames": d.meta.total_frames,
                 "info": json.loads((Path(d.root) / "meta" / "info.json").read_text())}
print(json.dumps(out))
"""


def _run_lerobot(script: str, *args: str, tmp: Path) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_LEROBOT_HOME": str(tmp / "hf")}
    env.pop("PYTHONPATH", None)
    r = subprocess.run([str(LEROBOT_PYTHON), "-c", script, *args], capture_output=True, text=True, env=env,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.skipif(not LEROBOT_PYTHON.exists(), reason=f"no lerobot venv at {LEROBOT_PYTHON}")
def test_lerobot_split_and_delete_keep_the_statistics(demo, tmp_path):
    """LeRobot's own ``split_dataset`` / ``delete_episodes`` rebuild meta/stats.json from the episodes'
    ``stats/...`` columns: the rebuilt statistics of one episode are that episode's own."""
    _tmp, _frames, out, _s = demo
    res = _run_lerobot(_SPLIT, str(out), str(tmp_path), tmp=tmp_path)
    assert (res["first"]["episodes"], res["second"]["episodes"], res["deleted"]["episodes"]) == (1, 1, 1)
    d1 = pq.read_table(out / "data/chunk-000/file-001.parquet").to_pydict()
    for name in ("second", "deleted"):  # both hold episode 1 only
        st = res[name]["stats"]
        for f in ("observation.state", "action", "observation.images.camera"):
            assert st[f]["count"] == [2], (name, f)
            assert np.isfinite(np.asarray(st[f]["std"], np.float64)).all(), (name, f)
        assert np.asarray(st["frame_index"]["max"]) == pytest.approx([1])
    assert res["first"]["stats"]["observation.state"]["count"] == [10]
    # the columns' description survives LeRobot's tools
    for name in ("first", "deleted"):
        feats = res[name]["info"]["features"]
        assert feats["observation.state"]["info"]["frame"] == "base"
        assert feats["action"]["info"]["unit"][:3] == ["m", "m", "m"]
    # episode 1 alone: the right wrist's statistics over the images where it was seen (10 and 11)
    names = json.loads((out / "meta" / "info.json").read_text())["features"]["observation.state"]["names"]
    i = names.index("right.wrist_x")
    right = _wrists_in_base(_frames, True)
    w = np.stack([right[10], right[11]])
    st = res["deleted"]["stats"]["observation.state"]
    assert np.asarray(st["mean"][i:i + 3]) == pytest.approx(w.mean(0), abs=1e-6)
    assert np.asarray(st["std"][i:i + 3]) == pytest.approx(w.std(0), abs=1e-6)
    assert d1["frame_index"] == [0, 1]


def _check_loaded(got: dict, out: Path) -> None:
    assert (got["len"], got["episodes"], got["task"], got["fps"]) == (12, 2, "pick the cup", 30)
    assert got["image"] == [3, H, W] and (got["ep"], got["frame"]) == (1, 1)
    # what LeRobot's policies take: the image, the state and the action; no stamp, no masks
    assert got["policy_features"] == ["action", "observation.images.camera", "observation.state"]
    assert got["pixel"] == pytest.approx(frame_image(11)[20, 5].mean() / 255, abs=0.05)
    st = pq.read_table(out / "data/chunk-000/file-001.parquet").to_pydict()["observation.state"][1]
    assert got["state"] == pytest.approx(st)


def test_process_copies_the_recorded_tf_next_to_the_hands_transforms_and_export_uses_it(tmp_path):
    """The documented recording flow: process --copy /cam/image_raw /tf /tf_static, then export in a TF
    frame. The recorded /tf shares the topic with the hands' wrist transforms (one /tf connection)."""
    from bag_fixtures import BOXES_TOPIC, RIGHT_BOX, FrameSpec, small_estimator, write_camera_bag
    from rosbags.rosbag2 import Reader

    from wildhands_offline.process import ProcessConfig, process_bag

    ts = make_typestore()
    specs = [FrameSpec(i, T0 + i * DT, T0 + i * DT, boxes=[(RIGHT_BOX, True)]) for i in range(3)]
    write_camera_bag(tmp_path / "cam", "mcap", specs, ts)
    q = Rotation.from_euler("y", 20, degrees=True).as_quat()
    with Reader(tmp_path / "cam") as r, Writer(tmp_path / "rec", version=9,
                                               storage_plugin=STORAGES["mcap"]) as w:
        conns = {c.id: w.add_connection(c.topic, c.msgtype, typestore=ts) for c in r.connections}
        tc = w.add_connection("/tf", TF_MESSAGE, typestore=ts)
        for k in (0, 2):  # world -> camera at images 0 and 2: image 1 is interpolated
            w.write(tc, T0 + k * DT, ts.serialize_cdr(_tf(ts, T0 + k * DT, "world", CAMERA_FRAME,
                                                          [0.1 * k, 0, 1], q), TF_MESSAGE))
        for c, t, raw in r.messages():
            w.write(conns[c.id], t, raw)
    s = process_bag(tmp_path / "rec", tmp_path / "hands", small_estimator(),
                    ProcessConfig(boxes_topic=BOXES_TOPIC, copy_topics=("/cam/image_raw", "/tf"),
                                  progress=False))
    assert s.copy_skipped_topics == []
    with Reader(tmp_path / "hands") as r:
        tf = [c for c in r.connections if c.topic == "/tf"]
        assert len(tf) == 1 and tf[0].msgcount == 2 + s.frames_written  # recorded + the hands' own
    out = export_bags([tmp_path / "hands"], tmp_path / "ds",
                      ExportConfig(format="lerobot", target_frame="world", progress=False))
    assert out.transform_missing == {} and out.episodes[0]["frames"] == 3
    d = pq.read_table(tmp_path / "ds/data/chunk-000/file-000.parquet").to_pydict()
    names = json.loads((tmp_path / "ds/meta/info.json").read_text())["features"]["observation.state"]["names"]
    i = names.index("right.wrist_x")
    with Reader(tmp_path / "hands") as r:
        hc = [c for c in r.connections if c.topic == "/wildhands/hands"]
        msgs = [ts.deserialize_cdr(raw, HAND_ARRAY) for _, _, raw in r.messages(connections=hc)]
    p = msgs[1].hands[0].wrist_pose.position
    expected = Rotation.from_quat(q).apply([p.x, p.y, p.z]) + [0.1, 0, 1]  # halfway: t = (0.1, 0, 1)
    assert np.max(np.abs(np.asarray(d["observation.state"][1][i:i + 3]) - expected)) < 1e-6
