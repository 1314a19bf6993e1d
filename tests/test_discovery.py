"""core.files.discovery.iter_inputs: what a chosen folder expands to."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import NotAnImageError
from core.files.discovery import Skipped, image_suffixes, iter_inputs
from core.files.reader import read_xray


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_folder_walk(tmp_path):
    root = tmp_path / "study"
    touch(root / "b.PNG")
    touch(root / "a.jpg")
    touch(root / "c.dcm")
    touch(root / "notes.txt")
    touch(root / "Thumbs.db")
    touch(root / ".DS_Store")
    touch(root / ".hidden.png")
    touch(root / ".git" / "x.png")
    touch(root / "IM0001", b"\0" * 128 + b"DICM" + b"\0" * 8)  # DICOM without extension
    touch(root / "LICENSE", b"MIT")  # no extension, not DICOM
    touch(root / "z" / "deep" / "d.tiff")
    touch(root / "m" / "e.bmp")
    got = [p.relative_to(root).as_posix() for p in iter_inputs([root])]
    assert got == ["IM0001", "a.jpg", "b.PNG", "c.dcm", "m/e.bmp", "z/deep/d.tiff"]


def test_files_given_explicitly_are_always_kept(tmp_path):
    odd = touch(tmp_path / "report.txt")
    gone = tmp_path / "missing.png"
    # The reader explains what is wrong with each; discovery does not silently drop them.
    assert list(iter_inputs([odd, gone])) == [odd, gone]


def test_mixed_arguments_keep_their_order(tmp_path):
    one = touch(tmp_path / "one.png")
    folder = tmp_path / "f"
    two = touch(folder / "two.png")
    three = touch(tmp_path / "three.png")
    assert list(iter_inputs([str(three), folder, one])) == [three, two, one]


def test_lazy(tmp_path):
    touch(tmp_path / "a.png")
    gen = iter_inputs([tmp_path])
    assert next(gen).name == "a.png"


# ---------------------------------------------------------------- special files, formats

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")


def within(seconds: float, fn, *args):
    """Run ``fn`` on a daemon thread: a regression that blocks on a FIFO fails the test
    instead of hanging the suite."""
    out: list = []
    worker = threading.Thread(target=lambda: out.append(fn(*args)), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"{fn.__name__} blocked (opened a FIFO?)"
    return out[0]


@needs_fifo
def test_fifos_in_a_folder_are_skipped_counted_and_never_opened(tmp_path):
    root = tmp_path / "study"
    real = touch(root / "a.png")
    os.mkfifo(root / "scan0001")  # no extension: would have been sniffed for DICM
    os.mkfifo(root / "scan0002.png")  # an image name: would have reached the reader
    touch(root / "notes.txt")
    (root / "b.png").symlink_to(real)  # a link to a regular file still counts as one
    (root / "c.png").symlink_to(root / "scan0001")  # a link to a FIFO does not
    skipped = Skipped()
    got = within(10, lambda: list(iter_inputs([root], skipped)))
    assert [p.name for p in got] == ["a.png", "b.png"]
    assert (skipped.not_images, skipped.not_regular) == (1, 3)
    assert skipped.describe() == "4 skipped (1 not images, 3 not regular files)"


@needs_fifo
def test_a_fifo_given_by_name_is_refused_without_opening_it(tmp_path):
    from core.answers.inference import load_one
    from core.model.preprocess import PreprocessSpec

    fifo = tmp_path / "scan0001"
    os.mkfifo(fifo)
    assert list(iter_inputs([fifo])) == [fifo]  # kept: the user named it, a row explains it

    def attempt() -> str:
        try:
            load_one(fifo, PreprocessSpec())
        except NotAnImageError as exc:
            return str(exc)
        return "read"

    assert within(10, attempt) == "not a regular file (FIFO)"


def test_skipped_counts_files_only_not_hidden_ones(tmp_path):
    touch(tmp_path / "a.webp")
    touch(tmp_path / "b.txt")
    touch(tmp_path / "c.pdf")
    touch(tmp_path / ".DS_Store")
    touch(tmp_path / ".git" / "config")
    skipped = Skipped()
    assert [p.name for p in iter_inputs([tmp_path], skipped)] == ["a.webp"]
    assert skipped.describe() == "2 skipped (not images)"
    assert Skipped().describe() == ""
    assert Skipped(0, 1).describe() == "1 skipped (not a regular file)"


def test_every_listed_extension_is_one_the_reader_reads(tmp_path):
    """The walk must not pick up what the reader refuses, nor leave out what it reads."""
    for ext in (".webp", ".jp2", ".gif", ".pgm", ".png", ".jpg", ".tif", ".bmp", ".dcm"):
        assert ext in image_suffixes()
    for ext in (".pdf", ".eps", ".txt", ".db", ".ico", ".psd", ".h5"):
        assert ext not in image_suffixes()
    ramp = Image.fromarray(np.tile(np.arange(0, 240, 4, dtype=np.uint8), (64, 1)))
    written = 0
    for ext in sorted(image_suffixes() - {".dcm", ".dicom", ".dic"}):
        path = tmp_path / f"ramp{ext}"
        try:
            ramp.save(path)
        except (KeyError, OSError, ValueError):
            continue  # Pillow reads this extension but cannot write a grayscale file to it
        written += 1
        xray = read_xray(path)
        assert xray.pixels.shape == (64, 60), ext
    assert written >= 15
