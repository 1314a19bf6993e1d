"""A real PACS on loopback for the DICOM node's tests and benchmark: Orthanc with its own
configuration and storage in a temporary folder, DCMTK's ``storescu`` as an independent
client, and chest films as DX DICOM.

In CI (Debian, as root) ``.ci/run`` installs ``orthanc`` and ``dcmtk``; the tests skip only
where neither the programs nor apt-get exist (a developer's Mac, say), never quietly in CI.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pydicom.uid import DigitalXRayImageStorageForPresentation, generate_uid

from tests.test_dicom import write_dicom

ORTHANC_AET = "ORTHANC"


def which(program: str) -> str | None:
    """``program`` on the PATH, or in /usr/sbin (Debian puts Orthanc there, outside a
    user's PATH)."""
    return shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin")


def missing(program: str) -> str | None:
    """Why a test needing ``program`` is skipped, or None when it must run. Skipped only
    where the program is absent and apt-get too (no way to install it); where apt-get
    exists the test runs and fails, saying to install it (``.ci/run`` does)."""
    if which(program) or shutil.which("apt-get"):
        return None
    return f"{program} is not installed and there is no apt-get to install it"


#: The mark of a test against the real PACS tools: Orthanc and DCMTK's storescu.
needs_pacs_tools = pytest.mark.skipif(
    missing("Orthanc") is not None or missing("storescu") is not None,
    reason=str(missing("Orthanc") or missing("storescu")))


def orthanc_serving(tmp_path_factory: Any, peers: dict[str, int]) -> Iterator[Orthanc]:
    """A module fixture's body: an Orthanc in a temporary folder, stopped afterwards."""
    server = Orthanc(tmp_path_factory.mktemp("orthanc"), peers)
    try:
        yield server
    finally:
        server.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def film(path: Path, png: Path, *, study_uid: str | None = None, patient_id: str = "HC-0042",
         patient_name: str = "Pérez^María", study_date: str = "20200314",
         sop_uid: str | None = None) -> Path:
    """A DX chest film of ``png`` (12-bit, uncompressed) with the header a PACS files by."""
    grey = np.asarray(Image.open(png).convert("L"))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_dicom(path, grey.astype(np.uint16) * 16,
                sop_class=DigitalXRayImageStorageForPresentation,
                StudyInstanceUID=study_uid or generate_uid(),
                SeriesInstanceUID=generate_uid(), PatientName=patient_name,
                PatientID=patient_id, SpecificCharacterSet="ISO_IR 100",
                BodyPartExamined="CHEST", ViewPosition="PA", StudyDate=study_date,
                StudyTime="101500", AccessionNumber="ACC1", StudyID="1", SeriesNumber=1,
                InstanceNumber=1, PresentationIntentType="FOR PRESENTATION",
                ImageType=["ORIGINAL", "PRIMARY"])
    if sop_uid:
        import pydicom

        ds = pydicom.dcmread(path)
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
        ds.save_as(path, enforce_file_format=True)
    return path


class Orthanc:
    """Orthanc on 127.0.0.1 with free ports; ``peers`` are the AE titles it may send to
    (C-MOVE) and accept from, as {AE: port}."""

    def __init__(self, root: Path, peers: dict[str, int]) -> None:
        binary = which("Orthanc")
        if binary is None:
            raise RuntimeError("Orthanc is not installed: apt-get install orthanc (.ci/run "
                               "does it in CI)")
        self.root = root
        self.dicom_port, self.http_port = free_port(), free_port()
        root.mkdir(parents=True, exist_ok=True)
        config = {
            "Name": "covidcxr-test",
            "DicomAet": ORTHANC_AET,
            "DicomPort": self.dicom_port,
            "HttpPort": self.http_port,
            "HttpBindAddress": "127.0.0.1",
            "StorageDirectory": str(root / "storage"),
            "IndexDirectory": str(root / "index"),
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "DicomCheckCalledAet": False,
            "DicomAlwaysAllowEcho": True,
            "DicomAlwaysAllowStore": True,
            "DicomModalities": {ae.lower(): [ae, "127.0.0.1", port] for ae, port in
                                peers.items()},
            "Plugins": [],
            "StableAge": 1,
        }
        (root / "config.json").write_text(json.dumps(config, indent=1))
        self.log = open(root / "orthanc.log", "w")  # noqa: SIM115 (closed by stop)
        self.proc = subprocess.Popen([binary, str(root / "config.json")],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.rest("/system")
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("Orthanc did not start: "
                                       + (root / "orthanc.log").read_text()[-2000:]) from None
                time.sleep(0.1)

    @property
    def peer(self) -> str:
        return f"{ORTHANC_AET}@127.0.0.1:{self.dicom_port}"

    def rest(self, path: str) -> Any:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}{path}",
                                    timeout=10) as r:
            return json.loads(r.read())

    def instances(self) -> list[dict[str, Any]]:
        """Every instance Orthanc holds, with its main DICOM tags (simplified)."""
        out = []
        for oid in self.rest("/instances"):
            tags = self.rest(f"/instances/{oid}/simplified-tags")
            out.append({"id": oid, **tags})
        return out

    def file(self, oid: str) -> bytes:
        with urllib.request.urlopen(
                f"http://127.0.0.1:{self.http_port}/instances/{oid}/file", timeout=10) as r:
            return r.read()

    def storescu(self, *files: Path, calling: str = "STORESCU", port: int | None = None,
                 aet: str = ORTHANC_AET, timeout: float = 120) -> subprocess.CompletedProcess:
        """DCMTK's storescu: send ``files`` to Orthanc (or to ``port``, another node)."""
        storescu = which("storescu")
        if storescu is None:
            raise RuntimeError("storescu is not installed: apt-get install dcmtk (.ci/run does "
                               "it in CI)")
        return subprocess.run(
            [storescu, "-aet", calling, "-aec", aet, "127.0.0.1",
             str(port or self.dicom_port), *map(str, files)],
            capture_output=True, text=True, timeout=timeout)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
