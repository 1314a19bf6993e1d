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

NOTICE_TITLE = "CovidCXR — research use only"
NOTICE_TEXT = (
    "<p><b>CovidCXR is research software, not a medical device.</b></p>"
    f"<p>{html.escape(INTENDED_USE)}</p>"
    "<p>A result is the output of a neural network trained on public image collections. "
    "It can be wrong, it is not calibrated for your scanners or population, and a heat map "
    "does not show where disease is.</p>"
)


def research_notice(parent: QWidget | None = None) -> QMessageBox:
    """The notice shown once at first launch; the caller opens it and records the answer."""
    box = QMessageBox(parent)
    box.setWindowTitle(NOTICE_TITLE)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setText(NOTICE_TEXT)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.button(QMessageBox.StandardButton.Ok).setText("I understand")
    return box


def _value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
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
    parts = [
        f"<h2>CovidCXR {html.escape(__version__)}</h2>",
        "<p>Chest X-ray classifier for COVID-19 (COVID / NOT COVID / NOT ASSESSED).</p>",
        f"<h3>Intended use</h3><p>{html.escape(card.intended_use if card else INTENDED_USE)}</p>",
    ]
    if card is None:
        parts.append(f"<h3>Model</h3><p>{html.escape(model_note or 'No model loaded.')}</p>")
    else:
        parts.append("<h3>Model card</h3>")
        parts.append(_table({
            "Name": card.name,
            "Architecture": card.architecture,
            "Input size": f"{card.input_size} x {card.input_size} (grayscale)",
            "Classes": card.class_names,
            "Threshold": f"{card.threshold:.4f} — {card.threshold_rule}",
            "Preprocessing": card.preprocess,
            "Out-of-distribution check": {k: v for k, v in card.ood.items()
                                          if k not in ("file", "sha256")} or "none",
            "Created": card.created,
            "Weights sha256": card.weights_sha256[:16] + "…" if card.weights_sha256 else "",
            "Running on": device,
        }))
        if card.site:
            parts.append("<h3>Site profile</h3>" + _table(site_summary(card.site)))
        if card.training:
            parts.append("<h3>Training</h3>" + _table(card.training))
        if card.metrics:
            parts.append("<h3>Metrics</h3>" + _table(card.metrics))
        if card.notes:
            parts.append(f"<h3>Notes</h3><p>{html.escape(card.notes)}</p>")
        if model_note:
            parts.append(f"<p><i>{html.escape(model_note)}</i></p>")
    return "\n".join(parts)


def site_summary(site: dict[str, Any]) -> dict[str, Any]:
    """What a site profile records, in the words the About box uses."""
    m = site.get("metrics", {})

    def ci(key: str) -> str:
        v = m.get(key) or {}
        if not isinstance(v, dict) or v.get("value") is None:
            return ""
        if v.get("low") is None or v.get("high") is None:
            return f"{v['value']:.3f}"
        return f"{v['value']:.3f} (95% CI {v['low']:.3f}–{v['high']:.3f})"

    return {
        "Site": site.get("name", ""),
        "Made": site.get("created", ""),
        "Threshold rule": site.get("rule", ""),
        "Recalibrated": "yes" if site.get("recalibrated") else "no",
        "Validated on": site.get("folder", ""),
        "Images per class": site.get("images_per_class", {}),
        "File list sha256": (site.get("file_list_sha256") or "")[:16],
        "Model it adjusts": site.get("base_name", ""),
        "AUC": ci("auc"),
        "Sensitivity": ci("sensitivity"),
        "Specificity": ci("specificity"),
    }


class AboutDialog(QDialog):
    def __init__(self, card: ModelCard | None, model_note: str = "", device: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About CovidCXR")
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
