"""The metrics report as ``covidcxr evaluate`` and ``covidcxr train`` print it."""

from __future__ import annotations

import math

from core.evaluation import targets
from core.evaluation.metrics import Metrics


def _fmt(v: float | None) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4f}"


def format_report(m: Metrics | None, name: str) -> str:
    """The figures of one split, with each probe's and refusal rate's target."""
    if m is None:
        return f"no {name} metrics\n"
    c = m.confusion
    lines = [
        f"{name} split: n={m.n} ({m.positives} positive, {m.negatives} negative)",
        *([] if m.not_assessed is None else [
            f"  not assessed  {m.not_assessed} (refused by the classifier; in the figures "
            "by their score)",
            f"  indeterminate {m.indeterminate} (no hard call; in the figures by their score)",
        ]),
        f"  ROC AUC       {_fmt(m.auc)}",
        f"  threshold     {_fmt(m.threshold)}",
        *(f"  {k:13s} {_fmt(getattr(m, k))}"
          for k in ("accuracy", "precision", "sensitivity", "specificity", "f1")),
        f"  confusion     TP={c.tp} FN={c.fn} FP={c.fp} TN={c.tn}",
        f"  ECE           {_fmt(m.ece)}",
        "  reliability   " + "  ".join(
            f"{r.bin}:{r.count}/{_fmt(r.observed_positive)}" for r in m.reliability if r.count
        ),
    ]
    if (pr := m.probe) is None:
        return "\n".join(lines) + "\n"
    lines.append(
        f"  shortcut probe: lungs hidden AUC {_fmt(pr.lungs_hidden_auc)} "
        f"({targets.LUNGS_HIDDEN_AUC.text()}), lungs only AUC {_fmt(pr.lungs_only_auc)} "
        f"({targets.LUNGS_ONLY_AUC.text()})"
    )
    if (o := m.ood) is not None:
        if o.xray_n and o.xray_refused is not None and o.xray_unusual is not None:
            lines.append(
                f"  not a frontal chest X-ray: real X-rays refused {o.xray_refused:.1%} of "
                f"{o.xray_n} ({targets.XRAY_REFUSED.text()}); flagged unusual "
                f"{o.xray_unusual:.1%}"
            )
        lines.append(
            f"  not a frontal chest X-ray: non-X-rays refused {o.non_xray_refused:.1%} of "
            f"{o.non_xray_n} ({targets.NON_XRAY_REFUSED.text()}) "
            + ", ".join(f"{k} {v:.0%}" for k, v in o.non_xray_by_kind.items())
        )
    if (sp := m.source_probe) is not None:
        lines.append(
            f"  source probe: {' vs '.join(sp.sources)} normal films told apart by the "
            f"model's features with AUC {_fmt(sp.auc)} (n={sp.n}; "
            f"{targets.SOURCE_PROBE_AUC.text()})"
        )
    if m.mean_probability_by_source:
        lines.append("  mean P(COVID) by source: " + ", ".join(
            f"{k} {v:.3f}" for k, v in m.mean_probability_by_source.items()))
    return "\n".join(lines) + "\n"
