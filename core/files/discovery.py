"""Expand what the user chose (files and folders) into the list of files to classify."""

from __future__ import annotations

import functools
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, features

from core.files.reader import IMAGE_SUFFIXES as _DICOM_AND_BASE_SUFFIXES
from core.files.reader import is_dicom

#: Pillow formats a radiograph can plausibly arrive in, and that the reader decodes to
#: grayscale. Left out on purpose: formats Pillow only writes (PDF) or only opens through an
#: outside program (EPS runs Ghostscript), stubs without a decoder (BUFR, GRIB, HDF5, WMF),
#: and icons, layered or scientific formats (ICO, ICNS, PSD, FITS...) that no X-ray export uses.
_RADIOGRAPH_FORMATS = frozenset(
    {"PNG", "JPEG", "MPO", "JPEG2000", "BMP", "DIB", "TIFF", "WEBP", "GIF", "PPM", "AVIF"}
)
# Formats whose decoder is an optional part of a Pillow build: offered only when present.
_OPTIONAL_FEATURE = {"WEBP": "webp", "JPEG2000": "jpg_2000", "AVIF": "avif"}


@functools.cache
def image_suffixes() -> frozenset[str]:
    """Every extension the folder walk picks up: DICOM's and every raster format the reader
    can decode with this Pillow. The one list; file dialogs build their filter from it.
    Built on first use: registering Pillow's plugins costs about 0.1 s, which the window
    would otherwise pay before it first paints."""
    Image.init()
    return _DICOM_AND_BASE_SUFFIXES | frozenset(
        ext.lower()
        for ext, fmt in Image.registered_extensions().items()
        if fmt in _RADIOGRAPH_FORMATS
        and fmt in Image.OPEN
        and (fmt not in _OPTIONAL_FEATURE or features.check(_OPTIONAL_FEATURE[fmt]))
    )

_KINDS = (
    (stat.S_ISFIFO, "FIFO"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
)


def special_kind(mode: int) -> str | None:
    """What a non-regular, non-folder file is ("FIFO", "socket"...), or None for a regular
    file or folder. Opening a FIFO for reading waits for a writer forever, and a device may
    never end: such files are named, never read."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    for test, name in _KINDS:
        if test(mode):
            return name
    return "special file"


@dataclass
class Skipped:
    """What a folder walk left out, so the caller can say so instead of losing files quietly.
    Hidden files and folders (``.DS_Store``, ``.git``) are not counted: they are skipped by
    design, not by accident."""

    not_images: int = 0
    not_regular: int = 0  # FIFOs, sockets, devices inside a folder: never opened

    @property
    def total(self) -> int:
        return self.not_images + self.not_regular

    def describe(self) -> str:
        """``"3 skipped (not images)"``, ``"4 skipped (3 not images, 1 not a regular file)"``,
        or ``""`` when nothing was skipped."""
        special = "not a regular file" if self.not_regular == 1 else "not regular files"
        if self.not_images and self.not_regular:
            why = f"{self.not_images} not images, {self.not_regular} {special}"
        elif self.not_images:
            why = "not images"
        elif self.not_regular:
            why = special
        else:
            return ""
        return f"{self.total} skipped ({why})"


def _classify_entry(path: Path) -> str:
    """"image", "not image" or "not regular" for one file found in a folder."""
    try:
        # stat, not lstat: a symlink to a regular file is as good as the file.
        mode = os.stat(path).st_mode
    except OSError:
        # A dangling link with an image name: keep it, the reader will say "file not found".
        return "image" if path.suffix.lower() in image_suffixes() else "not image"
    if not stat.S_ISREG(mode):
        return "not regular"
    if path.suffix.lower() in image_suffixes():
        return "image"
    # DICOM files often have no extension at all (PACS exports): sniff the marker.
    if path.suffix == "":
        try:
            return "image" if is_dicom(path) else "not image"
        except OSError:
            return "not image"
    return "not image"


def iter_inputs(
    paths: Iterable[str | os.PathLike[str]], skipped: Skipped | None = None
) -> Iterator[Path]:
    """Files as given (always, even with an odd name: the reader explains what is wrong),
    folders walked recursively in sorted order, keeping only image-like regular files.
    What a folder walk leaves out is counted in ``skipped`` when one is passed (hidden
    files and folders excepted)."""
    count = skipped if skipped is not None else Skipped()
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name.startswith("."):
                        continue
                    f = Path(root) / name
                    kind = _classify_entry(f)
                    if kind == "image":
                        yield f
                    elif kind == "not regular":
                        count.not_regular += 1
                    else:
                        count.not_images += 1
        else:
            yield p
