"""core/ is the product without a screen: it never imports Qt, pyqtgraph or gui.

Two checks, as napari keeps for its model layer: a static one over the source (every
``import``, ``from ... import`` and ``importlib.import_module("...")`` in core/) and a
dynamic one that imports every core module in a fresh interpreter where Qt cannot load.
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
    return sorted(f"core.{p.stem}" for p in CORE.glob("*.py") if p.stem != "__init__")


def test_contract_names_qt_and_gui():
    assert set(forbidden()) >= {"PySide6", "pyqtgraph", "shiboken6", "gui"}


def test_scanner_sees_every_kind_of_import():
    src = (
        "import os\n"
        "from PySide6.QtCore import Qt\n"
        "def f():\n"
        "    import pyqtgraph as pg\n"
        "    importlib.import_module('gui.app')\n"
    )
    assert [m for _, m in imported_names(src)] == ["os", "PySide6.QtCore", "pyqtgraph", "gui.app"]


def test_no_core_module_imports_qt_or_gui():
    banned = set(forbidden())
    offences = []
    for path in sorted(CORE.glob("*.py")):
        for line, module in imported_names(path.read_text(encoding="utf-8")):
            if module.split(".")[0] in banned:
                offences.append(f"core/{path.name}:{line} imports {module}")
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
    for required in ("core.reader", "core.dicom", "core.inference", "core.export", "core.cli"):
        assert required in names
