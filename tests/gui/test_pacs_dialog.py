"""File ▸ PACS… and File ▸ Send results to PACS…, through the window's own code path against
a real Orthanc on loopback: find a study, retrieve its film on a worker, the classify page
classifies it as if dropped, its SR and SC go back and Orthanc holds them in the film's
study; a PACS that is gone leaves the results on disk, reported, and the retry sends them."""

from __future__ import annotations

import io
import json

import pydicom
import pytest
from guitest_helpers import TIMEOUT_MS
from pydicom.uid import ComprehensiveSRStorage, SecondaryCaptureImageStorage

from tests.conftest import PACS_AE
from tests.pacs_support import film, free_port, needs_pacs_tools

OUR_AE = PACS_AE  # the AE title the conftest registers with Orthanc

pytestmark = needs_pacs_tools


@pytest.fixture
def pacs_settings(tmp_path, monkeypatch, orthanc, move_port):
    """The node's settings file in a temporary folder, naming the test Orthanc."""
    path = tmp_path / "pacs.json"
    path.write_text(json.dumps({"ae_title": OUR_AE, "port": move_port, "pacs": orthanc.peer,
                                "spool": str(tmp_path / "spool")}))
    monkeypatch.setenv("COVIDCXR_PACS_SETTINGS", str(path))
    return path


def test_find_retrieve_classify_and_send_back(window, qtbot, orthanc, pacs_settings, tmp_path,
                                              data_dir):
    source_path = film(tmp_path / "films" / "a.dcm", data_dir / "covid-2782.png",
                       patient_id="GUI-7", patient_name="Gamma^Gus")
    r = orthanc.storescu(source_path)
    assert r.returncode == 0, r.stderr
    source = pydicom.dcmread(source_path, stop_before_pixels=True)
    qtbot.waitUntil(lambda: window.classify.model is not None, timeout=TIMEOUT_MS)

    dialog = window.classify.pacs.show_dialog()
    assert dialog.pacs_edit.text() == orthanc.peer
    dialog.name_edit.setText("Gamma*")
    with qtbot.waitSignal(dialog.searched, timeout=TIMEOUT_MS) as found:
        dialog.find_button.click()
    assert found.args == [1]
    assert dialog.model.studies[0].study_instance_uid == source.StudyInstanceUID
    assert dialog.model.data(dialog.model.index(0, 0)) == "Gamma Gus"

    # The search's worker ends just after its answer: the buttons come back with it.
    qtbot.waitUntil(dialog.retrieve_button.isEnabled, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(dialog.retrieved, timeout=TIMEOUT_MS) as got:
        dialog.retrieve_button.click()
    assert got.args[0] is not None, dialog.message.text()
    assert len(got.args[0].files) == 1, dialog.message.text()
    qtbot.waitUntil(lambda: window.classify.results.count_done() == 1, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: not window.classify.busy, timeout=TIMEOUT_MS)
    preds = window.classify.results.predictions()
    assert [p.filename for p in preds] == [f"{source.SOPInstanceUID}.dcm"]
    assert preds[0].ok and preds[0].info.format == "DICOM"
    assert "1 films retrieved" in dialog.message.text()

    with qtbot.waitSignal(window.classify.pacs.sent, timeout=TIMEOUT_MS) as sent:
        window.classify.send_pacs_action.trigger()
    result = sent.args[0]
    assert [o.ok for o in result.report.objects] == [True, True]
    assert "2 of 2 result objects sent to ORTHANC" in window.statusBar().currentMessage()
    assert not window.classify.retry_pacs_action.isEnabled()

    ours = {}
    for inst in orthanc.instances():
        if inst.get("Modality") in ("SR", "OT"):
            ds = pydicom.dcmread(io.BytesIO(orthanc.file(inst["id"])))
            ours[str(ds.SOPClassUID)] = ds
    assert set(ours) == {ComprehensiveSRStorage, SecondaryCaptureImageStorage}
    for ds in ours.values():
        assert ds.StudyInstanceUID == source.StudyInstanceUID
        assert ds.PatientID == "GUI-7"
    dialog.close()


def test_a_send_to_a_pacs_that_is_gone_keeps_the_results_and_the_retry_sends_them(
        window, qtbot, orthanc, pacs_settings, tmp_path, data_dir):
    path = film(tmp_path / "films" / "b.dcm", data_dir / "normal-rsna-4627.png",
                patient_id="GUI-8")
    qtbot.waitUntil(lambda: window.classify.model is not None, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(window.classify.classificationFinished, timeout=TIMEOUT_MS):
        window.classify.add_files([str(path)])
    qtbot.waitUntil(lambda: not window.classify.busy, timeout=TIMEOUT_MS)

    settings = json.loads(pacs_settings.read_text())
    pacs_settings.write_text(json.dumps({**settings,
                                         "pacs": f"ORTHANC@127.0.0.1:{free_port()}"}))
    with qtbot.waitSignal(window.classify.pacs.sent, timeout=TIMEOUT_MS) as sent:
        window.classify.send_pacs_action.trigger()
    result = sent.args[0]
    assert [o.ok for o in result.report.objects] == [False, False]
    kept = sorted(result.folder.glob("*.dcm"))
    assert len(kept) == 2
    assert window.classify.retry_pacs_action.isEnabled()
    warning = window.classify.pacs.warning
    assert warning is not None and "2 not sent, kept in" in warning.text()
    warning.close()

    pacs_settings.write_text(json.dumps(settings))  # the PACS is back
    qtbot.waitUntil(lambda: not window.classify.pacs.busy, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(window.classify.pacs.sent, timeout=TIMEOUT_MS) as sent:
        window.classify.retry_pacs_action.trigger()
    assert [o.ok for o in sent.args[0].report.objects] == [True, True]
    assert not list(result.folder.glob("*.dcm"))
    assert not window.classify.retry_pacs_action.isEnabled()
    ids = {i["PatientID"] for i in orthanc.instances() if i.get("Modality") in ("SR", "OT")}
    assert "GUI-8" in ids


def test_the_dialog_saves_settings_and_refuses_a_bad_peer(window, qtbot, pacs_settings):
    dialog = window.classify.pacs.show_dialog()
    dialog.allowed_edit.setText("PACS1, MODALITY2")
    assert dialog.save_settings()
    saved = json.loads(pacs_settings.read_text())
    assert saved["allowed"] == ["PACS1", "MODALITY2"]
    assert saved["host"] == "127.0.0.1"
    dialog.pacs_edit.setText("no-at-sign:104")
    assert not dialog.save_settings()
    assert "must look like AE@HOST:PORT" in dialog.message.text()
    assert dialog.find() is None  # nothing is sent with a bad address
    dialog.close()
