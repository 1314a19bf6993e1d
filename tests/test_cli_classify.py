"""End to end: ``python -m gui.shell.launcher classify`` in a subprocess, as a user runs it."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from core.answers.evidence import LOW_EVIDENCE_MESSAGE
from core.model.disk import card_path, ood_path

REPO = Path(__file__).resolve().parent.parent


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [sys.executable, "-m", "gui.shell.launcher", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def write_dicom(path: Path) -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = SecondaryCaptureImageStorage, generate_uid()
    ds.Rows, ds.Columns, ds.SamplesPerPixel = 96, 80, 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = np.linspace(0, 4095, 96 * 80).astype(np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)


@pytest.fixture
def folder(tmp_path, sample_images) -> Path:
    """Good and bad files mixed; the walker sorts names and visits sub-folders after files."""
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    shutil.copyfile(sample_images[0], root / "a_first.png")
    (root / "b_notes.png").write_text("not an image\n")
    shutil.copyfile(sample_images[1], root / "c_second.png")
    (root / "d_empty.jpg").write_bytes(b"")
    (root / "e_readme.txt").write_text("skipped: not an image name\n")
    (root / ".hidden.png").write_text("skipped: hidden\n")
    shutil.copyfile(sample_images[2], root / "sub" / "f_third.png")
    write_dicom(root / "sub" / "IM0001")  # no extension: found by content
    return root


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_classify_folder_writes_one_row_per_file_in_order(folder, tiny_model_path, tmp_path):
    out = tmp_path / "results" / "out.csv"
    proc = run_cli(
        "classify", str(folder), "--output", str(out), "--model", str(tiny_model_path), cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"wrote {out}" in proc.stdout
    assert proc.stdout.startswith("6 files in ")
    # The DICOM is a smooth ramp, not a chest film: read, scored, refused.
    assert "1 NOT ASSESSED, 3 NOT COVID, 2 error" in proc.stdout

    rows = read_rows(out)
    # Sorted by name (code-point order, so upper case first), sub-folders after files.
    assert [r["filename"] for r in rows] == [
        "a_first.png",
        "b_notes.png",
        "c_second.png",
        "d_empty.jpg",
        "IM0001",
        "f_third.png",
    ]
    assert [r["status"] for r in rows] == ["ok", "error", "ok", "error", "ok", "ok"]
    assert rows[4]["probability"] != ""  # the DICOM was read
    assert rows[4]["label"] == "NOT ASSESSED" and rows[4]["prediction"] == ""
    assert rows[4]["message"].startswith("does not look like a frontal chest X-ray (")
    assert rows[1]["message"] == "not an image file (not PNG, JPEG, BMP, TIFF or DICOM)"
    assert rows[3]["message"] == "empty file (0 bytes)"
    for r in rows:
        assert r["path"] == str(
            folder / ("sub/" if r["filename"] in ("f_third.png", "IM0001") else "") / r["filename"]
        )
        assert r["model"] == "tiny-test"
        if r["filename"] == "IM0001":
            continue
        if r["status"] == "ok":
            p = float(r["probability"])
            assert 0.0 < p < 1.0 and len(r["probability"]) == 6  # 4 decimals
            assert r["prediction"] == ("1" if p >= 0.5 else "0")
            assert r["label"] == ("COVID" if p >= 0.5 else "NOT COVID")
            assert r["threshold"] == "0.5000"
            # the tiny random network's evidence lies wherever it likes: the message is
            # the low-evidence note exactly when lung_evidence says so (issue #21)
            low = r["lung_evidence"] != "" and float(r["lung_evidence"]) < 0.5
            assert r["message"] == (LOW_EVIDENCE_MESSAGE if low else "")
        else:
            assert r["prediction"] == r["probability"] == ""
            assert r["label"] == "NOT ASSESSED"


def test_threshold_zero_is_honoured(folder, tiny_model_path, tmp_path):
    out = tmp_path / "t0.csv"
    proc = run_cli(
        "classify",
        str(folder / "a_first.png"),
        str(folder / "c_second.png"),
        "--threshold",
        "0",
        "--output",
        str(out),
        "--model",
        str(tiny_model_path),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "(threshold 0.0000)" in proc.stderr
    rows = read_rows(out)
    assert [(r["filename"], r["prediction"], r["threshold"]) for r in rows] == [
        ("a_first.png", "1", "0.0000"),
        ("c_second.png", "1", "0.0000"),
    ]


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("covidcxr: error: ")
    return lines[0]


def test_missing_path(tiny_model_path, tmp_path):
    proc = run_cli("classify", "nowhere", "--model", str(tiny_model_path), cwd=tmp_path)
    assert one_line_error(proc) == "covidcxr: error: no such file or folder: nowhere"
    assert not (tmp_path / "predicted.csv").exists()


def test_folder_without_images(tiny_model_path, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("nothing to see\n")
    proc = run_cli("classify", "empty", "--model", str(tiny_model_path), cwd=tmp_path)
    assert one_line_error(proc) == (
        "covidcxr: error: no image files found in empty: 1 skipped (not images)"
    )


def test_missing_model(folder, tmp_path):
    proc = run_cli("classify", str(folder), "--model", "missing.keras", cwd=tmp_path)
    assert one_line_error(proc) == "covidcxr: error: model not found: missing.keras"


def test_tampered_model(folder, tiny_model_path, tmp_path):
    bad = tmp_path / "model"
    bad.mkdir()
    for src in (tiny_model_path, card_path(tiny_model_path), ood_path(tiny_model_path)):
        shutil.copyfile(src, bad / src.name)
    with open(bad / tiny_model_path.name, "ab") as fh:
        fh.write(b"\0")
    proc = run_cli(
        "classify", str(folder), "--model", str(bad / tiny_model_path.name), cwd=tmp_path
    )
    assert "does not match its card" in one_line_error(proc)


def test_bad_threshold(folder, tiny_model_path, tmp_path):
    proc = run_cli(
        "classify", str(folder), "--threshold", "1.5", "--model", str(tiny_model_path), cwd=tmp_path
    )
    assert one_line_error(proc) == "covidcxr: error: --threshold must be between 0 and 1"


def test_self_test_classifies_the_bundled_samples(tiny_model_path, tmp_path):
    proc = run_cli("--self-test", "--model", str(tiny_model_path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[-1].startswith("OK model=tiny-test sha256=")
    assert "samples=6" in lines[-1]
    assert len(lines) == 7  # one line per sample, then the verdict


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_webp_read_special_files_refused_and_skipped_files_counted(
    tmp_path, sample_images, tiny_model_path
):
    """A folder scan neither hangs on a FIFO nor drops a WebP film without a word; a FIFO
    named on the command line gets its own error row (run_cli's timeout fails a hang)."""
    from PIL import Image

    root = tmp_path / "site"
    root.mkdir()
    with Image.open(sample_images[0]) as img:
        img.save(root / "a_film.webp", lossless=True)
    (root / "b_notes.txt").write_text("not an image\n")
    os.mkfifo(root / "scan0001")
    named = tmp_path / "pipe0002"
    os.mkfifo(named)
    out = tmp_path / "out.csv"
    proc = run_cli(
        "classify", str(root), str(named), "--output", str(out),
        "--model", str(tiny_model_path), cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].endswith(
        ": 1 NOT COVID, 1 error; 2 skipped (1 not images, 1 not a regular file)"
    )
    rows = read_rows(out)
    assert [(r["filename"], r["status"], r["label"]) for r in rows] == [
        ("a_film.webp", "ok", "NOT COVID"),
        ("pipe0002", "error", "NOT ASSESSED"),
    ]
    assert rows[1]["message"] == "not a regular file (FIFO)"


def test_decoders_that_abort_cost_one_row_each_not_the_run(tmp_path, sample_images,
                                                           tiny_model_path):
    """Issue 22: one compressed DICOM that aborts GDCM ended the run with exit 134 and no
    CSV. Now each gets its error row, the files after it are classified, the exit is 0."""
    from aborting_dicoms import KINDS, aborts_in_process, write_aborting

    folder = tmp_path / "archive"
    aborting = write_aborting(folder)  # and folder/good/: a valid file of each kind
    for kind, path in aborting.items():  # each really kills a process that decodes it
        assert aborts_in_process(path).returncode == -6, kind
    for i, png in enumerate(sample_images):
        shutil.copyfile(png, folder / f"z{i}.png")
    out = tmp_path / "out.csv"
    proc = run_cli("classify", str(folder), "--output", str(out),
                   "--model", str(tiny_model_path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    rows = {r["filename"]: r for r in read_rows(out)}
    assert len(rows) == 3 + 3 + len(sample_images)
    for kind, path in aborting.items():
        r = rows[path.name]
        assert (r["status"], r["label"], r["probability"]) == ("error", "NOT ASSESSED", "")
        assert r["message"] == (f"the decoder crashed on this file (GDCM, {KINDS[kind]}): "
                                "damaged or unsupported")
    good = [r for name, r in rows.items() if not name.startswith("abort-")]
    assert [r["status"] for r in good] == ["ok"] * len(good)
    assert all(r["probability"] for r in good)
    assert not out.with_name(out.name + ".partial").exists()


def test_output_naming_a_folder_is_refused_before_any_file_is_read(folder, tiny_model_path,
                                                                   tmp_path):
    """Issue 22: refused only after the whole folder was classified, with a message about
    NAME.partial, and the .partial left behind."""
    (tmp_path / "results").mkdir()
    proc = run_cli("classify", str(folder), "--output", "results",
                   "--model", str(tiny_model_path), cwd=tmp_path)
    # One line: the model was never loaded (its "model ... on CPU" line never printed).
    assert one_line_error(proc) == (
        "covidcxr: error: --output results is a folder: name a file to write "
        "(e.g. results/predicted.csv)"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "results"]
    assert list((tmp_path / "results").iterdir()) == []


@pytest.mark.parametrize("as_root", [False, True])
def test_output_onto_a_read_only_file_is_refused(as_root, folder, tiny_model_path, tmp_path,
                                                 monkeypatch, capsys):
    """As a non-root user (the tests run as root, who may write anything, so os.access is
    made to answer as it would for a user without write permission), and as root too
    (issue 33: in containers and CI os.access allows every write, and a read-only
    predicted.csv was overwritten; its mode says its owner meant it to stay)."""
    from core.cli.main import main
    from core.files import atomic

    out = tmp_path / "kept.csv"
    out.write_text("the user's own results\n")
    out.chmod(0o444)
    if not as_root:
        real_access = os.access
        monkeypatch.setattr(atomic.os, "access", lambda p, mode, **kw: False if (
            os.fspath(p) == str(out) and mode & os.W_OK) else real_access(p, mode, **kw))
    loaded = []
    monkeypatch.setattr("core.model.loading.load_model", lambda *a, **k: loaded.append(a))
    assert main(["classify", str(folder), "--output", str(out),
                 "--model", str(tiny_model_path)]) == 1
    assert capsys.readouterr().err == (
        f"covidcxr: error: --output {out} is read-only (mode 444): make it writable or "
        "choose another file\n"
    )
    assert out.read_text() == "the user's own results\n"
    assert not loaded and not out.with_name("kept.csv.partial").exists()


def test_links_named_on_the_command_line_get_their_own_rows(tmp_path, sample_images,
                                                            tiny_model_path):
    """Issue 22: a symlink loop or a dangling link named on the command line stopped the
    run ("no such file or folder") instead of getting a row, as it does in a folder."""
    good = tmp_path / "good.png"
    shutil.copyfile(sample_images[0], good)
    dangling = tmp_path / "moved.png"
    dangling.symlink_to(tmp_path / "elsewhere.png")
    loop = tmp_path / "loop.png"
    loop.symlink_to(loop)
    out = tmp_path / "out.csv"
    proc = run_cli("classify", str(dangling), str(loop), str(good), "--output", str(out),
                   "--model", str(tiny_model_path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    got = [(r["filename"], r["status"], r["message"]) for r in read_rows(out)]
    assert got[:2] == [
        ("moved.png", "error",
         f"broken link: it points to {tmp_path / 'elsewhere.png'}, which does not exist"),
        ("loop.png", "error", "symbolic link loop: the link leads back to itself"),
    ]
    # the good film is assessed (its message is at most the tiny network's evidence note)
    assert got[2][:2] == ("good.png", "ok") and got[2][2] in ("", LOW_EVIDENCE_MESSAGE)
    # A name that is nothing at all is still a typo that stops the run at once.
    proc = run_cli("classify", "typo.png", "--model", str(tiny_model_path), cwd=tmp_path)
    assert one_line_error(proc) == "covidcxr: error: no such file or folder: typo.png"


def test_the_summary_carries_one_site_check_line(labelled_folder, tiny_model_path, tmp_path):
    """Issue 20: a folder of at least 20 assessed films gets "site check: familiar" or
    "site check: new site"; fewer get "too few films"; a model without a reference says so."""
    from core.answers.inference import classify
    from core.files.discovery import iter_inputs
    from core.model.disk import save_model
    from core.model.loading import load_model
    from core.model.site import fit_reference

    model = load_model(tiny_model_path)
    files = list(iter_inputs([labelled_folder]))
    feats = []
    from core.answers.inference import assess, load_one

    for f in files:
        a = assess(model, [load_one(f, model.card.spec, model.anatomy)], 0.5)[0]
        feats.append(a.features)
    ref = fit_reference(np.stack(feats), ["site"] * len(feats), 0.5, "the test films",
                        components=8)
    with_ref = tmp_path / "m" / "tiny.keras"
    save_model(model.keras_model, model.card, with_ref, model.ood, site=ref)
    assert load_model(with_ref).site is not None
    assert list(classify(files[:1], load_model(with_ref)))  # loads and runs

    out = tmp_path / "out.csv"
    proc = run_cli("classify", str(labelled_folder), "--output", str(out), "--model",
                   str(with_ref), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("site check:")]
    assert len(lines) == 1 and lines[0].startswith("site check: familiar (")
    assert f" of {len(files)} films unlike the reference, at most " in lines[0]
    proc = run_cli("classify", str(files[0]), "--output", str(out), "--model", str(with_ref),
                   cwd=tmp_path)
    assert "site check: too few films (1; it needs 20 assessed)" in proc.stdout
    proc = run_cli("classify", str(files[0]), "--output", str(out), "--model",
                   str(tiny_model_path), cwd=tmp_path)
    assert "site check: not available (the model has no site reference)" in proc.stdout
