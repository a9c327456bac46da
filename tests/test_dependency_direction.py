"""Dependencies flow one way: ``wildhands_ros`` and ``training`` each build on ``wildhands_core`` (and the
shared synthetic-data package ``wildhands_synth``) and never on each other; the core and ``wildhands_synth``
import no ROS and neither adapter. The offline path ``wildhands_offline`` builds on the core only (the node
shares its message field layout and image decoding): it never imports ``wildhands_ros``, rclpy or training.

Every ``import`` statement counts, also the ones inside functions (a lazy import still makes a ROS install
carry the package it names). The runtime check that every module imports with rclpy blocked is
``tests/core/test_core_is_ros_free.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ROS = {"rclpy", "rosidl_runtime_py", "rcl_interfaces", "builtin_interfaces", "sensor_msgs", "geometry_msgs",
       "std_msgs", "visualization_msgs", "diagnostic_msgs", "lifecycle_msgs", "tf2_ros", "tf2_msgs",
       "launch", "launch_ros"}
#: package -> the top-level packages it must never import
FORBIDDEN = {
    "wildhands_core": {"wildhands_ros", "training", "wildhands_synth", "wildhands_offline"} | ROS,
    "wildhands_offline": {"wildhands_ros", "training", "wildhands_synth"} | ROS,
    "wildhands_synth": {"wildhands_ros", "training"} | ROS,
    "wildhands_ros": {"training"},
    "training": {"wildhands_ros", "wildhands_offline"} | ROS,
}


def imported_top_levels(path: Path) -> dict[str, int]:
    """Top-level package of every absolute import in ``path`` -> the first line importing it."""
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            found.setdefault(name.split(".")[0], node.lineno)
    return found


def violations(package: str) -> list[str]:
    bad = []
    for path in sorted((REPO / package).rglob("*.py")):
        for top, line in imported_top_levels(path).items():
            if top in FORBIDDEN[package]:
                bad.append(f"{path.relative_to(REPO)}:{line} imports {top}")
    return bad


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_never_imports_what_depends_on_it(package):
    assert (REPO / package / "__init__.py").exists()
    assert violations(package) == []


def test_the_scan_sees_imports_inside_functions(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("import numpy\n\ndef f():\n    from training.metrics import x\n    import rclpy.node\n")
    assert imported_top_levels(src) == {"numpy": 1, "training": 4, "rclpy": 5}


def module_imports(package_dir: Path, package: str) -> dict[str, set[str]]:
    """Module of ``package`` (dotted) -> the modules of ``package`` it imports (any import statement, also
    inside functions; ``from package import module`` names that module)."""
    root = package_dir.parent
    modules = {".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
               for p in package_dir.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in sorted(package_dir.rglob("*.py")):
        name = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name in modules}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in modules:
                subs = {f"{node.module}.{a.name}" for a in node.names} & modules
                deps |= subs or {node.module}
        graph[name] = deps - {name, package}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle of ``graph`` once (as the path that closes it, first module repeated at the end)."""
    cycles, done = [], set()

    def visit(node: str, path: list[str]) -> None:
        for dep in sorted(graph.get(node, ())):
            if dep in path:
                cycle = path[path.index(dep):] + [dep]
                if frozenset(cycle) not in done:
                    done.add(frozenset(cycle))
                    cycles.append(cycle)
            elif len(path) < len(graph):
                visit(dep, [*path, dep])

    for start in sorted(graph):
        visit(start, [start])
    return cycles


def test_the_offline_modules_import_each_other_without_a_cycle():
    """export and lerobot_export imported each other once; the offline path's modules form no cycle."""
    assert import_cycles(module_imports(REPO / "wildhands_offline", "wildhands_offline")) == []


def test_the_cycle_scan_finds_a_cycle_through_a_lazy_import(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.b import x\n")
    (pkg / "b.py").write_text("def f():\n    from pkg import a\n")
    (pkg / "c.py").write_text("import pkg.a\n")
    graph = module_imports(pkg, "pkg")
    assert graph == {"pkg": set(), "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.a"}, "pkg.c": {"pkg.a"}}
    assert import_cycles(graph) == [["pkg.a", "pkg.b", "pkg.a"]]
