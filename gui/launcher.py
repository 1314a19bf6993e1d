"""The ``covidcxr`` command: headless sub-commands go to :mod:`core.cli` without importing
Qt; with no sub-command the window opens (on any files or folders given)."""

from __future__ import annotations

import sys

HEADLESS = {"classify", "train", "evaluate", "--self-test", "-h", "--help", "--version"}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in HEADLESS:
        from core.cli import main as cli_main

        return cli_main(argv)
    from gui.app import run

    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
