"""`wildhands-batch` on a real local Ray (2 workers) over 6 small inputs of mixed kinds made here from the
project's synthetic sequences (2 videos, an image folder, an MCAP and a sqlite3 bag, a LeRobot v3.0
dataset) plus 3 that fail (a corrupt bag, a video with no intrinsics, a file that is no video); compared
with the single-process path (``--workers 0``) on the same inputs.

One Ray session serves the module (starting Ray takes seconds); the demo estimator and the demo's learned
detector, torch backend, one thread per worker.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import signal
import threading
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from rosbags.rosbag2 import StoragePlugin, Writer
from urdf_facts import urdf_joint_limits

from wildhands_core.stamps import ns_to_sec_nanosec
from wildhands_offline.batch import run_batch, start_ray
from wildhands_offline.batch_inputs import batch_inputs, list_inputs
from wildhands_offline.batch_worker import BatchConfig
from wildhands_offline.cli.batch import main
from wildhands_offline.messages import from_fields
from wildhands_offline.types import CAMERA_INFO, IMAGE, make_typestore

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "models" / "demo"
SIZE = (128, 96)
FPS = 10
#: frames used per input; the first video is long enough to be killed in the middle of
FRAMES = {"a_video.mp4": 16, "b_video.mp4": 3, "c_folder": 3, "d_bag_mcap": 3, "e_bag_sqlite3": 3,
          "f_lerobot": 4}
#: frames each input holds that the pipeline must reject, by reason (the image folder ends with an image of
#: another size than its first)
REJECTED = {"c_folder": {"image_size": 1}}
#: inputs that fail, with the reason the summary must give
FAILING = {"g_corrupt.mcap": "unreadable", "h_no_intrinsics.mp4": "no_intrinsics",
           "i_unreadable.mp4": "unreadable"}


def _camera_yaml(path: Path, K: np.ndarray) -> None:
    """The camera_calibration YAML layout (what cameracalibrator writes)."""
    d = {"image_width": SIZE[0], "image_height": SIZE[1], "camera_name": "head_cam",
         "camera_matrix": {"rows": 3, "cols": 3, "data": [float(v) for v in K.reshape(9)]},
         "distortion_model": "plumb_bob",
         "distortion_coefficients": {"rows": 1, "cols": 5, "data": [0.0] * 5},
         "rectification_matrix": {"rows": 3, "cols": 3, "data": np.eye(3).reshape(9).tolist()},
         "projection_matrix": {"rows": 3, "cols": 4, "data": np.c_[K, np.zeros(3)].reshape(12).tolist()}}
    path.write_text(yaml.safe_dump(d))


def _bag(path: Path, storage: StoragePlugin, images: list[np.ndarray], K: np.ndarray) -> None:
    ts = make_typestore()
    with Writer(path, version=9, storage_plugin=storage) as w:
        img_c = w.add_connection("/cam/image_raw", IMAGE, typestore=ts)
        info_c = w.add_connection("/cam/camera_info", CAMERA_INFO, typestore=ts)
        for i, rgb in enumerate(images):
            stamp = 1_000_000_000 + i * 100_000_000
            sec, nsec = ns_to_sec_nanosec(stamp)
            header = {"stamp": {"sec": sec, "nanosec": nsec}, "frame_id": "cam_optical"}
            img = {"header": header, "height": SIZE[1], "width": SIZE[0], "encoding": "rgb8",
                   "is_bigendian": 0, "step": SIZE[0] * 3, "data": np.ascontiguousarray(rgb).reshape(-1)}
            info = {"header": header, "height": SIZE[1], "width": SIZE[0], "distortion_model": "plumb_bob",
                    "d": np.zeros(5), "k": K.reshape(-1).astype(np.float64), "r": np.eye(3).reshape(-1),
                    "p": np.c_[K, np.zeros(3)].reshape(-1).astype(np.float64)}
            w.write(img_c, stamp, ts.serialize_cdr(from_fields(ts, IMAGE, img), IMAGE))
            w.write(info_c, stamp + 1000, ts.serialize_cdr(from_fields(ts, CAMERA_INFO, info), CAMERA_INFO))


def _mp4_av(path: Path, images: list[np.ndarray]) -> None:
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=FPS)
        s.width, s.height, s.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        for rgb in images:
            for packet in s.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in s.encode():
            out.mux(packet)


def _lerobot(root: Path, images: list[np.ndarray], K: np.ndarray) -> None:
    """LeRobot's documented v3.0 layout: info.json, meta/episodes parquet, two episodes in one video file."""
    key = "observation.images.cam"
    video = root / "videos" / key / "chunk-000" / "file-000.mp4"
    video.parent.mkdir(parents=True)
    _mp4_av(video, images)
    (root / "meta" / "episodes" / "chunk-000").mkdir(parents=True)
    info = {"codebase_version": "v3.0", "fps": FPS,
            "features": {key: {"dtype": "video", "shape": [SIZE[1], SIZE[0], 3], "names": None}},
            "video_path": "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"}
    (root / "meta" / "info.json").write_text(json.dumps(info))
    n0 = len(images) // 2
    pq.write_table(pa.table({"episode_index": [0, 1], "length": [n0, len(images) - n0],
                             f"videos/{key}/chunk_index": [0, 0], f"videos/{key}/file_index": [0, 0],
                             f"videos/{key}/from_timestamp": [0.0, n0 / FPS],
                             f"videos/{key}/to_timestamp": [n0 / FPS, len(images) / FPS]}),
                   root / "meta" / "episodes" / "chunk-000" / "file-000.parquet")
    _camera_yaml(root / "camera_info.yaml", K)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """The 6 inputs and the 3 failing ones in one folder; each from its own synthetic sequence."""
    from wildhands_synth.sequence import SyntheticSequence

    d = tmp_path_factory.mktemp("inputs")
    for seed, (name, n) in enumerate(FRAMES.items()):
        seq = SyntheticSequence(70_000 + seed, SIZE, threads=1)
        images = [f.image for f in seq.frames(n)]
        K = np.asarray(seq.K_px, np.float64)
        path = d / name
        if name.endswith(".mp4"):
            w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
            for rgb in images:
                w.write(np.ascontiguousarray(rgb[:, :, ::-1]))
            w.release()
            _camera_yaml(path.with_suffix(".yaml"), K)
        elif name == "c_folder":
            path.mkdir()
            for i, rgb in enumerate(images):
                cv2.imwrite(str(path / f"{i:04d}.png"), rgb[:, :, ::-1])
            cv2.imwrite(str(path / f"{n:04d}.png"), np.zeros((SIZE[1] // 2, SIZE[0] // 2, 3), np.uint8))
            _camera_yaml(path / "camera_info.yaml", K)
        elif name.startswith("d_bag"):
            _bag(path, StoragePlugin.MCAP, images, K)
        elif name.startswith("e_bag"):
            _bag(path, StoragePlugin.SQLITE3, images, K)
        else:
            _lerobot(path, images, K)
    (d / "g_corrupt.mcap").write_bytes(b"\x89MCAP0\r\n" + os.urandom(300))
    w = cv2.VideoWriter(str(d / "h_no_intrinsics.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), FPS, SIZE)
    for i in range(2):
        w.write(np.full((SIZE[1], SIZE[0], 3), 60 * i, np.uint8))
    w.release()
    (d / "i_unreadable.mp4").write_bytes(os.urandom(500))
    return d


def _cfg() -> BatchConfig:
    return BatchConfig(checkpoint=str(DEMO / "wildhands_demo.pt"), backend="torch", detector="learned",
                       detector_checkpoint=str(DEMO / "detector_demo.pt"), threads=1)


def _hashes(dataset: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(dataset.iterdir())}


def _paths(inputs: Path, failing: bool = True) -> list[Path]:
    names = [*FRAMES, *FAILING] if failing else list(FRAMES)
    return list_inputs([str(inputs / n) for n in names], [], [])


@pytest.fixture(scope="module")
def ray_session():
    import ray

    assert start_ray(workers=2, cpus_per_worker=1.0, address=None)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def single(inputs, tmp_path_factory) -> Path:
    """The single-process run (no Ray) over the same 9 inputs."""
    out = tmp_path_factory.mktemp("single")
    summary = run_batch(_paths(inputs), out, _cfg(), workers=0, progress=False)
    assert summary["done"] == 6, summary["failed"]
    return out


@pytest.mark.slow
def test_two_workers_give_the_single_process_dataset_and_report_the_failing_inputs(
        inputs, single, ray_session, tmp_path, capsys):
    out = tmp_path / "out"
    manifest = tmp_path / "inputs.txt"  # relative paths, a comment, a blank line
    manifest.write_text(f"# the good ones\n\n{chr(10).join(f'../{inputs.name}/{n}' for n in FRAMES)}\n")
    assert tmp_path.parent == inputs.parent  # pytest's base folder: the manifest's paths are relative
    args = ["--manifest", str(manifest), "--glob", str(inputs / "*"), "--checkpoint", _cfg().checkpoint,
            "--backend", "torch", "--detector", "learned", "--detector-checkpoint",
            _cfg().detector_checkpoint, "--workers", "2", "--out", str(out), "--no-progress"]
    assert main(args) == 1  # some inputs failed
    err = capsys.readouterr().err
    assert all(f"{name}: {reason}" in err for name, reason in FAILING.items()), err
    assert _hashes(out / "dataset") == _hashes(single / "dataset")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["done"] == 6
    assert {Path(f["input"]).name: f["reason"] for f in summary["failed"]} == FAILING
    rows = {Path(r["input"]).name: r for r in summary["per_input"]}
    for name, n in FRAMES.items():
        rejected = REJECTED.get(name, {})
        assert rows[name]["frames_used"] == n and rows[name]["frames"] == n + sum(rejected.values()), name
        assert rows[name]["rejected"] == rejected, name
        # the tracker's counts of what it did not publish, by its reasons (tracking.tracker.HandTracker)
        assert set(rows[name]["tracks_ended"]) == {"missed", "implausible", "side", "replaced"}, name
        assert isinstance(rows[name]["estimates_withheld"], dict), name
        assert rows[name]["status"] == "done" and rows[name]["seconds"] > 0 and rows[name]["worker"]
    assert sum(rows[n]["hands"] for n in FRAMES) > 0  # hands in the synthetic frames
    assert len({rows[n]["worker"] for n in FRAMES}) == 2
    index = json.loads((out / "dataset" / "episodes.json").read_text())
    assert [Path(e["input"]).name for e in index] == list(FRAMES)  # sorted input order, each once
    assert index[-1]["episodes"] == ["00005_f_lerobot_ep000", "00005_f_lerobot_ep001"]  # one per episode
    first = np.load(out / "dataset" / f"{index[0]['episodes'][0]}.npz")
    assert first["frame_stamp_ns"].tolist() == [round(i * 1e9 / FPS) for i in range(FRAMES["a_video.mp4"])]


@pytest.mark.slow
def test_a_worker_killed_mid_input_is_retried_and_every_input_appears_once(inputs, single, ray_session,
                                                                            tmp_path):
    out = tmp_path / "out"
    paths = _paths(inputs, failing=False)
    keys = {Path(i.path).name: i.key for i in batch_inputs(paths, _cfg().config_hash())}
    long_key = keys["a_video.mp4"]
    killed: list[int] = []
    finished = threading.Event()

    def kill_the_long_input() -> None:  # watches until the run ends, however slow the machine
        while not killed and not finished.is_set():
            for f in (out / "attempts").glob(f"{long_key}.*.json"):
                pid = json.loads(f.read_text())["pid"]
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.005)

    killer = threading.Thread(target=kill_the_long_input)
    killer.start()
    try:
        summary = run_batch(paths, out, _cfg(), workers=2, progress=False)
    finally:
        finished.set()
        killer.join()
    assert killed, "the long input's attempt never showed up while the run went on"
    rows = {Path(r["input"]).name: r for r in summary["per_input"]}
    assert summary["done"] == 6 and summary["failed"] == []
    assert rows["a_video.mp4"]["attempts"] == 2
    assert rows["a_video.mp4"]["worker"].split(":")[1] != str(killed[0])  # finished by the restarted worker
    assert all(rows[n]["attempts"] == 1 for n in FRAMES if n != "a_video.mp4")
    assert _hashes(out / "dataset") == _hashes(single / "dataset")


def test_a_resumed_run_processes_only_the_missing_inputs_under_one_progress_bar(inputs, single, ray_session,
                                                                                tmp_path, capsys):
    out = tmp_path / "out"
    shutil.copytree(single, out)
    parts = sorted(p for p in (out / "parts").iterdir())
    entries = {json.loads((p / "entry.json").read_text())["input"]: p for p in parts}
    missing = [str(inputs / "b_video.mp4"), str(inputs / "e_bag_sqlite3")]
    for m in missing:
        shutil.rmtree(entries[m])
    (out / "parts" / ".deadbeef.partial-x1").mkdir()  # what an interrupted attempt leaves
    summary = run_batch(_paths(inputs), out, _cfg(), workers=2, progress=True)
    # tqdm's last state (a line per refresh, "\r"-separated off a terminal): all inputs, the frames
    # processed now (the two missing inputs') and their rate
    last = capsys.readouterr().err.strip().split("\r")[-1]
    total = len(FRAMES) + len(FAILING)
    assert last.startswith("wildhands-batch: 100%") and f" {total}/{total} " in last, last
    n_now = FRAMES["b_video.mp4"] + FRAMES["e_bag_sqlite3"]
    assert re.search(rf"frames={n_now}, fps=\d+\.\d\]$", last), last
    now = sorted(r["input"] for r in summary["per_input"] if r["processed_now"])
    assert now == sorted([*missing, *(str(inputs / n) for n in FAILING)])  # failed inputs are tried again
    assert summary["done"] == 6 and not (out / "parts" / ".deadbeef.partial-x1").exists()
    assert _hashes(out / "dataset") == _hashes(single / "dataset")


def test_intrinsics_given_as_flags_serve_every_non_bag_input_before_the_yaml_beside_it(inputs, tmp_path):
    """``fx fy cx cy`` for all video / folder inputs: the one without a YAML is done, and the one with a
    YAML beside it takes the flags' K (the single-process path: the same worker code as on Ray)."""
    K = [[150.0, 0.0, 63.5], [0.0, 140.0, 47.5], [0.0, 0.0, 1.0]]
    cfg = dataclasses.replace(_cfg(), fx=150.0, fy=140.0, cx=63.5, cy=47.5)
    paths = list_inputs([str(inputs / "b_video.mp4"), str(inputs / "h_no_intrinsics.mp4")], [], [])
    summary = run_batch(paths, tmp_path / "out", cfg, workers=0, progress=False)
    assert summary["done"] == 2, summary["failed"]
    parts = [json.loads(p.read_text()) for p in sorted((tmp_path / "out" / "parts").glob("*/entry.json"))]
    assert sorted(Path(e["input"]).name for e in parts) == ["b_video.mp4", "h_no_intrinsics.mp4"]
    assert all(e["K_px"] == K for e in parts), [e["K_px"] for e in parts]


def test_a_cluster_address_that_does_not_answer_is_an_error_at_once(inputs, tmp_path, capsys):
    """Ray's own connect to a HOST:PORT without a head retries for minutes; the command says so and stops."""
    import socket

    with socket.socket() as s:  # a port nothing listens on (bound, then freed)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rc = main([str(inputs / "b_video.mp4"), "--checkpoint", _cfg().checkpoint, "--out", str(tmp_path / "o"),
               "--address", f"127.0.0.1:{port}", "--no-progress"])
    assert rc == 2
    assert f"--address 127.0.0.1:{port}: no Ray cluster answers there" in capsys.readouterr().err


# --- a robot hand (--robot-hand, as wildhands-bag export --robot-hand) -------------------------------------

#: the inputs of the robot-hand run: a video and a bag (the bag's part is also made by wildhands-bag)
ROBOT_INPUTS = ("b_video.mp4", "d_bag_mcap")


def _cli_model_args() -> list[str]:
    c = _cfg()
    return ["--checkpoint", c.checkpoint, "--backend", "torch", "--detector", "learned",
            "--detector-checkpoint", c.detector_checkpoint]


@pytest.fixture(scope="module")
def robot_run(inputs, ray_session, tmp_path_factory) -> Path:
    """``wildhands-batch --robot-hand allegro`` on Ray, one worker, over the video and the bag."""
    out = tmp_path_factory.mktemp("robot") / "out"
    rc = main([*(str(inputs / n) for n in ROBOT_INPUTS), *_cli_model_args(), "--workers", "1",
               "--robot-hand", "allegro", "--out", str(out), "--no-progress"])
    assert rc == 0
    return out


def test_a_robot_hand_adds_the_urdf_joint_positions_to_every_episode_as_the_bag_exporter_does(
        inputs, robot_run, tmp_path):
    index = json.loads((robot_run / "dataset" / "episodes.json").read_text())
    assert [Path(e["input"]).name for e in index] == list(ROBOT_INPUTS)
    summary = json.loads((robot_run / "summary.json").read_text())
    rows = {Path(r["input"]).name: r for r in summary["per_input"]}
    solved = 0
    for entry in index:
        (name,) = entry["episodes"]
        z = np.load(robot_run / "dataset" / f"{name}.npz")
        frames = pq.read_table(robot_run / "dataset" / f"{name}_frames.parquet").to_pydict()
        failed = sum(rows[Path(entry["input"]).name]["robot_hand_failed"].values())
        assert str(z["robot_hand"]) == "allegro"
        for s, side in ((0, "left"), (1, "right")):
            limits = urdf_joint_limits("allegro", bool(s))
            names = [str(n) for n in z[f"robot_hand_joint_names_{side}"]]
            assert sorted(names) == sorted(limits)  # every movable joint of the URDF, by its name
            q, valid = z[f"robot_hand_q_{side}"], z["robot_hand_valid"][:, s]
            present = z["hand_index_by_side"][:, s] >= 0
            assert q.shape == (len(present), len(names))
            assert not np.any(valid & ~present)  # a side without a hand is never given a pose
            assert np.all(np.isnan(q[~valid])) and np.all(np.isfinite(q[valid]))
            for col, joint in enumerate(names):
                lo, hi = limits[joint]
                assert np.all((q[valid, col] >= lo - 1e-6) & (q[valid, col] <= hi + 1e-6)), joint
            np.testing.assert_array_equal(np.asarray(frames[f"robot_hand_q_{side}"], np.float32), q)
            solved += int(valid.sum())
            failed -= int((present & ~valid).sum())
        assert failed == 0  # every present hand not solved is counted in the summary
    assert solved > 0  # the synthetic hands were found and retargeted

    # the bag through wildhands-bag process + export --robot-hand: the same episode, array for array (the
    # same stamps, hands, sides, validity and joint names; values within float32 round-off)
    from wildhands_offline.cli.bag import main as bag_main

    bag = str(inputs / "d_bag_mcap")
    c = _cfg()
    assert bag_main(["process", bag, str(tmp_path / "hands"), "--checkpoint", c.checkpoint, "--backend",
                     "torch", "--detector", "learned", "--detector-checkpoint", c.detector_checkpoint,
                     "--tracking", "--no-progress"]) == 0
    assert bag_main(["export", str(tmp_path / "hands"), str(tmp_path / "exported"), "--robot-hand", "allegro",
                     "--no-progress"]) == 0
    ref = np.load(tmp_path / "exported" / "hands_ep000.npz")
    ours = np.load(robot_run / "dataset" / f"{index[1]['episodes'][0]}.npz")
    assert sorted(ours.files) == sorted(ref.files)
    for k in ref.files:
        if k != "frame_log_time_ns":  # the bag's log time of the hands message, written at another time
            if ours[k].dtype.kind != "f":
                np.testing.assert_array_equal(ours[k], ref[k], err_msg=k)
            else:  # the estimator in another process (thread count, detector wrapper): float32 round-off
                atol = 1e-5 if k.startswith("robot_hand_q") else 1e-4  # rad; m, px and unitless
                np.testing.assert_allclose(ours[k], ref[k], rtol=1e-5, atol=atol, err_msg=k)


def test_another_robot_hand_is_another_configuration_and_redoes_the_inputs(inputs, robot_run, tmp_path):
    base = _cfg()
    hashes = {r: dataclasses.replace(base, robot_hand=r).config_hash() for r in ("", "allegro", "leap")}
    assert len(set(hashes.values())) == 3
    assert dataclasses.replace(base, robot_hand="none").config_hash() == hashes[""]  # none = no robot hand
    # a config of one's own: editing the file (here its scaling) is another configuration
    from wildhands_core.retargeting.robot_hands import config_path

    own = tmp_path / "my_hand_right.yaml"
    doc = yaml.safe_load(config_path("allegro", True).read_text())
    own.write_text(yaml.safe_dump(doc))
    before = dataclasses.replace(base, robot_hand_config=str(own)).config_hash()
    own.write_text(yaml.safe_dump({**doc, "scaling": float(doc["scaling"]) * 1.1}))
    assert dataclasses.replace(base, robot_hand_config=str(own)).config_hash() != before

    # the allegro run's ledger, re-run with leap (one process): the bag is processed again, not reused
    out = tmp_path / "out"
    shutil.copytree(robot_run, out)
    bag = list_inputs([str(inputs / "d_bag_mcap")], [], [])
    summary = run_batch(bag, out, dataclasses.replace(base, robot_hand="leap"), workers=0, progress=False)
    assert summary["done"] == 1 and summary["processed_now"] == 1, summary
    (entry,) = json.loads((out / "dataset" / "episodes.json").read_text())
    z = np.load(out / "dataset" / f"{entry['episodes'][0]}.npz")
    assert str(z["robot_hand"]) == "leap"
    names = sorted(str(n) for n in z["robot_hand_joint_names_right"])
    assert names == sorted(urdf_joint_limits("leap", True))


def test_a_robot_hand_that_does_not_load_is_an_error_before_ray_starts(inputs, tmp_path, capsys):
    """Checked before Ray: with an ``--address`` nothing answers at, the robot hand's error is the one given,
    and no output folder is made."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bad_config = tmp_path / "bad_config.yaml"
    bad_config.write_text("side: right\nmethod: [not closed\n")
    bad_urdf = tmp_path / "bad_hand.urdf"
    bad_urdf.write_text("<robot name='x'><link name='a'/>")  # not closed: no URDF parser reads it
    cases = [(["--robot-hand", "alegro"],
              ["unknown robot hand 'alegro'", "ability, allegro, inspire, leap, shadow, svh"]),
             (["--robot-hand-config", str(bad_config)], [str(bad_config)]),
             (["--robot-hand", "allegro", "--robot-hand-urdf", str(bad_urdf)], [str(bad_urdf)])]
    for flags, expected in cases:
        out = tmp_path / "out"
        rc = main([str(inputs / "b_video.mp4"), *_cli_model_args(), "--out", str(out), "--address",
                   f"127.0.0.1:{port}", "--no-progress", *flags])
        err = capsys.readouterr().err
        assert rc == 2, flags
        assert all(e in err for e in expected) and "no Ray cluster" not in err, err
        assert not out.exists()


# --- --format lerobot: one LeRobot v3.0 dataset -----------------------------------------------------------

#: the inputs of the LeRobot runs: a video (its camera YAML names the camera head_cam) and a bag (frame
#: cam_optical), both 128x96 at 10 fps
LEROBOT_INPUTS = ("b_video.mp4", "d_bag_mcap")
LEROBOT_PYTHON = Path(os.environ.get("WILDHANDS_LEROBOT_PYTHON", "/work/lerobot-venv/bin/python"))


def _tree_hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def lerobot_runs(inputs, ray_session, tmp_path_factory) -> dict[int, Path]:
    """``--format lerobot --robot-hand allegro`` over the video and the bag: on Ray with 2 workers (the CLI)
    and in this process (``workers=0``); workers -> OUT."""
    outs = {}
    for workers in (2, 0):
        out = tmp_path_factory.mktemp(f"lerobot{workers}") / "out"
        rc = main([*(str(inputs / n) for n in LEROBOT_INPUTS), *_cli_model_args(), "--workers", str(workers),
                   "--robot-hand", "allegro", "--format", "lerobot", "--out", str(out), "--no-progress"])
        assert rc == 0
        outs[workers] = out
    return outs


def test_the_lerobot_dataset_is_byte_identical_whatever_the_workers_one_episode_per_input(lerobot_runs):
    ray2, local = (lerobot_runs[w] / "dataset" for w in (2, 0))
    hashes = _tree_hashes(ray2)
    assert hashes == _tree_hashes(local)
    # LeRobot's v3.0 layout, one data file and one video per episode, in sorted input order
    assert {"meta/info.json", "meta/stats.json", "meta/tasks.parquet",
            "meta/episodes/chunk-000/file-000.parquet", "data/chunk-000/file-000.parquet",
            "data/chunk-000/file-001.parquet",
            "videos/observation.images.camera/chunk-000/file-000.mp4",
            "videos/observation.images.camera/chunk-000/file-001.mp4"} <= set(hashes)
    info = json.loads((ray2 / "meta" / "info.json").read_text())
    assert info["codebase_version"] == "v3.0" and info["fps"] == FPS
    assert info["total_episodes"] == 2 and info["total_frames"] == sum(FRAMES[n] for n in LEROBOT_INPUTS)
    eps = pq.read_table(ray2 / "meta/episodes/chunk-000/file-000.parquet").to_pydict()
    assert eps["episode_index"] == [0, 1]
    assert eps["length"] == [FRAMES[n] for n in LEROBOT_INPUTS]
    assert [Path(p).name for p in eps["source_input"]] == list(LEROBOT_INPUTS)
    # each episode's video: its input's frames at the input's size
    for ep, n in enumerate(LEROBOT_INPUTS):
        with av.open(str(ray2 / f"videos/observation.images.camera/chunk-000/file-{ep:03d}.mp4")) as c:
            frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        assert len(frames) == FRAMES[n] and frames[0].shape == (SIZE[1], SIZE[0], 3)
    # the features: the hands' state and action, the robot hand's joints (URDF names), the video
    feats = info["features"]
    assert feats["observation.images.camera"]["shape"] == [SIZE[1], SIZE[0], 3]
    assert feats["observation.state"]["shape"] == [266] and feats["action"]["shape"] == [16]
    names = feats["action.robot_hand"]["names"]
    n_left = len(urdf_joint_limits("allegro", False))  # left then right, every movable joint of each URDF
    assert sorted(names[:n_left]) == sorted(f"left.{j}" for j in urdf_joint_limits("allegro", False))
    assert sorted(names[n_left:]) == sorted(f"right.{j}" for j in urdf_joint_limits("allegro", True))
    assert set(feats["action"]["info"]["frame"].split(", ")) == {"cam_optical", "head_cam_optical"}
    index = json.loads((ray2 / "episodes.json").read_text())
    assert [e["episode_frames"] for e in index] == [[FRAMES[n]] for n in LEROBOT_INPUTS]


def test_a_lerobot_run_resumes_from_its_parts_and_leaves_out_an_input_of_another_rate(
        inputs, lerobot_runs, tmp_path):
    """The same run again processes nothing and assembles the same bytes; an image folder at 5 fps next
    to the 10 fps video cannot share its dataset (LeRobot's timestamp is frame_index / fps): left out,
    reported (exit status 1), the video's episode written."""
    out = tmp_path / "again"
    shutil.copytree(lerobot_runs[0], out)
    before = _tree_hashes(out / "dataset")
    paths = list_inputs([str(inputs / n) for n in LEROBOT_INPUTS], [], [])
    cfg = dataclasses.replace(_cfg(), robot_hand="allegro", format="lerobot")
    summary = run_batch(paths, out, cfg, workers=0, progress=False)
    assert summary["done"] == 2 and summary["processed_now"] == 0 and not summary["failed"]
    assert _tree_hashes(out / "dataset") == before

    mixed = tmp_path / "mixed"
    rc = main([str(inputs / "b_video.mp4"), str(inputs / "c_folder"), *_cli_model_args(), "--workers", "0",
               "--fps", "5", "--format", "lerobot", "--out", str(mixed), "--no-progress"])
    assert rc == 1
    (failed,) = json.loads((mixed / "summary.json").read_text())["failed"]
    assert Path(failed["input"]).name == "c_folder" and failed["reason"] == "left_out"
    assert "fps" in failed["message"]
    info = json.loads((mixed / "dataset" / "meta" / "info.json").read_text())
    assert info["fps"] == FPS and info["total_episodes"] == 1
    assert info["total_frames"] == FRAMES["b_video.mp4"]


def test_the_bag_episode_of_the_lerobot_dataset_is_what_wildhands_bag_export_lerobot_writes(
        inputs, lerobot_runs, tmp_path):
    """The bag through ``wildhands-bag process --copy`` + ``export --format lerobot --robot-hand allegro``:
    the same features and, row for row, the same columns (within float32 round-off)."""
    from wildhands_offline.cli.bag import main as bag_main

    c = _cfg()
    assert bag_main(["process", str(inputs / "d_bag_mcap"), str(tmp_path / "hands"), "--checkpoint",
                     c.checkpoint, "--backend", "torch", "--detector", "learned", "--detector-checkpoint",
                     c.detector_checkpoint, "--tracking", "--no-progress", "--copy", "/cam/image_raw"]) == 0
    assert bag_main(["export", str(tmp_path / "hands"), str(tmp_path / "ref"), "--format", "lerobot",
                     "--robot-hand", "allegro", "--no-progress"]) == 0
    ref_info = json.loads((tmp_path / "ref" / "meta" / "info.json").read_text())
    ours_info = json.loads((lerobot_runs[2] / "dataset" / "meta" / "info.json").read_text())
    for k, f in ref_info["features"].items():
        g = ours_info["features"][k]
        assert (g["dtype"], g["shape"], g["names"]) == (f["dtype"], f["shape"], f["names"]), k
    assert set(ours_info["features"]) == set(ref_info["features"])
    ref = pq.read_table(tmp_path / "ref" / "data/chunk-000/file-000.parquet").to_pydict()
    ours = pq.read_table(lerobot_runs[2] / "dataset" / "data/chunk-000/file-001.parquet").to_pydict()
    assert ours["episode_index"] == [1] * len(ref["episode_index"])
    for k in ("hands_valid", "estimated", "recorded", "stamp_ns", "frame_index", "timestamp"):
        assert ours[k] == ref[k], k
    for k in ("observation.state", "action", "action.robot_hand"):
        np.testing.assert_allclose(np.asarray(ours[k]), np.asarray(ref[k]), rtol=1e-5, atol=1e-4, err_msg=k)
    assert any(any(v) for v in ours["hands_valid"])  # the synthetic hands were found


_LEROBOT_LOAD = """
import json, sys
from lerobot.datasets.lerobot_dataset import LeRobotDataset
ds = LeRobotDataset("wildhands/batch", root=sys.argv[1], video_backend="pyav")
rows = [ds[i] for i in range(len(ds))]
print(json.dumps({"episodes": ds.meta.total_episodes, "frames": len(ds), "fps": ds.fps,
                  "features": sorted(ds.features),
                  "ep": [int(r["episode_index"]) for r in rows],
                  "frame": [int(r["frame_index"]) for r in rows],
                  "image": list(rows[0]["observation.images.camera"].shape),
                  "robot_hand": list(rows[0]["action.robot_hand"].shape)}))
"""


@pytest.mark.skipif(not LEROBOT_PYTHON.exists(),
                    reason=f"no lerobot venv at {LEROBOT_PYTHON} (python3.11 -m venv; pip install "
                           "lerobot==0.4.4; or set WILDHANDS_LEROBOT_PYTHON)")
def test_lerobot_loads_the_merged_dataset_with_every_episode_and_feature(lerobot_runs, tmp_path):
    import subprocess

    dataset = lerobot_runs[2] / "dataset"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_LEROBOT_HOME": str(tmp_path / "hf")}
    env.pop("PYTHONPATH", None)
    r = subprocess.run([str(LEROBOT_PYTHON), "-c", _LEROBOT_LOAD, str(dataset)], capture_output=True,
                       text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    got = json.loads(r.stdout.strip().splitlines()[-1])
    n = [FRAMES[k] for k in LEROBOT_INPUTS]
    assert got["episodes"] == 2 and got["frames"] == sum(n) and got["fps"] == FPS
    assert got["ep"] == [0] * n[0] + [1] * n[1]
    assert got["frame"] == list(range(n[0])) + list(range(n[1]))
    info = json.loads((dataset / "meta" / "info.json").read_text())
    assert set(info["features"]) <= set(got["features"])
    assert got["image"] == [3, SIZE[1], SIZE[0]]  # LeRobot's channel-first float image
    assert got["robot_hand"] == info["features"]["action.robot_hand"]["shape"]
