"""The ledger of a batch output folder OUT: which inputs are done, which failed, which ran where.

    OUT/parts/<key>/              one finished input: its episode files and ``entry.json`` (the ledger
                                  entry: input identity, configuration hash, counts, seconds, worker); the
                                  folder is written under a temporary name and renamed when complete
                                  (``atomic.atomic_path``), so a part exists whole or not at all
    OUT/failed/<key>.json         an input that failed: reason and message (a re-run tries it again)
    OUT/attempts/<key>.<pid>.json one per attempt at an input: worker host and process id, start time (a
                                  worker killed mid-input leaves its attempt here and no part)

``<key>`` = ``batch_inputs.BatchInput.key`` (identity + configuration hash): a re-run processes exactly
the inputs without a part of their key. One batch run per OUT at a time.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from pathlib import Path

from wildhands_offline.atomic import write_json_atomic

ENTRY = "entry.json"


class Ledger:
    """The ledger folders of ``out`` (see the module docstring)."""

    def __init__(self, out: str | Path) -> None:
        self.out = Path(out).absolute()
        self.parts = self.out / "parts"
        self.failed = self.out / "failed"
        self.attempts = self.out / "attempts"

    def make(self) -> None:
        for d in (self.parts, self.failed, self.attempts):
            d.mkdir(parents=True, exist_ok=True)

    def part(self, key: str) -> Path:
        return self.parts / key

    def entry(self, key: str) -> dict | None:
        """The ledger entry of a finished input, None when it has no (complete) part."""
        path = self.part(key) / ENTRY
        return json.loads(path.read_text()) if path.is_file() else None

    def failure(self, key: str) -> dict | None:
        path = self.failed / f"{key}.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def record_attempt(self, key: str) -> None:
        """An attempt at ``key`` starts in this process."""
        attempt = {"key": key, "host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}
        write_json_atomic(self.attempts / f"{key}.{os.getpid()}.json", attempt)

    def attempts_of(self, key: str) -> list[dict]:
        return [json.loads(p.read_text()) for p in sorted(self.attempts.glob(f"{key}.*.json"))]

    def record_failure(self, key: str, entry: dict) -> None:
        write_json_atomic(self.failed / f"{key}.json", entry)

    def clear_failure(self, key: str) -> None:
        (self.failed / f"{key}.json").unlink(missing_ok=True)

    def remove_partials(self) -> list[str]:
        """Delete what interrupted attempts left (temporary part folders); returns their names."""
        left = sorted(p for p in self.parts.glob(".*.partial-*") if p.is_dir())
        for p in left:
            shutil.rmtree(p, ignore_errors=True)
        return [p.name for p in left]
