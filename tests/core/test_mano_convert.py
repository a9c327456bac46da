"""Tests of the chumpy-free conversion of MANO pickles (wildhands_core.mano.convert).

The licensed files cannot be used in tests. A stand-in for chumpy's ``Ch`` is pickled here under the module
name ``chumpy.ch`` with chumpy's pickling behaviour (``__getstate__`` = the instance dict without caches,
value in ``'x'``), the sparse ``J_regressor`` as a scipy ``csc_matrix``, with protocol 2 and the Python-2-era
module names ``scipy.sparse.csc`` and ``numpy.core.multiarray`` patched into the stream.
"""

from __future__ import annotations

import pickle
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse

from wildhands_core.mano.convert import convert_mano_dir, load_mano_pickle, main
from wildhands_core.mano.layer import ManoLayer
from wildhands_core.mano.procedural import PROCEDURAL_MARKER_KEY, write_procedural_mano


class Ch:
    """Stand-in with chumpy's pickled form: a plain ``Ch`` keeps its value in ``x``."""

    def __init__(self, x: np.ndarray) -> None:
        self.x = np.asarray(x, dtype=np.float64)
        self._dirty_vars: set = set()
        self._itr = None
        self._depends_on_deps: dict = {}
        self._make_dense = False
        self._make_sparse = False
        self._parents = object()  # removed by __getstate__, as in chumpy
        self._cache = {"r": None}

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        del state["_parents"], state["_cache"]
        return state


class Select(Ch):
    """Stand-in for a derived chumpy expression (no 'x' in its state)."""

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state["a"] = state.pop("x")
        return state


def _pickle_like_the_licensed_file(data: dict) -> bytes:
    fake = types.ModuleType("chumpy.ch")
    fake.Ch, fake.Select = Ch, Select
    Ch.__module__ = Select.__module__ = "chumpy.ch"
    package = types.ModuleType("chumpy")
    package.ch = fake
    sys.modules["chumpy"], sys.modules["chumpy.ch"] = package, fake
    try:
        raw = pickle.dumps(data, protocol=2)
    finally:
        del sys.modules["chumpy.ch"], sys.modules["chumpy"]
        Ch.__module__ = Select.__module__ = __name__
    # Module paths as written by Python 2 with old numpy / scipy.
    return raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray").replace(
        b"scipy.sparse._csc", b"scipy.sparse.csc")


@pytest.fixture(scope="module")
def licensed_like(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A directory with MANO_*.pkl shaped like the licensed ones (chumpy shapedirs, sparse J_regressor),
    built from the procedural model's arrays without the procedural marker."""
    src = tmp_path_factory.mktemp("procedural")
    paths = write_procedural_mano(src)
    out = tmp_path_factory.mktemp("licensed_like")
    plain_right: dict = {}
    for side, path in paths.items():
        with open(path, "rb") as fh:
            data = pickle.load(fh)
        del data[PROCEDURAL_MARKER_KEY]
        if side == "right":
            plain_right = dict(data)
        data["shapedirs"] = Ch(data["shapedirs"])
        data["J_regressor"] = scipy.sparse.csc_matrix(data["J_regressor"])
        data["hands_coeffs"] = np.zeros((3, 45))
        (out / path.name).write_bytes(_pickle_like_the_licensed_file(data))
    return out, plain_right


def test_stand_in_stream_names_chumpy_and_old_module_paths(licensed_like: tuple[Path, dict]) -> None:
    raw = (licensed_like[0] / "MANO_RIGHT.pkl").read_bytes()
    assert b"chumpy.ch" in raw and b"scipy.sparse.csc\n" in raw and b"numpy.core.multiarray" in raw
    assert "chumpy" not in sys.modules
    with pytest.raises(ModuleNotFoundError):
        pickle.loads(raw, encoding="latin1")  # plain pickle needs chumpy


def test_conversion_gives_plain_arrays_equal_to_the_originals(licensed_like: tuple[Path, dict],
                                                             tmp_path: Path) -> None:
    src, plain = licensed_like
    paths = convert_mano_dir(src, tmp_path)
    with open(paths["right"], "rb") as fh:
        converted = pickle.load(fh)  # no custom unpickler needed any more
    for key in ("shapedirs", "J_regressor", "v_template", "posedirs", "weights", "hands_mean"):
        assert type(converted[key]) is np.ndarray, key
        np.testing.assert_array_equal(converted[key], plain[key])
    np.testing.assert_array_equal(converted["f"], plain["f"])
    assert converted["hands_coeffs"].shape == (3, 45)


def test_cli_converts_a_directory_and_smplx_loads_the_result(licensed_like: tuple[Path, dict],
                                                             tmp_path: Path) -> None:
    import smplx

    assert main([str(licensed_like[0]), str(tmp_path)]) == 0
    model = smplx.MANO(model_path=str(tmp_path), is_rhand=False, use_pca=False, flat_hand_mean=False)
    assert model.v_template.shape == (778, 3)
    assert main([str(tmp_path / "missing"), str(tmp_path / "out")]) == 1


def test_layer_reads_unconverted_licensed_style_files_and_reports_them(
        licensed_like: tuple[Path, dict]) -> None:
    layer = ManoLayer("right", licensed_like[0])
    assert layer.source == f"licensed MANO files at {licensed_like[0]}"
    np.testing.assert_allclose(layer.mano.J_regressor.numpy(), licensed_like[1]["J_regressor"], atol=1e-7)


def test_derived_chumpy_expression_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "MANO_RIGHT.pkl"
    path.write_bytes(_pickle_like_the_licensed_file({"shapedirs": Select(np.zeros(3))}))
    assert type(load_mano_pickle(path)["shapedirs"]).__name__ == "Select"
    from wildhands_core.mano.convert import to_plain

    with pytest.raises(ValueError, match="derived chumpy expression"):
        to_plain(load_mano_pickle(path)["shapedirs"], "shapedirs")
