"""Archive-scale classification: a run that survives a kill, and shards that split one.

A classify run writes its rows, in input order, to a journal beside the output
(``predicted.csv.partial``) as they come, flushed every batch and synced to disk every
few hundred rows. When the run ends the journal is synced and renamed over the output, so
``predicted.csv`` is still replaced atomically and is always a whole file. After a kill,
``--resume`` reads the journal (or a finished output), drops a torn last line, skips the
files it already holds and appends the rest: the final CSV equals an uninterrupted run's.
Memory stays flat: rows go to disk, and only the set of finished paths is kept.

``--shard I/N`` keeps the files whose path hashes to I of N (a stable hash of the path as
given, so every machine picks the same files whatever order it lists them in); the N
outputs together hold every file once.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TextIO

from core.errors import CovidCXRError
from core.files.atomic import final_mode
from core.output.export import COLUMNS, FORMULA_START, csv_rows, header_row

JOURNAL_SUFFIX = ".partial"
#: Rows between two fsyncs of the journal (a kill loses at most the unsynced rows' work
#: on a power cut; on a process kill the flushed rows are already safe in the OS).
SYNC_EVERY = 256
SYNC_SECONDS = 10.0


def journal_path(output: str | os.PathLike[str]) -> Path:
    p = Path(output)
    return p.with_name(p.name + JOURNAL_SUFFIX)


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/8"`` -> (2, 8); I counts from 1."""
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise CovidCXRError(f"--shard must look like I/N (e.g. 2/8), not {text!r}") from None
    if not 1 <= i <= n:
        raise CovidCXRError(f"--shard {text}: I must be between 1 and N")
    return i, n


