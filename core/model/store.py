"""A model on disk: sibling files that are replaced together, never one without the others.

A model is named by its weights, ``NAME.keras``, with ``NAME.card.json`` and ``NAME.ood.npz``
beside it (the layout every reader has always used, and the bundled model's). The card holds
the sha256 of the other two, so a mixed set (new weights beside the old card) is refused,
and three renames alone cannot swap three files at once. A save therefore goes:

1. write the complete new set into a fresh hidden folder ``.NAME.keras.saving-XXXX/``
   (same file names inside) and fsync it;
2. rename that folder to ``.NAME.keras.next/``: the commit point, one atomic rename;
3. copy each of its files over its live sibling (each replace atomic), the weights last;
4. rename ``.next/`` away to ``.NAME.keras.done-XXXX`` and delete it.

Readers go through :func:`current_weights`: the ``.next/`` copy whenever it exists, else
the live files. Before step 2 that is the old set, untouched; from step 2 to 4 the complete
new set in ``.next/`` (the live files may be mixed then, and are not read); after step 4 the
new live set. So a kill at any moment leaves either the whole old model or the whole new one.
The next save to the same name first finishes an interrupted step 3-4, and removes what a
kill left behind in step 1 or 4. Readers never write, so a read-only install still loads.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from core.files.atomic import atomic_path

#: Folders from step 1 older than this process were left by a kill (a live save's are newer).
_STARTED = time.time()


def slug(name: str, default: str = "model") -> str:
    """A file-name-safe stem for a name a user typed ("Ward 7 / v2" -> "Ward-7-v2")."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", name.strip()).strip("-.")
    return s[:80] or default


def free_path(folder: str | os.PathLike[str], name: str, suffix: str,
              default: str = "model") -> Path:
    """``folder/STEM{suffix}`` for ``name``, or ``STEM-2``, ``STEM-3``... when taken."""
    folder, stem = Path(folder), slug(name, default)
    path, n = folder / f"{stem}{suffix}", 2
    while path.exists():
        path, n = folder / f"{stem}-{n}{suffix}", n + 1
    return path


def pending_dir(weights: str | Path) -> Path:
    """The committed-but-not-yet-installed new set of ``NAME.keras``: ``.NAME.keras.next/``."""
    weights = Path(weights)
    return weights.with_name(f".{weights.name}.next")


def current_weights(weights: str | Path) -> Path:
    """Where the complete set of the model named ``weights`` is read from now: the weights
    inside ``.next/`` while a save installs it, else ``weights`` itself (its card and OOD
    file lie beside either)."""
    weights = Path(weights)
    pending = pending_dir(weights)
    return pending / weights.name if pending.is_dir() else weights


def replace_set(weights: str | Path, fill: Callable[[Path], None]) -> Path:
    """Replace the model ``weights`` (and its siblings) with the files ``fill(folder)``
    writes into an empty folder, under the live names, as one change (module docstring).

    An exception from ``fill`` leaves the old model as it was.
    """
    weights = Path(weights)
    folder = weights.parent
    folder.mkdir(parents=True, exist_ok=True)
    finish_interrupted(weights)
    _remove_leftovers(weights)
    staging = Path(tempfile.mkdtemp(prefix=f".{weights.name}.saving-", dir=folder))
    try:
        fill(staging)
        if not (staging / weights.name).is_file():
            raise FileNotFoundError(f"{weights.name} was not written")
        for f in staging.iterdir():
            _fsync_file(f)
        _fsync_dir(staging)
        os.rename(staging, pending_dir(weights))  # the commit point
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _fsync_dir(folder)
    _install(weights)
    return weights


def finish_interrupted(weights: str | Path) -> None:
    """Complete a save that was killed after its commit point (no-op if none was)."""
    weights = Path(weights)
    if pending_dir(weights).is_dir():
        _install(weights)


def _install(weights: Path) -> None:
    pending = pending_dir(weights)
    # The weights go last: a live NAME.keras that exists has its card and OOD file beside it.
    names = sorted((p.name for p in pending.iterdir()), key=lambda n: (n == weights.name, n))
    for name in names:
        with atomic_path(weights.with_name(name)) as tmp:
            shutil.copyfile(pending / name, tmp)
    _fsync_dir(weights.parent)
    # Renamed before it is deleted: a half-deleted ``.next/`` would look like a broken set.
    retired = weights.with_name(f".{weights.name}.done-{uuid.uuid4().hex[:12]}")
    os.rename(pending, retired)
    _fsync_dir(weights.parent)
    shutil.rmtree(retired, ignore_errors=True)


def _remove_leftovers(weights: Path) -> None:
    """Folders a kill left in step 1 (only those older than this process) or step 4."""
    stem = glob.escape(f".{weights.name}")
    for p in weights.parent.glob(f"{stem}.done-*"):
        shutil.rmtree(p, ignore_errors=True)
    for p in weights.parent.glob(f"{stem}.saving-*"):
        with contextlib.suppress(OSError):
            if p.stat().st_mtime < _STARTED:
                shutil.rmtree(p, ignore_errors=True)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    """Make renames in ``path`` durable; folders cannot be opened on Windows (skipped)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
