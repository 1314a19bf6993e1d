"""The classify page's results, filed: ``predicted.csv`` (as the command line writes it)
and, for DICOM films, a Structured Report and a heat-map Secondary Capture each
(``core.output.dicom_results``), on a worker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from gui.i18n import integer, translate
from gui.i18n.core_text import core_text
from gui.pages.classify import jobs
from gui.pages.classify.session import ClassifySession
from gui.services.workers import TaskSlot, Worker, WorkerSet


class Exports(QObject):
    """Export predicted.csv and DICOM results; what was written is said in ``status``."""

    #: An "Export DICOM results" ended: its ExportSummary, or None when it failed.
    dicomExported = Signal(object)
    #: A line for the status bar: (text, milliseconds to show it; 0 until replaced).
    status = Signal(str, int)
    #: The DICOM export may start (False while one runs).
    dicomReady = Signal(bool)

    def __init__(self, session: ClassifySession, workers: WorkerSet, settings: Any,
                 parent: QWidget) -> None:
        super().__init__(parent)
        self.session, self.results, self.settings = session, session.results, settings
        self._dicom_task = TaskSlot(workers, self)
        self._parent = parent

    # ---------------------------------------------------------------- predicted.csv
    @Slot()
    def choose_csv(self) -> None:
        title = translate("ClassifyPage", "Export predicted.csv")
        if not self.results.predictions():
            QMessageBox.information(self._parent, title,
                                    translate("ClassifyPage", "There are no results yet."))
            return
        start = str(Path(self.settings.last_folder) / "predicted.csv")
        path, _ = QFileDialog.getSaveFileName(self._parent, title, start,
                                              translate("ClassifyPage", "CSV files (*.csv)"))
        if not path:
            return
        try:
            self.export_csv(path)
        except OSError as exc:
            QMessageBox.warning(self._parent, title,
                                translate("ClassifyPage", "Could not write {0}:\n{1}")
                                .format(path, exc.strerror or exc))

    def export_csv(self, path: str | Path) -> int:
        """Write predicted.csv (``core.output.export.write_csv``) for every finished file."""
        from core.output.export import write_csv

        model = self.session.model
        name = model.display_name if model is not None else ""
        n = write_csv(path, self.results.predictions(), name, self.session.device)
        pending = len(self.results.rows) - n
        text = (translate("ClassifyPage", "wrote 1 row to {1}") if n == 1 else
                translate("ClassifyPage", "wrote {0} rows to {1}")).format(integer(n), path)
        if pending:
            text += (translate("ClassifyPage", " (1 file has no result yet)") if pending == 1
                     else translate("ClassifyPage", " ({0} files have no result yet)")
                     .format(integer(pending)))
        self.status.emit(text, 8000)
        return n

    # ---------------------------------------------------------------- DICOM results
    @Slot()
    def choose_dicom(self) -> None:
        title = translate("ClassifyPage", "Export DICOM results")
        from core.output.dicom_results import is_candidate

        if not any(is_candidate(p) for p in self.results.predictions()):
            QMessageBox.information(self._parent, title, translate(
                "ClassifyPage", "There is no DICOM film with a result yet: only DICOM inputs "
                "get DICOM results."))
            return
        if self.session.model is None:
            QMessageBox.information(self._parent, title,
                                    translate("ClassifyPage", "No model is loaded."))
            return
        folder = QFileDialog.getExistingDirectory(
            self._parent, translate("ClassifyPage", "Folder for the DICOM results"),
            self.settings.last_folder)
        if folder:
            self.export_dicom(folder)

    def export_dicom(self, folder: str | Path) -> Worker | None:
        """Write the DICOM results of every DICOM film into ``folder`` on a worker: each
        film is read again and explained, which takes a moment per film. ``status`` says
        what was written; returns the worker (tests wait for its ``finished``), or None
        when there is no model."""
        model = self.session.model
        if model is None:
            return None
        self.dicomReady.emit(False)
        self.status.emit(translate("ClassifyPage", "writing DICOM results…"), 0)
        worker = Worker(jobs.dicom_export_job, self.results.predictions(), model, Path(folder),
                        parent=self)
        self._dicom_task.start(
            worker, returned=lambda summary: self._on_dicom_exported(summary, Path(folder)),
            errored=lambda exc: self._on_dicom_export_failed(exc, Path(folder)),
            finished=lambda: self.dicomReady.emit(True))
        return worker

    def _on_dicom_exported(self, summary: Any, folder: Path) -> None:
        """Say what the export did: results written, inputs that get none and why."""
        n = len(summary.written)
        parts = [(translate("ClassifyPage", "1 DICOM result (SR + SC) written to {1}") if n == 1
                  else translate("ClassifyPage", "{0} DICOM results (SR + SC) written to {1}"))
                 .format(integer(n), folder)]
        if summary.not_dicom:
            parts.append((translate("ClassifyPage", "1 non-DICOM input gets none")
                          if summary.not_dicom == 1 else
                          translate("ClassifyPage", "{0} non-DICOM inputs get none"))
                         .format(integer(summary.not_dicom)))
        if summary.unreadable:
            parts.append(translate("ClassifyPage", "{0} unreadable")
                         .format(integer(summary.unreadable)))
        if summary.failed:
            parts.append(translate("ClassifyPage", "{0} failed")
                         .format(integer(len(summary.failed))))
            details = "\n".join(f"{Path(p).name}: {core_text(why)}" for p, why in summary.failed)
            QMessageBox.warning(self._parent, translate("ClassifyPage", "Export DICOM results"),
                                "; ".join(parts) + "\n\n" + details)
        self.status.emit("; ".join(parts), 15000)
        self.dicomExported.emit(summary)

    def _on_dicom_export_failed(self, exc: BaseException, folder: Path) -> None:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        self.status.emit("", 0)
        QMessageBox.warning(self._parent, translate("ClassifyPage", "Export DICOM results"),
                            translate("ClassifyPage", "Could not write to {0}:\n{1}")
                            .format(folder, why))
        self.dicomExported.emit(None)
