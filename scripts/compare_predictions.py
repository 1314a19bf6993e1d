"""Compare two ``predicted.csv`` files of the same films: did a change move any answer?

Rows are matched by the file's path relative to the folder that was classified (so a run
from another working directory still matches). Prints, per pair: the films in both, the
largest |change| of P(COVID), of the interval's ends and of ``lung_evidence``, every
change of label (with both probabilities), the refusals (NOT ASSESSED, of the films that
were read) before and after, and films present in one file only.

Usage: ``python scripts/compare_predictions.py BEFORE.csv AFTER.csv``; with
several pairs, ``--pairs B1 A1 B2 A2 ...``. Exit status 1 when a label changed.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
from pathlib import Path


def _rows(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    paths = [r["path"] for r in rows]
    root = os.path.commonpath([os.path.abspath(p) for p in paths]) if paths else ""
    return {os.path.relpath(os.path.abspath(r["path"]), root): r for r in rows}


def _num(text: str) -> float:
    return float(text) if text not in ("", None) else math.nan


def _max_diff(both: list[str], a: dict, b: dict, column: str) -> tuple[float, str]:
    worst, where = 0.0, ""
    for key in both:
        x, y = _num(a[key].get(column, "")), _num(b[key].get(column, ""))
        if math.isnan(x) and math.isnan(y):
            continue
        d = math.inf if math.isnan(x) != math.isnan(y) else abs(x - y)
        if d > worst:
            worst, where = d, key
    return worst, where


def compare(before: Path, after: Path) -> int:
    a, b = _rows(before), _rows(after)
    both = sorted(set(a) & set(b))
    print(f"== {before} -> {after}: {len(both)} films in both")
    for column in ("probability", "p_low", "p_high", "lung_evidence", "ood_score"):
        d, where = _max_diff(both, a, b, column)
        print(f"max |d {column}| = {d:.4f}" + (f" ({where})" if d else ""))
    changed = [k for k in both if a[k]["label"] != b[k]["label"]]
    for k in changed:
        print(f"label changed: {k}: {a[k]['label']} ({a[k]['probability']}) -> "
              f"{b[k]['label']} ({b[k]['probability']})  [{b[k]['message'][:80]}]")
    read = [k for k in both if a[k]["status"] == "ok"]
    for name, rows in (("before", a), ("after", b)):
        refused = sum(rows[k]["label"] == "NOT ASSESSED" for k in read)
        print(f"refused {name}: {refused} of {len(read)} read ({refused / max(len(read), 1):.1%})")
    print(f"label changes: {len(changed)}")
    only = sorted(set(a) ^ set(b))
    if only:
        print(f"in one file only: {len(only)}: {only[:5]}")
    return len(changed)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--pairs", nargs="*", type=Path, default=[])
    args = ap.parse_args()
    files = [*args.files, *args.pairs]
    if len(files) < 2 or len(files) % 2:
        ap.error("give BEFORE AFTER, or pairs of them")
    changes = sum(compare(files[i], files[i + 1]) for i in range(0, len(files), 2))
    return 1 if changes else 0


if __name__ == "__main__":
    sys.exit(main())
