"""core.output.export: predicted.csv, column by column."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from core.answers.inference import Prediction, error_record
from core.model.card import NEGATIVE, NOT_ASSESSED, POSITIVE
from core.model.ood import OOD_MESSAGE, UNUSUAL_MESSAGE
from core.output.export import COLUMNS, neutralise, to_csv_text, write_csv


def ok(
    path: str, prob: float, label: str, ood: float = 0.2, msg: str = "", unusual: bool = False
) -> Prediction:
    return Prediction(path, "ok", label, prob, 0.5, ood, msg, unusual=unusual)


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_column_order_is_the_contract():
    assert COLUMNS[:6] == ("filename", "prediction", "probability", "label", "status", "message")
    header = to_csv_text([]).split("\r\n")[0]
    assert header == ",".join(COLUMNS)
    # issue #21 appended its columns: readers of the first twelve keep working
    assert header.startswith(
        "filename,prediction,probability,label,status,message,unusual,ood_score,threshold,"
        "model,path,device,"
    )
    assert header.endswith(",device,p_low,p_high,lung_evidence")


def test_rows_values_and_formatting():
    preds = [
        ok("/scans/a.png", 0.912345678, POSITIVE),
        ok("/scans/b.png", 0.00004, NEGATIVE),
        ok("/scans/c.png", 0.7, NOT_ASSESSED, ood=3.14159, msg=OOD_MESSAGE),
        error_record("/scans/d.png", "empty file (0 bytes)"),
        ok("/scans/e.png", 0.3, NEGATIVE, ood=1.5, msg=UNUSUAL_MESSAGE, unusual=True),
    ]
    rows = rows_of(to_csv_text(preds, "covidcxr-v1"))
    assert [r["filename"] for r in rows] == ["a.png", "b.png", "c.png", "d.png", "e.png"]
    assert [r["prediction"] for r in rows] == ["1", "0", "", "", "0"]
    assert [r["probability"] for r in rows] == ["0.9123", "0.0000", "0.7000", "", "0.3000"]
    assert [r["label"] for r in rows] == [
        POSITIVE, NEGATIVE, NOT_ASSESSED, NOT_ASSESSED, NEGATIVE
    ]
    assert [r["status"] for r in rows] == ["ok", "ok", "ok", "error", "ok"]
    assert [r["message"] for r in rows] == [
        "", "", OOD_MESSAGE, "empty file (0 bytes)", UNUSUAL_MESSAGE
    ]
    # 1 = assessed but unusual for the model; empty where nothing was assessed.
    assert [r["unusual"] for r in rows] == ["0", "0", "", "", "1"]
    assert [r["ood_score"] for r in rows] == ["0.200", "0.200", "3.142", "", "1.500"]
    assert [r["threshold"] for r in rows] == ["0.5000", "0.5000", "0.5000", "", "0.5000"]
    assert {r["model"] for r in rows} == {"covidcxr-v1"}
    assert rows[0]["path"] == "/scans/a.png"


def test_awkward_names_survive_quoting():
    name = 'scan, "left" side\nsecond line.png'
    (row,) = rows_of(to_csv_text([ok(f"/d/{name}", 0.6, POSITIVE)]))
    assert row["filename"] == name


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_cells_are_neutralised(start):
    evil = f'{start}HYPERLINK("evil.example")'
    pred = error_record(f"/d/{evil}.png", f"{start}cmd|' /C calc'!A0")
    (row,) = rows_of(to_csv_text([pred], model_name=f"{start}SUM(A1)"))
    assert row["filename"] == f"'{evil}.png"
    assert row["message"] == f"'{start}cmd|' /C calc'!A0"
    assert row["model"] == f"'{start}SUM(A1)"
    assert row["path"] == f"/d/{evil}.png"  # starts with "/": harmless as it is


def test_neutralise_leaves_plain_text_alone():
    assert neutralise("chest.png") == "chest.png"
    assert neutralise("") == ""
    assert neutralise("=1+1") == "'=1+1"


def test_numbers_are_never_prefixed():
    (row,) = rows_of(to_csv_text([ok("/d/x.png", 0.25, NEGATIVE)]))
    assert row["probability"] == "0.2500" and row["prediction"] == "0"


def test_write_csv_counts_rows_and_ends_lines_with_crlf(tmp_path):
    out = tmp_path / "out" / "predicted.csv"
    n = write_csv(out, [ok("/a.png", 0.5, POSITIVE), error_record("/b.png", "file not found")])
    assert n == 2
    data = out.read_bytes()
    assert data.count(b"\r\n") == 3 and data.count(b"\n") == 3  # RFC 4180 line ends
    assert [r["filename"] for r in rows_of(data.decode("utf-8"))] == ["a.png", "b.png"]


def test_write_csv_is_atomic(tmp_path):
    out = tmp_path / "predicted.csv"
    write_csv(out, [ok("/a.png", 0.9, POSITIVE)])
    before = out.read_bytes()

    def dies_half_way():
        yield ok("/b.png", 0.1, NEGATIVE)
        raise RuntimeError("classification crashed")

    with pytest.raises(RuntimeError, match="classification crashed"):
        write_csv(out, dies_half_way())
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["predicted.csv"]


def test_unicode_file_names(tmp_path):
    out = tmp_path / "predicted.csv"
    write_csv(out, [ok(str(Path("/d") / "Röntgen_胸部.png"), 0.3, NEGATIVE)])
    (row,) = rows_of(out.read_text(encoding="utf-8"))
    assert row["filename"] == "Röntgen_胸部.png"
