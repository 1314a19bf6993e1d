"""The ``covidcxr`` command: headless sub-commands go to :mod:`core.cli.main` without importing
Qt; with no sub-command the window opens (on any files or folders given)."""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Mapping, Sequence

from core.cli import COMMANDS  # the names only: no command is imported

HEADLESS = {*COMMANDS, "--self-test", "-h", "--help", "--version"}
_HEADLESS_LIST = ", ".join((*COMMANDS, "--self-test"))

# Qt platform plugins that draw on a desktop session, and the variable each one needs.
_NEEDS = {"xcb": ("DISPLAY",), "wayland": ("WAYLAND_DISPLAY",), "wayland-egl": ("WAYLAND_DISPLAY",)}


def missing_display(
    env: Mapping[str, str] = os.environ, argv: Sequence[str] = (), platform: str = sys.platform
) -> str | None:
    """Why the window cannot open here, or None. On Linux with no X11 or Wayland session
    Qt aborts the process (exit 134, a paragraph about xcb plugins), so we say it first.
    A platform chosen explicitly (``QT_QPA_PLATFORM=offscreen``, ``-platform vnc``) is
    trusted: it may need no display at all."""
    if not platform.startswith("linux") or "-platform" in argv or "--platform" in argv:
        return None
    # QT_QPA_PLATFORM may list fallbacks ("wayland;xcb") and carry options ("xcb:...").
    chosen = [p.split(":")[0].strip() for p in env.get("QT_QPA_PLATFORM", "").split(";")]
    chosen = [p for p in chosen if p]
    if any(p not in _NEEDS for p in chosen):
        return None
    wanted = {var for p in chosen for var in _NEEDS[p]} or {"DISPLAY", "WAYLAND_DISPLAY"}
    if any(env.get(var) for var in wanted):
        return None
    return f"no display to open the window on ({' and '.join(sorted(wanted))} not set)"


def write_report(path, analysis, metrics, card, model_path) -> None:
    """``covidcxr validate --report``: the PDF is drawn with Qt (core never imports it), on
    the off-screen platform, so it works on a server without a display."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QLocale

    from gui.pages.validate.report import write_report as write

    # The command line speaks English, numbers included (the window's report follows the
    # window's language): no translation is installed here, and the locale is pinned.
    QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedStates))

    write(path, analysis, metrics, card, model_path)


def main(argv: list[str] | None = None) -> int:
    # In the frozen application this executable is also what multiprocessing starts for
    # the compressed-DICOM decoder processes (core.files.decoder_pool): here such a start
    # runs its job and exits instead of opening a window. A no-op otherwise.
    multiprocessing.freeze_support()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in HEADLESS:
        from core.cli.main import main as cli_main

        return cli_main(argv, write_report=write_report)
    if argv and not argv[0].startswith("-") and not os.path.exists(argv[0]):
        # Neither a command nor something to open: most likely a typo of a command, which
        # must not start a window (on a server that ends in a Qt abort).
        print(
            f"covidcxr: error: unknown command '{argv[0]}' (and no such file or folder); "
            f"commands: {_HEADLESS_LIST}; with no command, or with files and folders, "
            "the window opens (covidcxr --help)",
            file=sys.stderr,
        )
        return 2
    reason = missing_display(argv=argv)
    if reason:
        print(
            f"covidcxr: error: {reason}; without a screen use the headless commands: "
            f"{_HEADLESS_LIST} (covidcxr --help)",
            file=sys.stderr,
        )
        return 2
    from gui.shell.app import run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
