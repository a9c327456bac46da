"""All-or-nothing outputs: write under a hidden temporary directory beside the target, rename at the end.

An interrupted or failed run removes its temporary directory and leaves no (partial) target; a rename
within one directory is atomic on POSIX file systems.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(target: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yields a path (not yet existing, same base name as ``target``, in a temporary directory beside it) to
    write a file or directory at; on a clean exit it is renamed to ``target``. ``FileExistsError`` when
    ``target`` exists and not ``overwrite``."""
    target = Path(target).absolute()
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists (use --overwrite)")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        work = tmp_dir / target.name
        yield work
        if not work.exists():
            raise RuntimeError(f"nothing was written at {work}")
        if target.exists():  # overwrite: move the old one aside first, delete it after the rename
            old = tmp_dir / (target.name + ".old")
            target.rename(old)
        work.rename(target)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def write_json_atomic(path: Path, data: dict) -> None:
    """Write ``data`` as indented JSON to ``path`` via a temporary file and ``os.replace``."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
