"""Reading torch files that pickle foreign objects, without running their code.

A real PyTorch Lightning ``.ckpt`` holds, next to ``state_dict``, ``hyper_parameters``, loop and callback
states and optimizer states; these may pickle objects of the training code (an ``EasyDict`` or
``argparse.Namespace`` of the training arguments, Lightning's ``AttributeDict``, ...). ``torch.load`` with
``weights_only=True`` refuses them, and ``weights_only=False`` would execute whatever the pickle names.

:func:`torch_load_restricted` loads such a file with an allow-list: tensors, storages, the containers and
scalars torch and numpy pickle, and nothing else. Every other global the pickle names (a class or a
function) is replaced by an inert :class:`SkippedObject` subclass of the same name that only records what
it was given; no constructor, ``__setstate__`` or function of the file is ever called. What was skipped is
returned, so callers can say it.
"""

from __future__ import annotations

import io
import pickle
import types
from pathlib import Path
from typing import Any

import torch

__all__ = ["SkippedObject", "find_skipped", "torch_load_restricted"]

#: (module, name) globals that may be resolved for real: torch's tensor/parameter rebuild functions and
#: value types, numpy arrays and scalars, and builtin containers. Nothing here runs code of the file.
_ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {
        ("collections", "OrderedDict"),
        ("collections", "defaultdict"),
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "slice"),
        ("builtins", "complex"),
        ("builtins", "bytearray"),
        ("builtins", "range"),
        ("_codecs", "encode"),
        ("torch", "Size"),
        ("torch", "device"),
        ("torch._utils", "_rebuild_tensor"),
        ("torch._utils", "_rebuild_tensor_v2"),
        ("torch._utils", "_rebuild_tensor_v3"),
        ("torch._utils", "_rebuild_parameter"),
        ("torch._utils", "_rebuild_parameter_with_state"),
        ("torch._utils", "_rebuild_device_tensor_from_numpy"),
        ("torch._tensor", "_rebuild_from_type_v2"),
        ("torch.nn.parameter", "Parameter"),
        ("torch", "Tensor"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
    }
)
_ALLOWED_NUMPY_DTYPE_MODULES = ("numpy.dtypes",)


class SkippedObject(dict):
    """Stands in for an object of a class (or the result of a function) the file named but that is not on
    the allow-list. It keeps what the pickle gave it (``args``, ``state``, items, appended values) as plain
    data and never runs the original code. ``qualified_name`` says what it replaced."""

    qualified_name = "?"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.args = args
        self.kwargs = kwargs
        self.state: Any = None
        self.items_appended: list[Any] = []

    def __new__(cls, *args: Any, **kwargs: Any) -> SkippedObject:
        obj = super().__new__(cls)
        obj.args, obj.kwargs, obj.state, obj.items_appended = args, kwargs, None, []
        return obj

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def append(self, value: Any) -> None:
        self.items_appended.append(value)

    def extend(self, values: Any) -> None:
        self.items_appended.extend(values)

    def __reduce__(self) -> Any:  # never re-pickled as the foreign class
        return (dict, (dict(self),))

    def __repr__(self) -> str:
        return f"<skipped {self.qualified_name}>"


def _is_allowed(module: str, name: str) -> bool:
    if (module, name) in _ALLOWED:
        return True
    if module in _ALLOWED_NUMPY_DTYPE_MODULES and name.endswith("DType"):
        return True
    # dtype objects (torch.float32, ...) and storage classes (torch.FloatStorage, ...) are values, not code
    value = getattr(torch, name, None) if module == "torch" else None
    if isinstance(value, torch.dtype) or (module == "torch" and name.endswith("Storage")):
        return True
    return False


def _restricted_pickle_module(skipped: dict[str, type]) -> types.ModuleType:
    """A stand-in for the ``pickle`` module whose Unpickler resolves only allow-listed globals."""

    class RestrictedUnpickler(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            if _is_allowed(module, name):
                return super().find_class(module, name)
            qualified = f"{module}.{name}"
            if qualified not in skipped:
                skipped[qualified] = type(name, (SkippedObject,), {"qualified_name": qualified})
            return skipped[qualified]

    mod = types.ModuleType("wildhands_restricted_pickle")
    mod.Unpickler = RestrictedUnpickler  # type: ignore[attr-defined]
    mod.load = lambda f, **kw: RestrictedUnpickler(f, **kw).load()  # type: ignore[attr-defined]
    mod.loads = lambda b, **kw: RestrictedUnpickler(io.BytesIO(b), **kw).load()  # type: ignore[attr-defined]
    mod.__dict__.update({k: getattr(pickle, k) for k in ("UnpicklingError", "HIGHEST_PROTOCOL")})
    return mod


def torch_load_restricted(
    path: str | Path, map_location: str | torch.device = "cpu"
) -> tuple[Any, list[str]]:
    """``torch.load`` through the allow-list unpickler -> (the object, sorted names of skipped globals).

    Objects of skipped classes come back as :class:`SkippedObject` instances (dicts of what they held).
    """
    skipped: dict[str, type] = {}
    obj = torch.load(
        path, map_location=map_location, weights_only=False, pickle_module=_restricted_pickle_module(skipped)
    )
    return obj, sorted(skipped)


def find_skipped(obj: Any, prefix: str = "", limit: int = 20) -> list[str]:
    """Where in ``obj`` (dicts/lists) :class:`SkippedObject` values sit, as ``key.path (qualified name)``."""
    found: list[str] = []

    def walk(o: Any, path: str) -> None:
        if len(found) >= limit:
            return
        if isinstance(o, SkippedObject):
            found.append(f"{path or '<root>'} ({o.qualified_name})")
            return
        if isinstance(o, dict):
            for k, v in o.items():
                walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(o, (list, tuple)):
            for i, v in enumerate(o):
                walk(v, f"{path}[{i}]")

    walk(obj, prefix)
    return found

