#!/usr/bin/env bash
# CI for the double-click application: build it, then check the frozen program headless.
#   1. packaging/build.sh (build environment, PyInstaller, dist/covidcxr/)
#   2. frozen `--version` and `--self-test` (loads the bundled model, checks its hash,
#      classifies the bundled samples, prints OK and the device)
#   3. frozen `classify` of assets/samples, and a check of the CSV: the columns the README
#      promises, one row per sample, every row status ok; then a frozen `classify` of
#      tests/data/jpeg-lossless.dcm (JPEG Lossless, the usual CR/DX compression), which the
#      bundled python-gdcm must decode: status ok, a probability, no codec message; then
#      compressed DICOMs that abort GDCM (tests/aborting_dicoms.py): one error row each,
#      from a decoder process that died, and the run goes on (multiprocessing, frozen)
#   4. frozen `classify --dicom-out` of that DICOM and the samples: one SR and one heat-map
#      SC (highdicom, bundled), in the film's study, referring to it; dciodvfy (dicom3tools)
#      finds no error in them where it is installed; the window's Spanish catalogue and
#      Qt's own are in the folder
#   4b. frozen `validate --report` of the samples, labelled by name: metrics and a PDF
#   5. the frozen window starts (offscreen Qt platform) and keeps running without a
#      traceback while it loads the model and classifies the samples
#   6. if Xvfb and xdotool are installed: the time until the window is shown (reported)
# The frozen program runs from a scratch folder with a scratch HOME, so it cannot lean on
# the source tree or on settings. Same environment variables as build.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
t0=$SECONDS
bash packaging/build.sh
build_s=$((SECONDS - t0))

dist="$root/dist/covidcxr"
cli="$dist/covidcxr-cli"
samples="$root/assets/samples"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/home"
cd "$work"
export HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config"
py="${PYTHON:-python3}"

echo "--- frozen --version"
"$cli" --version

echo "--- frozen --self-test"
"$cli" --self-test | tee self-test.txt
grep -q '^OK model=.* sha256=.* samples=[1-9][0-9]* device=' self-test.txt \
  || { echo "FAIL: the frozen self-test did not print OK" >&2; exit 1; }

echo "--- frozen classify"
"$cli" classify "$samples" --output "$work/predicted.csv"
"$py" - "$work/predicted.csv" "$samples" <<'EOF'
import csv
import sys
from pathlib import Path

out, samples = Path(sys.argv[1]), Path(sys.argv[2])
expected = sorted(p.name for p in samples.iterdir() if p.is_file() and p.suffix != ".md")
with out.open(newline="", encoding="utf-8") as f:
    rows = list(csv.reader(f))
header, body = rows[0], rows[1:]
want = ["filename", "prediction", "probability", "label", "status", "message"]
problems = []
if header[: len(want)] != want:
    problems.append(f"header starts {header[:len(want)]}, expected {want}")
records = [dict(zip(header, r, strict=True)) for r in body]
names = sorted(r["filename"] for r in records)
if names != expected:
    problems.append(f"rows {names} != samples {expected}")
for r in records:
    if r["status"] != "ok":
        problems.append(f"{r['filename']}: status {r['status']!r} ({r['message']})")
    elif not 0.0 <= float(r["probability"]) <= 1.0 or not r["label"]:
        problems.append(f"{r['filename']}: probability {r['probability']!r} label {r['label']!r}")
if problems:
    sys.exit("FAIL: frozen classify CSV:\n  " + "\n  ".join(problems))
print(f"CSV ok: {len(records)} rows, header {','.join(header)}")
EOF

echo "--- frozen classify of a JPEG Lossless DICOM (decoded by the bundled python-gdcm)"
"$cli" classify "$root/tests/data/jpeg-lossless.dcm" --output "$work/lossless.csv"
"$py" - "$work/lossless.csv" <<'EOF'
import csv
import sys

with open(sys.argv[1], newline="", encoding="utf-8") as f:
    rows = list(csv.DictReader(f))
if len(rows) != 1:
    sys.exit(f"FAIL: JPEG Lossless DICOM gave {len(rows)} rows, expected 1")
r = rows[0]
words = ("codec", "decoder", "pip install", "cannot be decoded")
if r["status"] != "ok" or r["probability"] == "" or any(w in r["message"].lower() for w in words):
    sys.exit(
        f"FAIL: JPEG Lossless DICOM: status {r['status']!r}, "
        f"probability {r['probability']!r}, message {r['message']!r}"
    )
print(f"JPEG Lossless DICOM ok: probability {r['probability']}, label {r['label']}")
EOF

echo "--- frozen classify of compressed DICOMs that abort GDCM (decoded in worker processes)"
# Made from tests/data with the build environment's Python (it holds pydicom and GDCM).
bpy="$root/${COVIDCXR_BUILD_VENV:-.venv-build}/bin/python"
[ -x "$bpy" ] || bpy="$root/${COVIDCXR_BUILD_VENV:-.venv-build}/Scripts/python.exe"
"$bpy" "$root/tests/aborting_dicoms.py" "$work/aborting"
"$cli" classify "$work/aborting" --output "$work/aborting.csv"
"$py" - "$work/aborting.csv" <<'EOF'
import csv
import sys

with open(sys.argv[1], newline="", encoding="utf-8") as f:
    rows = {r["filename"]: r for r in csv.DictReader(f)}
