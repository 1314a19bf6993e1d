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
from core.evaluation.validation import SiteAnalysis, SiteMetrics, indeterminate, not_assessed
from core.files.atomic import atomic_path
from core.model.card import INTENDED_USE, ModelCard
from gui.i18n import date_time, integer, interval_text, interval_texts, number, translate
from gui.i18n.core_text import core_text

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
    """The report's text, in the window's language (English from the command line, which
    installs no translation); ``figures`` are resource names already added to the document."""
    run, ls, pt = analysis.run, analysis.run.labelled, m.point
    now = date_time(_dt.datetime.now().astimezone().isoformat(timespec="seconds"))
    esc = html.escape

    grouped = (translate("Report", "{0} films assessed by the model; 95% bootstrap percentile "
                         "intervals from {1} resamples of patients (seed {2}).") if m.grouped
               else translate("Report", "{0} films assessed by the model; 95% bootstrap "
                              "percentile intervals from {1} resamples of images (seed {2})."))
    parts = [
        "<h1>" + esc(translate("Report", "CovidCXR — validation on local films")) + "</h1>",
        f"<p>{esc(now)} · CovidCXR {esc(__version__)}</p>",
        "<p style='background:#fff4d6; padding:6px'><b>"
        f"{esc(core_text(card.intended_use or INTENDED_USE))}</b></p>",
        "<h2>" + esc(translate("Report", "Result")) + "</h2>",
        "<p>" + esc(grouped.format(integer(m.assessed), integer(m.resamples), analysis.seed))
        + "</p>",
    ]
    rows = [("ROC AUC", *interval_texts(m.auc)),
            (translate("Report", "threshold"), number(pt.threshold, 4), "")]
    for label, iv in ((translate("Report", "sensitivity"), pt.sensitivity),
                      (translate("Report", "specificity"), pt.specificity),
                      (translate("Report", "PPV"), pt.ppv), (translate("Report", "NPV"), pt.npv),
                      (translate("Report", "accuracy"), pt.accuracy)):
        rows.append((label, *interval_texts(iv)))
    parts.append(_rows(rows, (translate("Report", "measure"), translate("Report", "value"),
                              translate("Report", "95% interval"))))
    prevalence = (translate("Report", "typed by the user: {0}") if pt.prevalence_given
                  else translate("Report", "the folder's own: {0}")).format(
        number(pt.prevalence, 3))
    parts.append("<p>" + esc(translate(
        "Report", "PPV and NPV at a prevalence {0}. Confusion at this threshold: TP {1}, FN "
        "{2}, FP {3}, TN {4}. Expected calibration error {5}.").format(
            prevalence, integer(pt.tp), integer(pt.fn), integer(pt.fp), integer(pt.tn),
            number(m.ece, 3))) + "</p>")
    if m.warnings:
        parts.append("<p style='color:#8a1010'><b>" + esc(translate("Report", "Warnings"))
                     + "</b><br>" + "<br>".join(esc(core_text(w)) for w in m.warnings) + "</p>")
    parts.append("<p>" + " ".join(
        f"<img src='{name}' width='{FIGURE_WIDTH_PX}'>" for name in figures) + "</p>")
    if m.subgroups:
        parts.append("<h2>" + esc(translate("Report", "By sub-group")) + "</h2>")
        parts.append(_rows(
            [(f"{s.key} = {s.value}", integer(s.positives), integer(s.negatives),
              integer(s.not_assessed), interval_text(s.auc), interval_text(s.sensitivity),
              interval_text(s.specificity))
             for s in m.subgroups],
            (translate("Report", "sub-group"), "COVID", translate("Report", "not COVID"),
             translate("Report", "not assessed"), translate("Report", "AUC (95% CI)"),
             translate("Report", "sensitivity"), translate("Report", "specificity"))))
    parts.append("<h2>" + esc(translate("Report", "Data")) + "</h2>")
    parts.append("<p>" + translate(
        "Report", "Folder {0} ({1}); positive class <b>{2}</b>; file list sha256 {3}…").format(
            esc(str(ls.root)), esc(core_text(ls.layout)), esc(ls.positive), ls.file_list_sha256()[:16])
        + "</p>")
    positive = translate("Report", " (positive)")
    parts.append(_rows([(c.name + (positive if c.positive else ""), integer(c.total),
                         integer(c.assessed), integer(c.refused), integer(c.errors))
                        for c in m.classes],
                       (translate("Report", "class"), translate("Report", "images"),
                        translate("Report", "assessed"), translate("Report", "not assessed"),
                        translate("Report", "errors"))))
    apart = indeterminate(run)
    if apart:
        parts.append("<h3>" + esc(translate(
            "Report", "Indeterminate: {0} films whose score moves across the threshold "
            "under mirrored, shifted or zoomed views (no hard call; in the metrics by their "
            "score)").format(integer(len(apart)))) + "</h3>")
        parts.append(_rows(
            [(f.path.name, f.class_name, number(p.probability or 0.0, 3),
              f"{number(p.p_low or 0.0, 2)}–{number(p.p_high or 0.0, 2)}")
             for f, p in apart[:LISTED_NOT_ASSESSED]],
            (translate("Report", "file"), translate("Report", "class"), "P(COVID)",
             translate("Report", "interval over views"))))
    left = not_assessed(run)
    if left or ls.excluded:
        parts.append("<h3>" + esc(translate("Report", "Not assessed, unreadable or left out"))
                     + "</h3>")
        listed = [(f.path.name, f.class_name, core_text(p.message))
                  for f, p in left[:LISTED_NOT_ASSESSED]]
        listed += [(Path(p).name, "", core_text(why)) for p, why in ls.excluded]
        parts.append(_rows(listed, (translate("Report", "file"), translate("Report", "class"),
                                    translate("Report", "why"))))
        if len(left) > LISTED_NOT_ASSESSED:
            parts.append("<p>" + esc(translate("Report", "… and {0} more.").format(
                integer(len(left) - LISTED_NOT_ASSESSED))) + "</p>")
    parts.append("<h2>" + esc(translate("Report", "Model")) + "</h2>")
    model_rows = [
        (translate("Report", "name"), card.name),
        (translate("Report", "architecture"), card.architecture),
        (translate("Report", "weights sha256"), card.weights_sha256),
        (translate("Report", "file"), str(model_path)),
        (translate("Report", "threshold rule"), card.threshold_rule),
        (translate("Report", "created"),
         date_time(card.created) if card.created else ""),
    ]
    if not card.site:
        model_rows.append((translate("Report", "threshold"), translate(
            "Report", "from public collections; not validated at this site")))
    if card.site:
        model_rows.append((translate("Report", "site profile"),
                           translate("Report", "{0} (made {1})").format(
                               card.site.get("name"), card.site.get("created", "")[:10])))
    internal = card.metrics.get("test", {}) if isinstance(card.metrics, dict) else {}
    if isinstance(internal, dict) and "auc" in internal:
        model_rows.append((translate("Report", "its own test split (upper bound)"),
                           translate("Report", "AUC {0}, sensitivity {1}, specificity {2}")
                           .format(number(internal["auc"], 3),
                                   number(internal.get("sensitivity", float("nan")), 3),
                                   number(internal.get("specificity", float("nan")), 3))))
    parts.append(_rows(model_rows))
    parts.append("<p><small>" + esc(translate(
        "Report",
        "Sensitivity, specificity and the rest are measured on the films above, at the "
        "threshold shown; films the model refused as not frontal chest X-rays are not in them "
        "and are listed. Intervals describe sampling uncertainty on this data only; they say "
        "nothing about other sites, scanners or populations.")) + "</small></p>")
    return "\n".join(parts)


def write_report(path: str | os.PathLike[str], analysis: SiteAnalysis, m: SiteMetrics,
                 card: ModelCard, model_path: str | os.PathLike[str]) -> Path:
    """Write the PDF atomically. Needs a QApplication (one is made if there is none: the
    command line uses the off-screen platform)."""
    from gui.pages.validate.plots import ValidationPlots

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
        writer.setTitle(translate("Report", "CovidCXR validation report"))
        writer.setCreator(f"CovidCXR {__version__}")
        writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4),
                                         QPageLayout.Orientation.Portrait,
                                         QMarginsF(15, 15, 15, 15), QPageLayout.Unit.Millimeter))
        writer.setResolution(150)
        doc.print_(writer)
        del writer  # finishes the file
    plots.deleteLater()
    return path
