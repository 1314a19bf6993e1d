"""Our end of a call to a PACS (core.pacs.scu, ``covidcxr pacs``), against a real Orthanc on
loopback: echo, find, retrieve by C-GET and by C-MOVE, send, and a failed send that keeps
its objects and reports each one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest

from core.pacs.scu import StudyQuery, echo, find_studies, retrieve, send
from core.pacs.settings import NodeSettings, PacsError, parse_peer
from tests.conftest import PACS_AE
from tests.pacs_support import film, free_port, needs_pacs_tools

REPO = Path(__file__).resolve().parent.parent
OUR_AE = PACS_AE  # the AE title the conftest registers with Orthanc

pytestmark = needs_pacs_tools


@pytest.fixture(scope="module")
def stored(orthanc, tmp_path_factory, data_dir) -> dict[str, Path]:
    """Two studies in Orthanc: one chest film each, stored with storescu."""
    folder = tmp_path_factory.mktemp("films")
    films = {
        "covid": film(folder / "a.dcm", data_dir / "covid-2782.png", patient_id="P-1",
                      patient_name="Alpha^Ann", study_date="20200314"),
        "normal": film(folder / "b.dcm", data_dir / "normal-rsna-4627.png", patient_id="P-2",
                       patient_name="Beta^Bob", study_date="20210102"),
    }
    r = orthanc.storescu(*films.values())
    assert r.returncode == 0, r.stderr
    return films


def settings(move_port: int, **kw) -> NodeSettings:
    return NodeSettings(ae_title=OUR_AE, port=move_port, **kw)


def test_echo_and_an_unreachable_peer(orthanc, move_port):
    assert echo(parse_peer(orthanc.peer), settings(move_port)) < 5
    with pytest.raises(PacsError, match="cannot reach NOBODY@127.0.0.1"):
        echo(parse_peer(f"NOBODY@127.0.0.1:{free_port()}"), settings(move_port))


def test_find_by_patient_date_and_modality(orthanc, stored, move_port):
    peer, s = parse_peer(orthanc.peer), settings(move_port)
    every = find_studies(peer, s, StudyQuery())
    assert len(every) == 2
    ann = find_studies(peer, s, StudyQuery(patient_name="Alpha*"))
    source = pydicom.dcmread(stored["covid"], stop_before_pixels=True)
    assert [st.study_instance_uid for st in ann] == [source.StudyInstanceUID]
    assert ann[0].patient_id == "P-1" and ann[0].study_date == "20200314"
    assert "DX" in ann[0].modalities
    in_2021 = find_studies(peer, s, StudyQuery(date_from="20210101", date_to="20211231"))
    assert [st.patient_id for st in in_2021] == ["P-2"]
    assert find_studies(peer, s, StudyQuery(modalities=("CT",))) == []


@pytest.mark.parametrize("method", ["get", "move"])
def test_retrieve_brings_the_studys_film(orthanc, stored, move_port, tmp_path, method):
    source = pydicom.dcmread(stored["normal"], stop_before_pixels=True)
    got = retrieve(parse_peer(orthanc.peer), settings(move_port), source.StudyInstanceUID,
                   tmp_path / "in", method=method)
    assert got.failed == 0 and not got.messages
    assert [f.name for f in got.files] == [f"{source.SOPInstanceUID}.dcm"]
    back = pydicom.dcmread(got.files[0])
    assert back.PatientID == "P-2"
    assert back.pixel_array.shape == (256, 256)


def test_send_reports_each_object_and_keeps_them_when_the_pacs_is_gone(
        orthanc, move_port, tmp_path, data_dir):
    films = [film(tmp_path / f"s{i}.dcm", data_dir / "covid-2782.png", patient_id="P-9")
             for i in range(2)]
    (tmp_path / "junk.dcm").write_bytes(b"not dicom")
    report = send([*films, tmp_path / "junk.dcm"], parse_peer(orthanc.peer),
                  settings(move_port))
    assert [o.ok for o in report.objects] == [False, True, True]
    assert report.objects[0].status == "unreadable"
    assert report.objects[1].status.startswith("0x0000")
    assert {i["PatientID"] for i in orthanc.instances()} >= {"P-9"}

    gone = parse_peer(f"ORTHANC@127.0.0.1:{free_port()}")
    report = send(films, gone, settings(move_port))
    assert [o.ok for o in report.objects] == [False, False]
    assert all("cannot reach" in o.message for o in report.objects)
    assert all(f.is_file() for f in films)  # nothing lost: retry later
    assert report.describe() == f"0 of 2 objects sent to {gone}; 2 failed"


def test_cli_find_retrieve_and_send(orthanc, stored, move_port, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO),
           "COVIDCXR_PACS_SETTINGS": str(tmp_path / "pacs.json")}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "gui.shell.launcher", "pacs", *args,
                               "--ae-title", OUR_AE], capture_output=True, text=True,
                              env=env, timeout=120, cwd=tmp_path)

    r = cli("find", "--pacs", orthanc.peer, "--patient", "Beta*")
    assert r.returncode == 0, r.stderr
    uid = pydicom.dcmread(stored["normal"], stop_before_pixels=True).StudyInstanceUID
    assert r.stdout.split("\t")[0] == uid
    r = cli("retrieve", uid, "--pacs", orthanc.peer, "--into", str(tmp_path / "got"))
    assert r.returncode == 0, r.stderr
    assert "1 films retrieved" in r.stdout
    assert len(list((tmp_path / "got" / uid).glob("*.dcm"))) == 1
    r = cli("send", str(tmp_path / "got" / uid), "--to", f"ORTHANC@127.0.0.1:{free_port()}")
    assert r.returncode == 1
    assert "0 of 1 objects sent" in r.stdout
    assert "covidcxr pacs send" in r.stderr


@pytest.mark.slow
def test_classify_dicom_out_send_files_the_results_in_the_films_study(
        orthanc, move_port, tmp_path, data_dir, tiny_model_path):
    source_path = film(tmp_path / "in" / "c.dcm", data_dir / "covid-2782.png", patient_id="CLI-3")
    source = pydicom.dcmread(source_path, stop_before_pixels=True)
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2",
           "COVIDCXR_PACS_SETTINGS": str(tmp_path / "pacs.json")}
    r = subprocess.run(
        [sys.executable, "-m", "gui.shell.launcher", "classify", str(source_path), "--model",
         str(tiny_model_path), "--output", str(tmp_path / "p.csv"), "--dicom-out",
         str(tmp_path / "out"), "--send", orthanc.peer],
        capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"2 of 2 objects sent to {orthanc.peer}" in r.stdout
    ours = [i for i in orthanc.instances() if i.get("PatientID") == "CLI-3"
            and i.get("Modality") in ("SR", "OT")]
    assert len(ours) == 2
    assert {i["StudyInstanceUID"] for i in ours} == {source.StudyInstanceUID}
    assert len(list((tmp_path / "out").glob("*.dcm"))) == 2  # still on disk


def test_classify_send_without_dicom_out_is_refused_before_the_model_loads(tmp_path, data_dir):
    r = subprocess.run(
        [sys.executable, "-m", "gui.shell.launcher", "classify", str(data_dir / "covid-2782.png"),
         "--send", "PACS@127.0.0.1:104"], capture_output=True, text=True, timeout=120,
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert r.returncode == 1
    assert "--send needs --dicom-out DIR" in r.stderr
