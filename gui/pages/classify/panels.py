"""The classify page's panels: the file table with its buttons, site banner and progress
bar (:class:`TablePanel`), and the image with its heat-map controls and facts
(:class:`ViewerPanel`).

Layout only: the panels hold no state of their own. The :class:`ClassifyPage` feeds them
from its session (progress) and from the selection (image, badge, facts), and connects
their buttons.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.answers.gradcam import HEATMAP_NOTE
from gui.i18n import integer, number, translate
from gui.i18n.core_text import core_text
from gui.pages.classify import jobs
from gui.pages.classify.metadata import MetadataPanel
from gui.pages.classify.results import (
    FILTERS,
    ElideRightDelegate,
    ResultsModel,
    ResultsProxy,
    filter_text,
)
from gui.pages.classify.session import FINDING, IDLE, LOADING_MODEL, QueueProgress
from gui.widgets.viewer import ScoreBadge, XRayViewer, controls_help, controls_short


class TablePanel(QWidget):
    """Open buttons and the decision filter, the site banner, the table, the progress."""

    def __init__(self, proxy: ResultsProxy, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._proxy = proxy
        self.open_files_button = QPushButton(translate("ClassifyPage", "Open files…"))
        self.open_folder_button = QPushButton(translate("ClassifyPage", "Open folder…"))
        self.filter_combo = QComboBox()
        for text, value in FILTERS:
            self.filter_combo.addItem(filter_text(text), value)
        self.filter_combo.setToolTip(translate("ClassifyPage", "Show only rows with this decision"))
        self.filter_combo.currentIndexChanged.connect(self._on_filter_changed)
        top = QHBoxLayout()
        top.addWidget(self.open_files_button)
        top.addWidget(self.open_folder_button)
        top.addStretch(1)
        top.addWidget(QLabel(translate("ClassifyPage", "Show:")))
        top.addWidget(self.filter_combo)

        self.table = QTableView()
        self.table.setModel(self._proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # input order until asked
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setIconSize(QSize(jobs.THUMB_PIXELS, jobs.THUMB_PIXELS))
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(jobs.THUMB_PIXELS + 4)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.resizeSection(ResultsModel.THUMB, jobs.THUMB_PIXELS + 8)
        header.resizeSection(ResultsModel.FILE, 205)
        # room for "0.246 (0.20–0.52)" and "INDETERMINATE  ⚠"
        header.resizeSection(ResultsModel.PROB, 118)
        header.resizeSection(ResultsModel.DECISION, 128)
        self.table.setItemDelegateForColumn(ResultsModel.STATUS, ElideRightDelegate(self.table))

        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat(translate("ClassifyPage", "idle"))
        self.rate_label = QLabel("")
        self.rate_label.setMinimumWidth(90)
        self.cancel_button = QPushButton(translate("ClassifyPage", "Cancel"))
        self.cancel_button.setEnabled(False)
        self.cancel_button.setToolTip(
            translate("ClassifyPage", "Stop classifying (files already done keep their result)"))
        bottom = QHBoxLayout()
        bottom.addWidget(self.progress, 1)
        bottom.addWidget(self.rate_label)
        bottom.addWidget(self.cancel_button)

        # The site check's answer for the last run (core.model.site), above the table.
        self.site_banner = QLabel("")
        self.site_banner.setWordWrap(True)
        self.site_button = QPushButton(translate("ClassifyPage", "Validate on these films…"))
        self.site_button.setToolTip(translate(
            "ClassifyPage", "Open the Validate tab on this folder: measure the model on your "
            "own labelled films and choose a threshold for this site"))
        self.site_box = QWidget()
        sb = QHBoxLayout(self.site_box)
        sb.setContentsMargins(0, 0, 0, 0)
        sb.addWidget(self.site_banner, 1)
        sb.addWidget(self.site_button)
        self.site_box.setVisible(False)

        lv = QVBoxLayout(self)
        lv.setContentsMargins(6, 6, 3, 6)
        lv.addLayout(top)
        lv.addWidget(self.site_box)
        lv.addWidget(self.table, 1)
        lv.addLayout(bottom)

    # ---------------------------------------------------------------- showing state
    @Slot(object)
    def show_progress(self, p: QueueProgress) -> None:
        """Progress bar, rate and Cancel button for where the queue stands."""
        bar = self.progress
        if p.phase == LOADING_MODEL:
            bar.setRange(0, 0)
            bar.setFormat(translate("ClassifyPage", "loading model…"))
            self.rate_label.setText(translate("ClassifyPage", "{0} waiting").format(
                integer(p.waiting)))
        elif p.phase == FINDING:
            bar.setRange(0, 0)
            bar.setFormat(translate("ClassifyPage", "finding files…"))
        elif p.phase == IDLE:
            bar.setRange(0, 1)
            bar.setValue(0)
            bar.setFormat(translate("ClassifyPage", "idle"))
            self.rate_label.setText("")
        else:
            bar.setRange(0, p.total)
            bar.setValue(min(p.done, p.total))
            bar.setFormat(f"{integer(p.done)} / {integer(p.total)}")
            if p.rate is not None:
                self.rate_label.setText(translate("ClassifyPage", "{0} img/s").format(
                    number(p.rate, 1)))
        self.cancel_button.setEnabled(p.cancellable)

    @Slot(str)
    def show_working(self, message: str) -> None:
        """Name the file being worked on (the progress bar's tooltip)."""
        self.progress.setToolTip(message)

    @Slot(int)
    def _on_filter_changed(self, index: int) -> None:
        self._proxy.set_decision(self.filter_combo.itemData(index))


class ViewerPanel(QSplitter):
    """The score badge, the image and its heat-map controls above the file's facts."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Vertical, parent)
        self.badge = ScoreBadge()
        self.viewer = XRayViewer()
        self.viewer.setMinimumSize(240, 240)
        self.heat_check = QCheckBox(translate("ClassifyPage", "Heat map (H)"))
        self.heat_check.setToolTip(core_text(HEATMAP_NOTE))
        self.heat_check.toggled.connect(self.viewer.set_heat_visible)
        self.viewer.heatToggled.connect(self._sync_heat_check)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setMaximumWidth(160)
        self.opacity_slider.setToolTip(translate("ClassifyPage", "Heat-map opacity"))
        self.opacity_slider.valueChanged.connect(lambda v: self.viewer.set_opacity(v / 100))
        self.heat_status = QLabel("")
        controls = QHBoxLayout()
        controls.addWidget(self.heat_check)
        controls.addWidget(QLabel(translate("ClassifyPage", "Opacity")))
        controls.addWidget(self.opacity_slider)
        controls.addWidget(self.heat_status, 1)
        self.heat_note = QLabel(core_text(HEATMAP_NOTE))
        self.heat_note.setWordWrap(True)
        self.heat_note.setStyleSheet("color: palette(placeholder-text); font-size: 11px;")
        self.help_label = QLabel(controls_short())
        self.help_label.setToolTip(controls_help())
        self.help_label.setWordWrap(True)
        self.help_label.setStyleSheet("color: palette(placeholder-text); font-size: 11px;")

        viewer_box = QWidget()
        vv = QVBoxLayout(viewer_box)
        vv.setContentsMargins(3, 6, 6, 0)
        vv.addWidget(self.badge)
        vv.addWidget(self.viewer, 1)
        vv.addLayout(controls)
        vv.addWidget(self.heat_note)
        vv.addWidget(self.help_label)

        self.metadata = MetadataPanel()
        meta_box = QWidget()
        mv = QVBoxLayout(meta_box)
        mv.setContentsMargins(3, 0, 6, 6)
        mv.addWidget(self.metadata)

        self.addWidget(viewer_box)
        self.addWidget(meta_box)
        self.setStretchFactor(0, 3)
        self.setStretchFactor(1, 1)
        self.setChildrenCollapsible(False)

    @Slot(bool)
    def _sync_heat_check(self, visible: bool) -> None:
        if self.heat_check.isChecked() != visible:
            self.heat_check.setChecked(visible)
