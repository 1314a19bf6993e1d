"""The classify page's link to a PACS: File ▸ PACS… (find and retrieve, pacs_dialog) and
File ▸ Send results to PACS… (each DICOM film's SR and SC written, then sent by C-STORE),
with a retry for what the PACS did not take. Every association runs on a worker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QMessageBox, QWidget

from gui.i18n import integer, translate
from gui.pages.classify import pacs_jobs
from gui.pages.classify.pacs_dialog import PacsDialog
from gui.pages.classify.session import ClassifySession
from gui.services.workers import TaskSlot, Worker, WorkerSet


class PacsLink(QObject):
    """Owns the PACS dialog and the sends; the page connects ``filesRetrieved``."""

    # Films fetched from the PACS (list[str]): the page classifies them like a drop.
    filesRetrieved = Signal(list)
    # A send ended: its pacs_jobs.SendResult, or None when it failed as a whole.
    sent = Signal(object)
    # A line for the status bar: (text, milliseconds; 0 until replaced).
    status = Signal(str, int)
    # Whether unsent results wait in the outbox (the retry action follows it).
    retryReady = Signal(bool)

    def __init__(self, session: ClassifySession, workers: WorkerSet, parent: QWidget) -> None:
        super().__init__(parent)
        self.session, self.workers, self._parent = session, workers, parent
        self._send_task = TaskSlot(workers, self)
        self.dialog: PacsDialog | None = None
        # The last warning shown (a send that failed in part or as a whole).
        self.warning: QMessageBox | None = None

    @property
    def busy(self) -> bool:
        """A send is running."""
        return self._send_task.busy()

    # ---------------------------------------------------------------- find and retrieve
    @Slot()
    def show_dialog(self) -> PacsDialog:
        """Open (or raise) the PACS dialog; it is not modal, the window stays usable."""
        if self.dialog is None:
            self.dialog = PacsDialog(self.workers, self._parent)
            self.dialog.filmsRetrieved.connect(self.filesRetrieved)
        self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()
        # With a PACS set, the search is what the user came for.
        (self.dialog.name_edit if self.dialog.pacs_edit.text() else
         self.dialog.pacs_edit).setFocus()
        return self.dialog

    # ---------------------------------------------------------------- send
    def outbox(self, settings: Any) -> Path:
        return Path(settings.spool_path) / "window-outbox"

    def _target(self) -> tuple[Any, Any] | None:
        from core.pacs.settings import PacsError, load_settings

        title = translate("PacsLink", "Send results to PACS")
        try:
            s = load_settings()
        except PacsError as exc:
            QMessageBox.warning(self._parent, title, str(exc))
            return None
        if s.send_to is None:
            QMessageBox.information(self._parent, title, translate(
                "PacsLink", "No PACS is set: open File ▸ PACS…, name the PACS (or where "
                "results go) and save the settings."))
            return None
        return s.send_to, s

    @Slot()
    def choose_send(self) -> Worker | None:
        from core.output.dicom_results import is_candidate

        preds = self.session.results.predictions()
        if not any(is_candidate(p) for p in preds) or self.session.model is None:
            QMessageBox.information(self._parent, translate("PacsLink", "Send results to PACS"),
                                    translate("PacsLink", "There is no DICOM film with a "
                                              "result yet: only DICOM inputs get DICOM results."))
            return None
        return self.send_results()

    def send_results(self) -> Worker | None:
        """Write each DICOM film's SR and SC and send them, on a worker; returns it (tests
        wait for its ``finished``), or None when there is nowhere to send."""
        target = self._target()
        if target is None or self.session.model is None:
            return None
        peer, s = target
        self.status.emit(translate("PacsLink", "sending results to {0}…").format(peer), 0)
        worker = Worker(pacs_jobs.send_results_job, self.session.results.predictions(),
                        self.session.model, self.outbox(s), peer, s, parent=self)
        return self._send_task.start(worker, returned=self._on_sent, errored=self._on_failed)

    @Slot()
    def retry(self) -> Worker | None:
        """Send again what the PACS did not take."""
        target = self._target()
        if target is None:
            return None
        peer, s = target
        self.status.emit(translate("PacsLink", "sending results to {0}…").format(peer), 0)
        worker = Worker(pacs_jobs.resend_job, self.outbox(s), peer, s, parent=self)
        return self._send_task.start(worker, returned=self._on_sent, errored=self._on_failed)

    def _on_sent(self, result: pacs_jobs.SendResult) -> None:
        report = result.report
        n, total = len(report.sent), len(report.objects)
        text = translate("PacsLink", "{0} of {1} result objects sent to {2}").format(
            integer(n), integer(total), report.peer)
        if report.failed:
            text += translate("PacsLink", "; {0} not sent, kept in {1} (File ▸ Retry sending "
                              "results)").format(integer(len(report.failed)), result.folder)
            details = "\n".join(f"{Path(o.path).name}: {o.status} {o.message}".strip()
                                for o in report.failed[:20])
            self._warn(text + "\n\n" + details)
        if result.summary is not None and result.summary.failed:
            text += translate("PacsLink", "; {0} films got no result").format(
                integer(len(result.summary.failed)))
        self.status.emit(text, 15000)
        self.retryReady.emit(bool(report.failed))
        self.sent.emit(result)

    def _on_failed(self, exc: BaseException) -> None:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        self.status.emit("", 0)
        self._warn(translate("PacsLink", "Nothing was sent: {0}").format(why))
        self.sent.emit(None)

    def _warn(self, text: str) -> None:
        """A warning that does not block the window (a send ends while the user works)."""
        box = QMessageBox(QMessageBox.Icon.Warning, translate("PacsLink", "Send results to PACS"),
                          text, QMessageBox.StandardButton.Ok, self._parent)
        box.open()
        self.warning = box
