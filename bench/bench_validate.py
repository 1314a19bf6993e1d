"""Validation cost: classifying a labelled folder plus the bootstrap, against classifying
the same files alone, and the bootstrap on its own.

Builds a labelled folder of N distinct real films (symlinks to the first N/2 COVID and N/2
Normal films of ``cxr/train``), then in one run times:

- ``core.answers.inference.classify`` over the files (the classify engine alone);
- ``covidcxr validate``'s work: reading the labels (with the duplicate check),
  ``run_validation`` (the same engine), ``analyse`` (2,000 resamples) and the metrics;
- the bootstrap alone on N synthetic scores: drawing the weights, the AUC and the rates
  for 2,000 resamples, and moving the operating point (rates only).

Prints validate / (classify + bootstrap), which should be about 1, and the bootstrap's
share of the validation.

Usage: ``PYTHONPATH=. python bench/bench_validate.py [--data DIR] [--files 1000]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def bootstrap_alone(n: int, resamples: int, rounds: int = 5) -> tuple[float, float]:
    import numpy as np

    from core.evaluation.bootstrap import resample_weights, weighted_auc, weighted_rates

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    p = rng.random(n) * 0.7 + 0.3 * y
    full, point = [], []
    for r in range(rounds):
        t0 = time.perf_counter()
        w = resample_weights(n, resamples=resamples, seed=r)
        weighted_auc(y, p, w)
        weighted_rates(y, p >= 0.5, w)
        t1 = time.perf_counter()
        weighted_rates(y, p >= 0.4, w)
        t2 = time.perf_counter()
        full.append(t1 - t0)
        point.append(t2 - t1)
    return min(full), min(point)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data/cxr/train"))
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--resamples", type=int, default=2000)
    ap.add_argument("--model", type=Path, default=REPO / "models" / "covidcxr.keras")
    args = ap.parse_args()

    t_boot, t_point = bootstrap_alone(args.files, args.resamples)
    print(f"bootstrap alone, {args.files} films x {args.resamples} resamples: "
          f"{t_boot * 1000:.0f} ms (weights + AUC + rates); moving the point: "
          f"{t_point * 1000:.0f} ms")

    from core.answers.inference import classify
    from core.evaluation.validation import analyse, run_validation
    from core.files.labelled import open_labelled
    from core.model.loading import device_name, load_model

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "site"
        half = args.files // 2
        for cls in ("COVID", "Normal"):
            (root / cls).mkdir(parents=True)
            films = sorted((args.data / cls).glob("*"))[:half]
            if len(films) < half:
                sys.exit(f"only {len(films)} films in {args.data / cls}")
            for f in films:
                (root / cls / f.name).symlink_to(f)
        model = load_model(args.model)
        print(f"model {model.display_name} on {device_name(model)}; {2 * half} films of {args.data}")
        paths = sorted(str(p) for p in root.rglob("*") if p.is_symlink())
        list(classify(paths[:32], model))  # warm-up: graph tracing, thread pools

        t0 = time.perf_counter()
        n = sum(1 for _ in classify(paths, model))
        t_classify = time.perf_counter() - t0

        t0 = time.perf_counter()
        labelled = open_labelled(root)
        t_labels = time.perf_counter() - t0
        run = run_validation(model, labelled)
        t_run = time.perf_counter() - t0 - t_labels
        a = analyse(run, resamples=args.resamples)
        m = a.metrics()
        t_total = time.perf_counter() - t0
        t_analyse = t_total - t_labels - t_run
    print(f"classify alone             : {t_classify:6.1f} s ({n / t_classify:.1f} img/s)")
    print(f"validate                   : {t_total:6.1f} s = labels {t_labels:.2f} + "
          f"classify {t_run:.1f} + bootstrap and metrics {t_analyse:.2f}")
    print(f"validate / (classify + bootstrap alone): "
          f"{t_total / (t_classify + t_boot):.2f}")
    print(f"bootstrap share of the validation: {t_analyse / t_total:.1%}")
    print(f"(AUC {m.auc.value:.3f}, {m.auc.low:.3f}-{m.auc.high:.3f}; cxr/train films are the "
          "bundled model's own training films: this measures speed, not accuracy)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
