"""File ▸ PACS…: the node's settings (the same file ``covidcxr listen`` reads), a study
search (C-FIND by patient, date and modality) and the retrieve of the chosen studies' films,
which the classify page then takes as if they were dropped on the window.

The dialog holds no network code: each call runs as a job on a worker (pacs_jobs), one at
a time, and the dialog only shows what the job returns."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QDate,
    QModelIndex,
    QObject,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from gui.i18n import integer, translate
from gui.pages.classify import pacs_jobs
from gui.services.workers import TaskSlot, Worker, WorkerSet

COLUMNS = ("Patient", "Patient ID", "Date", "Modalities", "Description", "Films")


class StudiesModel(QAbstractTableModel):
    """The studies a search found (core.pacs.scu.Study), one row each."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.studies: list[Any] = []
        self._headers = (translate("PacsDialog", "Patient"),
                         translate("PacsDialog", "Patient ID"),
                         translate("PacsDialog", "Date"),
                         translate("PacsDialog", "Modalities"),
                         translate("PacsDialog", "Description"),
                         translate("PacsDialog", "Films"))

    def set_studies(self, studies: list[Any]) -> None:
        self.beginResetModel()
        self.studies = list(studies)
        self.endResetModel()

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.studies)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self._headers[section]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role not in (Qt.ItemDataRole.DisplayRole,
                                               Qt.ItemDataRole.ToolTipRole):
            return None
        st = self.studies[index.row()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return st.study_instance_uid
        date = st.study_date
        if len(date) == 8 and date.isdigit():
            date = f"{date[:4]}-{date[4:6]}-{date[6:]}"
        values = (st.patient_name.replace("^", " "), st.patient_id, date,
                  "/".join(st.modalities), st.description,
                  "" if st.instances is None else integer(st.instances))
        return values[index.column()]


class PacsDialog(QDialog):
    """Settings, search and retrieve; ``filmsRetrieved`` hands the films to the page."""

    # The films of a retrieve, on disk (list[str]).
    filmsRetrieved = Signal(list)
    # A search ended: the number of studies found, or -1 when it failed.
    searched = Signal(int)
    # A retrieve ended (its pacs_jobs.RetrieveResult), or None when it failed.
    retrieved = Signal(object)

    def __init__(self, workers: WorkerSet, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(translate("PacsDialog", "PACS"))
        self._task = TaskSlot(workers, self)
        self._task.busyChanged.connect(self._busy)
        self.model = StudiesModel(self)
        layout = QVBoxLayout(self)
        layout.addWidget(self._settings_box())
        layout.addWidget(self._search_box())
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.doubleClicked.connect(lambda _i: self.retrieve_selected())
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.message = QLabel()
        self.message.setWordWrap(True)
        row.addWidget(self.message, 1)
        self.retrieve_button = QPushButton(translate("PacsDialog", "&Retrieve and classify"))
        self.retrieve_button.setToolTip(translate(
            "PacsDialog", "Fetch the CR and DX films of the selected studies and classify "
            "them, as if they were dropped on the window"))
        self.retrieve_button.clicked.connect(self.retrieve_selected)
        self.stop_button = QPushButton(translate("PacsDialog", "Stop"))
        self.stop_button.clicked.connect(self.stop)
        self.stop_button.setEnabled(False)
        row.addWidget(self.retrieve_button)
        row.addWidget(self.stop_button)
        layout.addLayout(row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)
        # Enter in the search fields searches; no other button takes Enter.
        for b in (self.save_button, self.echo_button, self.retrieve_button, self.stop_button):
            b.setAutoDefault(False)
        self.resize(860, 640)
        self.load_settings()

    # ---------------------------------------------------------------- construction
    def _settings_box(self) -> QGroupBox:
        box = QGroupBox(translate("PacsDialog", "Connection (shared with covidcxr listen)"))
        form = QFormLayout(box)
        self.pacs_edit = QLineEdit()
        self.pacs_edit.setPlaceholderText("PACS@10.0.0.5:104")
        form.addRow(translate("PacsDialog", "PACS (AE@host:port):"), self.pacs_edit)
        self.ae_edit = QLineEdit()
        form.addRow(translate("PacsDialog", "Our AE title:"), self.ae_edit)
        self.method_combo = QComboBox()
        self.method_combo.addItem(translate("PacsDialog", "C-GET (no port opened here)"), "get")
        self.method_combo.addItem(translate("PacsDialog", "C-MOVE (the PACS connects back to "
                                            "us)"), "move")
        form.addRow(translate("PacsDialog", "Retrieve with:"), self.method_combo)
        listen = QHBoxLayout()
        self.host_edit = QLineEdit()
        self.port_spin = QSpinBox()
        self.port_spin.setRange(1, 65535)
        listen.addWidget(self.host_edit, 1)
        listen.addWidget(QLabel(translate("PacsDialog", "port")))
        listen.addWidget(self.port_spin)
        form.addRow(translate("PacsDialog", "We listen on:"), listen)
        self.allowed_edit = QLineEdit()
        self.allowed_edit.setPlaceholderText("PACS,MODALITY1")
        form.addRow(translate("PacsDialog", "Accepted calling AE titles:"), self.allowed_edit)
        self.destination_edit = QLineEdit()
        self.destination_edit.setPlaceholderText(translate("PacsDialog", "empty: the PACS above"))
        form.addRow(translate("PacsDialog", "Send results to:"), self.destination_edit)
        buttons = QHBoxLayout()
        self.save_button = QPushButton(translate("PacsDialog", "&Save settings"))
        self.save_button.clicked.connect(self.save_settings)
        self.echo_button = QPushButton(translate("PacsDialog", "&Test connection"))
        self.echo_button.clicked.connect(self.test_connection)
        buttons.addStretch(1)
        buttons.addWidget(self.echo_button)
        buttons.addWidget(self.save_button)
        form.addRow(buttons)
        return box

    def _search_box(self) -> QGroupBox:
        box = QGroupBox(translate("PacsDialog", "Find studies"))
        form = QFormLayout(box)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText(translate("PacsDialog", "e.g. Doe* (wildcards * ?)"))
        form.addRow(translate("PacsDialog", "Patient name:"), self.name_edit)
        self.id_edit = QLineEdit()
        form.addRow(translate("PacsDialog", "Patient ID:"), self.id_edit)
        dates = QHBoxLayout()
        self.any_date = QCheckBox(translate("PacsDialog", "Any date"))
        self.any_date.setChecked(True)
        self.date_from, self.date_to = QDateEdit(), QDateEdit()
        for d in (self.date_from, self.date_to):
            d.setCalendarPopup(True)
            d.setDisplayFormat("yyyy-MM-dd")
            d.setDate(QDate.currentDate())
            d.setEnabled(False)
            self.any_date.toggled.connect(lambda on, d=d: d.setEnabled(not on))
        self.date_from.setDate(QDate.currentDate().addMonths(-1))
        dates.addWidget(self.any_date)
        dates.addWidget(self.date_from)
        dates.addWidget(QLabel("–"))
        dates.addWidget(self.date_to)
        dates.addStretch(1)
        form.addRow(translate("PacsDialog", "Study date:"), dates)
        mods = QHBoxLayout()
        self.cr_box, self.dx_box = QCheckBox("CR"), QCheckBox("DX")
        for b in (self.cr_box, self.dx_box):
            b.setChecked(True)
            mods.addWidget(b)
        mods.addStretch(1)
        self.find_button = QPushButton(translate("PacsDialog", "&Find"))
        self.find_button.setDefault(True)
        self.find_button.clicked.connect(self.find)
        mods.addWidget(self.find_button)
        form.addRow(translate("PacsDialog", "Modality:"), mods)
        return box

    # ---------------------------------------------------------------- settings
    def load_settings(self) -> None:
        from core.pacs.settings import PacsError, load_settings

        try:
            s = load_settings()
        except PacsError as exc:
            self._say(str(exc), error=True)
            from core.pacs.settings import NodeSettings

            s = NodeSettings()
        self.pacs_edit.setText(str(s.pacs) if s.pacs else "")
        self.ae_edit.setText(s.ae_title)
        self.method_combo.setCurrentIndex(max(0, self.method_combo.findData(s.retrieve_method)))
        self.host_edit.setText(s.host)
        self.port_spin.setValue(s.port)
        self.allowed_edit.setText(",".join(s.allowed))
        self.destination_edit.setText(str(s.destination) if s.destination else "")

    def settings(self) -> Any:
        """The settings as the form shows them, checked (core.pacs.settings.PacsError)."""
        from core.pacs.settings import load_settings, parse_peer, parse_titles

        try:
            saved = load_settings()
        except Exception:
            from core.pacs.settings import NodeSettings

            saved = NodeSettings()
        pacs = self.pacs_edit.text().strip()
        dest = self.destination_edit.text().strip()
        return replace(
            saved, ae_title=self.ae_edit.text(), host=self.host_edit.text(),
            port=self.port_spin.value(), retrieve_method=self.method_combo.currentData(),
            allowed=parse_titles(self.allowed_edit.text()),
            pacs=parse_peer(pacs, "PACS") if pacs else None,
            destination=parse_peer(dest, "destination") if dest else None).checked()

    def _checked_settings(self) -> Any:
        from core.pacs.settings import PacsError

        try:
            return self.settings()
        except PacsError as exc:
            self._say(str(exc), error=True)
            return None

    @Slot()
    def save_settings(self) -> bool:
        from core.pacs.settings import save_settings

        s = self._checked_settings()
        if s is None:
            return False
        try:
            path = save_settings(s)
        except OSError as exc:
            self._say(translate("PacsDialog", "Could not save the settings: {0}")
                      .format(exc.strerror or exc), error=True)
            return False
        self._say(translate("PacsDialog", "Settings saved in {0}").format(path))
        return True

    def _pacs(self) -> tuple[Any, Any] | None:
        s = self._checked_settings()
        if s is None:
            return None
        if s.pacs is None:
            self._say(translate("PacsDialog", "Name the PACS first: its AE title, host and "
                                "port, as AE@host:port."), error=True)
            return None
        return s.pacs, s

    # ---------------------------------------------------------------- the calls
    def query(self) -> Any:
        from core.pacs.scu import StudyQuery

        dates = ("", "") if self.any_date.isChecked() else (
            self.date_from.date().toString("yyyyMMdd"), self.date_to.date().toString("yyyyMMdd"))
        mods = tuple(m for m, b in (("CR", self.cr_box), ("DX", self.dx_box)) if b.isChecked())
        return StudyQuery(patient_name=self.name_edit.text().strip(),
                          patient_id=self.id_edit.text().strip(),
                          date_from=dates[0], date_to=dates[1], modalities=mods)

    @Slot()
    def test_connection(self) -> Worker | None:
        target = self._pacs()
        if target is None:
            return None
        peer, s = target
        self._say(translate("PacsDialog", "Calling {0}…").format(peer))
        worker = Worker(pacs_jobs.echo_job, peer, s, parent=self)
        return self._task.start(
            worker, returned=lambda t: self._say(translate(
                "PacsDialog", "{0} answers ({1} ms).").format(peer, integer(round(1000 * t)))),
            errored=self._failed)

    @Slot()
    def find(self) -> Worker | None:
        """Search the PACS on a worker; the table fills when it answers."""
        target = self._pacs()
        if target is None:
            return None
        peer, s = target
        self._say(translate("PacsDialog", "Searching {0}…").format(peer))
        worker = Worker(pacs_jobs.find_job, peer, s, self.query(), parent=self)
        return self._task.start(worker, returned=self._found,
                                errored=lambda exc: (self._failed(exc), self.searched.emit(-1)))

    def _found(self, studies: list[Any]) -> None:
        self.model.set_studies(studies)
        if studies:
            self.table.selectRow(0)
        self._say(translate("PacsDialog", "{0} studies found.").format(integer(len(studies))))
        self.searched.emit(len(studies))

    def select_studies(self, rows: list[int]) -> None:
        sel = self.table.selectionModel()
        sel.clear()
        for r in rows:
            self.table.selectRow(r)

    def selected_studies(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.model.studies[r].study_instance_uid for r in rows]

    @Slot()
    def retrieve_selected(self) -> Worker | None:
        """Fetch the selected studies' films on a worker, then hand them to the page."""
        uids = self.selected_studies()
        if not uids:
            self._say(translate("PacsDialog", "Select one or more studies first."), error=True)
            return None
        target = self._pacs()
        if target is None:
            return None
        peer, s = target
        folder = s.spool_path / "retrieved"
        self._say(translate("PacsDialog", "Retrieving {0} studies from {1}…")
                  .format(integer(len(uids)), peer))
        worker = Worker(pacs_jobs.retrieve_job, peer, s, uids, folder, parent=self)
        return self._task.start(
            worker, returned=self._retrieved,
            errored=lambda exc: (self._failed(exc), self.retrieved.emit(None)),
            progress=lambda done, total, _m: self._say(translate(
                "PacsDialog", "Retrieving: {0} films so far…").format(integer(done)))
            if total < 0 else None)

    def _retrieved(self, result: pacs_jobs.RetrieveResult) -> None:
        text = translate("PacsDialog", "{0} films retrieved and sent to the table.").format(
            integer(len(result.files)))
        if result.failed or result.messages:
            text += " " + translate("PacsDialog", "{0} could not be fetched: {1}").format(
                integer(result.failed), "; ".join(result.messages))
        self._say(text, error=bool(result.failed or result.messages))
        if result.files:
            self.filmsRetrieved.emit([str(f) for f in result.files])
        self.retrieved.emit(result)

    @Slot()
    def stop(self) -> None:
        self._task.cancel()
        self._say(translate("PacsDialog", "Stopped."))

    # ---------------------------------------------------------------- showing
    def _failed(self, exc: BaseException) -> None:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        self._say(why, error=True)

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #b00020;" if error else "")

    def _busy(self, busy: bool) -> None:
        for b in (self.find_button, self.retrieve_button, self.echo_button):
            b.setEnabled(not busy)
        self.stop_button.setEnabled(busy)

    def closeEvent(self, event) -> None:  # noqa: N802
        """A call in flight is stopped (its thread ends on its own; the WorkerSet keeps it)."""
        self._task.cancel()
        super().closeEvent(event)
