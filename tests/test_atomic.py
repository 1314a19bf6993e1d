"""core.files.atomic: temporary files a killed save left behind are cleaned by the next save."""

from __future__ import annotations

import os
import time

import pytest

from core.errors import CovidCXRError
from core.files import atomic
from core.files.atomic import atomic_path, write_text_atomic


def aged(path, seconds_ago: float, text: str = "half a file"):
    path.write_text(text)
    t = time.time() - seconds_ago
    os.utime(path, (t, t))
    return path


def test_next_save_removes_only_our_stale_temporaries(tmp_path):
    target = tmp_path / "predicted.csv"
    stale = aged(tmp_path / ".predicted.csv.k3x_9q2a.csv", 2 * 3600)  # a killed run's
    fresh = aged(tmp_path / ".predicted.csv.abcd1234.csv", 0)  # a save in progress
    other_target = aged(tmp_path / ".other.csv.k3x_9q2a.csv", 2 * 3600)
    notes = aged(tmp_path / ".notes.x.csv", 2 * 3600)  # the user's own hidden files
    lookalike = aged(tmp_path / ".predicted.csv.my-notes.csv", 2 * 3600)
    wrong_suffix = aged(tmp_path / ".predicted.csv.k3x_9q2a.txt", 2 * 3600)
    linked = tmp_path / ".predicted.csv.zzzzzzzz.csv"
    linked.symlink_to(notes)  # never followed, never removed

    write_text_atomic(target, "a,b\r\n")

    assert target.read_bytes() == b"a,b\r\n"
    assert not stale.exists()
    for kept in (fresh, other_target, notes, lookalike, wrong_suffix):
        assert kept.read_text() == "half a file", kept.name
    assert linked.is_symlink()
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted(
        p.name for p in (target, fresh, other_target, notes, lookalike, wrong_suffix, linked)
    )


def test_a_model_save_cleans_keras_temporaries_too(tmp_path):
    target = tmp_path / "model.keras"
    stale = aged(tmp_path / ".model.keras.a1b2c3d4.keras", 3600)
    with atomic_path(target, suffix=".keras") as tmp:
        assert tmp.name.startswith(".model.keras.") and tmp.suffix == ".keras"
        tmp.write_bytes(b"PK")
    assert target.read_bytes() == b"PK"
    assert not stale.exists()


def test_temporaries_younger_than_the_margin_survive(tmp_path, monkeypatch):
    """A writer that started just before this process may still be saving: ten quiet
    minutes are required even when the file predates the process."""
    monkeypatch.setattr(atomic, "_PROCESS_START", time.time())
    recent = aged(tmp_path / ".out.csv.q1w2e3r4.csv", atomic.STALE_AFTER_S / 2)
    old = aged(tmp_path / ".out.csv.z9x8c7v6.csv", atomic.STALE_AFTER_S * 2)
    assert atomic.remove_stale_temporaries(tmp_path / "out.csv", ".csv") == [old]
    assert recent.exists()


def test_temporaries_written_since_this_process_started_survive(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic, "_PROCESS_START", time.time() - 7200)
    since = aged(tmp_path / ".out.csv.q1w2e3r4.csv", 3600)  # after our start: maybe ours
    assert atomic.remove_stale_temporaries(tmp_path / "out.csv", ".csv") == []
    assert since.exists()


# --- check_writable: a target refused before the long work, not after (issue 22) ---------


def test_an_existing_folder_is_refused_by_name(tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(CovidCXRError, match=r"^--output .*out is a folder: name a file"):
        atomic.check_writable(tmp_path / "out", "--output")


def test_a_read_only_file_is_refused(tmp_path, monkeypatch):
    """As a non-root user sees it: root may write anything, so the test asks os.access
    what a user without write permission would be told."""
    target = tmp_path / "predicted.csv"
    target.write_text("kept\n")
    target.chmod(0o444)
    real_access = os.access
    asked = []

    def access(path, mode, **kw):
        asked.append((os.fspath(path), mode))
        if os.fspath(path) == os.fspath(target) and mode & os.W_OK:
            return False  # what a user without write permission is told
        return real_access(path, mode, **kw)

    monkeypatch.setattr(atomic.os, "access", access)
    with pytest.raises(CovidCXRError, match=r"^--output .*predicted\.csv is read-only"):
        atomic.check_writable(target, "--output")
    assert (os.fspath(target), os.W_OK) in asked
    assert target.read_text() == "kept\n"


def test_a_folder_that_cannot_be_written_is_refused(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setattr(atomic.os, "access", lambda p, mode, **kw: os.fspath(p) != str(locked))
    with pytest.raises(CovidCXRError, match=r"no permission to write in .*locked"):
        atomic.check_writable(locked / "new" / "deeper" / "predicted.csv")


def test_a_read_only_file_is_refused_by_its_mode_as_root_too(tmp_path):
    """Issue 33: os.access is always true for root, who then overwrote a 0444 file. The
    real permission check, whoever runs the tests."""
    target = tmp_path / "predicted.csv"
    target.write_text("kept\n")
    target.chmod(0o444)
    with pytest.raises(CovidCXRError, match=r"^--output .*predicted\.csv is read-only "
                       r"\(mode 444\): make it writable or choose another file$"):
        atomic.check_writable(target, "--output")
    assert target.read_text() == "kept\n"


def test_a_read_only_folder_is_refused_by_its_mode_as_root_too(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        with pytest.raises(CovidCXRError, match=r"^cannot write .*predicted\.csv: no "
                           r"permission to write in .*locked \(mode 555\)$"):
            atomic.check_writable(locked / "new" / "predicted.csv")
    finally:
        locked.chmod(0o755)


def test_a_file_only_its_owner_may_write_passes(tmp_path):
    target = tmp_path / "mine.csv"
    target.write_text("x")
    target.chmod(0o600)
    atomic.check_writable(target)


def test_writable_targets_pass(tmp_path):
    atomic.check_writable(tmp_path / "new.csv")
    atomic.check_writable(tmp_path / "a" / "b" / "new.csv")  # folders made later
    (tmp_path / "old.csv").write_text("x")
    atomic.check_writable(tmp_path / "old.csv")
