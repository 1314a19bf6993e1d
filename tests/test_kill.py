"""SIGKILL ``covidcxr classify`` and ``covidcxr train`` at seeded random moments (issue #10).

A kill can come at any instant (a closed laptop lid, the OOM killer, a user's ``kill -9``):
what is on disk afterwards must be the whole old result or the whole new one, never a part,
and the temporaries a kill leaves must go on the next run. The programs run as users run
them, ``python -m gui.shell.launcher`` in a subprocess; the moments come from a seeded generator,
so a failure replays with the same delays (timing still varies with the machine's load).
"""

from __future__ import annotations

import csv
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_dataset import make_dataset

REPO = Path(__file__).resolve().parent.parent
COPIES = 10  # of each of the three radiographs: 30 files
CSV_TEMP = ".predicted.csv.*"  # core.files.atomic: ".NAME." + 8 random characters + ".csv"


def _launch(*args: str, cwd: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gui.shell.launcher", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    # Popen returns once the child exists; wait until it runs our interpreter (exec done),
    # so "just after start" means inside the program, not in fork/exec.
    deadline = time.monotonic() + 10
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if b"gui.shell.launcher" in Path(f"/proc/{proc.pid}/cmdline").read_bytes():
                break
        except OSError:
            pass
        time.sleep(0.001)
    return proc


def _kill(proc: subprocess.Popen[bytes]) -> bool:
    """SIGKILL ``proc`` unless it has already exited; True when the kill landed."""
    finished = proc.poll() is not None
    if not finished:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    return not finished and proc.returncode == -signal.SIGKILL


def _finish(proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    _, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err.decode(errors="replace")


# --- classify ---------------------------------------------------------------------------


@pytest.fixture
def xray_folder(tmp_path, sample_images) -> Path:
    folder = tmp_path / "films"
    folder.mkdir()
    for i in range(COPIES):
        for src in sample_images:
            shutil.copyfile(src, folder / f"{i:02d}-{src.name}")
    return folder


def _assert_complete(out: Path, folder: Path) -> None:
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["filename"] for r in rows) == sorted(p.name for p in folder.iterdir())
    assert all(r["status"] == "ok" and r["probability"] for r in rows)
    assert out.read_bytes().endswith(b"\r\n")


@pytest.mark.slow
def test_killed_classify_leaves_the_old_csv_or_a_complete_new_one(
    xray_folder, tiny_model_path, tmp_path
):
    results = tmp_path / "results"
    results.mkdir()
    out = results / "predicted.csv"
    args = ("classify", str(xray_folder), "--output", str(out), "--model", str(tiny_model_path))

    # The existing results: a complete run, which also times one run on this machine.
    t0 = time.monotonic()
    _finish(_launch(*args, cwd=tmp_path))
    whole = time.monotonic() - t0
    _assert_complete(out, xray_folder)
    previous = out.read_bytes()

    rng = random.Random(10)
    # From just after start (interpreter, TensorFlow import) to near and past the end.
    delays = sorted(rng.uniform(0.02, 1.0) * whole for _ in range(3))
    kills = 0
    for delay in delays:
        proc = _launch(*args, cwd=tmp_path)
        time.sleep(delay)
        kills += _kill(proc)
        now = out.read_bytes()
        if now != previous:  # the run got as far as its rename: then it is all there
            _assert_complete(out, xray_folder)
            previous = now
    assert kills >= 2, f"only {kills} of {len(delays)} runs were still running when killed"

    # The riskiest instant: the CSV being written. It takes milliseconds at the very end,
    # so watch for its temporary file and kill the moment it appears (when caught).
    proc = _launch(*args, cwd=tmp_path)
    while proc.poll() is None and not list(results.glob(CSV_TEMP)):
        time.sleep(0.0005)
    _kill(proc)
    now = out.read_bytes()
    if now != previous:
        _assert_complete(out, xray_folder)

    # A temporary a kill left behind is removed by the next run, but only once it is older
    # than that run and STALE_AFTER_S (10 minutes, so that another process's save still in
    # progress is never touched). Age the leftovers as ten minutes of waiting would.
    leftovers = list(results.glob(CSV_TEMP))
    past = time.time() - 3600
    for p in leftovers:
        os.utime(p, (past, past))
    _finish(_launch(*args, cwd=tmp_path))
    _assert_complete(out, xray_folder)
    assert list(results.glob(CSV_TEMP)) == [], f"left: {leftovers}"
    assert [p.name for p in results.iterdir()] == ["predicted.csv"]


# --- train ------------------------------------------------------------------------------


@pytest.mark.slow
def test_killed_train_always_leaves_a_loadable_model(tiny_model_path, tmp_path):
    from core.model.disk import copy_model
    from core.model.loading import load_model

    dataset = make_dataset(tmp_path / "ds", per_class=16)
    model = copy_model(tiny_model_path, tmp_path / "models" / "model.keras")
    args = (
        "train",
        str(dataset),
        "--output",
        str(model),
        "--architecture",
        "seed",
        "--input-size",
        "64",
        "--epochs",
        "2",
        "--max-train-batches",
        "2",
        "--seed",
        "0",
    )
    folder = model.parent

    def saving(before: set[str]) -> bool:
        # core.model.disk: the new set is staged in ".NAME.saving-*", committed as ".next".
        # A staging folder an earlier kill left behind is not a sign of this run's save.
        names = {p.name for p in folder.glob(f".{model.name}.*")} - before
        return any(n.startswith(f".{model.name}.saving-") or n.endswith(".next") for n in names)

    rng = random.Random(10)
    # A kill while starting or training (seconds in), then two during the save at the end:
    # at its first sign, and a few milliseconds into it.
    moments: list[tuple[str, float]] = [("time", rng.uniform(0.5, 3.0))]
    moments += [("save", 0.0), ("save", rng.uniform(0.001, 0.02))]
    for kind, delay in moments:
        before = {p.name for p in folder.iterdir()}
        proc = _launch(*args, cwd=tmp_path)
        if kind == "save":
            while proc.poll() is None and not saving(before):
                time.sleep(0.0005)
        time.sleep(delay)
        _kill(proc)
        loaded = load_model(model)  # raises on a missing, partial or mixed set
        assert loaded.card.input_size == 64
