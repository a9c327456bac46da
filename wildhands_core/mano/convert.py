"""One-time conversion of the licensed MANO pickles (which need chumpy) into plain-numpy pickles.

The licensed ``MANO_RIGHT.pkl`` / ``MANO_LEFT.pkl`` (mano_v1_2, written by Python 2) hold some arrays as
chumpy ``Ch`` objects and ``J_regressor`` as a ``scipy.sparse`` matrix. A ``Ch`` is pickled as
``Ch.__new__(Ch)`` followed by ``__setstate__(state)``, where ``state`` is the object's ``__dict__`` without
its caches (chumpy's ``Ch.__getstate__``); for a plain ``Ch`` the value is the ndarray ``state['x']``.
:class:`ChumpyFreeUnpickler` maps every class of a ``chumpy`` module to a stand-in that keeps that state,
so chumpy need not be installed; :func:`to_plain` then replaces each stand-in by ``np.asarray(state['x'])``
and each sparse matrix by a dense float64 array. Derived chumpy expressions (no ``'x'`` in their state)
cannot be evaluated without chumpy and raise ``ValueError``.

Console entry point :func:`main`: ``wildhands-convert-mano SRC_DIR OUT_DIR``.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "ChumpyFreeUnpickler", "convert_mano_dir", "convert_mano_file", "load_mano_pickle", "main", "to_plain",
]

MANO_FILE_NAMES = ("MANO_RIGHT.pkl", "MANO_LEFT.pkl")


class ChumpyStandIn:
    """Replaces any chumpy class while unpickling; keeps the pickled state in ``self.state``."""

    chumpy_class = "?"
    state: dict | None = None  # set by __setstate__ (instances are made without __init__)

    def __setstate__(self, state: Any) -> None:
        self.state = state if isinstance(state, dict) else {"state": state}


class ChumpyFreeUnpickler(pickle.Unpickler):
    """Unpickler that needs neither chumpy nor numpy < 2 (maps ``numpy.core`` to ``numpy._core``)."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "chumpy" or module.startswith("chumpy."):
            return type(name, (ChumpyStandIn,), {"chumpy_class": f"{module}.{name}"})
        if module.startswith("numpy.core"):
            module = "numpy._core" + module[len("numpy.core"):]
        if module.startswith("scipy.sparse") and name.endswith("_matrix"):
            import scipy.sparse

            return getattr(scipy.sparse, name)
        return super().find_class(module, name)


def load_mano_pickle(path: str | Path) -> dict:
    """Reads a (licensed or converted) MANO pickle without chumpy; chumpy objects stay stand-ins."""
    with open(path, "rb") as fh:
        return ChumpyFreeUnpickler(fh, encoding="latin1").load()


def to_plain(value: Any, key: str = "?") -> Any:
    """Stand-ins and sparse matrices -> float64/int ndarrays; other values unchanged."""
    if isinstance(value, ChumpyStandIn):
        state = value.state or {}
        if "x" not in state:
            raise ValueError(f"MANO entry {key!r} is a derived chumpy expression ({value.chumpy_class}); "
                             "convert it with chumpy installed")
        return np.asarray(to_plain(state["x"], key), dtype=np.float64)
    if hasattr(value, "toarray") and "scipy.sparse" in type(value).__module__:
        return np.asarray(value.toarray(), dtype=np.float64)
    return value


def convert_mano_file(src: str | Path, dst: str | Path) -> dict:
    """Converts one MANO pickle to a plain-numpy pickle at ``dst``; returns the converted dict."""
    data = load_mano_pickle(src)
    if not isinstance(data, dict):
        raise ValueError(f"{src}: expected a dict, got {type(data).__name__}")
    plain = {k: to_plain(v, k) for k, v in data.items()}
    for required in ("v_template", "f", "shapedirs", "posedirs", "J_regressor", "kintree_table", "weights",
                     "hands_components", "hands_mean"):
        if required not in plain:
            raise ValueError(f"{src}: missing MANO key {required!r}")
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(dst, "wb") as fh:
        pickle.dump(plain, fh, protocol=4)
    return plain


def convert_mano_dir(src_dir: str | Path, out_dir: str | Path) -> dict[str, Path]:
    """Converts MANO_RIGHT.pkl and MANO_LEFT.pkl of ``src_dir`` into ``out_dir`` (same file names)."""
    src_dir, out_dir = Path(src_dir), Path(out_dir)
    out: dict[str, Path] = {}
    for name in MANO_FILE_NAMES:
        src = src_dir / name
        if not src.is_file():
            raise FileNotFoundError(f"{src} not found (expected the licensed MANO files, mano_v1_2/models)")
        convert_mano_file(src, out_dir / name)
        out["right" if "RIGHT" in name else "left"] = out_dir / name
    return out


def main(argv: list[str] | None = None) -> int:
    """CLI: ``wildhands-convert-mano SRC_DIR OUT_DIR``."""
    parser = argparse.ArgumentParser(
        prog="wildhands-convert-mano",
        description="Convert the licensed MANO_RIGHT.pkl / MANO_LEFT.pkl (chumpy) into plain-numpy pickles "
                    "that smplx loads without chumpy. Point WILDHANDS_MANO_DIR at OUT_DIR afterwards.")
    parser.add_argument("src_dir", type=Path, help="directory holding the licensed MANO_*.pkl files")
    parser.add_argument("out_dir", type=Path, help="output directory")
    args = parser.parse_args(argv)
    try:
        paths = convert_mano_dir(args.src_dir, args.out_dir)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for side, path in paths.items():
        print(f"{side}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
