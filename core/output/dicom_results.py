"""Results a hospital can file: a Structured Report and a heat-map Secondary Capture per film.

For each DICOM film the model read, two new objects join the film's own study (its patient
and study modules copied, new UIDs, each in a series of its own), so a PACS or viewer stores
and shows them beside the film:

- a Comprehensive SR holding P(COVID), the threshold and where it came from, the decision,
  the "unusual" and refusal reasons, the model's name and weights sha256 and the
  research-use notice, with references to the source film and to the heat-map capture;
- a Secondary Capture of the film with its Grad-CAM heat map (as the viewer draws it) and
  a caption burned in below the film, "research use only, not for diagnosis", because a
  capture is an image and travels without the report.

Built with highdicom (MIT), which writes the SR content tree, the evidence sequences and the
SC modules by the standard, rather than by hand. The objects stay in English whatever the
window's language: they are records, read by people and programs at other sites. Files are
written atomically and named by their SOP Instance UID; nothing is sent over a network.

Lives in ``core.model`` because it explains the film with the model (Grad-CAM) and reads the
model's card; ``core.files`` below it cannot.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core import __version__
from core.answers.evidence import LOW_EVIDENCE, LOW_EVIDENCE_MESSAGE
from core.answers.gradcam import HEATMAP_NOTE
from core.answers.inference import INDETERMINATE_MESSAGE
from core.errors import CovidCXRError, DicomError
from core.files.atomic import atomic_path
from core.files.dicom_fit import fit_header
from core.model.card import (
    INDETERMINATE,
    INTENDED_USE,
    NEGATIVE,
    NOT_ASSESSED,
    POSITIVE,
    ModelCard,
)
from core.model.ood import UNUSUAL_MESSAGE
from core.output.capture import CAPTION, caption_lines, render_capture

if TYPE_CHECKING:
    import pydicom

    from core.answers.inference import Prediction
    from core.model.loading import LoadedModel

MANUFACTURER = "CovidCXR"
#: A private coding scheme for what no standard code names (DICOM PS3.16 8.2: "99" prefix).
SCHEME = "99COVIDCXR"
SCHEME_NAME = "CovidCXR research result codes"

#: Opens the report's note on the source's header values it had to change.
FITTED_NOTE = ("The source film's header holds values that are not valid DICOM; where this "
               "report and its capture copy them, they were changed to fit:")

ProgressFn = Callable[[int, int, str], None]
StopFn = Callable[[], bool]


class DicomResultError(CovidCXRError):
    """A film for which no DICOM result can be made (e.g. its header names no study)."""


# We copy the patient's name as the film holds it: fixing its form is not ours to do, and
# highdicom would warn once per film. A process-wide filter, as ``warnings.catch_warnings``
# is not thread-safe (the window exports on a worker).
warnings.filterwarnings("ignore", message=r"The string .* is unlikely to represent the "
                        "intended person name", category=UserWarning)


def new_uid() -> str:
    """A UUID-derived UID (2.25.<128-bit integer>, PS3.5 B.2): unique without a registered
    root of our own."""
    from pydicom.uid import generate_uid

    return str(generate_uid(prefix=None))


def _code(value: str, meaning: str) -> Any:
    from highdicom.sr import CodedConcept

    return CodedConcept(value, SCHEME, meaning)


@dataclass(frozen=True)
class Written:
    """The two objects written for one film."""

    source: str
    report: Path
    capture: Path
    sop_instance_uid: str  # of the report


@dataclass
class ExportSummary:
    """What an export did with each prediction it was given."""

    written: list[Written] = field(default_factory=list)
    not_dicom: int = 0  # read fine, but not DICOM: nothing to file a result beside
    unreadable: int = 0  # an error record: the model never saw the film
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, why)

    def describe(self) -> str:
        """One line for the command line's summary (the window words its own, translated)."""
        parts = [f"{len(self.written)} DICOM result{'s' * (len(self.written) != 1)} "
                 f"written ({2 * len(self.written)} files: SR + SC)"]
        if self.not_dicom:
            verb = "inputs get" if self.not_dicom != 1 else "input gets"
            parts.append(f"{self.not_dicom} non-DICOM {verb} none")
        if self.unreadable:
            parts.append(f"{self.unreadable} unreadable")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        return "; ".join(parts)


def is_candidate(pred: Prediction) -> bool:
    """A DICOM film the model read (assessed, or refused with a reason): it gets a result."""
    return pred.ok and pred.info is not None and pred.info.format == "DICOM"


def threshold_origin(card: ModelCard, override: float | None = None) -> str:
    """Where the threshold in force came from, in words for the report."""
    if override is not None and override != card.threshold:
        return (f"set by the user for this run; the model's own is {card.threshold:.4f} "
                f"({card.threshold_rule})")
    if card.site:
        return f"site profile '{card.site.get('name', card.name)}': {card.threshold_rule}"
    return f"model card: {card.threshold_rule}"


