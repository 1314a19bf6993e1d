"""``covidcxr listen`` (core.pacs.node) as a PACS administrator runs it, against a real
Orthanc on loopback: DCMTK's ``storescu`` sends a film, its row appears in predicted.csv
and its SR and SC in Orthanc, in the film's study; an unlisted AE title is refused; a
malformed dataset costs one error row; an aborted association loses nothing it completed;
the node stays up through all of it and stops cleanly.

One listener (the bundled model, loaded once) serves the whole module, in order."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import ComprehensiveSRStorage, SecondaryCaptureImageStorage

from core.pacs.scu import echo
from core.pacs.settings import NodeSettings, parse_peer
from tests.pacs_support import Orthanc, film, free_port, needs_pacs_tools, orthanc_serving

REPO = Path(__file__).resolve().parent.parent
NODE_AE = "COVIDCXR"

pytestmark = [pytest.mark.slow, needs_pacs_tools]


def wait_for(condition, timeout: float = 120.0, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Listener:
    """``covidcxr listen`` in a subprocess, its log in a file."""

    def __init__(self, root: Path, orthanc: Orthanc, port: int) -> None:
        self.root, self.port = root, port
        self.csv = root / "predicted.csv"
        self.log_path = root / "listen.log"
        self.spool = root / "spool"
        env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2",
               "COVIDCXR_PACS_SETTINGS": str(root / "pacs.json")}
        self.log = open(self.log_path, "w")  # noqa: SIM115 (closed by stop)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gui.shell.launcher", "listen", "--port", str(port),
             "--ae-title", NODE_AE, "--allow", "STORESCU,TESTSCU", "--send-to", orthanc.peer,
             "--output", str(self.csv), "--spool", str(self.spool)],
            cwd=root, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: "covidcxr listen:" in self.text() or self.proc.poll() is not None,
                 180, "the listener to start")
        assert self.proc.poll() is None, self.text()

    def text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def rows(self) -> list[dict[str, str]]:
        if not self.csv.is_file():
            return []
        with self.csv.open(newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


@pytest.fixture(scope="module")
def node_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory, node_port):
    yield from orthanc_serving(tmp_path_factory, {NODE_AE: node_port})


@pytest.fixture(scope="module")
def listener(tmp_path_factory, orthanc, node_port):
    node = Listener(tmp_path_factory.mktemp("node"), orthanc, node_port)
    yield node
    node.stop()


def results_in(orthanc: Orthanc, study_uid: str) -> dict[str, pydicom.Dataset]:
    """Our SR and SC in Orthanc for one study, by SOP class."""
    out = {}
    for inst in orthanc.instances():
        if inst.get("StudyInstanceUID") == study_uid and inst.get("Modality") in ("SR", "OT"):
            ds = pydicom.dcmread(io.BytesIO(orthanc.file(inst["id"])))
            out[str(ds.SOPClassUID)] = ds
    return out


def test_a_film_from_storescu_gets_its_row_and_its_results_in_the_pacs(
        listener, orthanc, node_port, tmp_path, data_dir):
    path = film(tmp_path / "chest.dcm", data_dir / "covid-2782.png", patient_id="P-LISTEN")
    source = pydicom.dcmread(path, stop_before_pixels=True)
    r = orthanc.storescu(path, port=node_port, aet=NODE_AE)
    assert r.returncode == 0, r.stderr + listener.text()

    row = wait_for(lambda: [x for x in listener.rows()
                            if x["filename"] == f"{source.SOPInstanceUID}.dcm"],
                   60, "the film's row")[0]
    assert row["status"] == "ok", row
    results = wait_for(lambda: (lambda got: got if len(got) == 2 else None)(
        results_in(orthanc, source.StudyInstanceUID)), 60, "SR and SC in Orthanc")
    sr = results[ComprehensiveSRStorage]
    sc = results[SecondaryCaptureImageStorage]
    assert sr.PatientID == sc.PatientID == "P-LISTEN"
    refs = {s.ReferencedSOPInstanceUID
            for series in sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence
            for s in series.ReferencedSOPSequence}
    assert {source.SOPInstanceUID, sc.SOPInstanceUID} <= refs
    decision = next(i for i in sr.ContentSequence
                    if i.ConceptNameCodeSequence[0].CodeValue == "DECISION")
    assert decision.ConceptCodeSequence[0].CodeValue == {
        "COVID": "COVID", "NOT COVID": "NOT-COVID", "NOT ASSESSED": "NOT-ASSESSED",
        "INDETERMINATE": "INDETERMINATE"}[row["label"]]
    if row["probability"]:
        p = next(i for i in sr.ContentSequence
                 if i.ConceptNameCodeSequence[0].CodeValue == "P-COVID")
        assert float(p.MeasuredValueSequence[0].NumericValue) == pytest.approx(
            float(row["probability"]), abs=1e-4)
    # The film stays in the spool, the results move from the outbox to sent/ once the PACS
    # has answered (a moment after Orthanc shows them: wait for the move, do not race it).
    assert (listener.spool / "films" / f"{source.SOPInstanceUID}.dcm").is_file()
    wait_for(lambda: not list((listener.spool / "outbox").glob("*.dcm")) or None, 30,
             "the outbox emptied")
    assert len(list((listener.spool / "sent").glob("*.dcm"))) == 2
    # The log names the film by its UID, not by the patient.
    log = listener.text()
    assert source.SOPInstanceUID in log
    assert "P-LISTEN" not in log and "Pérez" not in log


def test_an_unlisted_ae_title_is_refused(listener, orthanc, node_port, tmp_path, data_dir):
    path = film(tmp_path / "x.dcm", data_dir / "normal-rsna-4627.png")
    before = len(listener.rows())
    r = orthanc.storescu(path, port=node_port, aet=NODE_AE, calling="INTRUDER")
    assert r.returncode != 0
    assert "Association Rejected" in r.stderr or "rejected" in r.stderr.lower()
    wait_for(lambda: "refused an association from 'INTRUDER'" in listener.text(), 10,
             "the refusal in the log")
    assert len(listener.rows()) == before
    assert not (listener.spool / "films" / path.name).exists()


def test_a_malformed_dataset_costs_one_error_row_and_the_node_goes_on(
        listener, orthanc, node_port, tmp_path, data_dir, monkeypatch):
    from pynetdicom import AE, _config

    # Sent as the file's bytes (pynetdicom would otherwise decode it, and fail, first).
    monkeypatch.setattr(_config, "STORE_SEND_CHUNKED_DATASET", True)

    good = film(tmp_path / "good.dcm", data_dir / "normal-rsna-4627.png")
    raw = good.read_bytes()
    i = raw.find(b"\x10\x00\x10\x00PN")  # Patient Name: made an unterminated sequence
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(raw[:i] + b"\x10\x00\x10\x00SQ\x00\x00\xff\xff\xff\xff"
                    + b"\xfe\xff\x00\xe0\x10\x00\x00\x00abc")
    bad_uid = pydicom.dcmread(good, stop_before_pixels=True).SOPInstanceUID
    before = len(listener.rows())

    ae = AE(ae_title="TESTSCU")
    ae.add_requested_context(pydicom.dcmread(good, stop_before_pixels=True).SOPClassUID)
    assoc = ae.associate("127.0.0.1", node_port, ae_title=NODE_AE)
    assert assoc.is_established
    status = assoc.send_c_store(bad)
    assoc.release()
    assert status.Status == 0xC210

    rows = wait_for(lambda: listener.rows()[before:] or None, 10, "the error row")
    assert len(rows) == 1 and rows[0]["status"] == "error"
    assert "malformed dataset" in rows[0]["message"]
    assert rows[0]["filename"] == f"{bad_uid}.dcm"
    assert (listener.spool / "rejected" / f"{bad_uid}.dcm").is_file()
    # Still up: it answers an echo.
    assert echo(parse_peer(f"{NODE_AE}@127.0.0.1:{node_port}"),
                NodeSettings(ae_title="TESTSCU")) < 5


def test_an_aborted_association_keeps_what_it_completed(
        listener, orthanc, node_port, tmp_path, data_dir):
    from pynetdicom import AE

    done = film(tmp_path / "done.dcm", data_dir / "normal-nih-00003198_005.png")
    uid = pydicom.dcmread(done, stop_before_pixels=True).SOPInstanceUID
    ae = AE(ae_title="TESTSCU")
    ae.add_requested_context(pydicom.dcmread(done, stop_before_pixels=True).SOPClassUID)
    assoc = ae.associate("127.0.0.1", node_port, ae_title=NODE_AE)
    assert assoc.send_c_store(done).Status == 0
    assoc.abort()
    row = wait_for(lambda: [x for x in listener.rows() if x["filename"] == f"{uid}.dcm"], 60,
                   "the completed film's row")
    assert row[0]["status"] == "ok"
    wait_for(lambda: "aborted" in listener.text(), 10, "the abort in the log")
    assert echo(parse_peer(f"{NODE_AE}@127.0.0.1:{node_port}"),
                NodeSettings(ae_title="TESTSCU")) < 5


def test_the_node_stops_cleanly_and_a_restart_keeps_the_rows(listener, orthanc, node_port):
    rows = listener.rows()
    assert listener.stop() == 0
    assert not Path(str(listener.csv) + ".partial").exists()
    assert listener.rows() == rows  # the finished CSV is the published one
    again = Listener(listener.root, orthanc, node_port)
    try:
        assert again.rows() == rows
        assert "not yet classified" not in again.text()
    finally:
        assert again.stop() == 0
