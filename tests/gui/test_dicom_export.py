"""File > Export DICOM results…: the same SR and SC as ``classify --dicom-out``, written on a
worker, and what the status bar says about inputs that get none."""

from __future__ import annotations

import shutil

import numpy as np
import pydicom
from guitest_helpers import TIMEOUT_MS, wait_done
from PIL import Image
from pydicom.uid import ComprehensiveSRStorage
from PySide6.QtWidgets import QFileDialog, QMessageBox

from tests.test_dicom_results import film_dicom


def test_export_dicom_results_writes_an_sr_and_an_sc_per_dicom_film(
        window, qtbot, tmp_path, data_dir, monkeypatch):
    folder = tmp_path / "films"
    folder.mkdir()
    grey = np.asarray(Image.open(data_dir / "covid-2782.png").convert("L"))
    dcm = film_dicom(folder / "a.dcm", grey)
    shutil.copyfile(data_dir / "normal-rsna-4627.png", folder / "b.png")
    wait_done(qtbot, window, lambda: window.open_paths([folder]))

    out = tmp_path / "pacs"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *a, **k: str(out)))
    with qtbot.waitSignal(window.classify.dicomExported, timeout=TIMEOUT_MS) as blocker:
        window.classify.export_dicom_action.trigger()
    summary = blocker.args[0]
    assert [w.source for w in summary.written] == [str(dcm)]
    assert summary.not_dicom == 1
    message = window.statusBar().currentMessage()
    assert f"1 DICOM result (SR + SC) written to {out}" in message
    assert "1 non-DICOM input gets none" in message

    files = sorted(out.iterdir())
    assert len(files) == 2
    source = pydicom.dcmread(dcm, stop_before_pixels=True)
    kinds = set()
    for f in files:
        ds = pydicom.dcmread(f)
        assert ds.StudyInstanceUID == source.StudyInstanceUID
        kinds.add(ds.SOPClassUID == ComprehensiveSRStorage)
    assert kinds == {True, False}
    qtbot.waitUntil(lambda: window.classify.export_dicom_action.isEnabled(), timeout=TIMEOUT_MS)


def test_export_dicom_results_without_a_dicom_film_says_so(window, qtbot, tmp_path, data_dir,
                                                           monkeypatch):
    folder = tmp_path / "films"
    folder.mkdir()
    shutil.copyfile(data_dir / "normal-rsna-4627.png", folder / "b.png")
    wait_done(qtbot, window, lambda: window.open_paths([folder]))
    said = []
    monkeypatch.setattr(QMessageBox, "information",
                        staticmethod(lambda *a, **k: said.append(a[2])))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *a, **k: (_ for _ in ()).throw(AssertionError)))
    window.classify.export_dicom_action.trigger()
    assert said and "only DICOM inputs get DICOM results" in said[0]