crashed = sorted(n for n, r in rows.items() if r["message"].startswith("the decoder crashed"))
good = sorted(n for n, r in rows.items() if r["status"] == "ok")
if len(rows) != 6 or len(good) != 3 or crashed != sorted(n for n in rows if n.startswith("abort-")):
    sys.exit(f"FAIL: aborting DICOMs: {len(rows)} rows, crashed {crashed}, ok {good}")
print("aborting DICOMs ok: 3 crash rows, 3 good compressed files classified")
EOF

echo "--- frozen classify --dicom-out (a Structured Report and a heat-map Secondary Capture)"
"$cli" classify "$root/tests/data/jpeg-lossless.dcm" "$samples" --output "$work/dicom.csv" \
  --dicom-out "$work/dicom-out" | tee dicom-out.txt
grep -q '^1 DICOM result written (2 files: SR + SC); [0-9]* non-DICOM inputs get none' \
  dicom-out.txt || { echo "FAIL: frozen classify --dicom-out did not say it wrote 1 result" >&2; exit 1; }
# The build environment has pydicom (a runtime dependency); the system Python may not.
bpy="$root/${COVIDCXR_BUILD_VENV:-.venv-build}/bin/python"
[ -x "$bpy" ] || bpy="$root/${COVIDCXR_BUILD_VENV:-.venv-build}/Scripts/python.exe"
"$bpy" - "$work/dicom-out" "$root/tests/data/jpeg-lossless.dcm" <<'EOF'
import sys
from pathlib import Path

import pydicom

out, source = Path(sys.argv[1]), pydicom.dcmread(sys.argv[2], stop_before_pixels=True)
files = sorted(out.glob("*.dcm"))
if len(files) != 2:
    sys.exit(f"FAIL: --dicom-out wrote {len(files)} files, expected an SR and an SC")
kinds = {}
for f in files:
    ds = pydicom.dcmread(f)
    if f.name != f"{ds.SOPInstanceUID}.dcm" or ds.StudyInstanceUID != source.StudyInstanceUID:
        sys.exit(f"FAIL: {f.name} is not named by its UID or not in the film's study")
    kinds[ds.Modality] = ds
sr, sc = kinds.get("SR"), kinds.get("OT")
if sr is None or sc is None:
    sys.exit(f"FAIL: expected an SR and an SC, got {sorted(kinds)}")
refs = [i.ReferencedSOPSequence[0].ReferencedSOPInstanceUID for i in sr.ContentSequence
        if i.ValueType == "IMAGE"]
if source.SOPInstanceUID not in refs or sc.SOPInstanceUID not in refs:
    sys.exit("FAIL: the SR does not refer to the source film and to the capture")
p = [i for i in sr.ContentSequence if i.ConceptNameCodeSequence[0].CodeMeaning == "P(COVID)"]
if sc.PhotometricInterpretation != "RGB" or sc.pixel_array.ndim != 3:
    sys.exit("FAIL: the capture is not an RGB image")
value = float(p[0].MeasuredValueSequence[0].NumericValue) if p else "none (not assessed)"
print(f"DICOM results ok: SR + SC in study {sr.StudyInstanceUID}, P(COVID) {value}")
EOF
if command -v dciodvfy >/dev/null; then
  for f in "$work"/dicom-out/*.dcm; do
    if dciodvfy "$f" 2>&1 | grep '^Error'; then
      echo "FAIL: dciodvfy finds errors in $(basename "$f")" >&2; exit 1
    fi
  done
  echo "dciodvfy: no errors"
fi
for qm in gui/i18n/covidcxr_es.qm PySide6/Qt/translations/qtbase_es.qm; do
  [ -f "$dist/_internal/$qm" ] || { echo "FAIL: the frozen app lacks $qm" >&2; exit 1; }
done
echo "translations ok: covidcxr_es.qm and Qt's qtbase_es.qm are bundled"

echo "--- frozen validate with a PDF report (labelled copy of the samples)"
mkdir -p site/COVID site/Normal
cp "$samples"/covid-* site/COVID/
cp "$samples"/normal-* site/Normal/
"$cli" validate site --resamples 200 --report "$work/report.pdf" | tee validate.txt
grep -q '^  ROC AUC' validate.txt || { echo "FAIL: frozen validate printed no AUC" >&2; exit 1; }
head -c 5 "$work/report.pdf" | grep -q '%PDF-' \
  || { echo "FAIL: frozen validate --report wrote no PDF" >&2; exit 1; }
echo "report ok: $(wc -c < "$work/report.pdf") bytes"

echo "--- frozen window (offscreen)"
QT_QPA_PLATFORM=offscreen timeout 40 "$dist/covidcxr" "$samples" > gui.log 2>&1 && rc=0 || rc=$?
if [ "$rc" -ne 124 ] || grep -q -E 'Traceback|ModuleNotFoundError|ImportError' gui.log; then
  echo "FAIL: the frozen window exited (rc $rc) or raised:" >&2
  tail -30 gui.log >&2
  exit 1
fi
echo "window ran for 40 s without an error"

if command -v Xvfb >/dev/null && command -v xdotool >/dev/null; then
  echo "--- time until the frozen window is shown"
  RUNS=3 bash "$root/packaging/time_window.sh" "$dist/covidcxr"
fi

echo "ci_check: OK; build ${build_s} s, $(du -sh "$dist" | cut -f1) in $dist," \
  "whole check $((SECONDS - t0)) s"
