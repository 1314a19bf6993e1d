"""predicted.csv: one row per input file, in input order, written atomically (UTF-8, CRLF)."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterable
from typing import Protocol

from core.files.atomic import write_text_atomic


class Prediction(Protocol):
    """What a row needs from one file's outcome (:class:`core.answers.inference.Prediction`).

    Structural, so that writing files does not depend on the model layer above it."""

    @property
    def path(self) -> str: ...
    @property
    def filename(self) -> str: ...
    @property
    def decision(self) -> int | None: ...
    @property
    def probability(self) -> float | None: ...
    @property
    def label(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def unusual(self) -> bool: ...
    @property
    def ok(self) -> bool: ...
    @property
    def ood_score(self) -> float | None: ...
    @property
    def threshold(self) -> float | None: ...
    @property
    def p_low(self) -> float | None: ...
    @property
    def p_high(self) -> float | None: ...
    @property
    def lung_evidence(self) -> float | None: ...

COLUMNS = (
    "filename",
    "prediction",
    "probability",
    "label",
    "status",
    "message",
    "unusual",
    "ood_score",
    "threshold",
    "model",
    "path",
    "device",
    # appended (issue #21), so readers of the columns above keep working
    "p_low",
    "p_high",
    "lung_evidence",
)

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """Prefix a quote so spreadsheets show the text instead of evaluating it."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def row_for(p: Prediction, model_name: str = "", device: str = "") -> dict[str, str]:
    decision = p.decision
    return {
        "filename": p.filename,
        "prediction": "" if decision is None else str(decision),
        "probability": "" if p.probability is None else f"{p.probability:.4f}",
        "label": p.label,
        "status": p.status,
        "message": p.message,
        "unusual": "1" if p.unusual else ("0" if p.ok and p.decision is not None else ""),
        "ood_score": "" if p.ood_score is None else f"{p.ood_score:.3f}",
        "threshold": "" if p.threshold is None else f"{p.threshold:.4f}",
        "model": model_name,
        "path": p.path,
        "device": device,
        "p_low": "" if p.p_low is None else f"{p.p_low:.4f}",
        "p_high": "" if p.p_high is None else f"{p.p_high:.4f}",
        "lung_evidence": "" if p.lung_evidence is None else f"{p.lung_evidence:.3f}",
    }


# Free-text cells a user controls; numbers are ours and safe.
_TEXT_CELLS = ("filename", "message", "model", "path", "device")


def header_row() -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerow(COLUMNS)
    return buf.getvalue()


def csv_rows(predictions: Iterable[Prediction], model_name: str = "", device: str = "") -> str:
    """The CSV records of ``predictions`` (no header)."""
    buf = io.StringIO()
    # CRLF as RFC 4180 and spreadsheets expect; it also makes the writer quote a cell holding
    # a bare CR (legal in a file name), which with "\n" it would write raw, splitting the row.
    writer = csv.writer(buf, lineterminator="\r\n")
    for p in predictions:
        row = row_for(p, model_name, device)
        writer.writerow([neutralise(row[c]) if c in _TEXT_CELLS else row[c] for c in COLUMNS])
    return buf.getvalue()


def to_csv_text(predictions: Iterable[Prediction], model_name: str = "",
                device: str = "") -> str:
    return header_row() + csv_rows(predictions, model_name, device)


def write_csv(
    path: str | os.PathLike[str], predictions: Iterable[Prediction], model_name: str = "",
    device: str = "",
) -> int:
    """Write predicted.csv atomically; returns the number of rows written."""
    rows = list(predictions)
    write_text_atomic(path, to_csv_text(rows, model_name, device))
    return len(rows)
