"""Fixtures shared by the core tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from wildhands_core.mano.procedural import write_procedural_mano


@pytest.fixture(scope="session")
def mano_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the procedural MANO_RIGHT.pkl / MANO_LEFT.pkl (read-only for the tests that use it)."""
    out = tmp_path_factory.mktemp("mano")
    write_procedural_mano(out)
    return out
