"""The validation report: one self-contained PDF with the figures, the numbers and their
intervals, the model's identity, the data summary and the research-use notice.

Drawn with Qt's own printing (``QTextDocument`` laid out on a ``QPdfWriter``): no new
dependency, Unicode file names and site names print as they are, and the figures are the
validate page's own plots drawn off-screen, so the report and the screen cannot disagree.
The file is replaced atomically (a kill leaves the previous report whole).
"""

from __future__ import annotations

import datetime as _dt
import html
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QMarginsF, QUrl
from PySide6.QtGui import QPageLayout, QPageSize, QPdfWriter, QTextDocument
from PySide6.QtWidgets import QApplication

from core import __version__
from core.evaluation.validation import SiteAnalysis, SiteMetrics, not_assessed
from core.files.atomic import atomic_path
from core.model.card import INTENDED_USE, ModelCard

#: Files listed by name in the "not assessed" section (the rest are counted).
LISTED_NOT_ASSESSED = 60
FIGURE_WIDTH_PX = 250


def _rows(rows: list[tuple[Any, ...]], header: tuple[str, ...] = ()) -> str:
    head = "".join(f"<th align='left'>{html.escape(h)}</th>" for h in header)
    head = f"<tr style='background:#eeeeee'>{head}</tr>" if header else ""
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows
    )
    return (f"<table border='1' cellspacing='0' cellpadding='3' width='100%'>"
            f"{head}{body}</table>")


def report_html(analysis: SiteAnalysis, m: SiteMetrics, card: ModelCard,
                model_path: str | os.PathLike[str], figures: list[str]) -> str:
    """The report's text; ``figures`` are resource names already added to the document."""
    run, ls, pt = analysis.run, analysis.run.labelled, m.point
    now = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    esc = html.escape
    parts = [
        "<h1>CovidCXR — validation on local films</h1>",
        f"<p>{esc(now)} · CovidCXR {esc(__version__)}</p>",
        f"<p style='background:#fff4d6; padding:6px'><b>{esc(card.intended_use or INTENDED_USE)}"
        "</b></p>",
        "<h2>Result</h2>",
        f"<p>{m.assessed} films assessed by the model; 95% bootstrap percentile intervals "
        f"from {m.resamples} resamples of {'patients' if m.grouped else 'images'} "
        f"(seed {analysis.seed}).</p>",
    ]
    rows = [("ROC AUC", *m.auc.texts()), ("threshold", f"{pt.threshold:.4f}", "")]
    for label, iv in (("sensitivity", pt.sensitivity), ("specificity", pt.specificity),
                      ("PPV", pt.ppv), ("NPV", pt.npv), ("accuracy", pt.accuracy)):
        rows.append((label, *iv.texts()))
    parts.append(_rows(rows, ("measure", "value", "95% interval")))
    prevalence = (f"typed by the user: {pt.prevalence:.3f}" if pt.prevalence_given
                  else f"the folder's own: {pt.prevalence:.3f}")
    parts.append(
        f"<p>PPV and NPV at a prevalence {esc(prevalence)}. Confusion at this threshold: "
        f"TP {pt.tp}, FN {pt.fn}, FP {pt.fp}, TN {pt.tn}. Expected calibration error "
        f"{m.ece:.3f}.</p>")
    if m.warnings:
        parts.append("<p style='color:#8a1010'><b>Warnings</b><br>"
                     + "<br>".join(esc(w) for w in m.warnings) + "</p>")
    parts.append("<p>" + " ".join(
        f"<img src='{name}' width='{FIGURE_WIDTH_PX}'>" for name in figures) + "</p>")
    if m.subgroups:
        parts.append("<h2>By sub-group</h2>")
        parts.append(_rows(
            [(f"{s.key} = {s.value}", s.positives, s.negatives, s.not_assessed,
              s.auc.text(), s.sensitivity.text(), s.specificity.text())
             for s in m.subgroups],
            ("sub-group", "COVID", "not COVID", "not assessed", "AUC (95% CI)",
             "sensitivity", "specificity")))
    parts.append("<h2>Data</h2>")
    parts.append(
        f"<p>Folder {esc(str(ls.root))} ({esc(ls.layout)}); positive class "
        f"<b>{esc(ls.positive)}</b>; file list sha256 {ls.file_list_sha256()[:16]}…</p>")
    parts.append(_rows([(c.name + (" (positive)" if c.positive else ""), c.total, c.assessed,
                         c.refused, c.errors) for c in m.classes],
                       ("class", "images", "assessed", "not assessed", "errors")))
    left = not_assessed(run)
    if left or ls.excluded:
        parts.append("<h3>Not assessed, unreadable or left out</h3>")
        listed = [(f.path.name, f.class_name, p.message) for f, p in left[:LISTED_NOT_ASSESSED]]
        listed += [(Path(p).name, "", why) for p, why in ls.excluded]
        parts.append(_rows(listed, ("file", "class", "why")))
        if len(left) > LISTED_NOT_ASSESSED:
            parts.append(f"<p>… and {len(left) - LISTED_NOT_ASSESSED} more.</p>")
    parts.append("<h2>Model</h2>")
    model_rows = [
        ("name", card.name), ("architecture", card.architecture),
        ("weights sha256", card.weights_sha256), ("file", str(model_path)),
        ("threshold rule", card.threshold_rule), ("created", card.created),
    ]
    if card.site:
        model_rows.append(("site profile", f"{card.site.get('name')} (made "
                           f"{card.site.get('created', '')[:10]})"))
    internal = card.metrics.get("test", {}) if isinstance(card.metrics, dict) else {}
    if isinstance(internal, dict) and "auc" in internal:
        model_rows.append(("its own test split (upper bound)",
                           f"AUC {internal['auc']:.3f}, sensitivity "
                           f"{internal.get('sensitivity', float('nan')):.3f}, specificity "
                           f"{internal.get('specificity', float('nan')):.3f}"))
    parts.append(_rows(model_rows))
    parts.append(
        "<p><small>Sensitivity, specificity and the rest are measured on the films above, "
        "at the threshold shown; films the model refused as not frontal chest X-rays are not "
        "in them and are listed. Intervals describe sampling uncertainty on this data only; "
        "they say nothing about other sites, scanners or populations.</small></p>")
    return "\n".join(parts)


def write_report(path: str | os.PathLike[str], analysis: SiteAnalysis, m: SiteMetrics,
                 card: ModelCard, model_path: str | os.PathLike[str]) -> Path:
    """Write the PDF atomically. Needs a QApplication (one is made if there is none: the
    command line uses the off-screen platform)."""
    from gui.validation_plots import ValidationPlots

    _app = QApplication.instance() or QApplication(["covidcxr-report"])
    plots = ValidationPlots()
    plots.set_analysis(analysis, m)
    doc = QTextDocument()
    names = []
    for name, image in plots.figure_images().items():
        url = f"figure-{name}.png"
        doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(url), image)
        names.append(url)
    doc.setHtml(report_html(analysis, m, card, model_path, names))
    path = Path(path)
    with atomic_path(path, ".pdf") as tmp:
        writer = QPdfWriter(str(tmp))
        writer.setTitle("CovidCXR validation report")
        writer.setCreator(f"CovidCXR {__version__}")
        writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4),
                                         QPageLayout.Orientation.Portrait,
                                         QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter))
        writer.setResolution(150)
        doc.print_(writer)
        del writer  # finishes the file
    plots.deleteLater()
    return path