# ------------------------------------------------------------------------- the objects
_UID_TEXT = re.compile(r"[0-9.]+")
_TYPE2_COPIED = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex",
                 "AccessionNumber", "StudyID", "StudyDate", "StudyTime",
                 "ReferringPhysicianName")


def _source_header(path: str | os.PathLike[str]) -> tuple[pydicom.Dataset, list[str]]:
    """The film's header, ready to be copied, and what had to change in it for that
    (:func:`core.files.dicom_fit.fit_header`): the results must be valid DICOM even when
    the film's header is not."""
    import pydicom

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
    except Exception as exc:
        raise DicomError(f"cannot read the DICOM header again: {exc}") from None
    for keyword in ("StudyInstanceUID", "SeriesInstanceUID", "SOPClassUID", "SOPInstanceUID"):
        value = str(ds.get(keyword, "") or "").strip()
        if not value:
            raise DicomResultError(
                f"its DICOM header has no {keyword}, so a result cannot join its study")
        if len(value) > 64 or not _UID_TEXT.fullmatch(value):
            # Not shortened: a shortened UID would name another study or film.
            raise DicomResultError(
                f"its DICOM header's {keyword} is not a valid UID (digits and dots, at most "
                "64), so a result cannot name it")
    # The patient and study modules' Type 2 elements must be present, empty when unknown;
    # films in the wild often omit them, and highdicom copies them one by one.
    for keyword in _TYPE2_COPIED:
        if keyword not in ds:
            setattr(ds, keyword, None)
    return ds, fit_header(ds)


def _identity(series_number: int, description: str) -> dict[str, Any]:
    """What every object we write says about itself: a new series and instance (UUID
    UIDs), the first of its series, made by this version of CovidCXR."""
    return dict(series_instance_uid=new_uid(), series_number=series_number,
                sop_instance_uid=new_uid(), instance_number=1, manufacturer=MANUFACTURER,
                series_description=description, software_versions=__version__,
                manufacturer_model_name=f"CovidCXR {__version__}")


def build_capture(source: pydicom.Dataset, rgb: np.ndarray) -> pydicom.Dataset:
    """A Secondary Capture of ``rgb`` in the source's study, in a new series."""
    from highdicom.sc import SCImage
    from pydicom.uid import ExplicitVRLittleEndian

    # The film is neither turned nor flipped, so the source's orientation holds; highdicom
    # asks for one, and an unknown one is written empty (Type 2 in the SC IOD).
    given = [str(v) for v in (source.get("PatientOrientation") or [])]
    known = len(given) == 2 and all(v in ("L", "R", "A", "P", "H", "F") for v in given)
    sc = SCImage.from_ref_dataset(
        ref_dataset=source,
        pixel_array=rgb,
        photometric_interpretation="RGB",
        bits_allocated=8,
        coordinate_system="PATIENT",
        patient_orientation=(given[0], given[1]) if known else ("L", "F"),
        transfer_syntax_uid=ExplicitVRLittleEndian,
        **_identity(9001, "CovidCXR heat map - research use only"),
    )
    if not known:
        sc.add_new("PatientOrientation", "CS", None)
    # Copied so a viewer hangs the capture with its film. Laterality (General Series, Type
    # 2C) is absent for an unpaired part such as the chest, and empty when the part is
    # not named at all (dciodvfy's reading of the condition).
    if source.get("BodyPartExamined"):
        sc.BodyPartExamined = source.BodyPartExamined
    if source.get("Laterality"):
        sc.Laterality = source.Laterality
    elif not source.get("BodyPartExamined"):
        sc.Laterality = ""
    # A derived image: say from what, and that no identity is burned in (only the caption).
    sc.ImageType = ["DERIVED", "SECONDARY"]
    sc.BurnedInAnnotation = "NO"
    sc.DerivationDescription = (
        f"Grad-CAM heat map of CovidCXR {__version__} over the source film; caption "
        f"'{CAPTION}' burned in below it")[:1024]
    from pydicom.dataset import Dataset

    ref = Dataset()
    ref.ReferencedSOPClassUID = source.SOPClassUID
    ref.ReferencedSOPInstanceUID = source.SOPInstanceUID
    sc.SourceImageSequence = [ref]
    sc.ImageComments = CAPTION
    return sc


