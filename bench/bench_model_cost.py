"""What a model costs to run, end to end, against another model in the same run.

Classifies the same files (``--files`` of ``../shared/data/fullres`` repeated through the
list) with ``core.answers.inference.classify`` under model A and model B, interleaved for
``--rounds`` rounds, and prints each one's best img/s and the ratio B / A, with how many
films got test-time views and INDETERMINATE answers (issue #21) under each.

Usage: ``python bench/bench_model_cost.py --a OLD.keras --b models/covidcxr.keras
[--files 120] [--rounds 2]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DEFAULT_DATA = REPO.parent / "shared" / "data" / "fullres"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--a", required=True, help="baseline model")
    ap.add_argument("--b", required=True, help="model measured against it")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--files", type=int, default=120)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()

    from core.answers.inference import classify
    from core.model.card import INDETERMINATE
    from core.model.loading import load_model

    pool = sorted(p for p in args.data.rglob("*") if p.is_file() and p.suffix.lower() in
                  (".png", ".jpg", ".jpeg", ".webp"))
    files = [pool[i % len(pool)] for i in range(args.files)]
    models = {"A": load_model(args.a), "B": load_model(args.b)}
    for m in models.values():  # warm up: graphs traced, segmenter loaded
        list(classify(files[:8], m))
    best = {k: float("inf") for k in models}
    counts: dict[str, tuple[int, int]] = {}
    for _ in range(args.rounds):
        for k, m in models.items():
            t = time.perf_counter()
            preds = list(classify(files, m))
            best[k] = min(best[k], time.perf_counter() - t)
            counts[k] = (sum(p.p_low is not None for p in preds),
                         sum(p.label == INDETERMINATE for p in preds))
    for k, m in models.items():
        viewed, ind = counts[k]
        print(f"{k} {m.display_name} ({m.input_size} px): {args.files / best[k]:.1f} img/s; "
              f"views for {viewed}, INDETERMINATE {ind} of {args.files}")
    print(f"B / A throughput: {best['A'] / best['B']:.2f} (cost B / A: {best['B'] / best['A']:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
