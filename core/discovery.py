"""Expand what the user chose (files and folders) into the list of files to classify."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from core.reader import IMAGE_SUFFIXES, is_dicom


def _looks_like_image(path: Path) -> bool:
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return True
    # DICOM files often have no extension at all (PACS exports): sniff the marker.
    if path.suffix == "":
        try:
            return is_dicom(path)
        except OSError:
            return False
    return False


def iter_inputs(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """Files as given (always, even with an odd name: the reader explains what is wrong),
    folders walked recursively in sorted order, keeping only image-like files and quietly
    skipping the rest (notes, thumbnails databases, hidden files)."""
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    f = Path(root) / name
                    if not name.startswith(".") and _looks_like_image(f):
                        yield f
        else:
            yield p
