"""The metrics report as the command line prints it."""

from __future__ import annotations

import math
import sys


def _fmt(v) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4f}"


def print_report(m: dict, name: str, stream=sys.stdout) -> None:
    if not m:
        print(f"no {name} metrics", file=stream)
        return
    w = stream.write
    w(f"{name} split: n={m['n']} ({m['positives']} positive, {m['negatives']} negative)\n")
    w(f"  ROC AUC       {_fmt(m['auc'])}\n")
    w(f"  threshold     {_fmt(m['threshold'])}\n")
    for k in ("accuracy", "precision", "sensitivity", "specificity", "f1"):
        w(f"  {k:13s} {_fmt(m[k])}\n")
    c = m["confusion"]
    w(f"  confusion     TP={c['tp']} FN={c['fn']} FP={c['fp']} TN={c['tn']}\n")
    w(f"  ECE           {_fmt(m['ece'])}\n")
    w(
        "  reliability   "
        + "  ".join(
            f"{r['bin']}:{r['count']}/{_fmt(r['observed_positive'])}"
            for r in m["reliability"]
            if r["count"]
        )
        + "\n"
    )
    if m.get("probe"):
        pr = m["probe"]
        w(
            f"  shortcut probe: lungs hidden AUC {_fmt(pr['lungs_hidden_auc'])} (target <= 0.65), "
            f"lungs only AUC {_fmt(pr['lungs_only_auc'])} (target >= 0.90)\n"
        )
    if m.get("ood"):
        o = m["ood"]
        if "xray_refused" in o:
            w(
                f"  not a frontal chest X-ray: real X-rays refused {o['xray_refused']:.1%} "
                f"of {o['xray_n']} (target <= 1%); flagged unusual {o['xray_unusual']:.1%}\n"
            )
        w(
            f"  not a frontal chest X-ray: non-X-rays refused {o['non_xray_refused']:.1%} "
            f"of {o['non_xray_n']} "
            f"(target >= 99%) "
            + ", ".join(f"{k} {v:.0%}" for k, v in o["non_xray_by_kind"].items())
            + "\n"
        )
    if m.get("source_probe"):
        sp = m["source_probe"]
        w(
            f"  source probe: {' vs '.join(sp['sources'])} normal films told apart by the "
            f"model's features with AUC {_fmt(sp['auc'])} (n={sp['n']}; target <= 0.75)\n"
        )
    if m.get("mean_probability_by_source"):
        w(
            "  mean P(COVID) by source: "
            + ", ".join(f"{k} {v:.3f}" for k, v in m["mean_probability_by_source"].items())
            + "\n"
        )
    stream.flush()

