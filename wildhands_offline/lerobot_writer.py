"""Write a LeRobot dataset (format ``v3.0``, the one ``lerobot`` 0.4.x's ``LeRobotDataset`` reads) with
pyarrow and PyAV, without the ``lerobot`` library (it cannot share this project's environment: it pins
another torch and needs Python >= 3.12 from 0.5 on).

Layout written under ``root`` (LeRobot's documented v3.0 layout; one data file and one video file per
episode, episode e in chunk e // 1000, file e % 1000):

    meta/info.json                         codebase_version "v3.0", fps, features (dtype, shape, names),
                                           totals, path templates
    meta/tasks.parquet                     task string (pandas index) -> task_index
    meta/episodes/chunk-000/file-000.parquet  one row per episode: episode_index, tasks, length,
                                           dataset_from_index/to_index, data/ and videos/<key>/ chunk and
                                           file indices, videos/<key>/from_timestamp/to_timestamp, and the
                                           episode's statistics as ``stats/<feature>/<stat>`` columns (what
                                           LeRobot's split/delete/merge tools rebuild stats.json from)
    meta/stats.json                        per feature min/max/mean/std/count/q01..q99 (images: per
                                           channel, shape (3, 1, 1), pixel values in [0, 1], ``count`` =
                                           the number of frames sampled, as LeRobot writes it)
    data/chunk-XXX/file-YYY.parquet        one row per frame: the features + timestamp, frame_index,
                                           episode_index, index, task_index
    videos/<key>/chunk-XXX/file-YYY.mp4    H.264 (libx264, yuv420p), frame i at pts i / fps

``timestamp`` is ``frame_index / fps`` (LeRobot's convention: the video is queried at that time); the
recorded stamps are an ordinary feature of the caller's. Values the caller marks as not valid (a hand not
seen) are left out of every statistic and hold the last valid value in the data files
(:meth:`LeRobotWriter.end_episode`), so normalisation and targets see measurements only.

Episodes can be written in several places and assembled in one: :meth:`LeRobotWriter.save_part` keeps a
writer's episodes (columns, validity, image histograms, videos) instead of finishing a dataset, and
:meth:`LeRobotWriter.add_part` appends a part's episodes to another writer (``wildhands-batch --format
lerobot``: one part per input, merged in sorted input order).
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np

CODEBASE_VERSION = "v3.0"
CHUNKS_SIZE = 1000
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
EPISODES_PATH = "meta/episodes/chunk-000/file-000.parquet"
#: A part's files (``LeRobotWriter.save_part``) besides its videos.
PART_META = "part.json"
PART_ARRAYS = "part.npz"
QUANTILES = (0.01, 0.10, 0.50, 0.90, 0.99)
#: Columns every LeRobot dataset has (name -> dtype); shape (1,).
DEFAULT_FEATURES = {"timestamp": "float32", "frame_index": "int64", "episode_index": "int64",
                    "index": "int64", "task_index": "int64"}


def sample_frame_indices(n: int) -> np.ndarray:
    """The frames of an ``n``-frame episode that LeRobot's image statistics use: all up to 100, then about
    n ** 0.75 (at most 10 000), evenly spaced (lerobot 0.4 ``compute_stats.sample_indices``)."""
    k = n if n < 100 else max(100, min(int(n ** 0.75), 10_000))
    return np.unique(np.round(np.linspace(0, n - 1, k)).astype(int)) if n else np.zeros(0, int)


def downsample_for_stats(rgb: np.ndarray) -> np.ndarray:
    """LeRobot's stride for image statistics: frames whose larger side is >= 300 px are sampled every
    ``larger side // 150`` pixels (about 150 px), smaller ones are used whole."""
    big = max(rgb.shape[:2])
    return rgb if big < 300 else rgb[:: big // 150, :: big // 150]


def channel_histogram(frames: list[np.ndarray]) -> np.ndarray:
    """(3, 256) counts of each uint8 value per channel of RGB ``frames``."""
    hist = np.zeros((3, 256))
    for f in frames:
        for c in range(3):
            hist[c] += np.bincount(f[..., c].reshape(-1), minlength=256)
    return hist


def image_stats(hist: np.ndarray, frames: int) -> dict:
    """Per-channel statistics of the pixels counted in ``hist`` (:func:`channel_histogram` of ``frames``
    frames) as LeRobot writes them: values in [0, 1], shape (3, 1, 1), ``count`` = [frames]. Exact."""
    v = np.arange(256) / 255.0
    n = hist.sum(1)
    mean = hist @ v / n
    std = np.sqrt(np.maximum(hist @ v**2 / n - mean**2, 0.0))
    cdf = np.cumsum(hist, 1) / n[:, None]
    out = {"min": [v[np.nonzero(h)[0][0]] for h in hist], "max": [v[np.nonzero(h)[0][-1]] for h in hist],
           "mean": mean, "std": std}
    for q in QUANTILES:
        out[f"q{round(q * 100):02d}"] = [v[np.searchsorted(c, q)] for c in cdf]
    stats = {k: np.asarray(x, np.float64).reshape(3, 1, 1).tolist() for k, x in out.items()}
    return {**stats, "count": [int(frames)]}


def decoded_stat_frames(path: Path, n: int) -> list[np.ndarray]:
    """The frames of the ``n``-frame video at ``path`` that :func:`sample_frame_indices` picks, decoded to
    RGB and downsampled as :func:`downsample_for_stats` does."""
    import av

    want = set(sample_frame_indices(n).tolist())
    out = []
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i in want:
                out.append(np.ascontiguousarray(downsample_for_stats(f.to_ndarray(format="rgb24"))))
    return out


def value_stats(x: np.ndarray, valid: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per-column statistics of (N, D) values as LeRobot writes them (min, max, mean, std, q01..q99: (D,)
    each; ``count`` = [N]; bools as 0/1), over the ``valid`` (N, D) values only: NaN in a column without
    any."""
    import warnings

    x = np.asarray(x, np.float64).reshape(len(x), -1)
    if valid is not None:
        x = np.where(np.asarray(valid, bool).reshape(x.shape), x, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: NaN, as documented
        out = {"min": np.nanmin(x, 0), "max": np.nanmax(x, 0), "mean": np.nanmean(x, 0),
               "std": np.nanstd(x, 0)}
        for q in QUANTILES:
            out[f"q{round(q * 100):02d}"] = np.nanquantile(x, q, axis=0)
    return {**out, "count": np.array([len(x)])}


def _names(features: dict[str, dict]) -> dict:
    """Name -> (dtype, shape, column names) of ``features`` (what must agree to merge episodes)."""
    return {k: [f["dtype"], list(f["shape"]), f.get("names")] for k, f in sorted(features.items())}


def _listed(stats: dict[str, np.ndarray]) -> dict[str, list]:
    return {k: np.asarray(v).tolist() for k, v in stats.items()}


def hold_missing(x: np.ndarray, valid: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """(N, D) ``x`` with each value that is not ``valid`` replaced by its column's last valid value before
    it, or, before the first, by the first; a column without a valid value gets ``fallback`` (D,)."""
    n = len(x)
    idx = np.maximum.accumulate(np.where(valid, np.arange(n)[:, None], -1), axis=0)
    idx = np.where(idx < 0, np.argmax(valid, 0)[None, :], idx)
    return np.where(valid.any(0)[None, :], np.take_along_axis(x, idx, 0), fallback[None, :].astype(x.dtype))


class VideoEncoder:
    """Frames (H, W, 3) uint8 RGB -> an MP4 file at ``fps``, frame i presented at i / fps."""

    def __init__(self, path: Path, fps: int, size_wh: tuple[int, int], crf: int = 23, gop: int = 2) -> None:
        import av

        w, h = size_wh
        if w % 2 or h % 2:
            raise ValueError(f"video frames must have even width and height (yuv420p), got {w}x{h}")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._c = av.open(str(path), "w", format="mp4")
        self._s = self._c.add_stream("libx264", rate=Fraction(fps, 1))
        self._s.width, self._s.height, self._s.pix_fmt = w, h, "yuv420p"
        self._s.codec_context.gop_size = gop  # short GOP: fast random access for training
        self._s.options = {"crf": str(crf), "preset": "veryfast"}
        self._size = (h, w)
        self.frames = 0

    def add(self, rgb: np.ndarray) -> None:
        import av

        if rgb.shape != (*self._size, 3) or rgb.dtype != np.uint8:
            raise ValueError(f"video frame must be {self._size + (3,)} uint8, got {rgb.shape} {rgb.dtype}")
        f = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        f.pts = self.frames
        for p in self._s.encode(f):
            self._c.mux(p)
        self.frames += 1

    def close(self) -> None:
        for p in self._s.encode():
            self._c.mux(p)
        self._c.close()


class LeRobotWriter:
    """Episodes in, a LeRobot v3.0 dataset out; ``features``: name -> {"dtype", "shape", "names"[, "info"]}
    of the caller's per-frame columns (float32 / int64 / bool vectors; ``info``: a dict copied into
    meta/info.json), ``video_key`` the image stream (or None)."""

    def __init__(self, root: str | Path, fps: int, features: dict[str, dict], video_key: str | None,
                 image_size_wh: tuple[int, int] | None = None, robot_type: str | None = None) -> None:
        if fps <= 0:
            raise ValueError(f"fps must be a positive integer, got {fps}")
        bad = [k for k in features if "/" in k or k in DEFAULT_FEATURES]
        if bad:
            raise ValueError(f"feature names must not contain '/' nor be LeRobot's own columns: {bad}")
        self.root, self.fps, self.video_key = Path(root), int(fps), video_key
        self.features = features
        self.image_size_wh = image_size_wh
        self.robot_type = robot_type
        self.episodes: list[dict] = []
        self.tasks: list[str] = []
        self._columns: dict[str, list[np.ndarray]] = {k: [] for k in features}  # per episode (N, *shape)
        self._valid: dict[str, list[np.ndarray]] = {k: [] for k in features}  # per episode (N, D) bool
        self._image_hist: list[tuple[np.ndarray, int]] = []  # per episode: channel histogram, frames
        self._total = 0
        self._video: VideoEncoder | None = None

    # ---- one episode ------------------------------------------------------------------------------
    def _file(self, ep: int) -> dict:
        return {"chunk_index": ep // CHUNKS_SIZE, "file_index": ep % CHUNKS_SIZE}

    def begin_episode(self) -> None:
        if self.video_key is not None:
            if self.image_size_wh is None:
                raise ValueError("image_size_wh is needed for the video stream")
            path = self.root / VIDEO_PATH.format(video_key=self.video_key, **self._file(len(self.episodes)))
            self._video = VideoEncoder(path, self.fps, self.image_size_wh)
            self._video_path = path

    def add_image(self, rgb: np.ndarray) -> None:
        """The next frame of the current episode's video."""
        assert self._video is not None, "begin_episode() first"
        self._video.add(rgb)

    def end_episode(self, columns: dict[str, np.ndarray], task: str, extra: dict | None = None,
                    valid: dict[str, np.ndarray] | None = None) -> dict:
        """Close the episode; ``columns``: feature -> (N, *shape) values (N frames, equal to the images
        added); ``valid``: feature -> (N, D) bool, the values that are measurements (default: all). Values
        that are not are left out of the statistics and, in the data file, hold the column's last valid
        value of the episode (the first before it; without any in the episode, the first valid value of
        the dataset; without any at all, 0). Returns the episode's metadata row; the data files and meta/
        are written by :meth:`finalize`."""
        ep = len(self.episodes)
        n = len(next(iter(columns.values())))
        if set(columns) != set(self.features):
            raise ValueError(f"episode columns {sorted(columns)} != features {sorted(self.features)}")
        if any(len(v) != n for v in columns.values()):
            raise ValueError("episode columns differ in length")
        unknown = set(valid or {}) - set(self.features)
        if unknown:
            raise ValueError(f"validity given for unknown features {sorted(unknown)}")
        if self._video is not None:
            if self._video.frames != n:
                raise ValueError(f"episode {ep}: {self._video.frames} video frames for {n} rows")
            self._video.close()
            self._video = None
            sampled = decoded_stat_frames(self._video_path, n)
            self._image_hist.append((channel_histogram(sampled), len(sampled)))
        return self._append_episode(columns, task, extra, valid)

    def _append_episode(self, columns: dict[str, np.ndarray], task: str, extra: dict | None,
                        valid: dict[str, np.ndarray] | None) -> dict:
        """The episode's columns, validity and metadata row (its video and image histogram already in)."""
        ep, n = len(self.episodes), len(next(iter(columns.values())))
        if task not in self.tasks:
            self.tasks.append(task)
        for k, spec in self.features.items():
            a = np.asarray(columns[k]).astype(spec["dtype"] if spec["dtype"] != "bool" else np.bool_)
            self._columns[k].append(a.reshape(n, *spec["shape"]))
            d = int(np.prod(spec["shape"]))
            m = np.ones((n, d), bool) if k not in (valid or {}) else np.asarray(valid[k], bool).reshape(n, d)
            self._valid[k].append(m)
        row = {"episode_index": ep, "tasks": [task], "length": n,
               "data/chunk_index": self._file(ep)["chunk_index"],
               "data/file_index": self._file(ep)["file_index"],
               "dataset_from_index": self._total, "dataset_to_index": self._total + n}
        if self.video_key is not None:
            k = self.video_key
            row.update({f"videos/{k}/chunk_index": self._file(ep)["chunk_index"],
                        f"videos/{k}/file_index": self._file(ep)["file_index"],
                        f"videos/{k}/from_timestamp": 0.0, f"videos/{k}/to_timestamp": n / self.fps})
        row.update({"meta/episodes/chunk_index": 0, "meta/episodes/file_index": 0})
        row.update(extra or {})
        self.episodes.append(row)
        self._total += n
        return row

    def _default_columns(self, ep: int) -> dict[str, np.ndarray]:
        """LeRobot's own columns of episode ``ep``."""
        e = self.episodes[ep]
        n, frame_index = e["length"], np.arange(e["length"], dtype=np.int64)
        return {"timestamp": (frame_index / self.fps).astype(np.float32), "frame_index": frame_index,
                "episode_index": np.full(n, ep, np.int64), "index": e["dataset_from_index"] + frame_index,
                "task_index": np.full(n, self.tasks.index(e["tasks"][0]), np.int64)}

    def _write_data(self, ep: int, cols: dict[str, np.ndarray]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = {}
        for k, a in cols.items():
            shape = tuple(self.features[k]["shape"]) if k in self.features else (1,)
            a = a.reshape(len(a), *shape)
            table[k] = pa.array(a[:, 0]) if shape == (1,) else \
                pa.FixedSizeListArray.from_arrays(pa.array(a.reshape(-1)), int(shape[0]))
        path = self.root / DATA_PATH.format(**self._file(ep))
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(table), path)

    def _data_and_stats(self) -> tuple[list[dict], dict]:
        """Write every episode's data file (missing values held, see :meth:`end_episode`); returns the
        episodes' statistics and the dataset's (over the valid values; an episode without a valid value of
        a column gets the dataset's statistics of that column, which leaves LeRobot's re-aggregation of
        episode statistics unchanged by it)."""
        dataset, fallback = {}, {}
        for k in self.features:
            x = np.concatenate(self._columns[k]).reshape(self._total, -1)
            m = np.concatenate(self._valid[k])
            st = value_stats(x, m)
            dataset[k] = {s: (np.nan_to_num(v) if s != "count" else v) for s, v in st.items()}
            fallback[k] = np.where(m.any(0), x[np.argmax(m, 0), np.arange(x.shape[1])], 0)
        episodes = []
        for ep in range(len(self.episodes)):
            cols, ep_stats = {}, {}
            for k in self.features:
                a, m = self._columns[k][ep], self._valid[k][ep]
                flat = a.reshape(len(a), -1)
                cols[k] = hold_missing(flat, m, fallback[k]) if not m.all() else flat
                st = value_stats(flat, m)
                ep_stats[k] = {s: (np.where(np.isnan(v), dataset[k][s], v) if s != "count" else v)
                               for s, v in st.items()}
            defaults = self._default_columns(ep)
            ep_stats.update({k: value_stats(v) for k, v in defaults.items()})
            if self.video_key is not None:
                ep_stats[self.video_key] = image_stats(*self._image_hist[ep])
            self._write_data(ep, {**cols, **defaults})
            episodes.append({k: _listed(v) if k != self.video_key else v for k, v in ep_stats.items()})
        all_defaults = [self._default_columns(ep) for ep in range(len(self.episodes))]
        dataset.update({k: value_stats(np.concatenate([d[k] for d in all_defaults]))
                        for k in DEFAULT_FEATURES})
        stats = {k: _listed(v) for k, v in dataset.items()}
        if self.video_key is not None and self._image_hist:
            stats[self.video_key] = image_stats(sum(h for h, _ in self._image_hist),
                                                sum(n for _, n in self._image_hist))
        return episodes, stats

    # ---- parts: episodes written elsewhere, assembled here ------------------------------------------
    def save_part(self) -> None:
        """Instead of :meth:`finalize`: keep the ended episodes under ``root`` as a part (``part.json``:
        fps, features, video key and size, robot type, each episode's task and extra metadata;
        ``part.npz``: each episode's columns, validity and image histogram; the videos where
        :meth:`begin_episode` wrote them), for :meth:`add_part` of another writer."""
        if not self.episodes:
            raise ValueError("no episode to write")
        arrays = {}
        for ep in range(len(self.episodes)):
            for k in self.features:
                arrays[f"{ep}/{k}/values"] = self._columns[k][ep]
                arrays[f"{ep}/{k}/valid"] = self._valid[k][ep]
            if self.video_key is not None:
                arrays[f"{ep}/image_hist"] = self._image_hist[ep][0]
                arrays[f"{ep}/image_frames"] = np.asarray(self._image_hist[ep][1])
        with open(self.root / PART_ARRAYS, "wb") as f:
            np.savez(f, **arrays)
        own = {"episode_index", "tasks", "length", "dataset_from_index", "dataset_to_index"}
        meta = {"fps": self.fps, "features": self.features, "video_key": self.video_key,
                "image_size_wh": list(self.image_size_wh) if self.image_size_wh else None,
                "robot_type": self.robot_type,
                "episodes": [{"task": r["tasks"][0], "extra": {k: v for k, v in r.items()
                                                               if k not in own and "/" not in k}}
                             for r in self.episodes]}
        (self.root / PART_META).write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")

    def add_part(self, part: str | Path, extras: list[dict] | None = None) -> list[dict]:
        """Append the episodes of a part (:meth:`save_part`; same fps, features and video size as this
        writer's, else ValueError and nothing added), in their order, their videos copied byte for byte,
        their extra metadata ``extras`` (one per episode) or the part's; returns their metadata rows."""
        import shutil

        part = Path(part)
        meta = json.loads((part / PART_META).read_text())
        theirs = (meta["fps"], meta["video_key"], meta["image_size_wh"])
        ours = (self.fps, self.video_key, list(self.image_size_wh) if self.image_size_wh else None)
        if theirs != ours:
            raise ValueError(f"fps, video key, image size {theirs} differ from the dataset's {ours}")
        if json.dumps(_names(meta["features"])) != json.dumps(_names(self.features)):
            raise ValueError("other features than the dataset's (another robot hand?)")
        rows = []
        with np.load(part / PART_ARRAYS) as z:
            for i, e in enumerate(meta["episodes"]):
                if self.video_key is not None:
                    dst = self.root / VIDEO_PATH.format(video_key=self.video_key,
                                                        **self._file(len(self.episodes)))
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(part / VIDEO_PATH.format(video_key=self.video_key, **self._file(i)), dst)
                    self._image_hist.append((z[f"{i}/image_hist"], int(z[f"{i}/image_frames"])))
                cols = {k: z[f"{i}/{k}/values"] for k in self.features}
                valid = {k: z[f"{i}/{k}/valid"] for k in self.features}
                rows.append(self._append_episode(cols, e["task"], e["extra"] if extras is None else extras[i],
                                                 valid))
        return rows

    # ---- the dataset ------------------------------------------------------------------------------
    def _info_features(self) -> dict:
        feats: dict = {}
        if self.video_key is not None:
            w, h = self.image_size_wh
            feats[self.video_key] = {
                "dtype": "video", "shape": [h, w, 3], "names": ["height", "width", "channels"],
                "info": {"video.height": h, "video.width": w, "video.codec": "h264",
                         "video.pix_fmt": "yuv420p", "video.is_depth_map": False, "video.fps": self.fps,
                         "video.channels": 3, "has_audio": False},
            }
        for k, spec in self.features.items():
            feats[k] = {"dtype": spec["dtype"], "shape": list(spec["shape"]), "names": spec.get("names")}
            if "info" in spec:
                feats[k]["info"] = spec["info"]
        for k, dt in DEFAULT_FEATURES.items():
            feats[k] = {"dtype": dt, "shape": [1], "names": None}
        return feats

    def finalize(self) -> dict:
        """Write the data files and meta/ (info, tasks, episodes, stats); returns info."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self.episodes:
            raise ValueError("no episode to write")
        meta = self.root / "meta"
        (meta / "episodes" / "chunk-000").mkdir(parents=True, exist_ok=True)
        info = {
            "codebase_version": CODEBASE_VERSION, "robot_type": self.robot_type,
            "total_episodes": len(self.episodes), "total_frames": self._total, "total_tasks": len(self.tasks),
            "chunks_size": CHUNKS_SIZE, "data_files_size_in_mb": 100, "video_files_size_in_mb": 200,
            "fps": self.fps, "splits": {"train": f"0:{len(self.episodes)}"}, "data_path": DATA_PATH,
            "video_path": VIDEO_PATH if self.video_key is not None else None,
            "features": self._info_features(),
        }
        (meta / "info.json").write_text(json.dumps(info, indent=4))
        # tasks: the task string is the pandas index (LeRobot reads it with pandas.read_parquet)
        tasks = pa.table({"task_index": pa.array(np.arange(len(self.tasks), dtype=np.int64)),
                          "task": pa.array(self.tasks, pa.string())})
        pandas_meta = {
            "index_columns": ["task"], "column_indexes": [],
            "columns": [{"name": "task_index", "field_name": "task_index", "pandas_type": "int64",
                         "numpy_type": "int64", "metadata": None},
                        {"name": None, "field_name": "task", "pandas_type": "unicode", "numpy_type": "object",
                         "metadata": None}],
            "creator": {"library": "pyarrow", "version": pa.__version__}, "pandas_version": "2.2.3",
        }
        pq.write_table(tasks.replace_schema_metadata({"pandas": json.dumps(pandas_meta)}),
                       meta / "tasks.parquet")
        episode_stats, stats = self._data_and_stats()
        rows = [{**e, **{f"stats/{f}/{k}": v for f, st in es.items() for k, v in st.items()}}
                for e, es in zip(self.episodes, episode_stats, strict=True)]
        ep_cols = {k: [r[k] for r in rows] for k in rows[0]}
        pq.write_table(pa.table(ep_cols), self.root / EPISODES_PATH)
        (meta / "stats.json").write_text(json.dumps(stats, indent=4))
        return info


__all__ = ["CODEBASE_VERSION", "LeRobotWriter", "VideoEncoder"]
