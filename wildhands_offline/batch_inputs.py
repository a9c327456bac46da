"""The inputs of a batch: which recordings, of which kind, and the identity that says whether one changed.

Inputs come from paths given on the command line, glob patterns (``**`` recursive; camera YAMLs beside the
inputs, ``.yaml`` / ``.yml``, are not inputs) and manifest files (one path per line, relative to the
manifest's folder; blank lines and ``#`` comments ignored). They are
de-duplicated by absolute path and sorted: the sorted order is the order of the merged dataset.

Kinds: ``bag`` (a rosbag2 folder with ``metadata.yaml``, or a lone ``.mcap`` / ``.db3`` file), ``lerobot``
(a folder with ``meta/info.json``), ``folder`` (any other folder: images in name order), ``video`` (any
other file: what OpenCV opens).

Identity of an input: its absolute path, size (bytes; a folder: the sum over its files) and modification
time (ns; a folder: the newest of its files). With the hash of the configuration (everything that changes
the output) it gives the input's ``key``: a part in the ledger under that key is this input, processed this
way.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

BAG_SUFFIXES = (".mcap", ".db3")
#: Files next to inputs that a glob does not take as inputs (camera calibrations).
SIDECAR_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class BatchInput:
    """One input: absolute ``path``, ``kind``, ``identity`` (path, size_bytes, mtime_ns) and ``key``
    (hash of the identity and the configuration hash)."""

    path: str
    kind: str
    identity: dict
    key: str

    @property
    def name(self) -> str:
        """The input's name in episode names: the file's stem or the folder's name."""
        p = Path(self.path)
        return p.stem if p.is_file() else p.name


def input_kind(path: Path) -> str:
    """``bag`` | ``lerobot`` | ``folder`` | ``video`` (see the module docstring)."""
    if path.is_dir():
        if (path / "metadata.yaml").is_file():
            return "bag"
        if (path / "meta" / "info.json").is_file():
            return "lerobot"
        return "folder"
    return "bag" if path.suffix.lower() in BAG_SUFFIXES else "video"


def identity(path: Path) -> dict:
    """Absolute path, size (bytes) and modification time (ns) of a file, or of a folder's files."""
    path = path.absolute()
    if path.is_dir():
        files = [p.stat() for p in sorted(path.rglob("*")) if p.is_file()]
        size = sum(s.st_size for s in files)
        mtime = max((s.st_mtime_ns for s in files), default=path.stat().st_mtime_ns)
    else:
        st = path.stat()
        size, mtime = st.st_size, st.st_mtime_ns
    return {"path": str(path), "size_bytes": int(size), "mtime_ns": int(mtime)}


def digest(data: dict) -> str:
    """A short, stable hash (16 hex digits of SHA-256) of a JSON-able dict."""
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def read_manifest(path: Path) -> list[Path]:
    """The paths listed in a manifest file (relative ones against its folder)."""
    out = []
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            p = Path(line).expanduser()
            out.append(p if p.is_absolute() else Path(path).parent / p)
    return out


def list_inputs(paths: list[str], globs: list[str], manifests: list[str]) -> list[Path]:
    """Absolute, de-duplicated, sorted input paths; ValueError naming a listed path that does not exist or
    a glob that matches nothing."""
    found: list[Path] = [Path(p) for p in paths]
    for pattern in globs:
        matched = sorted(glob.glob(str(Path(pattern).expanduser()), recursive=True))
        if not matched:
            raise ValueError(f"--glob {pattern!r} matches nothing")
        found += [Path(m) for m in matched if Path(m).suffix.lower() not in SIDECAR_SUFFIXES]
    for manifest in manifests:
        found += read_manifest(Path(manifest))
    missing = [str(p) for p in found if not p.exists()]
    if missing:
        raise ValueError(f"no such input: {', '.join(missing)}")
    return sorted({Path(os.path.abspath(p)) for p in found})  # ".." resolved, symlinks kept


def batch_inputs(paths: list[Path], config_hash: str) -> list[BatchInput]:
    """``BatchInput`` of each path (in the given order), keyed by identity + ``config_hash``."""
    out = []
    for p in paths:
        ident = identity(p)
        out.append(BatchInput(str(p), input_kind(p), ident, digest({**ident, "config": config_hash})))
    return out
