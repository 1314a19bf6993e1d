"""Help > About (the model card and intended use) and the first-launch research notice."""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QMessageBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from core import __version__
from core.model.card import INTENDED_USE, ModelCard
from gui.i18n import date_time, number, translate
from gui.i18n.core_text import core_text


def notice_title() -> str:
    return translate("About", "CovidCXR — research use only")


def notice_text() -> str:
    """The first-launch notice (rich text), in the window's language."""
    return (
        "<p><b>" + translate("About", "CovidCXR is research software, not a medical device.")
        + "</b></p>"
        f"<p>{html.escape(core_text(INTENDED_USE))}</p><p>"
        + translate(
            "About",
            "A result is the output of a neural network trained on public image collections. "
            "It can be wrong, it is not calibrated for your scanners or population, and a "
            "heat map does not show where disease is.")
        + "</p>"
    )


def research_notice(parent: QWidget | None = None) -> QMessageBox:
    """The notice shown once at first launch; the caller opens it and records the answer."""
    box = QMessageBox(parent)
    box.setWindowTitle(notice_title())
    box.setIcon(QMessageBox.Icon.Warning)
    box.setText(notice_text())
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.button(QMessageBox.StandardButton.Ok).setText(translate("About", "I understand"))
    return box


def _value(v: Any) -> str:
    if isinstance(v, float):
        return number(v, 4).rstrip("0").rstrip(",.") if abs(v) < 1e4 else f"{v:.4g}"
    if isinstance(v, dict):
        return ", ".join(f"{k}: {_value(x)}" for k, x in v.items())
    if isinstance(v, list | tuple):
        return ", ".join(_value(x) for x in v)
    return str(v)


def _table(items: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td style='padding-right:12px'><b>{html.escape(str(k))}</b></td>"
        f"<td>{html.escape(_value(v))}</td></tr>"
        for k, v in items.items() if v not in ("", None, {}, [])
    )
    return f"<table cellspacing='2'>{rows}</table>"


def card_html(card: ModelCard | None, model_note: str = "", device: str = "") -> str:
    """The model card as HTML; ``model_note`` explains a missing or broken model."""
    def h3(text: str) -> str:
        return f"<h3>{html.escape(text)}</h3>"

    intended = core_text(card.intended_use if card else INTENDED_USE)
    parts = [
        f"<h2>CovidCXR {html.escape(__version__)}</h2>",
        "<p>" + html.escape(translate(
            "About", "Chest X-ray classifier for COVID-19 (COVID / NOT COVID / NOT ASSESSED)."))
        + "</p>",
        h3(translate("About", "Intended use")) + f"<p>{html.escape(intended)}</p>",
    ]
    if card is None:
        note = core_text(model_note) or translate("About", "No model loaded.")
        parts.append(h3(translate("About", "Model")) + f"<p>{html.escape(note)}</p>")
    else:
        # The card's own words (its rule, its training and metric keys) are data, shown as
        # the card records them.
        parts.append(h3(translate("About", "Model card")))
        parts.append(_table({
            translate("About", "Name"): card.name,
            translate("About", "Architecture"): card.architecture,
            translate("About", "Input size"): translate("About", "{0} x {0} (grayscale)")
            .format(card.input_size),
            translate("About", "Classes"): [core_text(c) for c in card.class_names],
            translate("About", "Threshold"): f"{number(card.threshold, 4)} — "
                                             f"{card.threshold_rule}" + (
                "" if card.site else " — " + translate(
                    "About", "from public collections; not validated at this site: "
                    "validate it on your own labelled films (Validate tab)")),
            translate("About", "Preprocessing"): card.preprocess,
            translate("About", "Out-of-distribution check"):
                {k: v for k, v in card.ood.items() if k not in ("file", "sha256")}
                or translate("About", "none"),
            translate("About", "Created"): date_time(card.created) if card.created else "",
            translate("About", "Weights sha256"):
                card.weights_sha256[:16] + "…" if card.weights_sha256 else "",
            translate("About", "Running on"): device,
        }))
        if card.site:
            parts.append(h3(translate("About", "Site profile")) + _table(site_summary(card.site)))
        if card.training:
            parts.append(h3(translate("About", "Training")) + _table(card.training))
        if card.metrics:
            parts.append(h3(translate("About", "Metrics")) + _table(card.metrics))
        if card.notes:
            parts.append(h3(translate("About", "Notes")) + f"<p>{html.escape(card.notes)}</p>")
        if model_note:
            parts.append(f"<p><i>{html.escape(core_text(model_note))}</i></p>")
    return "\n".join(parts)


def site_summary(site: dict[str, Any]) -> dict[str, Any]:
    """What a site profile records, in the words the About box uses."""
    m = site.get("metrics", {})

    def ci(key: str) -> str:
        v = m.get(key) or {}
        if not isinstance(v, dict) or v.get("value") is None:
            return ""
        if v.get("low") is None or v.get("high") is None:
            return number(v["value"], 3)
        return translate("About", "{0} (95% CI {1}–{2})").format(
            number(v["value"], 3), number(v["low"], 3), number(v["high"], 3))

    return {
        translate("About", "Site"): site.get("name", ""),
        translate("About", "Made"): date_time(site["created"]) if site.get("created") else "",
        translate("About", "Threshold rule"): site.get("rule", ""),
        translate("About", "Recalibrated"): translate("About", "yes")
        if site.get("recalibrated") else translate("About", "no"),
        translate("About", "Validated on"): site.get("folder", ""),
        translate("About", "Images per class"): site.get("images_per_class", {}),
        translate("About", "File list sha256"): (site.get("file_list_sha256") or "")[:16],
        translate("About", "Model it adjusts"): site.get("base_name", ""),
        "AUC": ci("auc"),
        translate("About", "Sensitivity"): ci("sensitivity"),
        translate("About", "Specificity"): ci("specificity"),
    }


class AboutDialog(QDialog):
    def __init__(self, card: ModelCard | None, model_note: str = "", device: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(translate("About", "About CovidCXR"))
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.setHtml(card_html(card, model_note, device))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
        self.resize(560, 620)
