"""A decoder that aborts costs one file (issue 22): compressed DICOM decodes in worker
processes (core.files.decoder_pool), which a crash kills instead of the reader's process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from aborting_dicoms import KINDS, aborts_in_process, write_aborting

from core.errors import DicomError
from core.files import decoder_pool
from core.files.reader import read_xray

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def dicoms(tmp_path_factory) -> tuple[dict[str, Path], dict[str, Path]]:
    """(aborting, good) compressed DICOMs, one of each kind."""
    folder = tmp_path_factory.mktemp("aborting")
    aborting = write_aborting(folder)
    good = {kind: folder / "good" / name for kind, name in (
        ("jpeg-ls", "good-jpeg-ls.dcm"),
        ("jpeg-lossless", "good-jpeg-lossless-8bit.dcm"),
        ("jpeg-2000", "good-jpeg-2000.dcm"),
    )}
    return aborting, good


@pytest.fixture(autouse=True)
def _no_decoder_left():
    """Every test ends with its decoder processes stopped and reaped."""
    yield
    pids = decoder_pool.worker_pids()
    decoder_pool.shutdown()
    for pid in pids:
        assert not _alive(pid), f"decoder process {pid} still running after shutdown"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0): it has exited, only not been reaped (by a parent
    # that is gone, when this is a grandchild).
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _crash_message(kind: str) -> str:
    return f"the decoder crashed on this file (GDCM, {KINDS[kind]}): damaged or unsupported"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_test_file_really_aborts_a_process_that_decodes_it_itself(dicoms, kind):
    aborting, good = dicoms
    died = aborts_in_process(aborting[kind])
    assert died.returncode in (-signal.SIGABRT, 134), (died.returncode, died.stderr[-300:])
    assert "decoded" not in died.stdout
    assert "terminate called" in died.stderr  # GDCM's uncaught C++ exception
    fine = aborts_in_process(good[kind])
    assert fine.returncode == 0 and fine.stdout.strip() == "decoded", fine.stderr[-300:]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_crash_is_one_files_error_and_a_fresh_worker_reads_the_next(dicoms, kind):
    aborting, good = dicoms
    first = read_xray(good[kind])
    before = decoder_pool.worker_pids()
    assert len(before) == 1
    with pytest.raises(DicomError) as err:
        read_xray(aborting[kind])
    assert str(err.value) == _crash_message(kind)
    assert decoder_pool.worker_pids() == []  # the dead worker is not kept
    again = read_xray(good[kind])
    after = decoder_pool.worker_pids()
    assert len(after) == 1 and after != before
    np.testing.assert_array_equal(again.pixels, first.pixels)
    assert again.info == first.info


def test_isolated_decode_equals_the_in_process_one(dicoms, monkeypatch):
    _, good = dicoms
    isolated = {k: read_xray(p) for k, p in good.items()}
    assert decoder_pool.worker_pids()
    monkeypatch.setenv(decoder_pool.IN_PROCESS_ENV, "1")
    assert not decoder_pool.isolation_enabled()
    for kind, path in good.items():
        here = read_xray(path)
        np.testing.assert_array_equal(isolated[kind].pixels, here.pixels)
        assert isolated[kind].pixels.dtype == np.float32
        assert isolated[kind].info == here.info


def test_uncompressed_dicom_and_ordinary_images_never_reach_a_worker(
    sample_images, tmp_path, monkeypatch
):
    from test_cli_classify import write_dicom

    def refuse(path):
        raise AssertionError(f"{path} was sent to a decoder process")

    monkeypatch.setattr(decoder_pool, "decode_pixels", refuse)
    write_dicom(tmp_path / "plain.dcm")
    assert read_xray(tmp_path / "plain.dcm").pixels.shape == (96, 80)
    assert read_xray(sample_images[0]).pixels.shape == (256, 256)
    assert decoder_pool.worker_pids() == []


def test_a_decoder_refusal_keeps_its_own_message(tmp_path):
    from test_dicom import _garbage_jpeg2000

    with pytest.raises(DicomError, match=r"compressed \(JPEG 2000.*\) pixel data cannot be decoded"):
        read_xray(_garbage_jpeg2000(tmp_path))
    assert len(decoder_pool.worker_pids()) == 1  # a refusal is not a crash: worker kept


def half_jpeg_ls(good: Path, out: Path) -> Path:
    """``good`` (a JPEG-LS film) with its codestream cut in half and the item length
    rewritten to match, as a tool that re-wraps a cut transfer would."""
    import pydicom
    from pydicom.encaps import encapsulate, generate_fragments

    ds = pydicom.dcmread(good)
    frame = b"".join(generate_fragments(ds.PixelData))
    ds.PixelData = encapsulate([frame[: len(frame) // 2]])
    ds.save_as(out)
    return out


@pytest.mark.parametrize("isolated", [True, False], ids=["worker", "in process"])
def test_a_file_gdcm_refused_goes_to_no_slower_decoder(tmp_path, monkeypatch, isolated):
    """Issue 33: GDCM refused a damaged JPEG-LS film at once; pydicom then handed it to
    pyjpegls, which took 4-7 s to refuse it too (3.8 s for this one, 2.5 KB)."""
    from aborting_dicoms import plain_8bit, transcode

    good = transcode(plain_8bit(tmp_path / "plain.dcm", crop=64), "JPEGLSLossless",
                     tmp_path / "good.dcm")
    if not isolated:
        monkeypatch.setenv(decoder_pool.IN_PROCESS_ENV, "1")
    assert read_xray(good).pixels.shape == (64, 64)  # a worker started, if any: not timed
    damaged = half_jpeg_ls(good, tmp_path / "half.dcm")
    start = time.perf_counter()
    with pytest.raises(DicomError, match=(
            r"^DICOM compressed \(JPEG-LS Lossless Image Compression, 1\.2\.840\.10008\.1\.2"
            r"\.4\.80\) pixel data cannot be decoded by the installed decoders \(damaged, or an "
            r"unsupported variant\): GDCM refused it \(no image came out of its compressed "
            r"data\)$")):
        read_xray(damaged)
    assert time.perf_counter() - start < 1.0
    assert len(decoder_pool.worker_pids()) == (1 if isolated else 0)


def test_threads_decoding_at_once_each_get_their_own_outcome(dicoms):
    aborting, good = dicoms
    files = [good["jpeg-ls"], aborting["jpeg-ls"], good["jpeg-2000"], aborting["jpeg-2000"],
             good["jpeg-lossless"], aborting["jpeg-lossless"]] * 3

    def outcome(path: Path) -> str:
        try:
            read_xray(path)
        except DicomError as exc:
            return str(exc)
        return "ok"

    with ThreadPoolExecutor(max_workers=3) as pool:
        got = list(pool.map(outcome, files))
    expected = ["ok" if p in good.values() else _crash_message(
        next(k for k, a in aborting.items() if a == p)) for p in files]
    assert got == expected
    assert len(decoder_pool.worker_pids()) <= decoder_pool.decode_threads()


def test_a_worker_killed_while_idle_is_replaced_without_blaming_the_next_file(dicoms):
    _, good = dicoms
    read_xray(good["jpeg-ls"])
    (pid,) = decoder_pool.worker_pids()
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert read_xray(good["jpeg-ls"]).pixels.shape == (256, 256)
    assert decoder_pool.worker_pids() not in ([], [pid])


def test_a_process_that_exits_leaves_no_decoder_behind(dicoms, tmp_path):
    """The workers and the forkserver end with the program, whether it shuts the pool down
    (normal exit) or not (killed): their pipes to it close."""
    _, good = dicoms
    script = tmp_path / "decode_once.py"
    script.write_text(
        "import os, sys, multiprocessing.forkserver as fs\n"
        "from core.files import decoder_pool\n"
        "from core.files.reader import read_xray\n"
        "if __name__ == '__main__':\n"
        "    read_xray(sys.argv[1])\n"
        "    pids = decoder_pool.worker_pids() + [fs._forkserver._forkserver_pid or 0]\n"
        "    print(' '.join(map(str, pids)), flush=True)\n"
        "    if sys.argv[2] == 'kill':\n"
        "        os.kill(os.getpid(), 9)\n"
    )
    for how in ("exit", "kill"):
        proc = subprocess.run(
            [sys.executable, str(script), str(good["jpeg-2000"]), how],
            capture_output=True, text=True, timeout=120,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        assert proc.returncode == (0 if how == "exit" else -9), proc.stderr
        pids = [int(p) for p in proc.stdout.split()]
        assert len(pids) == 2 and all(pids), proc.stdout
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(p) for p in pids), f"{how}: left running: {pids}"


def test_in_process_switch_and_daemonic_processes(monkeypatch):
    assert decoder_pool.isolation_enabled()
    monkeypatch.setenv(decoder_pool.IN_PROCESS_ENV, "0")
    assert decoder_pool.isolation_enabled()
    monkeypatch.setenv(decoder_pool.IN_PROCESS_ENV, "1")
    assert not decoder_pool.isolation_enabled()


def _exit_at_start(conn) -> None:
    """A worker that ends before it is ready (a frozen build without freeze_support...)."""
    os._exit(3)


def _hang_at_start(conn) -> None:
    time.sleep(600)


@pytest.mark.parametrize(("serve", "timeout", "reason"), [
    (_exit_at_start, 60.0, r"the decoder process ended as it started \(exit code 3\)"),
    (_hang_at_start, 3.0, r"the decoder process did not start within 3 s"),
])
def test_workers_that_cannot_start_are_not_blamed_on_the_file(dicoms, monkeypatch, serve,
                                                               timeout, reason):
    """A worker that never gets going is a broken set-up, said once per file with the way
    out, and never 'the decoder crashed on this file'."""
    _, good = dicoms
    monkeypatch.setattr(decoder_pool, "_serve", serve)
    monkeypatch.setattr(decoder_pool, "START_TIMEOUT_S", timeout)
    decoder_pool.shutdown()
    for _ in range(2):  # the second file does not wait for the same failure again
        t0 = time.monotonic()
        with pytest.raises(DicomError, match=rf"^compressed DICOM \(JPEG-LS\) not decoded: "
                           rf"{reason} \(to decode in this process instead, set "
                           rf"COVIDCXR_DECODE_IN_PROCESS=1\)$"):
            read_xray(good["jpeg-ls"])
        elapsed = time.monotonic() - t0
    assert elapsed < 1.0
    assert decoder_pool.worker_pids() == []
    monkeypatch.undo()
    decoder_pool.shutdown()  # a new pool tries again, with the real worker
    assert read_xray(good["jpeg-ls"]).pixels.shape == (256, 256)
