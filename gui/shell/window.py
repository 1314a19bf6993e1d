"""The main window: the frame the pages live in.

It holds the tabs, the menus, the status bar, the settings and the window state, and the
one :class:`WorkerSet` every page's work runs on. The classify page is always its first
tab (files dropped on the window or named on the command line go there, and its model is
the one the other pages measure and replace); the Train and Validate pages plug in with
their ``install`` (see :func:`gui.shell.app.install_pages`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
)
from PySide6.QtWidgets import QFrame, QMainWindow, QMessageBox, QTabWidget, QWidget

from core.resources import default_model_path
from gui.i18n import ENGLISH, SPANISH, SYSTEM, translate
from gui.pages.classify.page import ClassifyPage
from gui.services.workers import WorkerSet
from gui.shell.about import AboutDialog
from gui.shell.settings import Settings
from gui.widgets.viewer import controls_help

TITLE = "CovidCXR"


class MainWindow(QMainWindow):
    #: The first time the window paints (start-up benchmark; starts the model load).
    firstPainted = Signal()

    def __init__(self, settings: Settings | None = None, model_path: str | Path | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings if settings is not None else Settings()
        self.setWindowTitle(translate(
            "MainWindow", "{0} — chest X-ray classifier (research use only)").format(TITLE))
        self.setAcceptDrops(True)
        self.workers = WorkerSet(self)
        self._painted = False
        self._closing = False

        self.tabs = QTabWidget()
        self.tabs.setTabBarAutoHide(True)
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)
        self.classify = ClassifyPage(
            self.settings, self.workers,
            Path(model_path) if model_path else default_model_path(), self)
        self.tabs.addTab(self.classify, translate("MainWindow", "Classify"))
        self.classify.status.connect(self._show_status)
        self._build_status_bar()
        self._build_menus()
        self._restore_settings()

    # ---------------------------------------------------------------- construction
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        for i, label in enumerate(self.classify.status_widgets):
            if i:
                line = QFrame()
                line.setFrameShape(QFrame.Shape.VLine)
                line.setFrameShadow(QFrame.Shadow.Sunken)
                bar.addPermanentWidget(line)
            bar.addPermanentWidget(label)

    def _action(self, text: str, slot: Any, shortcut: Any = None) -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        a.triggered.connect(slot)
        return a

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu(translate("MainWindow", "&File"))
        quit_action = self._action(translate("MainWindow", "&Quit"), self.close,
                                   QKeySequence.StandardKey.Quit)
        for a in (*self.classify.file_actions, None, quit_action):
            file_menu.addSeparator() if a is None else file_menu.addAction(a)

        view_menu = self.menuBar().addMenu(translate("MainWindow", "&View"))
        for a in self.classify.view_actions:
            view_menu.addAction(a)
        view_menu.addSeparator()
        self._build_language_menu(view_menu.addMenu(translate("MainWindow", "&Language")))

        help_menu = self.menuBar().addMenu(translate("MainWindow", "&Help"))
        help_menu.addAction(self._action(translate("MainWindow", "&Viewer controls"),
                                         self._show_controls_help, "F1"))
        help_menu.addAction(self._action(translate("MainWindow", "&About CovidCXR…"),
                                         self.show_about))

    def _build_language_menu(self, menu: Any) -> None:
        """System / English / Español, kept in the settings; applies at the next start (the
        whole window would otherwise have to rebuild its texts), which the menu says."""
        group = QActionGroup(self)
        group.setExclusive(True)
        self.language_actions: dict[str, QAction] = {}
        # Each language is named in its own words, so it can be found in any language.
        for code, text in ((SYSTEM, translate("MainWindow", "System language")),
                           (ENGLISH, "English"), (SPANISH, "Español")):
            a = QAction(text, self)
            a.setCheckable(True)
            a.setChecked(code == self.settings.language)
            a.triggered.connect(lambda _checked=False, c=code: self.set_language(c))
            group.addAction(a)
            menu.addAction(a)
            self.language_actions[code] = a
        menu.addSeparator()
        note = menu.addAction(translate("MainWindow", "Applies when CovidCXR starts again"))
        note.setEnabled(False)

    def _restore_settings(self) -> None:
        s = self.settings
        if (g := s.geometry()) is not None:
            self.restoreGeometry(g)
        else:
            self.resize(1280, 800)
        if (st := s.window_state()) is not None:
            self.restoreState(st)
        self.classify.restore_settings()

    # ---------------------------------------------------------------- public API
    def add_tab(self, widget: QWidget, title: str) -> int:
        """Add a page (e.g. training) after the classify page; returns its index."""
        return self.tabs.addTab(widget, title)

    @Slot()
    def start(self) -> None:
        """What waits for the first paint, so the window shows before TensorFlow and
        pyqtgraph are imported: the classify page's model load."""
        self.classify.start()

    def open_paths(self, paths: list[str] | list[Path]) -> None:
        """Classify files and folders (drops, the command line) on the classify page."""
        self.classify.open_paths(paths)

    @Slot(str)
    def set_language(self, language: str) -> None:
        """Keep the language chosen in View > Language; the window speaks it from its next
        start."""
        self.settings.language = language
        self.settings.sync()
        self.statusBar().showMessage(
            translate("MainWindow", "The language changes when CovidCXR starts again."), 8000)

    @Slot(str, int)
    def _show_status(self, text: str, timeout: int) -> None:
        if text:
            self.statusBar().showMessage(text, timeout)
        else:
            self.statusBar().clearMessage()

    # ---------------------------------------------------------------- drag and drop
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)
        else:
            event.ignore()

    # ---------------------------------------------------------------- help
    @Slot()
    def _show_controls_help(self) -> None:
        QMessageBox.information(self, translate("MainWindow", "Viewer controls"),
                                controls_help().replace(" · ", "\n"))

    def about_dialog(self) -> AboutDialog:
        """About CovidCXR: the model the classify page uses, its card and the device."""
        s = self.classify.session
        card, note = None, s.model_note
        if s.model is not None:
            card = s.model.card
        else:
            from core.errors import ModelError
            from core.model.disk import read_card

            try:
                card = read_card(s.model_path)
                note = note or translate("MainWindow", "the model is still loading")
            except ModelError as exc:
                note = note or str(exc)
        return AboutDialog(card, note, s.device, self)

    @Slot()
    def show_about(self) -> None:
        self.about_dialog().exec()

    # ---------------------------------------------------------------- events
    def paintEvent(self, event) -> None:  # noqa: N802
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            self.firstPainted.emit()
            QTimer.singleShot(0, self.start)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        """Save the layout, then stop every worker and wait for it (no thread outlives us)."""
        if not self._closing:
            self._closing = True
            splitters = self.classify.save_settings()
            self.settings.save_window(self.saveGeometry(), self.saveState(), splitters)
            self.settings.sync()
            self.hide()
            self.classify.shutdown()
            self.workers.stop_all()
        event.accept()
