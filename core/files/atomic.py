"""Write files so that a reader never sees half of one: temporary file + fsync + rename."""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from core.errors import CovidCXRError


def check_writable(target: str | os.PathLike[str], what: str = "") -> None:
    """Refuse, before any long work, a target that cannot be replaced by a whole new file:
    a folder, a read-only file (its owner meant it to stay), or a place whose folder we
    cannot write. Without this a run found out only at its end, or replaced a read-only
    file silently (a rename needs only the folder's permission). ``what`` names the
    option in the message (``--output``)."""
    target = Path(target)
    name = f"{what} {target}" if what else str(target)
    if target.is_dir():
        raise CovidCXRError(f"{name} is a folder: name a file to write (e.g. "
                            f"{target / 'predicted.csv'})")
    if target.exists() and _read_only(target, os.W_OK):
        raise CovidCXRError(f"{name} is read-only{_mode(target)}: make it writable or choose "
                            "another file")
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # the folders still to be made go in the first that exists
    if not folder.is_dir():
        raise CovidCXRError(f"cannot write {name}: {folder} is not a folder")
    if _read_only(folder, os.W_OK | os.X_OK):
        raise CovidCXRError(f"cannot write {name}: no permission to write in {folder}"
                            f"{_mode(folder)}")


#: Write permission for the owner, the group or anyone else.
_ANY_WRITE = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


def _read_only(path: Path, mode: int) -> bool:
    """Whether we may not, or should not, write ``path``: refused by the system, or (for
    root, whom ``os.access`` always allows, as in containers and CI) a file or folder whose
    mode grants write to nobody: its owner made it read-only."""
    if not os.access(path, mode):
        return True
    try:
        return not path.stat().st_mode & _ANY_WRITE
    except OSError:
        return False


def _mode(path: Path) -> str:
    """`` (mode 444)``, the permissions in the form ``chmod`` takes, or nothing."""
    try:
        return f" (mode {stat.S_IMODE(path.stat().st_mode):03o})"
    except OSError:
        return ""


def _read_umask() -> int:
    # os.umask can only be read by setting it; done once, at import, before any thread runs.
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def final_mode(target: Path) -> int:
    """Permissions for the new file: the old file's, else what ``open()`` would have given
    (mkstemp makes 0600 files, which would hide a shared results folder from colleagues)."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        return 0o666 & ~_UMASK


#: When this process started (close enough: this module loads during start-up). A temporary
#: file last written before it cannot belong to a save of ours still in progress.
_PROCESS_START = time.time()

#: ...nor, written longer ago than this, to another process's save in progress: a save
#: (a CSV, a Keras archive) keeps touching its file and lasts seconds, so ten quiet minutes
#: mean its writer was killed. Guards a writer that started just before us.
STALE_AFTER_S = 600.0

# mkstemp's random part: 8 characters from this alphabet (CPython's _RandomNameSequence).
_RANDOM = "[a-z0-9_]{8}"


def remove_stale_temporaries(target: Path, suffix: str) -> list[Path]:
    """Delete temporary files a killed save left beside ``target``, and return them.

    Only names ``atomic_path`` itself makes for this target (``.NAME.xxxxxxxx<suffix>``),
    only regular files (never a link or a folder), and only those older than both this
    process and ``STALE_AFTER_S``: a user's own hidden files and a save in progress in
    another process are left alone. Failing to clean never fails the save.
    """
    pattern = re.compile(re.escape(f".{target.name}.") + _RANDOM + re.escape(suffix))
    cutoff = min(_PROCESS_START, time.time() - STALE_AFTER_S)
    removed: list[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(st.st_mode) and st.st_mtime < cutoff:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success it replaces ``target`` atomically.

    On any exception the temporary file is removed and ``target`` is left untouched; one
    that a kill left behind is removed by the next save to the same target.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = suffix or target.suffix
    remove_stale_temporaries(target, suffix)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        fsync_file(tmp_path)
        os.chmod(tmp_path, final_mode(target))
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def fsync_file(path: str | os.PathLike[str]) -> None:
    """Make a file's written bytes durable before it is renamed into place."""
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Make renames in the folder ``path`` durable; folders cannot be opened on Windows
    (skipped)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_text_atomic(target: str | os.PathLike[str], text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="")


def write_bytes_atomic(target: str | os.PathLike[str], data: bytes) -> str:
    """Replace ``target`` with ``data`` as a whole; returns its sha256 (for a model card)."""
    import hashlib

    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return hashlib.sha256(data).hexdigest()
