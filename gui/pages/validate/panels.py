"""The Validate page's panels. Each shows a part of the :class:`ValidateSession` and hands
it what the user does; none keeps state of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QTabWidget,
)

from core.evaluation.validation import SiteAnalysis, SiteMetrics, indeterminate, not_assessed
from gui.i18n import integer, interval_text, interval_texts, number, translate
from gui.i18n.core_text import core_text
from gui.pages.validate.session import ValidateSession
from gui.widgets.buttons import push_button
from gui.widgets.rows import RowsModel, make_table

METRIC_TIPS = {
    "ROC AUC": QT_TRANSLATE_NOOP(
        "ValidateTab", "How well the scores rank COVID above not-COVID films, at any threshold"),
    "Sensitivity": QT_TRANSLATE_NOOP(
        "ValidateTab", "Share of COVID films called COVID at this threshold"),
    "Specificity": QT_TRANSLATE_NOOP(
        "ValidateTab", "Share of not-COVID films called NOT COVID at this threshold"),
    "PPV": QT_TRANSLATE_NOOP(
        "ValidateTab",
        "Of the films called COVID, the share that are COVID (at the prevalence shown)"),
    "NPV": QT_TRANSLATE_NOOP(
        "ValidateTab",
        "Of the films called NOT COVID, the share that are not COVID (at the prevalence)"),
    "Accuracy": QT_TRANSLATE_NOOP("ValidateTab", "Share of all assessed films called right"),
}
#: The metrics table's row names (English keys, translated when shown).
METRIC_NAMES = (
    QT_TRANSLATE_NOOP("ValidateTab", "ROC AUC"),
    QT_TRANSLATE_NOOP("ValidateTab", "Threshold"),
    QT_TRANSLATE_NOOP("ValidateTab", "Sensitivity"),
    QT_TRANSLATE_NOOP("ValidateTab", "Specificity"),
    QT_TRANSLATE_NOOP("ValidateTab", "PPV"),
    QT_TRANSLATE_NOOP("ValidateTab", "NPV"),
    QT_TRANSLATE_NOOP("ValidateTab", "Accuracy"),
)


def _spin(low: float, high: float, value: float, decimals: int = 2) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(low, high)
    spin.setDecimals(decimals)
    spin.setSingleStep(0.01)
    spin.setValue(value)
    return spin


class PointPanel(QGroupBox):
    """The operating point: the threshold, targets to meet, the expected prevalence."""

    def __init__(self, session: ValidateSession) -> None:
        super().__init__(translate("ValidateTab", "Operating point (or drag on the ROC curve "
                                   "or the threshold line)"))
        self.session = session
        self.threshold_spin = _spin(0.0, 1.0, 0.0, decimals=4)
        self.threshold_spin.setKeyboardTracking(False)
        # The spin box shows 4 decimals; the operating point keeps the exact value picked
        # on the curve (a film scoring 0.49528 must not change sides at 0.4953).
        self.threshold_spin.valueChanged.connect(session.set_threshold)
        self.sens_spin = _spin(0.0, 1.0, 0.95)
        self.sens_button = push_button(
            translate("ValidateTab", "Meet"),
            lambda: session.meet_target(sensitivity=self.sens_spin.value()),
            translate("ValidateTab", "The most specific threshold with at least this "
                      "sensitivity on these films"))
        self.spec_spin = _spin(0.0, 1.0, 0.90)
        self.spec_button = push_button(
            translate("ValidateTab", "Meet"),
            lambda: session.meet_target(specificity=self.spec_spin.value()),
            translate("ValidateTab", "The most sensitive threshold with at least this "
                      "specificity on these films"))
        self.model_threshold_button = push_button(
            translate("ValidateTab", "Model's threshold"), session.reset_threshold)
        self.prevalence_check = QCheckBox(translate("ValidateTab", "Expected prevalence"))
        self.prevalence_check.setToolTip(translate(
            "ValidateTab", "PPV and NPV depend on how common COVID is among the films you "
            "will screen; unchecked, the folder's own share is used"))
        self.prevalence_spin = _spin(0.001, 0.999, 0.10, decimals=3)
        self.prevalence_spin.setKeyboardTracking(False)
        self.prevalence_check.toggled.connect(self._on_prevalence_changed)
        self.prevalence_spin.valueChanged.connect(self._on_prevalence_changed)
        grid = QGridLayout(self)
        rows = ((translate("ValidateTab", "Threshold"), self.threshold_spin,
                 self.model_threshold_button),
                (translate("ValidateTab", "Target sensitivity"), self.sens_spin,
                 self.sens_button),
                (translate("ValidateTab", "Target specificity"), self.spec_spin,
                 self.spec_button))
        for r, (text, spin, button) in enumerate(rows):
            grid.addWidget(QLabel(text), r, 0)
            grid.addWidget(spin, r, 1)
            grid.addWidget(button, r, 2)
        grid.addWidget(self.prevalence_check, 3, 0)
        grid.addWidget(self.prevalence_spin, 3, 1)

    def _on_prevalence_changed(self, *_: Any) -> None:
        on = self.prevalence_check.isChecked()
        self.prevalence_spin.setEnabled(on)
        self.session.set_prevalence(self.prevalence_spin.value() if on else None)

    def show_threshold(self, threshold: float) -> None:
        self.threshold_spin.blockSignals(True)
        self.threshold_spin.setValue(threshold)
        self.threshold_spin.blockSignals(False)

    def set_enabled(self, has: bool) -> None:
        for w in (self.threshold_spin, self.sens_button, self.spec_button,
                  self.model_threshold_button, self.prevalence_check):
            w.setEnabled(has)
        self.prevalence_spin.setEnabled(has and self.prevalence_check.isChecked())


class ResultTables(QTabWidget):
    """Metrics, data, sub-groups, films not assessed and films with no hard call."""

    def __init__(self) -> None:
        super().__init__()
        # Every tab in sight: the last ones (films set apart) hid behind scroll arrows at a
        # 1500-pixel window; the panel is as wide as its tabs instead.
        self.setUsesScrollButtons(False)
        noop = QT_TRANSLATE_NOOP
        # Headers are translated when shown (RowsModel.headerData).
        self.metrics_model = self._add(
            (noop("ValidateTab", "Measure"), noop("ValidateTab", "Value"),
             noop("ValidateTab", "95% interval")), translate("ValidateTab", "Metrics"))
        self.classes_model = self._add(
            (noop("ValidateTab", "Class"), noop("ValidateTab", "Images"),
             noop("ValidateTab", "Assessed"), noop("ValidateTab", "Not assessed"),
             noop("ValidateTab", "Errors")), translate("ValidateTab", "Data"))
        self.subgroups_model = self._add(
            (noop("ValidateTab", "Sub-group"), "COVID", noop("ValidateTab", "Not COVID"),
             noop("ValidateTab", "Not assessed"), noop("ValidateTab", "AUC (95% CI)"),
             noop("ValidateTab", "Sensitivity"), noop("ValidateTab", "Specificity")),
            translate("ValidateTab", "By sub-group"))
        self.left_model = self._add(
            (noop("ValidateTab", "File"), noop("ValidateTab", "Class"),
             noop("ValidateTab", "Why")), translate("ValidateTab", "Not assessed"))
        self.indeterminate_model = self._add(
            (noop("ValidateTab", "File"), noop("ValidateTab", "Class"),
             noop("ValidateTab", "P(COVID)"), noop("ValidateTab", "Interval over views")),
            translate("ValidateTab", "Indeterminate"))

    def _add(self, headers: tuple[str, ...], title: str) -> RowsModel:
        model = RowsModel(headers, "ValidateTab", self)
        self.addTab(make_table(model), title)
        return model

    def clear_rows(self) -> None:
        """Empty every table (QTabWidget.clear would remove the tabs)."""
        for m in (self.metrics_model, self.classes_model, self.subgroups_model,
                  self.left_model, self.indeterminate_model):
            m.set_rows([])

    def show_analysis(self, analysis: SiteAnalysis, m: SiteMetrics) -> None:
        """The tables that do not move with the operating point."""
        self.classes_model.set_rows([
            (c.name + (" (COVID)" if c.positive else ""), integer(c.total), integer(c.assessed),
             integer(c.refused), integer(c.errors)) for c in m.classes])
        left = [(f.path.name, f.class_name, core_text(p.message))
                for f, p in not_assessed(analysis.run)]
        left += [(Path(p).name, "", core_text(why)) for p, why in analysis.run.labelled.excluded]
        self.left_model.set_rows(left)
        self.setTabText(3, translate("ValidateTab", "Not assessed ({0})")
                        .format(integer(len(left))))
        # no hard call (issue #21): listed apart; they stay in the metrics by their score
        apart = indeterminate(analysis.run)
        self.indeterminate_model.set_rows([
            (f.path.name, f.class_name, number(p.probability or 0.0, 3),
             f"{number(p.p_low or 0.0, 2)}–{number(p.p_high or 0.0, 2)}") for f, p in apart])
        self.setTabText(4, translate("ValidateTab", "Indeterminate ({0})")
                        .format(integer(len(apart))))

    def show_point(self, m: SiteMetrics) -> None:
        """The tables that move with the operating point."""
        pt = m.point
        rows = [("ROC AUC", *interval_texts(m.auc)), ("Threshold", number(pt.threshold, 4), "")]
        for label, iv in (("Sensitivity", pt.sensitivity), ("Specificity", pt.specificity),
                          ("PPV", pt.ppv), ("NPV", pt.npv), ("Accuracy", pt.accuracy)):
            rows.append((label, *interval_texts(iv)))
        tips = [translate("ValidateTab", METRIC_TIPS[r[0]]) if r[0] in METRIC_TIPS else ""
                for r in rows]
        self.metrics_model.set_rows(
            [(translate("ValidateTab", r[0]), *r[1:]) for r in rows], tips)
        self.subgroups_model.set_rows([
            (f"{s.key} = {s.value}", integer(s.positives), integer(s.negatives),
             integer(s.not_assessed), interval_text(s.auc), interval_text(s.sensitivity),
             interval_text(s.specificity)) for s in m.subgroups])


class ProfilesPanel(QGroupBox):
    """The site profiles of the library: use one, remove one."""

    def __init__(self, session: ValidateSession) -> None:
        super().__init__(translate("ValidateTab", "Site profiles"))
        self.session = session
        self.profiles_combo = QComboBox()
        self.use_profile_button = push_button(translate("ValidateTab", "Use"), self._use)
        self.remove_profile_button = push_button(translate("ValidateTab", "Remove"), self._remove)
        self.profiles_combo.currentIndexChanged.connect(lambda _i: self.update_buttons())
        row = QHBoxLayout(self)
        row.addWidget(self.profiles_combo, 1)
        row.addWidget(self.use_profile_button)
        row.addWidget(self.remove_profile_button)
        session.profilesChanged.connect(self.refresh)
        session.profileSaved.connect(lambda path: self.refresh(select=Path(path)))

    def refresh(self, select: Path | None = None) -> None:
        combo, active = self.profiles_combo, self.session.model_path
        current = select or combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        for e in self.session.library.profiles():
            mark = "✓ " if active is not None and e.path == active else ""
            combo.addItem(mark + e.label, str(e.path))
            combo.setItemData(combo.count() - 1, f"{e.path}\n{e.notes}",
                              Qt.ItemDataRole.ToolTipRole)
        if not combo.count():
            combo.setPlaceholderText(translate("ValidateTab",
                                               "none yet: validate, then save one"))
        i = combo.findData(str(current)) if current else -1
        combo.setCurrentIndex(max(i, 0) if combo.count() else -1)
        combo.blockSignals(False)
        self.update_buttons()

    def update_buttons(self) -> None:
        selected, active = self.profiles_combo.currentData(), self.session.model_path
        self.use_profile_button.setEnabled(bool(selected) and (
            active is None or Path(selected) != active))
        self.remove_profile_button.setEnabled(bool(selected))

    def _use(self) -> None:
        if path := self.profiles_combo.currentData():
            self.session.use_profile(path)

    def _remove(self) -> None:
        if path := self.profiles_combo.currentData():
            self.session.remove_profile(path)
