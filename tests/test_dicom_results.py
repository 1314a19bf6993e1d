"""DICOM results (core.output.dicom_results, ``classify --dicom-out``): an SR and a heat-map
SC per DICOM film, in the film's study, read back with pydicom and checked with dciodvfy
(dicom3tools) where it is installed."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.uid import (
    ComprehensiveSRStorage,
    DigitalXRayImageStorageForPresentation,
    SecondaryCaptureImageStorage,
    generate_uid,
)

from core.answers.gradcam import HeatMap
from core.answers.inference import classify
from core.model.card import NOT_ASSESSED
from core.model.disk import read_card
from core.output.capture import CAPTION, render_capture
from core.output.dicom_results import SCHEME, export_results, threshold_origin
from tests.test_dicom import write_dicom

REPO = Path(__file__).resolve().parent.parent


def film_dicom(path: Path, pixels: np.ndarray, **attrs) -> Path:
    """An uncompressed DX film of ``pixels`` (uint8 grey) in a study of its own, with the
    bare minimum of header: no birth date, sex, accession number or study date (films in
    the wild omit them). An attribute given as None is left out."""
    header = {"StudyInstanceUID": generate_uid(), "SeriesInstanceUID": generate_uid(),
              "PatientName": "Pérez^María", "PatientID": "HC-0042",
              "SpecificCharacterSet": "ISO_IR 100", "BodyPartExamined": "CHEST", **attrs}
    return write_dicom(path, pixels.astype(np.uint16) * 16,
                       sop_class=DigitalXRayImageStorageForPresentation,
                       **{k: v for k, v in header.items() if v is not None})


@pytest.fixture
def films(tmp_path, data_dir) -> dict[str, Path]:
    """A chest film as DICOM, the same as PNG, and a DICOM that is not a chest film."""
    root = tmp_path / "in"
    root.mkdir()
    grey = np.asarray(Image.open(data_dir / "covid-2782.png").convert("L"))
    blank = np.full((128, 128), 40, np.uint8)
    return {
        "chest": film_dicom(root / "a_chest.dcm", grey),
        "png": Path(shutil.copyfile(data_dir / "normal-rsna-4627.png", root / "b_film.png")),
        "blank": film_dicom(root / "c_blank.dcm", blank),
    }


def read_dir(folder: Path) -> tuple[list[Dataset], list[Dataset]]:
    """(SRs, SCs) in ``folder``, each file named by its SOP Instance UID."""
    srs, scs = [], []
    for f in sorted(folder.iterdir()):
        ds = pydicom.dcmread(f)
        assert f.name == f"{ds.SOPInstanceUID}.dcm"
        assert str(ds.SOPInstanceUID).startswith("2.25.")
        (srs if ds.SOPClassUID == ComprehensiveSRStorage else scs).append(ds)
    return srs, scs


def items(sr: Dataset) -> dict[str, Dataset]:
    """The report's top-level content items by concept meaning (last one wins)."""
    return {i.ConceptNameCodeSequence[0].CodeMeaning: i for i in sr.ContentSequence}


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run([sys.executable, "-m", "gui.shell.launcher", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_classify_dicom_out_writes_an_sr_and_an_sc_per_dicom_film(films, tiny_model_path,
                                                                    tmp_path):
    out, csv_path = tmp_path / "results", tmp_path / "predicted.csv"
    r = run_cli("classify", str(films["chest"]), str(films["png"]), "--model",
                str(tiny_model_path), "--output", str(csv_path), "--dicom-out", str(out),
                cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "1 DICOM result written (2 files: SR + SC); 1 non-DICOM input gets none" in r.stdout
    assert f"in {out}" in r.stdout
    with csv_path.open(newline="", encoding="utf-8") as f:
        row = next(x for x in csv.DictReader(f) if x["filename"] == "a_chest.dcm")

    srs, scs = read_dir(out)
    assert len(srs) == len(scs) == 1
    sr, sc = srs[0], scs[0]
    source = pydicom.dcmread(films["chest"], stop_before_pixels=True)
    for ds in (sr, sc):
        assert ds.StudyInstanceUID == source.StudyInstanceUID
        assert ds.PatientID == "HC-0042"
        assert str(ds.PatientName) == "Pérez^María"
        assert ds.SeriesInstanceUID != source.SeriesInstanceUID
    assert sr.SeriesInstanceUID != sc.SeriesInstanceUID
    assert (sr.Modality, sc.Modality) == ("SR", "OT")

    # The report names the source film, in the evidence and in its content.
    evidence = sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence
    refs = {s.ReferencedSOPInstanceUID for series in evidence
            for s in series.ReferencedSOPSequence}
    assert {source.SOPInstanceUID, sc.SOPInstanceUID} <= refs
    content = items(sr)
    image = content["Source image"].ReferencedSOPSequence[0]
    assert image.ReferencedSOPInstanceUID == source.SOPInstanceUID
    assert image.ReferencedSOPClassUID == DigitalXRayImageStorageForPresentation
    heat = content["Best illustration of finding"].ReferencedSOPSequence[0]
    assert heat.ReferencedSOPInstanceUID == sc.SOPInstanceUID

    # Its values are the CSV's.
    p = float(content["P(COVID)"].MeasuredValueSequence[0].NumericValue)
    assert p == pytest.approx(float(row["probability"]), abs=5e-5)
    t = float(content["Decision threshold"].MeasuredValueSequence[0].NumericValue)
    assert t == pytest.approx(float(row["threshold"]), abs=5e-5)
    decision = content["Decision"].ConceptCodeSequence[0]
    assert decision.CodingSchemeDesignator == SCHEME
    assert decision.CodeValue == {"COVID": "COVID", "NOT COVID": "NOT-COVID"}[row["label"]]
    assert content["Unusual for the model"].ConceptCodeSequence[0].CodeMeaning in ("Yes", "No")
    assert content["Threshold origin"].TextValue.startswith("model card: ")
    assert content["Algorithm Name"].TextValue == "tiny-test"
    assert content["Model weights SHA-256"].TextValue == read_card(tiny_model_path).weights_sha256
    comments = [i.TextValue for i in sr.ContentSequence
                if i.ConceptNameCodeSequence[0].CodeMeaning == "Comment"]
    assert any("Research use only" in c for c in comments)
    assert sr.VerificationFlag == "UNVERIFIED"
    assert sr.CodingSchemeIdentificationSequence[0].CodingSchemeDesignator == SCHEME

    # The capture: the film in colour with its caption below, in the same study.
    assert sc.SOPClassUID == SecondaryCaptureImageStorage
    assert sc.PhotometricInterpretation == "RGB"
    assert sc.SourceImageSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID
    assert sc.ImageComments == CAPTION
    rgb = sc.pixel_array
    assert rgb.shape[1] >= 768 and rgb.shape[0] > rgb.shape[1]  # the caption band below
    band = rgb[-rgb.shape[0] // 8:]
    yellow = (band[..., 0] > 200) & (band[..., 1] > 150) & (band[..., 2] < 80)
    assert yellow.sum() > 200  # the research-use line is written in yellow
    # Nothing left over from the atomic writes.
    assert not [f for f in out.iterdir() if f.name.startswith(".")]


def test_refused_film_gets_its_reason_and_no_heat_map(films, tiny_model, tmp_path):
    preds = list(classify([films["blank"]], tiny_model))
    assert preds[0].ok and preds[0].label == NOT_ASSESSED
    summary = export_results(preds, tiny_model, tmp_path / "out")
    assert len(summary.written) == 1 and not summary.failed
    srs, scs = read_dir(tmp_path / "out")
    content = items(srs[0])
    assert content["Decision"].ConceptCodeSequence[0].CodeValue == "NOT-ASSESSED"
    assert content["Reason not assessed"].TextValue == preds[0].message
    assert "Unusual for the model" not in content
    # No colours: the film's grey stays grey.
    film = scs[0].pixel_array[:500].astype(int)
    assert np.abs(film[..., 0] - film[..., 2]).max() <= 1


def test_a_film_without_a_study_uid_is_listed_and_the_others_go_on(
        films, tiny_model, tmp_path, data_dir):
    grey = np.asarray(Image.open(data_dir / "covid-2782.png").convert("L"))
    orphan = film_dicom(tmp_path / "in" / "orphan.dcm", grey, StudyInstanceUID=None)
    preds = list(classify([orphan, films["chest"], films["png"]], tiny_model))
    summary = export_results(preds, tiny_model, tmp_path / "out")
    assert [w.source for w in summary.written] == [str(films["chest"])]
    assert summary.failed == [(str(orphan), "its DICOM header has no StudyInstanceUID, so a "
                               "result cannot join its study")]
    assert summary.not_dicom == 1
    assert summary.describe() == ("1 DICOM result written (2 files: SR + SC); "
                                  "1 non-DICOM input gets none; 1 failed")


#: 83 characters, one byte each in the film's character set (ISO_IR 100).
LONG_NAME = ("Pérez-Rodríguez de la Fuente y Montenegro^María Guadalupe de los Ángeles "
             "del Carmen")


def test_header_values_that_break_their_vr_are_fitted_and_the_report_says_so(
        films, tiny_model, tmp_path, data_dir):
    """Issue 33: a film whose Patient Name is 83 characters (64 per component group is the
    limit) gave an SR and an SC that dciodvfy refused; so would a date written 2020-03-01
    or a lower-case code string. What is copied is made valid, and the report says what
    changed."""
    assert len(LONG_NAME) == 83
    grey = np.asarray(Image.open(data_dir / "covid-2782.png").convert("L"))
    film = film_dicom(tmp_path / "in" / "long.dcm", grey, PatientName=LONG_NAME,
                      StudyDate="2020-03-01", BodyPartExamined="chest",
                      StudyDescription="Tórax PA " * 10)
    preds = list(classify([film, films["chest"]], tiny_model))
    summary = export_results(preds, tiny_model, tmp_path / "out")
    assert len(summary.written) == 2 and not summary.failed
    fitted, plain = (pydicom.dcmread(w.report) for w in summary.written)
    capture = pydicom.dcmread(summary.written[0].capture)
    for ds in (fitted, capture):
        assert str(ds.PatientName) == LONG_NAME[:64]
        assert ds.StudyDate == "20200301"
    assert fitted.StudyDescription == ("Tórax PA " * 10)[:64]
    assert capture.BodyPartExamined == "CHEST"
    from core.output.dicom_results import FITTED_NOTE

    note = items(fitted)["Source header values changed to fit DICOM"]
    assert note.TextValue == (
        f"{FITTED_NOTE} StudyDate: rewritten as YYYYMMDD (DA). StudyDescription: shortened "
        "from 89 to 64 characters (limit 64 for LO). PatientName: shortened from 83 to at "
        "most 64 characters (limit 64 per component group for PN). BodyPartExamined: "
        "written in capitals, digits, space and underscore (CS).")
    # A film whose header is valid is copied as it is, without a note.
    assert "Source header values changed to fit DICOM" not in items(plain)
    assert str(plain.PatientName) == "Pérez^María"


def test_a_film_whose_study_uid_is_not_a_uid_gets_no_result(films, tiny_model, tmp_path,
                                                              data_dir):
    """A UID is never shortened: it would name another study."""
    grey = np.asarray(Image.open(data_dir / "covid-2782.png").convert("L"))
    film = film_dicom(tmp_path / "in" / "bad_uid.dcm", grey, StudyInstanceUID="1.2." * 20)
    summary = export_results(list(classify([film], tiny_model)), tiny_model, tmp_path / "out")
    assert summary.failed == [(str(film), "its DICOM header's StudyInstanceUID is not a valid "
                               "UID (digits and dots, at most 64), so a result cannot name it")]


def test_threshold_origin_names_the_profile_or_the_override(tiny_model):
    card = tiny_model.card
    assert threshold_origin(card).startswith("model card: ")
    assert threshold_origin(card, 0.9).startswith("set by the user for this run")
    from dataclasses import replace

    site = replace(card, site={"name": "Hospital Norte"}, threshold_rule="sensitivity 0.95")
    assert threshold_origin(site) == "site profile 'Hospital Norte': sensitivity 0.95"


def test_capture_overlays_the_heat_map_only_inside_the_models_crop():
    pixels = np.full((800, 800), 0.5, np.float32)
    heat = HeatMap(np.ones((8, 8), np.float32), (100, 200, 300, 400), "COVID")
    rgb = render_capture(pixels, heat, ["caption", "second line"])
    assert rgb.shape[1] == 800 and rgb.shape[0] > 800
    film = rgb[:800].astype(int)
    inside, outside = film[150:250, 250:350], film[500:, 500:]
    assert np.abs(inside[..., 0] - inside[..., 2]).min() > 20  # coloured
    assert np.abs(outside[..., 0] - outside[..., 2]).max() <= 1  # the film's own grey


@pytest.mark.skipif(shutil.which("dciodvfy") is None,
                    reason="dciodvfy (Debian package dicom3tools) is not installed")
def test_dciodvfy_finds_no_error_in_the_results(films, tiny_model, tmp_path, data_dir):
    grey = np.asarray(Image.open(data_dir / "covid-2782.png").convert("L"))
    # Issue 33: a header that is not valid DICOM gives valid results all the same.
    invalid = film_dicom(tmp_path / "in" / "long.dcm", grey, PatientName=LONG_NAME,
                         StudyDate="2020-03-01", BodyPartExamined="chest", PatientSex="MALE",
                         StudyTime="10:11:12", AccessionNumber="ACC" * 10, PatientAge="45Y",
                         Manufacturer="M" * 80)
    preds = list(classify([films["chest"], films["blank"], data_dir / "jpeg-lossless.dcm",
                           invalid], tiny_model))
    summary = export_results(preds, tiny_model, tmp_path / "out")
    assert len(summary.written) == 4, summary.failed
    # The committed JPEG Lossless film: its report is in its study and names it.
    source = pydicom.dcmread(data_dir / "jpeg-lossless.dcm", stop_before_pixels=True)
    report = pydicom.dcmread(summary.written[2].report)
    assert report.StudyInstanceUID == source.StudyInstanceUID
    image = items(report)["Source image"].ReferencedSOPSequence[0]
    assert image.ReferencedSOPInstanceUID == source.SOPInstanceUID
    files = sorted((tmp_path / "out").iterdir())
    assert len(files) == 8
    for f in files:
        r = subprocess.run(["dciodvfy", str(f)], capture_output=True, text=True, timeout=60)
        report = r.stdout + r.stderr
        errors = [line for line in report.splitlines() if line.startswith("Error")]
        assert not errors, f"{f.name}:\n{report}"
        assert ("ComprehensiveSR" in report) or ("SCImage" in report), report


def test_indeterminate_film_reports_its_interval(films, tiny_model, tmp_path):
    from dataclasses import replace

    from core.answers.inference import INDETERMINATE_MESSAGE
    from core.model.card import INDETERMINATE
    from core.output.dicom_results import write_results

    pred = next(iter(classify([films["chest"]], tiny_model)))
    pred = replace(pred, label=INDETERMINATE, message=INDETERMINATE_MESSAGE, p_low=0.31,
                   p_high=0.62, threshold=0.5)
    written = write_results(pred, tiny_model, tmp_path / "out")
    content = items(pydicom.dcmread(written.report))
    assert content["Decision"].ConceptCodeSequence[0].CodeValue == "INDETERMINATE"
    low = content["P(COVID), 10th percentile over test-time views"]
    high = content["P(COVID), 90th percentile over test-time views"]
    assert float(low.MeasuredValueSequence[0].NumericValue) == pytest.approx(0.31)
    assert float(high.MeasuredValueSequence[0].NumericValue) == pytest.approx(0.62)
    assert content["Why indeterminate"].TextValue == INDETERMINATE_MESSAGE
