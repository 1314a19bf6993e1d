"""core/ is the product without a screen: it never imports Qt, pyqtgraph or gui.

Two checks, as napari keeps for its model layer: a static one over the source (every
``import``, ``from ... import`` and ``importlib.import_module("...")`` in core/) and a
dynamic one that imports every core module in a fresh interpreter where Qt cannot load.
The layers themselves are import-linter contracts in pyproject.toml (``lint-imports`` in
scripts/run_tests.sh); here, what import-linter has no contract for: no module imports
itself through a circle, and no private name is imported from another module.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORE = REPO / "core"


def forbidden() -> list[str]:
    """The contract, from pyproject.toml ([tool.covidcxr.forbidden-imports])."""
    with open(REPO / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)["tool"]["covidcxr"]["forbidden-imports"]["core"]


def imported_names(source: str) -> list[tuple[int, str]]:
    """(line, module) for every import in a module, including lazy ones inside functions."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            arg = node.args[0]
            if name in ("import_module", "__import__") and isinstance(arg, ast.Constant):
                found.append((node.lineno, str(arg.value)))
    return found


def core_modules() -> list[str]:
    return sorted(
        ".".join(p.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        for p in CORE.rglob("*.py")
    )


def import_graph(package: str) -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports (lazy imports included), by grimp,
    the library import-linter is built on."""
    import grimp

    graph = grimp.build_graph(package)
    return {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import circle, each as the path that closes it (depth-first search)."""
    found, state = [], {}  # state: 1 on the current path, 2 done

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                found.append(path[path.index(n):] + [m, n] if n in path else [m, n])
            elif n not in state:
                visit(n, [*path, m])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
    return found


def test_contract_names_qt_and_gui():
    assert set(forbidden()) >= {"PySide6", "pyqtgraph", "shiboken6", "gui"}


def test_scanner_sees_every_kind_of_import():
    src = (
        "import os\n"
        "from PySide6.QtCore import Qt\n"
        "def f():\n"
        "    import pyqtgraph as pg\n"
        "    importlib.import_module('gui.shell.app')\n"
    )
    assert [m for _, m in imported_names(src)] == ["os", "PySide6.QtCore", "pyqtgraph", "gui.shell.app"]


def test_no_core_module_imports_qt_or_gui():
    banned = set(forbidden())
    offences = []
    for path in sorted(CORE.rglob("*.py")):
        for line, module in imported_names(path.read_text(encoding="utf-8")):
            if module.split(".")[0] in banned:
                offences.append(f"{path.relative_to(REPO)}:{line} imports {module}")
    assert offences == []


def test_circle_finder_finds_circles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert sorted(map(tuple, circles(graph))) == [("a", "b", "c", "a"), ("e", "e")]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circles_in_core_or_gui():
    for package in ("core", "gui"):
        assert circles(import_graph(package)) == [], package


def test_no_private_name_is_imported_from_another_module():
    offences = []
    for folder in ("core", "gui"):
        for path in sorted((REPO / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    ("core", "gui")
                ):
                    offences += [
                        f"{path.relative_to(REPO)}:{node.lineno} {node.module}.{a.name}"
                        for a in node.names
                        if a.name.startswith("_") and not a.name.startswith("__")
                    ]
    assert offences == []


def test_every_core_module_imports_with_qt_blocked():
    # A module set to None in sys.modules raises ImportError on import: Qt "not installed".
    script = (
        "import importlib, sys\n"
        f"for name in {forbidden()!r}:\n"
        "    sys.modules[name] = None\n"
        f"for name in {core_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "leaked = sorted(m for m in sys.modules if m.split('.')[0] in\n"
        "                ('PySide6', 'pyqtgraph', 'shiboken6', 'gui') and sys.modules[m])\n"
        "print('imported ok', leaked)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "imported ok []"


def test_core_modules_listed():
    names = core_modules()
    for required in ("core.files.reader", "core.files.dicom", "core.answers.inference",
                     "core.output.export", "core.cli.main", "core.training.fit"):
        assert required in names


def test_library_code_neither_parses_arguments_nor_prints():
    """argparse, print and the standard streams belong to core/cli/ only: the library
    raises, the command line reports (one map from errors to exit codes)."""
    offences = []
    for path in sorted(CORE.rglob("*.py")):
        if path.parent.name == "cli":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            where = f"{path.relative_to(REPO)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "print":
                offences.append(f"{where} print()")
            elif isinstance(node, ast.Attribute) and node.attr in ("stdout", "stderr") and (
                getattr(node.value, "id", "") == "sys"
            ):
                offences.append(f"{where} sys.{node.attr}")
        offences += [
            f"{path.relative_to(REPO)}:{line} imports argparse"
            for line, module in imported_names(path.read_text(encoding="utf-8"))
            if module == "argparse"
        ]
    assert offences == []