def build_report(
    source: pydicom.Dataset,
    capture: pydicom.Dataset | None,
    pred: Prediction,
    card: ModelCard,
    origin: str,
    fitted: Iterable[str] = (),
) -> pydicom.Dataset:
    """A Comprehensive SR of one film's result (see the module docstring for what it holds).

    ``fitted``: what was changed in the source's header values to copy them (one line per
    element); the report says so, as a reader comparing it with the film would wonder."""
    from highdicom.coding_schemes import CodingSchemeIdentificationItem
    from highdicom.sr import (
        CodeContentItem,
        CodedConcept,
        ComprehensiveSR,
        ContainerContentItem,
        DeviceObserverIdentifyingAttributes,
        ImageContentItem,
        NumContentItem,
        ObservationContext,
        ObserverContext,
        RelationshipTypeValues,
        TextContentItem,
    )
    from pydicom.sr.codedict import codes

    contains = RelationshipTypeValues.CONTAINS
    unit = CodedConcept("{probability}", "UCUM", "probability")

    def text(name: Any, value: str) -> Any:
        return TextContentItem(name=name, value=value, relationship_type=contains)

    root = ContainerContentItem(name=_code("CXR-RESULT", "CovidCXR chest X-ray result"))
    items: list[Any] = []
    observer = ObservationContext(observer_device_context=ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=DeviceObserverIdentifyingAttributes(
            uid=new_uid(), name=f"CovidCXR {__version__}", manufacturer_name=MANUFACTURER,
            model_name=card.name[:64]),
    ))
    items.extend(observer)
    items.append(text(codes.DCM.Comment, INTENDED_USE))
    items.append(ImageContentItem(
        name=codes.DCM.SourceImage, referenced_sop_class_uid=source.SOPClassUID,
        referenced_sop_instance_uid=source.SOPInstanceUID, relationship_type=contains))
    decision = {
        POSITIVE: _code("COVID", "COVID (P(COVID) at or above the threshold)"),
        NEGATIVE: _code("NOT-COVID", "Not COVID (P(COVID) below the threshold)"),
        NOT_ASSESSED: _code("NOT-ASSESSED", "Not assessed (not a frontal chest X-ray)"),
        INDETERMINATE: _code("INDETERMINATE",
                             "Indeterminate (the score crosses the threshold across views)"),
    }[pred.label]
    items.append(CodeContentItem(name=_code("DECISION", "Decision"), value=decision,
                                 relationship_type=contains))
    if pred.probability is not None:
        items.append(NumContentItem(name=_code("P-COVID", "P(COVID)"),
                                    value=round(float(pred.probability), 6), unit=unit,
                                    relationship_type=contains))
    for value, code, meaning in ((pred.p_low, "P-COVID-LOW", "P(COVID), 10th percentile "
                                  "over test-time views"),
                                 (pred.p_high, "P-COVID-HIGH", "P(COVID), 90th percentile "
                                  "over test-time views")):
        if value is not None:
            items.append(NumContentItem(name=_code(code, meaning), value=round(float(value), 6),
                                        unit=unit, relationship_type=contains))
    if pred.threshold is not None:
        items.append(NumContentItem(name=_code("THRESHOLD", "Decision threshold"),
                                    value=round(float(pred.threshold), 6), unit=unit,
                                    relationship_type=contains))
    items.append(text(_code("THRESHOLD-ORIGIN", "Threshold origin"), origin))
    if pred.label == NOT_ASSESSED:
        items.append(text(_code("REFUSAL", "Reason not assessed"), pred.message))
    else:
        items.append(CodeContentItem(
            name=_code("UNUSUAL", "Unusual for the model"),
            value=codes.SCT.Yes if pred.unusual else codes.SCT.No, relationship_type=contains))
        if pred.unusual:
            items.append(text(_code("UNUSUAL-REASON", "Why unusual"), UNUSUAL_MESSAGE))
        if pred.label == INDETERMINATE:
            items.append(text(_code("INDETERMINATE-REASON", "Why indeterminate"),
                              INDETERMINATE_MESSAGE))
    if pred.lung_evidence is not None:
        items.append(NumContentItem(
            name=_code("LUNG-EVIDENCE", "Share of the heat map inside the lung fields"),
            value=round(float(pred.lung_evidence), 6), unit=CodedConcept("1", "UCUM", "no units"),
            relationship_type=contains))
        if pred.lung_evidence < LOW_EVIDENCE and pred.label != NOT_ASSESSED:
            items.append(text(_code("LOW-EVIDENCE-REASON", "Why review"), LOW_EVIDENCE_MESSAGE))
    if pred.ood_score is not None:
        items.append(NumContentItem(
            name=_code("OOD-SCORE", "Distance from the training films (above 1 = unusual)"),
            value=round(float(pred.ood_score), 6), unit=CodedConcept("1", "UCUM", "no units"),
            relationship_type=contains))
    items.append(text(codes.DCM.AlgorithmName, card.name))
    items.append(text(codes.DCM.AlgorithmVersion, f"CovidCXR {__version__}"))
    items.append(text(_code("MODEL-SHA256", "Model weights SHA-256"), card.weights_sha256))
    fitted = list(fitted)
    if fitted:
        items.append(text(_code("HEADER-FITTED", "Source header values changed to fit DICOM"),
                          f"{FITTED_NOTE} {'. '.join(fitted)}."))
    if capture is not None:
        items.append(ImageContentItem(
            name=codes.DCM.BestIllustrationOfFinding,
            referenced_sop_class_uid=capture.SOPClassUID,
            referenced_sop_instance_uid=capture.SOPInstanceUID, relationship_type=contains))
        items.append(text(codes.DCM.Comment, HEATMAP_NOTE))
    root.ContentSequence = items

    evidence = [source] + ([capture] if capture is not None else [])
    sr = ComprehensiveSR(
        evidence=evidence,
        content=root,
        is_complete=True,
        is_final=False,  # nobody has verified it: PRELIMINARY, UNVERIFIED
        is_verified=False,
        **_identity(9002, "CovidCXR result - research use only"),
        coding_schemes=[CodingSchemeIdentificationItem(
            SCHEME, name=SCHEME_NAME, responsible_organization=MANUFACTURER)],
    )
    return sr


