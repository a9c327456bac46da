"""Many recordings -> one dataset, in parallel on Ray (this machine, or a cluster), exactly once.

    summary = run_batch(paths, "OUT", BatchConfig(checkpoint="m.pt"), workers=4)

Each input is processed whole by one worker (``batch_worker.InputProcessor`` in a Ray actor that loads the
estimator once); inputs run in parallel, in sorted order as workers free up. Parts and the ledger live in
OUT (``batch_ledger``): an input whose part exists (same identity, same configuration) is not processed
again, so a re-run does only what is missing. A worker killed mid-input is restarted by Ray and the input
retried (``max_retries``); its unfinished part was never renamed into place, so the input appears once. An
input that fails is recorded (``OUT/failed/<key>.json``, reason + message) and the others go on.

OUT/dataset/ (replaced atomically at the end of every run) is assembled from the parts in sorted input
order: episode ``<i>_<episode>`` (``i`` = the input's position, 5 digits) = the part's files byte for
byte, plus ``episodes.json`` (per input: path, kind, episodes, frames, hands). It depends only on the
inputs and the configuration: byte-identical whatever the number of workers or the order they finished.
With ``BatchConfig.format`` "lerobot" each part holds a LeRobot part instead (``LeRobotWriter.save_part``:
the columns of ``wildhands-bag export --format lerobot`` and the camera video per episode) and OUT/dataset/
is one LeRobot v3.0 dataset (``merge_lerobot``): LeRobot episode k = the k-th part episode in sorted input
order, the videos byte for byte, statistics over the whole dataset; an input whose fps or image size is not
the first one's is left out and listed as failed (``left_out``).
OUT/summary.json: per input frames, frames used, hands, rejected frames by reason, estimates withheld and
tracks ended by reason (the tracker's plausibility check), with a robot hand the frames whose retargeting
failed by reason, seconds, worker, attempts, and for a failed one its reason; totals and frames/s of the
run. A robot hand (``BatchConfig.robot_hand``) that does not load stops ``run_batch`` before anything is
written or started.

``workers=0`` runs the same processing in this process, without Ray (the single-process path).
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import socket
import time
from pathlib import Path

from wildhands_offline.atomic import atomic_path, write_json_atomic
from wildhands_offline.batch_inputs import BatchInput, batch_inputs
from wildhands_offline.batch_ledger import Ledger
from wildhands_offline.batch_worker import BatchConfig, InputProcessor

EPISODE_SUFFIXES = (".npz", "_hands.parquet", "_frames.parquet")


def worker_name() -> str:
    """``host:pid`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


class BatchWorker:
    """The Ray actor: one ``InputProcessor``; ``current()`` = frames done of the input being processed."""

    def __init__(self, cfg: BatchConfig, out: str) -> None:
        self.ledger = Ledger(out)
        self.proc = InputProcessor(cfg, worker_name())
        self._current = 0

    def run(self, inp: BatchInput) -> dict:
        self._current = 0
        try:
            return self.proc.run(inp, self.ledger, on_frame=self._count)
        finally:
            self._current = 0

    def _count(self, n: int) -> None:
        self._current = n

    def current(self) -> int:
        return self._current


#: Seconds to wait for a ``HOST:PORT`` cluster address to accept a connection (Ray itself waits minutes).
CONNECT_TIMEOUT_S = 10.0


def check_reachable(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """ConnectionError unless the Ray head at ``address`` (``HOST:PORT``) accepts a TCP connection within
    ``timeout_s``; ``auto`` and ``ray://`` addresses are left to Ray (which fails fast on those)."""
    if address == "auto" or "://" in address:
        return
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ConnectionError(f"--address {address!r}: expected HOST:PORT (e.g. 10.0.0.1:6379), auto or "
                              "ray://HOST:10001")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise ConnectionError(f"--address {address}: no Ray cluster answers there ({exc}); start one with "
                              f"`ray start --head --port {port}` on {host}") from exc


def start_ray(workers: int, cpus_per_worker: float, address: str | None) -> bool:
    """Connect to Ray: the cluster at ``address`` (checked first: ``check_reachable``), or a local instance
    with ``workers x cpus_per_worker`` CPUs (rounded up), no dashboard, quiet. Returns whether this call
    started it (False: already up)."""
    import ray

    if address:
        check_reachable(address)
    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    kwargs = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
    if address:
        ray.init(address=address, **kwargs)
    else:
        ray.init(num_cpus=max(math.ceil(workers * cpus_per_worker), 1), **kwargs)
    return True


def _run_ray(todo: list[BatchInput], out: Path, cfg: BatchConfig, workers: int, cpus_per_worker: float,
             gpus_per_worker: float, max_retries: int, bar) -> dict[str, dict]:
    """Process ``todo`` on ``workers`` actors; the ledger entry of each input by key."""
    import ray
    from ray.exceptions import RayError

    actor_cls = ray.remote(num_cpus=cpus_per_worker, num_gpus=gpus_per_worker, max_restarts=max_retries,
                           max_task_retries=max_retries, max_concurrency=2)(BatchWorker)
    actors = [actor_cls.remote(cfg, str(out)) for _ in range(min(workers, len(todo)))]
    queue = list(todo)
    running: dict = {}
    results: dict[str, dict] = {}
    frames_done = 0

    def submit(actor) -> None:
        inp = queue.pop(0)
        running[actor.run.remote(inp)] = (actor, inp)

    for actor in actors:
        if queue:
            submit(actor)
    try:
        while running:
            ready, _ = ray.wait(list(running), num_returns=1, timeout=0.5)
            for fut in ready:
                actor, inp = running.pop(fut)
                try:
                    entry = ray.get(fut)
                except RayError as exc:  # the worker died more often than max_retries
                    entry = {"key": inp.key, "input": inp.path, "kind": inp.kind, "status": "failed",
                             "reason": "worker_died", "message": str(exc).splitlines()[0]}
                    Ledger(out).record_failure(inp.key, entry)
                results[inp.key] = entry
                frames_done += entry.get("frames_used", 0)
                bar.update(1)
                if queue:
                    submit(actor)
            live = 0
            if running:
                probes = [a.current.remote() for a, _ in running.values()]
                done, _ = ray.wait(probes, num_returns=len(probes), timeout=0.2)
                for p in done:
                    try:
                        live += ray.get(p)
                    except RayError:
                        pass
            _show(bar, frames_done + live)
    finally:
        for actor in actors:
            ray.kill(actor)
    return results


def _show(bar, frames: int) -> None:
    """The bar's inputs plus ``frames=<frames done>, fps=<frames per second since the start>``."""
    elapsed = bar.format_dict.get("elapsed") or 0.0
    fps = f"{frames / elapsed:.1f}" if elapsed > 0 else "-"
    bar.set_postfix({"frames": frames, "fps": fps}, refresh=True)


def merge(inputs: list[BatchInput], ledger: Ledger, dataset: Path) -> list[dict]:
    """Assemble ``dataset`` from the finished parts, in the order of ``inputs`` (see the module
    docstring); returns the ``episodes.json`` entries."""
    index = []
    with atomic_path(dataset, overwrite=True) as work:
        work.mkdir()
        for i, inp in enumerate(inputs):
            entry = ledger.entry(inp.key)
            if entry is None:
                continue
            names = []
            for ep in entry["episodes"]:
                name = f"{i:05d}_{ep}"
                for suffix in EPISODE_SUFFIXES:
                    shutil.copyfile(ledger.part(inp.key) / f"{ep}{suffix}", work / f"{name}{suffix}")
                names.append(name)
            index.append({"input": inp.path, "kind": inp.kind, "episodes": names,
                          "frames": entry["frames_used"], "hands": entry["hands"]})
        (work / "episodes.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")
    return index


def merge_lerobot(inputs: list[BatchInput], ledger: Ledger, dataset: Path) -> list[dict]:
    """Assemble the LeRobot v3.0 ``dataset`` from the finished parts' LeRobot parts, in the order of
    ``inputs``: one LeRobot episode per part episode (``source_input``, ``source_name`` = ``<i>_<episode>``
    in meta/episodes), the videos byte for byte, statistics over the whole dataset; the features' ``frame``
    lists every part's. A part whose fps, image size or features differ from the first part's is left out
    (``left_out`` in its ``episodes.json`` entry and the summary). Returns the ``episodes.json`` entries."""
    from wildhands_offline.batch_worker import LEROBOT_PART
    from wildhands_offline.lerobot_writer import PART_META, LeRobotWriter

    parts = [(i, inp, e) for i, inp in enumerate(inputs) if (e := ledger.entry(inp.key)) is not None]
    metas = [json.loads((ledger.part(inp.key) / LEROBOT_PART / PART_META).read_text()) for _, inp, _ in parts]
    index = []
    with atomic_path(dataset, overwrite=True) as work:
        work.mkdir()
        if parts:
            first = metas[0]
            features = json.loads(json.dumps(first["features"]))
            frames = sorted({f for m in metas for f in m["features"]["action"]["info"]["frame"].split(", ")})
            for k in ("observation.state", "action"):
                features[k]["info"]["frame"] = ", ".join(frames)
            writer = LeRobotWriter(work, first["fps"], features, first["video_key"],
                                   tuple(first["image_size_wh"]) if first["image_size_wh"] else None,
                                   first["robot_type"])
            for i, inp, entry in parts:
                names = [f"{i:05d}_{ep}" for ep in entry["episodes"]]
                row = {"input": inp.path, "kind": inp.kind, "episodes": names, "frames": entry["frames_used"],
                       "hands": entry["hands"]}
                try:
                    rows = writer.add_part(ledger.part(inp.key) / LEROBOT_PART,
                                           [{"source_input": inp.path, "source_name": n} for n in names])
                    row["episode_index"] = [r["episode_index"] for r in rows]
                    row["episode_frames"] = [r["length"] for r in rows]
                except ValueError as exc:
                    row["left_out"] = str(exc)
                index.append(row)
            writer.finalize()
        (work / "episodes.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")
    return index


def run_batch(paths: list[Path], out: str | Path, cfg: BatchConfig, workers: int = 2,
              cpus_per_worker: float = 1.0, gpus_per_worker: float = 0.0, address: str | None = None,
              progress: bool = True, max_retries: int = 3) -> dict:
    """Process the inputs at ``paths`` into ``out`` (see the module docstring); returns the summary (also
    written to ``out/summary.json``)."""
    from tqdm import tqdm

    t0 = time.perf_counter()
    cfg.check_robot_hand()  # a robot hand that does not load stops here, before any output or worker
    out = Path(out).absolute()
    ledger = Ledger(out)
    ledger.make()
    ledger.remove_partials()
    inputs = sorted(batch_inputs(paths, cfg.config_hash()), key=lambda i: i.path)
    todo = [i for i in inputs if ledger.entry(i.key) is None]
    bar = tqdm(total=len(inputs), initial=len(inputs) - len(todo), unit="input", desc="wildhands-batch",
               disable=not progress)
    try:
        if not todo:
            results: dict[str, dict] = {}
        elif workers == 0:
            results = _run_local(todo, ledger, cfg, bar)
        else:
            started = start_ray(workers, cpus_per_worker, address)
            try:
                results = _run_ray(todo, out, cfg, workers, cpus_per_worker, gpus_per_worker, max_retries,
                                   bar)
            finally:
                if started:
                    import ray

                    ray.shutdown()
    finally:
        bar.close()
    ledger.remove_partials()
    index = (merge_lerobot if cfg.format == "lerobot" else merge)(inputs, ledger, out / "dataset")
    summary = _summary(inputs, ledger, results, workers, time.perf_counter() - t0)
    left_out = [r for r in index if "left_out" in r]
    summary["failed"] += [{"input": r["input"], "reason": "left_out", "message": r["left_out"]}
                          for r in left_out]
    write_json_atomic(out / "summary.json", summary)
    return summary


def _run_local(todo: list[BatchInput], ledger: Ledger, cfg: BatchConfig, bar) -> dict[str, dict]:
    proc = InputProcessor(cfg, worker_name())
    results: dict[str, dict] = {}
    frames = 0
    for inp in todo:
        entry = proc.run(inp, ledger, on_frame=lambda n, before=frames: _show(bar, before + n))
        frames += entry.get("frames_used", 0)
        results[inp.key] = entry
        bar.update(1)
    return results


def _summary(inputs: list[BatchInput], ledger: Ledger, results: dict[str, dict], workers: int,
             seconds: float) -> dict:
    per_input = []
    for inp in inputs:
        entry = ledger.entry(inp.key) or results.get(inp.key) or ledger.failure(inp.key) or {}
        row = {"input": inp.path, "kind": inp.kind, "key": inp.key,
               "status": entry.get("status", "missing"), "processed_now": inp.key in results,
               "attempts": len(ledger.attempts_of(inp.key))}
        for k in ("frames", "frames_used", "hands", "rejected", "estimates_withheld", "tracks_ended",
                  "robot_hand_failed", "seconds", "worker", "reason", "message"):
            if k in entry:
                row[k] = entry[k]
        per_input.append(row)
    now = [r for r in per_input if r["processed_now"] and r["status"] == "done"]
    frames_now = sum(r.get("frames_used", 0) for r in now)
    return {
        "inputs": len(inputs), "done": sum(r["status"] == "done" for r in per_input),
        "failed": [{"input": r["input"], "reason": r.get("reason"), "message": r.get("message")}
                   for r in per_input if r["status"] != "done"],
        "processed_now": sum(r["processed_now"] for r in per_input), "workers": workers,
        "seconds": seconds, "frames_processed_now": frames_now,
        "frames_per_s": frames_now / seconds if seconds > 0 else None,
        "dataset": str(ledger.out / "dataset"), "per_input": per_input,
    }
