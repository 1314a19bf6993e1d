"""The metrics report as ``covidcxr evaluate`` and ``covidcxr train`` print it."""

from __future__ import annotations

import math

from core.evaluation import targets
from core.evaluation.evaluate import Evaluation
from core.evaluation.metrics import Metrics


def _fmt(v: float | None) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4f}"


def format_report(result: Metrics | Evaluation | None, name: str) -> str:
    """The figures of one split, with each probe's and refusal rate's target."""
    if result is None:
        return f"no {name} metrics\n"
    ev = result if isinstance(result, Evaluation) else None
    m = ev.metrics if ev else result
    assert isinstance(m, Metrics)
    c = m.confusion
    lines = [
        f"{name} split: n={m.n} ({m.positives} positive, {m.negatives} negative)",
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
    if ev is None:
        return "\n".join(lines) + "\n"
    pr = ev.probe
    lines.append(
        f"  shortcut probe: lungs hidden AUC {_fmt(pr.lungs_hidden_auc)} "
        f"({targets.LUNGS_HIDDEN_AUC.text()}), lungs only AUC {_fmt(pr.lungs_only_auc)} "
        f"({targets.LUNGS_ONLY_AUC.text()})"
    )
    if (o := ev.ood) is not None:
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
    if (sp := ev.source_probe) is not None:
        lines.append(
            f"  source probe: {' vs '.join(sp.sources)} normal films told apart by the "
            f"model's features with AUC {_fmt(sp.auc)} (n={sp.n}; "
            f"{targets.SOURCE_PROBE_AUC.text()})"
        )
    if ev.mean_probability_by_source:
        lines.append("  mean P(COVID) by source: " + ", ".join(
            f"{k} {v:.3f}" for k, v in ev.mean_probability_by_source.items()))
    return "\n".join(lines) + "\n"
