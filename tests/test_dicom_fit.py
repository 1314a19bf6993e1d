"""core.files.dicom_fit: a film's header values made valid before a result copies them
(issue 33), each change said in words."""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from core.files.dicom_fit import fit_header


def fitted(**values) -> tuple[Dataset, list[str]]:
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds, fit_header(ds)


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom, on the invalid values set here
@pytest.mark.parametrize(
    ("keyword", "given", "expected", "note"),
    [
        ("PatientName", "A" * 70 + "^Bea", "A" * 64,
         "shortened from 74 to at most 64 characters (limit 64 per component group for PN)"),
        ("PatientID", "P" * 80, "P" * 64, "shortened from 80 to 64 characters (limit 64 for LO)"),
        ("AccessionNumber", "A" * 20, "A" * 16,
         "shortened from 20 to 16 characters (limit 16 for SH)"),
        ("StudyDescription", "Tórax\x07 PA", "Tórax PA", "control characters removed"),
        ("StudyDate", "2020-03-01", "20200301", "rewritten as YYYYMMDD (DA)"),
        ("StudyDate", "20201345", "", "not a date (DA): left empty"),
        ("StudyTime", "10:11:12.1234567", "101112.123456", "rewritten as HHMMSS.FFFFFF (TM)"),
        ("StudyTime", "25h", "", "not a time (TM): left empty"),
        ("BodyPartExamined", "chest", "CHEST",
         "written in capitals, digits, space and underscore (CS)"),
        ("PatientSex", "MALE", "M", "written as M (its enumerated values)"),
        ("PatientSex", "X", "", "not one of F, M, O: left empty"),
        ("PatientAge", "45Y", "045Y", "written as nnnD/W/M/Y (AS)"),
        ("PatientAge", "45 years", "", "not an age (AS): left empty"),
        ("PatientWeight", "70.123456789012345", "70.1234567890124",
         "written in at most 16 characters (DS)"),
        ("PatientSize", "nan", "", "not a finite number (DS): left empty"),
    ],
)
def test_each_value_is_made_to_fit_its_vr(keyword, given, expected, note):
    ds, notes = fitted(**{keyword: given})
    assert str(ds[keyword].value) == expected
    assert notes == [f"{keyword}: {note}"]


def test_valid_values_are_left_as_they_are():
    ds, notes = fitted(PatientName="Pérez^María=ペレス^マリア", PatientID="HC-0042",
                       StudyDate="20200301", StudyTime="101112.5", PatientSex="F",
                       PatientAge="045Y", BodyPartExamined="CHEST", PatientWeight="70.5",
                       AccessionNumber="A" * 16)
    assert notes == []
    assert str(ds.PatientName) == "Pérez^María=ペレス^マリア"


def test_bytes_count_too_in_the_films_character_set():
    """64 characters of two bytes each in UTF-8 are 128 bytes: a checker that counts bytes
    would refuse them, so they are cut to what fits both ways."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.StudyDescription = "é" * 64  # two bytes each in UTF-8
    ds.PatientName = "Doe^Jane=" + "ド" * 40  # three bytes each
    assert fit_header(ds) == [
        "StudyDescription: shortened from 128 to 32 characters (limit 64 for LO)",
        "PatientName: shortened from 120 to at most 64 characters (limit 64 per component "
        "group for PN)"]
    assert ds.StudyDescription == "é" * 32
    assert str(ds.PatientName) == "Doe^Jane=" + "ド" * 21


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_values_inside_sequences_are_fitted_and_named_by_their_path():
    item = Dataset()
    item.PatientID = "Q" * 70
    ds, notes = fitted(OtherPatientIDsSequence=Sequence([item]))
    assert ds.OtherPatientIDsSequence[0].PatientID == "Q" * 64
    assert notes == ["OtherPatientIDsSequence[1] > PatientID: shortened from 70 to 64 "
                     "characters (limit 64 for LO)"]
