"""What every sub-command shares: the terminal progress bar and finding and checking the model file."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from core.errors import CovidCXRError


class Progress:
    """A progress bar on a terminal; silent when output is redirected."""

    def __init__(self, stream=sys.stderr) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.start = time.monotonic()
        self.last = -1

    def __call__(self, done: int, total: int, message: str = "") -> None:
        if not self.tty:
            return
        rate = done / max(time.monotonic() - self.start, 1e-6)
        if total > 0:
            pct = int(100 * done / total)
            if pct == self.last and done != total:
                return
            self.last = pct
            bar = "#" * (pct // 4)
            self.stream.write(f"\r[{bar:<25}] {done}/{total} {rate:5.1f} img/s ")
        else:
            self.stream.write(f"\r{done} {rate:5.1f} img/s ")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")


def resolve_model(arg: str | None) -> Path:
    from core.resources import default_model_path

    path = Path(arg) if arg else default_model_path()
    if not path.is_file():
        raise CovidCXRError(
            f"model not found: {path}" + ("" if arg else " (the bundled model is missing)")
        )
    return path


def check_model(path: Path) -> None:
    """Card present and hashes matching, checked without TensorFlow (load_model re-checks).
    A site profile is checked against the weights it names."""
    from core.model.disk import open_set

    open_set(path)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value

