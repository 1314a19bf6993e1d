"""Make the DICOM results of one film and render its Secondary Capture to a PNG, as a viewer
would show it (``docs/dicom-result-sc.png`` comes from this script):

    .venv/bin/python scripts/dicom_result_screenshot.py --out docs/dicom-result-sc.png \\
        assets/samples/covid-cxnet-868.jpg

A DICOM input is used as it is; another image is first wrapped as an uncompressed DX film
(8-bit grey x 16 in 12 bits, a placeholder patient, new study), because only DICOM inputs
get DICOM results. The SR and SC are left in ``--keep`` when given. Prints what it wrote,
the SR's P(COVID) and dciodvfy's verdict when dicom3tools is installed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def as_dicom(image: Path, out: Path) -> Path:
    """``image`` wrapped as a DX DICOM film in a study of its own."""
    import numpy as np
    from PIL import Image
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import DigitalXRayImageStorageForPresentation, ExplicitVRLittleEndian

    from core.output.dicom_results import new_uid

    grey = np.asarray(Image.open(image).convert("L"), np.uint16) * 16
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = DigitalXRayImageStorageForPresentation
    meta.MediaStorageSOPInstanceUID = new_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = new_uid(), new_uid()
    ds.Modality, ds.BodyPartExamined, ds.ViewPosition = "DX", "CHEST", "PA"
    ds.PatientName, ds.PatientID = "Example^Patient", "EXAMPLE-1"
    ds.Rows, ds.Columns = grey.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = grey.tobytes()
    ds.save_as(out, enforce_file_format=True)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="PNG to write")
    ap.add_argument("--model", help="model .keras file (default: the bundled one)")
    ap.add_argument("--keep", type=Path, help="folder to keep the SR and SC in")
    ap.add_argument("film", type=Path, help="a DICOM film, or an image to wrap as one")
    args = ap.parse_args()

    import pydicom
    from PIL import Image

    from core.answers.inference import classify
    from core.files.reader import is_dicom
    from core.model.loading import load_model
    from core.output.dicom_results import export_results
    from core.resources import default_model_path

    work = Path(tempfile.mkdtemp(prefix="covidcxr-dicom-"))
    try:
        film = args.film if is_dicom(args.film) else as_dicom(args.film, work / "film.dcm")
        model = load_model(args.model or default_model_path())
        preds = list(classify([film], model))
        folder = args.keep or work / "results"
        summary = export_results(preds, model, folder)
        if not summary.written:
            print(f"no DICOM result: {preds[0].message or summary.failed}", file=sys.stderr)
            return 1
        written = summary.written[0]
        capture = pydicom.dcmread(written.capture)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(capture.pixel_array).save(args.out, optimize=True)
        report = pydicom.dcmread(written.report)
        p = [i.MeasuredValueSequence[0].NumericValue for i in report.ContentSequence
             if i.ConceptNameCodeSequence[0].CodeMeaning == "P(COVID)"]
        print(f"wrote {args.out} ({capture.Columns} x {capture.Rows}); {preds[0].label}, "
              f"P(COVID) {p[0] if p else 'n/a'}; SR {written.report.name}")
        if shutil.which("dciodvfy"):
            for f in (written.report, written.capture):
                out = subprocess.run(["dciodvfy", str(f)], capture_output=True, text=True)
                errors = [x for x in (out.stdout + out.stderr).splitlines()
                          if x.startswith("Error")]
                print(f"dciodvfy {f.name}: {'no errors' if not errors else errors}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
