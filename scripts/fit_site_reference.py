"""Fit the site check's reference for a model (issue #20), and measure the check.

The reference is the pooled features of the films the model's figures come from:
``cxr/train`` and ``cxr/val`` (the public collections: radiography-covid, rsna,
nih-cxr14), at most ``--per-collection`` films of each, with the share of them the model
calls COVID. It is written beside the model as ``NAME.site.npz`` and named in its card
(the weights are unchanged; the set is replaced as a whole). Run it whenever the model
changes (``scripts/build_model.py`` does).

``--measure`` then draws folders of ``--batch`` films (seeded, ``--draws`` times per
source) from sets the reference never saw: each ``cxr/test`` source alone (should be
familiar), ``newsite``, ``ieee8023`` (train and test) and ``lungs/images`` (should be new),
and 25 + 25 mixes of a familiar and a new source (should be new), and prints the share
called "new site" per source and the time the check adds to a folder of 50.

Run: ``.venv/bin/python scripts/fit_site_reference.py [MODEL] [--measure] [--json F]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DEFAULT_DATA = REPO.parent / "shared" / "data"


def features_of(model, paths: list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """Pooled features and calibrated P(COVID) of the readable frontal films of ``paths``
    (as classification sees them: refused films are not part of a site check)."""
    from core.answers.inference import NOT_ASSESSED, assess, load_one

    feats, probs, chunk = [], [], []

    def flush():
        for a in assess(model, chunk, model.threshold):
            if a.label != NOT_ASSESSED:
                feats.append(a.features)
                probs.append(a.probability)
        chunk.clear()

    for p in paths:
        try:
            chunk.append(load_one(p, model.card.spec, model.anatomy))
        except Exception:  # unreadable: not part of any folder's check
            continue
        if len(chunk) == 32:
            flush()
    flush()
    return np.array(feats), np.array(probs)


def main() -> int:
    from core.model.disk import save_model
    from core.model.loading import load_model
    from core.model.site import SiteAccumulator, fit_reference
    from core.resources import default_model_path

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", nargs="?", default=str(default_model_path()))
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--per-collection", type=int, default=500)
    ap.add_argument("--measure", action="store_true")
    ap.add_argument("--only-measure", action="store_true", help="keep the stored reference")
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--draws", type=int, default=200)
    ap.add_argument("--json")
    args = ap.parse_args()
    data = Path(args.data)
    model = load_model(args.model)
    rng = np.random.default_rng(0)
    with open(data / "cxr" / "manifest.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    t0 = time.monotonic()
    if not args.only_measure:
        feats, groups, probs = [], [], []
        for coll in sorted({r["dataset"] for r in rows}):
            paths = [data / "cxr" / r["file"] for r in rows
                     if r["dataset"] == coll and r["split"] in ("train", "val")]
            if len(paths) > args.per_collection:
                paths = [paths[i] for i in sorted(rng.choice(len(paths), args.per_collection,
                                                             replace=False))]
            f, p = features_of(model, paths)
            feats.append(f)
            probs.append(p)
            groups += [coll] * len(f)
        allp = np.concatenate(probs)
        ref = fit_reference(np.concatenate(feats), groups,
                            float(np.mean(allp >= model.threshold)),
                            "the public validation films (cxr train + val)")
        model.card.site_check = {"fitted_by": "scripts/fit_site_reference.py",
                                 "collections": sorted(set(groups))}
        save_model(model.keras_model, model.card, args.model, model.ood, site=ref)
        print(f"reference: {len(groups)} films of {sorted(set(groups))}, called COVID "
              f"{ref.covid_share:.1%}; {time.monotonic() - t0:.0f} s", flush=True)
        model = load_model(args.model)
    if not (args.measure or args.only_measure):
        return 0
    assert model.site is not None
    sources: dict[str, list[Path]] = {}
    for coll in sorted({r["dataset"] for r in rows}):
        sources[f"cxr/test {coll}"] = [data / "cxr" / r["file"] for r in rows
                                       if r["dataset"] == coll and r["split"] == "test"]
    sources["newsite"] = sorted((data / "newsite" / "COVID").iterdir())
    with open(data / "ieee8023" / "manifest.csv", newline="", encoding="utf-8") as fh:
        sources["ieee8023"] = [data / "ieee8023" / r["file"] for r in csv.DictReader(fh)]
    sources["lungs/images"] = sorted((data / "lungs" / "images").rglob("*.png"))
    pools = {k: features_of(model, v) for k, v in sources.items()}
    print(f"features of every source in {time.monotonic() - t0:.0f} s", flush=True)
    familiar = [k for k in pools if k.startswith("cxr/test")]
    new = [k for k in pools if not k.startswith("cxr/test")]
    rates: dict[str, dict] = {}

    def run(name: str, parts: list[tuple[str, int]]) -> None:
        verdicts, seconds = [], []
        for _ in range(args.draws):
            feats, called = [], []
            for src, k in parts:
                f, p = pools[src]
                idx = rng.choice(len(f), min(k, len(f)), replace=False)
                feats.append(f[idx])
                called.append(p[idx] >= model.threshold)
            acc = SiteAccumulator(model.site)
            t = time.perf_counter()
            acc.add(np.concatenate(feats), np.concatenate(called))
            verdicts.append(acc.result().is_new)
            seconds.append(time.perf_counter() - t)
        rates[name] = {"new_site": float(np.mean(verdicts)),
                       "films": sum(k for _, k in parts),
                       "check_ms_median": 1000 * float(np.median(seconds))}
        print(f"| {name} | {rates[name]['films']} | {rates[name]['new_site']:.1%} | "
              f"{rates[name]['check_ms_median']:.0f} ms |", flush=True)

    print("| folders drawn from | films | called new site | check time |")
    print("|---|---|---|---|")
    for src in familiar + new:
        run(src, [(src, args.batch)])
    half = args.batch // 2
    for a in familiar:
        for b in new:
            run(f"{a} + {b}", [(a, half), (b, args.batch - half)])
    if args.json:
        Path(args.json).write_text(json.dumps(rates, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
