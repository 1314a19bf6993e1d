"""The selected row on screen: its image, heat map, lung outline, badge and facts.

Two long-lived workers serve queues of requests (``jobs.image_loop`` for the viewer,
``jobs.thumbnail_loop`` for the table's icons); they idle on a condition variable and
start with the first request. An image still being read when the selection moves arrives
after the new request was made: the token is how a stale answer is recognised.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelection, QObject, Signal, Slot
from PySide6.QtGui import QImage

from gui.i18n import translate
from gui.i18n.core_text import core_text
from gui.pages.classify import jobs
from gui.pages.classify.panels import TablePanel, ViewerPanel
from gui.pages.classify.results import ResultsProxy
from gui.pages.classify.session import MISSING, ClassifySession
from gui.services.workers import Worker, WorkerSet


class Viewing(QObject):
    """Follows the table's selection and shows that row in the viewer panel."""

    #: The selected image (and its heat map, when there is a model) is on screen.
    imageShown = Signal(str)
    heatmapShown = Signal(str)

    def __init__(self, session: ClassifySession, proxy: ResultsProxy, table: TablePanel,
                 view: ViewerPanel, workers: WorkerSet, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.session, self.results, self.proxy = session, session.results, proxy
        self.table, self.view, self.workers = table.table, view, workers
        self._token = 0
        self.current_row: int | None = None
        self._closing = False
        self._thumb_requests = jobs.Requests()
        self._view_requests = jobs.Requests(latest_only=True)
        self._thumb_worker = Worker(jobs.thumbnail_loop, self._thumb_requests, parent=self)
        self._thumb_worker.yielded.connect(self._on_thumbnail)
        self._view_worker = Worker(jobs.image_loop, self._view_requests, parent=self)
        self._view_worker.yielded.connect(self._on_view_result)
        self.results.thumbnailWanted.connect(self._thumb_requests.put)
        self._loops_started = False
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)

    def _ensure_loops(self) -> None:
        if not self._loops_started and not self._closing:
            self._loops_started = True
            self.workers.start(self._thumb_worker)
            self.workers.start(self._view_worker)

    def close(self) -> None:
        """No new loop starts (the window is closing; its WorkerSet stops the running ones)."""
        self._closing = True

    @Slot(QItemSelection, QItemSelection)
    def _on_selection_changed(self, _selected: QItemSelection, _deselected: QItemSelection
                              ) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            self.current_row = None
            self.view.badge.set_prediction(None)
            self.view.metadata.clear()
            self.view.viewer.show_message(translate("ClassifyPage",
                                                    "Select a row to see the image."))
            return
        self.current_row = self.proxy.mapToSource(rows[0]).row()
        self.refresh()

    def select_source_row(self, row: int) -> None:
        """Select the row of the source model's ``row`` (tests, programmatic selection)."""
        index = self.proxy.mapFromSource(self.results.index(row, 0))
        if index.isValid():
            self.table.selectRow(index.row())

    def select_first_if_none(self) -> None:
        if self.table.selectionModel().currentIndex().row() < 0 and self.proxy.rowCount():
            self.table.selectRow(0)

    def refresh(self) -> None:
        """Show the selected row again (its result arrived, or the model changed)."""
        i = self.current_row
        if i is None or i >= len(self.results.rows):
            return
        v = self.view
        row = self.results.row(i)
        pred = row.prediction
        v.badge.set_prediction(pred, note=f"{row.path.name}: {row.status_text}")
        v.metadata.set_file(str(row.path), pred, pred.info if pred is not None else None)
        loaded = self.session.model
        model = loaded if pred is not None and pred.ok and loaded is not None else None
        if model is None:
            why = (translate("ClassifyPage", "no heat map: no model")
                   if self.session.model_state == MISSING else
                   translate("ClassifyPage", "no heat map: waiting for the result")
                   if pred is None else
                   translate("ClassifyPage", "no heat map: file could not be read")
                   if not pred.ok else "")
            v.heat_status.setText(why)
        else:
            v.heat_status.setText(translate("ClassifyPage", "heat map: computing…"))
        self._token += 1
        self._ensure_loops()
        # The heat map always explains P(COVID), the score shown, whatever the decision: for
        # a one-output network the "NOT COVID" map is only where that evidence is negative.
        self._view_requests.put(jobs.ViewRequest(self._token, str(row.path), model))

    @Slot(object)
    def _on_view_result(self, item: jobs.LoadedImage | jobs.ExplainedImage) -> None:
        if item.token != self._token:
            return  # the user has moved on to another row
        v = self.view
        if isinstance(item, jobs.LoadedImage):
            if item.pixels is None:
                v.viewer.show_message(translate("ClassifyPage", "Cannot show {0}:\n{1}")
                                      .format(Path(item.path).name, core_text(item.error)))
            else:
                v.viewer.set_image(item.pixels, item.shape)
                if self.current_row is not None:
                    row = self.results.row(self.current_row)
                    v.metadata.set_file(str(row.path), row.prediction, item.info)
            self.imageShown.emit(item.path)
            return
        found: Any = item.heatmap
        if found is None:
            v.heat_status.setText(core_text(item.error))
        else:
            v.viewer.set_heatmap(found.heat, found.box)
            if found.lungs is not None:
                v.viewer.set_lungs(found.lungs)
            if float(found.heat.max()) > 0.0:
                v.heat_status.setText(translate("ClassifyPage", "heat map: evidence for {0}")
                                      .format(core_text(found.explains)))
            else:
                v.heat_status.setText(translate("ClassifyPage", "heat map: no region raised P({0})")
                                      .format(found.explains))
        self.heatmapShown.emit(item.path)

    @Slot(object)
    def _on_thumbnail(self, item: tuple[str, QImage | None]) -> None:
        path, image = item
        if image is not None:
            self.results.set_thumbnail(path, image)
