"""The window's words for what ``core`` says in English: decisions, refusal and "unusual"
messages, the heat-map note, the intended use and the reader's fixed error messages.

``core`` stays English (the CSV, the command line and scripts read its words), so the
window translates them when it shows them. The literals below are ``core``'s own, marked
for lupdate; tests/gui/test_i18n.py checks that they still match ``core``'s constants, so a
changed message cannot silently lose its translation. A message this module does not know
(a decoder's own words, a path) is shown as ``core`` wrote it.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QT_TRANSLATE_NOOP

from gui.i18n import translate

CONTEXT = "core"

# Decisions (core.model.card).
LABELS = (
    QT_TRANSLATE_NOOP("core", "COVID"),
    QT_TRANSLATE_NOOP("core", "NOT COVID"),
    QT_TRANSLATE_NOOP("core", "NOT ASSESSED"),
    QT_TRANSLATE_NOOP("core", "INDETERMINATE"),
)
# Notices and messages that are whole sentences (core.model.card, .gradcam, .ood, .inference).
SENTENCES = (
    QT_TRANSLATE_NOOP(
        "core",
        "Research use only. Not a medical device: not for diagnosis, triage or any clinical "
        "decision. Outputs must be reviewed by a qualified clinician.",
    ),
    QT_TRANSLATE_NOOP(
        "core",
        "Heat map (Grad-CAM): where this network looked for its score. Not a lesion map and "
        "not a diagnosis; it can light up text, markers or borders.",
    ),
    QT_TRANSLATE_NOOP("core", "does not look like a frontal chest X-ray"),
    QT_TRANSLATE_NOOP(
        "core",
        "unusual for this model: unlike the X-rays it was trained on, so its score is less "
        "reliable here; review the image",
    ),
    QT_TRANSLATE_NOOP("core", "no anatomy: blank or smooth image"),
    QT_TRANSLATE_NOOP(
        "core",
        "the score rests mostly on areas outside the lungs (markers, tubes, borders): review "
        "the film",
    ),
    QT_TRANSLATE_NOOP(
        "core",
        "indeterminate: the score moves across the threshold when the film is mirrored, "
        "shifted or zoomed; review the film",
    ),
    # Why a film is not a frontal chest X-ray (core.model.lungs).
    QT_TRANSLATE_NOOP("core", "no lung field found"),
    QT_TRANSLATE_NOOP("core", "only one lung field found"),
    QT_TRANSLATE_NOOP("core", "the two fields are not left and right of each other"),
    QT_TRANSLATE_NOOP("core", "the two fields do not share their height"),
    QT_TRANSLATE_NOOP("core", "a lung field is too small"),
    QT_TRANSLATE_NOOP("core", "the lung fields are too unequal"),
    QT_TRANSLATE_NOOP("core", "the lung fields do not share their height"),
    QT_TRANSLATE_NOOP("core", "the segmentation is uncertain"),
    QT_TRANSLATE_NOOP("core", "the lung outlines are ragged"),
    QT_TRANSLATE_NOOP("core", "the lungs are not across the midline"),
    QT_TRANSLATE_NOOP("core", "the lung apices are too low"),
    QT_TRANSLATE_NOOP("core", "the lung fields are too short"),
    QT_TRANSLATE_NOOP("core", "the lung fields are too narrow"),
    QT_TRANSLATE_NOOP("core", "the lung fields are too large"),
    QT_TRANSLATE_NOOP(
        "core", "the body is a section floating in a flat background (CT or MR slice?)"),
    QT_TRANSLATE_NOOP("core", "the lungs are air-dark holes with white walls (a CT slice?)"),
    QT_TRANSLATE_NOOP(
        "core", "nothing denser than the lungs lies between them (no mediastinum)"),
    # What the frontal-film classifier says a picture is instead (core.model.frontal).
    QT_TRANSLATE_NOOP("core", "lateral view"),
    QT_TRANSLATE_NOOP("core", "CT slice"),
    QT_TRANSLATE_NOOP("core", "a photograph, not a radiograph"),
    QT_TRANSLATE_NOOP("core", "a page or a screenshot, not a radiograph"),
    QT_TRANSLATE_NOOP("core", "another modality or body part, not a chest radiograph"),
    QT_TRANSLATE_NOOP("core", "not a radiograph"),
    # The reader's fixed refusals (core.files).
    QT_TRANSLATE_NOOP("core", "file not found"),
    QT_TRANSLATE_NOOP("core", "empty file (0 bytes)"),
    QT_TRANSLATE_NOOP("core", "this is a folder, not an image file"),
    QT_TRANSLATE_NOOP("core", "cannot open file: permission denied"),
    QT_TRANSLATE_NOOP("core", "not an image file (not PNG, JPEG, BMP, TIFF or DICOM)"),
    QT_TRANSLATE_NOOP("core", "DICOM file holds no image (no Pixel Data), e.g. a report or SR"),
    QT_TRANSLATE_NOOP("core", "DICOM file is truncated: the image data is missing"),
    QT_TRANSLATE_NOOP("core", "DICOM image is too large"),
    QT_TRANSLATE_NOOP("core", "not enough memory to read this image"),
    QT_TRANSLATE_NOOP("core", "file is truncated or corrupt: image data ends early"),
    # How a dataset's splits were decided (core.files.dataset.scan).
    QT_TRANSLATE_NOOP("core", "manifest.csv split column"),
    QT_TRANSLATE_NOOP("core", "train/val/test folders"),
    # How a labelled folder was read (core.evaluation.validation).
    QT_TRANSLATE_NOOP("core", "class sub-folders"),
)

# Facts about a file (core.files.reader.describe, core.files.dicom): field names.
FIELDS = (
    QT_TRANSLATE_NOOP("core", "File"),
    QT_TRANSLATE_NOOP("core", "Format"),
    QT_TRANSLATE_NOOP("core", "Size"),
    QT_TRANSLATE_NOOP("core", "Bit depth"),
    QT_TRANSLATE_NOOP("core", "Mode"),
    QT_TRANSLATE_NOOP("core", "File size"),
    QT_TRANSLATE_NOOP("core", "Modality"),
    QT_TRANSLATE_NOOP("core", "View position"),
    QT_TRANSLATE_NOOP("core", "Photometric interpretation"),
    QT_TRANSLATE_NOOP("core", "Body part"),
    QT_TRANSLATE_NOOP("core", "Image type"),
    QT_TRANSLATE_NOOP("core", "Bits stored"),
    QT_TRANSLATE_NOOP("core", "Manufacturer"),
    QT_TRANSLATE_NOOP("core", "Study date"),
    QT_TRANSLATE_NOOP("core", "Transfer syntax"),
    QT_TRANSLATE_NOOP("core", "Patient name"),
    QT_TRANSLATE_NOOP("core", "Patient ID"),
    QT_TRANSLATE_NOOP("core", "Birth date"),
)

# Messages with a number in them: the pattern of core's English and the translatable
# template, whose {0} is the number as core wrote it.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"one lung field is too small \((.+) of the image\)"),
     QT_TRANSLATE_NOOP("core", "one lung field is too small ({0} of the image)")),
    (re.compile(r"the fields differ too much in size \(ratio (.+)\)"),
     QT_TRANSLATE_NOOP("core", "the fields differ too much in size (ratio {0})")),
    (re.compile(r"the segmentation is uncertain \(confidence (.+)\)"),
     QT_TRANSLATE_NOOP("core", "the segmentation is uncertain (confidence {0})")),
    (re.compile(r"the lung outlines are ragged \((.+)\): the segmenter is guessing"),
     QT_TRANSLATE_NOOP("core", "the lung outlines are ragged ({0}): the segmenter is guessing")),
    (re.compile(r"image is too small to assess \((.+) pixels\)"),
     QT_TRANSLATE_NOOP("core", "image is too small to assess ({0} pixels)")),
    (re.compile(r"labels file (.+)"), QT_TRANSLATE_NOOP("core", "labels file {0}")),
    # What a film's DICOM header said against it (core.model.frontal).
    (re.compile(r"DICOM header: (.+)"), QT_TRANSLATE_NOOP("core", "DICOM header: {0}")),
    # Why a validation's intervals are not to be relied on (core.evaluation.validation).
    (re.compile(r"only (\d+) positive images: the intervals are too wide to rely on "
                r"\(at least (\d+) per class are needed\)"),
     QT_TRANSLATE_NOOP("core", "only {0} positive images: the intervals are too wide to rely "
                       "on (at least {1} per class are needed)")),
    (re.compile(r"only (\d+) negative images: the intervals are too wide to rely on "
                r"\(at least (\d+) per class are needed\)"),
     QT_TRANSLATE_NOOP("core", "only {0} negative images: the intervals are too wide to rely "
                       "on (at least {1} per class are needed)")),
    (re.compile(r"only (\d+) assessed images in one class: the intervals are too wide to "
                r"rely on"),
     QT_TRANSLATE_NOOP("core", "only {0} assessed images in one class: the intervals are too "
                       "wide to rely on")),
    (re.compile(r"class sub-folders \((.+) split\)"),
     QT_TRANSLATE_NOOP("core", "class sub-folders ({0} split)")),
    (re.compile(r"seeded stratified split by file \(seed (.+)\)"),
     QT_TRANSLATE_NOOP("core", "seeded stratified split by file (seed {0})")),
    (re.compile(r"seeded stratified split by patient group \(seed (.+)\)"),
     QT_TRANSLATE_NOOP("core", "seeded stratified split by patient group (seed {0})")),
)

# "<sentence> (<reason>)", as core.answers.inference.decide words a refusal.
_WITH_REASON = re.compile(r"(?s)(.+?) \((.+)\)")


def core_text(message: str) -> str:
    """``message`` from core in the window's language, as far as it is known."""
    if not message:
        return message
    known = translate(CONTEXT, message)
    if known != message or message in LABELS or message in SENTENCES or message in FIELDS:
        return known
    for pattern, template in _PATTERNS:
        m = pattern.fullmatch(message)
        if m:
            return translate(CONTEXT, template).format(*m.groups())
    if "; " in message:  # several notes, as core.answers.inference.decide joins them
        return "; ".join(core_text(part) for part in message.split("; "))
    m = _WITH_REASON.fullmatch(message)
    if m and m.group(1) in SENTENCES:
        return f"{translate(CONTEXT, m.group(1))} ({core_text(m.group(2))})"
    return message