def in_shard(path: str | os.PathLike[str], index: int, count: int) -> bool:
    """Whether shard ``index`` of ``count`` (from 1) owns ``path``."""
    if count == 1:
        return True
    digest = hashlib.blake2b(os.fsencode(os.fspath(path)), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count == index - 1


def read_list(list_path: str | os.PathLike[str]) -> Iterator[str]:
    """The paths of a ``--files-from`` file, one per line (blank lines and lines starting
    with ``#`` ignored), streamed. ``-`` reads standard input."""
    import sys

    if os.fspath(list_path) == "-":
        fh: TextIO = sys.stdin
    else:
        try:
            fh = open(list_path, encoding="utf-8", newline="")
        except OSError as exc:
            raise CovidCXRError(f"cannot read the file list {list_path}: "
                                f"{exc.strerror or exc}") from None
    try:
        for line in fh:
            line = line.rstrip("\r\n")
            if line.strip() and not line.lstrip().startswith("#"):
                yield line
    finally:
        if fh is not sys.stdin:
            fh.close()


_QUOTE_OR_CRLF = re.compile(rb'"|\r\n')


def _complete_lines(path: Path) -> tuple[list[str], int]:
    """The CSV's complete records (a record ends with CRLF outside quotes) and the byte
    length they take: a kill can tear the last one, which is dropped and redone.

    Records are found in the bytes, before any decoding: a kill can also cut a row inside
    a character of several bytes (``tórax.png``), and only the complete records must be
    valid UTF-8. Quotes, CR and LF are single bytes that never occur inside another
    character's bytes in UTF-8, so the split is exact."""
    data = path.read_bytes()
    ends, quoted = [], False
    for m in _QUOTE_OR_CRLF.finditer(data):
        if m.group() == b'"':
            quoted = not quoted
        elif not quoted:
            ends.append(m.end())
    good = ends[-1] if ends else 0
    records, start = [], 0
    for end in ends:
        records.append(data[start:end].decode("utf-8", errors="strict"))
        start = end
    return records, good


class Journal:
    """The rows of one classify run on their way to ``output``.

    ``resume`` keeps what an earlier run of the same output finished (its journal, else
    its finished CSV); without it any old journal is replaced. ``done`` counts the rows
    already written per path (:meth:`take_done`); ``model`` and ``threshold`` must match
    theirs."""

    def __init__(self, output: str | os.PathLike[str], model: str, threshold: float,
                 device: str = "", resume: bool = False) -> None:
        self.output = Path(output)
        self.path = journal_path(output)
        self.model, self.device = model, device
        self.threshold = f"{threshold:.4f}"
        #: Rows the earlier run finished, per path: a file named twice in the inputs has
        #: two rows, and a kill between them leaves one, so the second is still owed.
        self.done: Counter[str] = Counter()
        self.kept = 0  # rows carried over from the earlier run
        self.written = 0  # rows added by this run
        #: Rows per label ("error" for unreadable files), carried over and new.
        self.counts: dict[str, int] = {}
        self.resumed_from: Path | None = None
        self._since_sync, self._last_sync = 0, time.monotonic()
        self.output.parent.mkdir(parents=True, exist_ok=True)
        source = None
        if resume:
            source = self.path if self.path.is_file() else (
                self.output if self.output.is_file() else None)
        if source is not None:
            self._carry_over(source)
        else:
            with open(self.path, "w", encoding="utf-8", newline="") as fh:
                fh.write(header_row())
        self._fh = open(self.path, "a", encoding="utf-8", newline="")

    def _carry_over(self, source: Path) -> None:
        try:
            records, good_bytes = _complete_lines(source)
        except UnicodeDecodeError:
            raise CovidCXRError(f"cannot resume: {source} is not a CSV written by covidcxr"
                                ) from None
        if not records or next(csv.reader([records[0]])) != list(COLUMNS):
            raise CovidCXRError(f"cannot resume: {source} does not have predicted.csv's "
                                "columns (a different program or version wrote it)")
        col = {c: i for i, c in enumerate(COLUMNS)}
        for rec in records[1:]:
            row = next(csv.reader([rec]))
            if row[col["model"]] != self.model or row[col["threshold"]] not in (
                    "", self.threshold):
                raise CovidCXRError(
                    f"cannot resume: the rows in {source.name} come from model "
                    f"{row[col['model']]!r} at threshold {row[col['threshold']] or '?'}, this "
                    f"run uses {self.model!r} at {self.threshold}; use the same model, or "
                    "start again without --resume")
            self.done[_unneutralise(row[col["path"]])] += 1
            self._count(row[col["label"]] if row[col["status"]] == "ok" else "error")
        self.kept = len(records) - 1
        self.resumed_from = source
        if source == self.path:
            with open(self.path, "r+b") as fh:
                fh.truncate(good_bytes)  # drop a torn last row
        else:  # a finished CSV: its rows start the new journal
            with open(self.path, "w", encoding="utf-8", newline="") as fh:
                fh.writelines(records)

    def take_done(self, path: str | os.PathLike[str]) -> bool:
        """True when the earlier run already wrote this occurrence of ``path`` (each of its
        rows answers one occurrence, in input order): skip it. False: classify it."""
        key = os.fspath(path)
        if self.done[key] <= 0:
            return False
        self.done[key] -= 1
        return True

    def append(self, predictions: Iterable) -> int:
        batch = list(predictions)
        self._fh.write(csv_rows(batch, self.model, self.device))
        for p in batch:
            self._count(p.label if p.ok else "error")
        n = len(batch)
        self.written += n
        self._fh.flush()
        self._since_sync += n
        if self._since_sync >= SYNC_EVERY or time.monotonic() - self._last_sync > SYNC_SECONDS:
            os.fsync(self._fh.fileno())
            self._since_sync, self._last_sync = 0, time.monotonic()
        return n

    def _count(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

    def finish(self) -> Path:
        """Sync the journal and make it the output, in one rename."""
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        os.chmod(self.path, final_mode(self.output))
        os.replace(self.path, self.output)
        return self.output

    def close(self) -> None:
        """Leave the journal for a later ``--resume`` (the run was interrupted)."""
        if not self._fh.closed:
            self._fh.flush()
            self._fh.close()


def _unneutralise(cell: str) -> str:
    """The path as classified: export prefixes a quote to cells a spreadsheet would run."""
    return cell[1:] if cell.startswith("'") and cell[1:2] in FORMULA_START else cell
