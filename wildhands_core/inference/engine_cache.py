"""On-disk cache of serialized TensorRT engines, keyed by what makes an engine valid.

An engine is only valid for the ONNX graph it was built from, the TensorRT version that built it, the GPU
model it was built on, its precision and its optimisation profile; the key hashes exactly these, so a
change of any of them rebuilds and nothing else does.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class EngineKey:
    onnx_sha256: str
    tensorrt_version: str
    gpu_name: str
    precision: str  # "fp16" or "fp32"
    max_hands: int
    max_frames: int

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:24]

    def filename(self) -> str:
        return f"wildhands-{self.precision}-{self.digest()}.engine"


class EngineCache:
    """``get(key)`` -> engine bytes or None; ``put(key, bytes)`` writes atomically with a JSON sidecar."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def path(self, key: EngineKey) -> Path:
        return self.directory / key.filename()

    def get(self, key: EngineKey) -> bytes | None:
        p = self.path(key)
        meta = p.with_suffix(".json")
        if not p.exists() or not meta.exists():
            return None
        if json.loads(meta.read_text()) != asdict(key):  # digest collision or a hand-edited file
            return None
        return p.read_bytes()

    def put(self, key: EngineKey, engine: bytes) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        p = self.path(key)
        for target, data in (
            (p, engine),
            (p.with_suffix(".json"), json.dumps(asdict(key), indent=1).encode()),
        ):
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        return p