def _save(ds: pydicom.Dataset, folder: Path) -> Path:
    target = folder / f"{ds.SOPInstanceUID}.dcm"
    with atomic_path(target) as tmp:
        ds.save_as(tmp, enforce_file_format=True)
    return target


def write_results(
    pred: Prediction,
    model: LoadedModel,
    folder: str | os.PathLike[str],
    origin: str | None = None,
) -> Written:
    """Read the film again, explain it, and write its SR and SC into ``folder``.

    A refused film (not a frontal chest X-ray) gets its capture without a heat map: there
    is no finding for the colours to illustrate."""
    from core.answers.gradcam import explain
    from core.files.reader import read_xray

    if not is_candidate(pred):
        raise DicomResultError("only a DICOM film the model read gets a DICOM result")
    folder = Path(folder)
    source, fitted = _source_header(pred.path)
    pixels = read_xray(pred.path).pixels
    heat = explain(model, pixels) if pred.label != NOT_ASSESSED else None
    rgb = render_capture(pixels, heat, caption_lines(pred, model.card, heat))
    try:
        capture = build_capture(source, rgb)
        report = build_report(source, capture, pred, model.card,
                              origin or threshold_origin(model.card, pred.threshold), fitted)
    except (ValueError, TypeError, AttributeError) as exc:
        # highdicom checks what it copies; a header value that fit_header does not mend
        # costs this film its result, never the run.
        raise DicomResultError(f"its DICOM header cannot be copied into a result: {exc}"
                               ) from None
    folder.mkdir(parents=True, exist_ok=True)
    sc_path = _save(capture, folder)
    sr_path = _save(report, folder)
    return Written(pred.path, sr_path, sc_path, str(report.SOPInstanceUID))


class ResultWriter:
    """Writes the results of DICOM films as their predictions stream in (the command line
    writes each beside its CSV row, so an interrupted run keeps what it wrote), and counts
    what it did with every prediction."""

    def __init__(self, model: LoadedModel, folder: str | os.PathLike[str],
                 origin: str | None = None) -> None:
        self.model, self.folder, self.origin = model, Path(folder), origin
        self.summary = ExportSummary()

    def add(self, pred: Prediction) -> Written | None:
        """Write ``pred``'s result if it has one; a film that cannot get one is listed in
        ``summary.failed``; a folder that cannot be written to raises ``OSError``."""
        if not pred.ok:
            self.summary.unreadable += 1
            return None
        if not is_candidate(pred):
            self.summary.not_dicom += 1
            return None
        try:
            written = write_results(pred, self.model, self.folder, self.origin)
        except CovidCXRError as exc:
            self.summary.failed.append((pred.path, str(exc)))
            return None
        self.summary.written.append(written)
        return written


def export_results(
    preds: Iterable[Prediction],
    model: LoadedModel,
    folder: str | os.PathLike[str],
    *,
    origin: str | None = None,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> ExportSummary:
    """Write the results of every DICOM film among ``preds``; the others are counted.

    One film that cannot get a result (no study UID in its header, a film changed on disk
    since it was classified) is listed in ``failed`` and the rest go on; a folder that
    cannot be written to raises ``OSError``. ``should_stop`` ends it between films."""
    preds = list(preds)
    writer = ResultWriter(model, folder, origin)
    for i, pred in enumerate(preds):
        if should_stop and should_stop():
            break
        if on_progress:
            on_progress(i, len(preds), pred.filename)
        writer.add(pred)
    if on_progress:
        on_progress(len(preds), len(preds), "")
    return writer.summary
