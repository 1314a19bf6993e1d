"""gui.shell.launcher: what ``covidcxr WORD`` does before any window, in a subprocess as a user
runs it (a Qt abort or a hang fails the test, through the exit code or the timeout)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gui.shell.launcher import missing_display

REPO = Path(__file__).resolve().parent.parent


def run_launcher(*args: str, cwd: Path, display: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    if not display:
        for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
            env.pop(var, None)
    return subprocess.run(
        [sys.executable, "-m", "gui.shell.launcher", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )


def test_a_mistyped_command_is_not_opened_as_files(tmp_path):
    (tmp_path / "films").mkdir()
    proc = run_launcher("valdate", "films", cwd=tmp_path, display=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "covidcxr: error: unknown command 'valdate' (and no such file or folder); "
        "commands: classify, train, evaluate, validate, listen, pacs, --self-test; with no "
        "command, or with files and folders, the window opens (covidcxr --help)"
    ]


def test_no_display_gets_one_line_naming_the_headless_commands(tmp_path):
    (tmp_path / "films").mkdir()
    for args in ((), ("films",)):  # the window alone, and the window on an existing folder
        proc = run_launcher(*args, cwd=tmp_path, display=False)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.splitlines() == [
            "covidcxr: error: no display to open the window on (DISPLAY and WAYLAND_DISPLAY "
            "not set); without a screen use the headless commands: classify, train, "
            "evaluate, validate, listen, pacs, --self-test (covidcxr --help)"
        ]


def test_headless_commands_still_run_without_a_display(tmp_path):
    proc = run_launcher("--version", cwd=tmp_path, display=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("covidcxr ")


def test_which_platforms_need_a_display():
    linux = "linux"
    assert missing_display({}, platform=linux) is not None
    assert missing_display({"DISPLAY": ":0"}, platform=linux) is None
    assert missing_display({"WAYLAND_DISPLAY": "wayland-0"}, platform=linux) is None
    assert missing_display({"QT_QPA_PLATFORM": "offscreen"}, platform=linux) is None
    assert missing_display({"QT_QPA_PLATFORM": "minimal"}, platform=linux) is None
    assert missing_display({}, argv=["-platform", "vnc"], platform=linux) is None
    # X11 asked for, only a Wayland session: Qt would still abort.
    assert missing_display(
        {"QT_QPA_PLATFORM": "xcb", "WAYLAND_DISPLAY": "wayland-0"}, platform=linux
    ) == "no display to open the window on (DISPLAY not set)"
    assert missing_display({"QT_QPA_PLATFORM": "wayland;xcb", "DISPLAY": ":1"}, platform=linux) is None
    assert missing_display({}, platform="darwin") is None
    assert missing_display({}, platform="win32") is None


def test_commands_listed_are_the_parsers_sub_commands():
    from core.cli.main import COMMANDS, build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert tuple(sub.choices) == COMMANDS
