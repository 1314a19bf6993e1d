"""What the test-time views' margin costs and buys (issue #30): every film's views, then
any margin simulated from them.

Every assessed film of the validation films the margin is fitted on (``cxr/val``,
``ieee8023/train``) and of the test sets gets all its views on the lean runtime; then, for
each candidate margin (the card's, and the quantiles of the validation films' reach that
:func:`core.answers.views.fit_margin` would give), it prints per set: the share of films
given views (their cost), the INDETERMINATE share, the accuracy, sensitivity and
specificity of the definite calls, and how many labels change against the card's margin.

Run: ``.venv/bin/python scripts/views_margin.py [MODEL] [--data ../shared/data]
[--quantiles 0.95,0.8,0.6,0.5] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DEFAULT_DATA = REPO.parent / "shared" / "data"


def validation_films(data: Path) -> list[tuple[Path, int]]:
    out = []
    with open(data / "cxr" / "manifest.csv", newline="", encoding="utf-8") as fh:
        out += [(data / "cxr" / r["file"], int(r["label"] == "COVID"))
                for r in csv.DictReader(fh) if r["split"] == "val"]
    with open(data / "ieee8023" / "manifest.csv", newline="", encoding="utf-8") as fh:
        out += [(data / "ieee8023" / r["file"], int(r["label"] == "COVID"))
                for r in csv.DictReader(fh) if r["split"] == "train"]
    return out


def scored(model, items: list[tuple[Path, int]]) -> dict[str, np.ndarray]:
    """y, single-pass P and the views' P (N, views) of every assessed film."""
    from core.answers.inference import assess, load_one
    from core.answers.views import views
    from core.model.card import NOT_ASSESSED
    from core.model.preprocess import to_network

    ys, ps, pv = [], [], []
    for i in range(0, len(items), 32):
        chunk, labels = [], []
        for path, y in items[i:i + 32]:
            try:
                chunk.append(load_one(path, model.card.spec, model.anatomy))
                labels.append(y)
            except Exception:  # unreadable: not a film for this measure
                continue
        for y, item, a in zip(labels, chunk, assess(model, chunk, model.threshold),
                              strict=True):
            if a.label == NOT_ASSESSED:
                continue
            ys.append(y)
            ps.append(a.probability)
            pv.append(model.view_probabilities(to_network(views(item.net_input))))
    return {"y": np.array(ys), "p": np.array(ps), "views": np.array(pv)}


def simulate(s: dict[str, np.ndarray], thr: float, margin: float) -> dict[str, np.ndarray]:
    from core.answers.views import interval, needs_views

    near = needs_views(s["p"], thr, margin)
    ind = np.array([bool(n) and interval(float(p), v).straddles(thr)
                    for n, p, v in zip(near, s["p"], s["views"], strict=True)])
    return {"near": near, "ind": ind}


def rates(y: np.ndarray, called: np.ndarray) -> tuple[float, float, float]:
    pos, neg = y == 1, y == 0
    acc = float((called == y).mean()) if len(y) else float("nan")
    sens = float(called[pos].mean()) if pos.any() else float("nan")
    spec = float((1 - called[neg]).mean()) if neg.any() else float("nan")
    return acc, sens, spec


def main() -> int:
    from core.answers.views import fit_margin
    from core.model.loading import load_model
    from core.resources import default_model_path

    sys.path.insert(0, str(REPO / "scripts"))
    from measure_answers import sets

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", nargs="?", default=str(default_model_path()))
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--quantiles", default="0.95,0.8,0.7,0.6,0.5")
    ap.add_argument("--json")
    args = ap.parse_args()
    data = Path(args.data)
    model = load_model(args.model)
    thr = model.threshold
    card_margin = float(model.card.interval["margin_logit"])

    val = scored(model, validation_films(data))
    margins = {"card": card_margin}
    for q in (float(x) for x in args.quantiles.split(",")):
        margins[f"q{q:.2f}"] = fit_margin(val["p"], val["views"], q)
    groups = {"validation (cxr/val + ieee8023/train)": val}
    for name, items in sets(data).items():
        groups[name] = scored(model, items)

    report: dict = {"margins": margins, "sets": {}}
    print("| margin | logit | set | films | given views | INDETERMINATE | definite: accuracy / "
          "sensitivity / specificity | labels changed vs card |")
    print("|---|---|---|---|---|---|---|---|")
    for mname, m in margins.items():
        for gname, s in groups.items():
            base = simulate(s, thr, card_margin)
            sim = simulate(s, thr, m)
            called = (s["p"] >= thr).astype(int)
            d = ~sim["ind"]
            acc, sens, spec = rates(s["y"][d], called[d])
            changed = int((sim["ind"] != base["ind"]).sum())
            row = {"films": int(len(s["p"])), "viewed": float(sim["near"].mean()),
                   "indeterminate": float(sim["ind"].mean()), "accuracy": acc,
                   "sensitivity": sens, "specificity": spec, "changed": changed}
            report["sets"].setdefault(mname, {})[gname] = row
            print(f"| {mname} | {m:.2f} | {gname} | {row['films']} | {row['viewed']:.1%} | "
                  f"{row['indeterminate']:.1%} | {acc:.3f} / {sens:.3f} / {spec:.3f} | "
                  f"{changed} |", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
