"""Archive-scale classification: --files-from, --shard, --resume after SIGKILL (issue #13).

The programs run as users run them (``python -m gui.shell.launcher`` in a subprocess) where a
kill is involved; the rest call the command line in-process.
"""

from __future__ import annotations

import csv
import shutil
import signal
import time
from pathlib import Path

import pytest

from core.output.journal import JOURNAL_SUFFIX, in_shard, parse_shard
from tests.test_kill import _finish, _launch

COPIES = 20  # of each of the three radiographs: 60 files


@pytest.fixture(scope="module")
def films(tmp_path_factory, sample_images) -> Path:
    folder = tmp_path_factory.mktemp("archive") / "films"
    folder.mkdir()
    for i in range(COPIES):
        for src in sample_images:
            shutil.copyfile(src, folder / f"{i:02d}-{src.name}")
    return folder


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def classify(*args: str) -> int:
    from core.cli.main import main

    return main(["classify", *args])


@pytest.fixture(scope="module")
def whole(films, tiny_model_path, tmp_path_factory) -> Path:
    """An uninterrupted run over every film: the reference."""
    out = tmp_path_factory.mktemp("whole") / "predicted.csv"
    assert classify(str(films), "-o", str(out), "--model", str(tiny_model_path)) == 0
    return out


def test_shards_split_the_archive_exactly(films, whole, tiny_model_path, tmp_path):
    parts = []
    for i in (1, 2, 3):
        out = tmp_path / f"shard{i}.csv"
        assert classify(str(films), "-o", str(out), "--model", str(tiny_model_path),
                        "--shard", f"{i}/3") == 0
        parts.append(rows(out))
    sizes = [len(p) for p in parts]
    assert all(s > 0 for s in sizes) and sum(sizes) == 3 * COPIES
    union = sorted((r for p in parts for r in p), key=lambda r: r["path"])
    assert union == sorted(rows(whole), key=lambda r: r["path"])
    # The same shard picks the same files on every machine, whatever the listing order.
    names = [f for f in films.iterdir()]
    assert [in_shard(f, 2, 3) for f in names] == [in_shard(f, 2, 3) for f in names]


def test_shard_argument_is_checked():
    from core.errors import CovidCXRError

    assert parse_shard("2/8") == (2, 8)
    for bad in ("0/3", "4/3", "1", "a/b"):
        with pytest.raises(CovidCXRError, match="--shard"):
            parse_shard(bad)


def test_files_from_a_list(films, tiny_model_path, tmp_path):
    chosen = sorted(films.iterdir())[:5]
    listing = tmp_path / "list.txt"
    listing.write_text("# films to read\n" + "\n".join(map(str, chosen))
                       + f"\n\n{tmp_path / 'gone.png'}\n", encoding="utf-8")
    out = tmp_path / "p.csv"
    assert classify("--files-from", str(listing), "-o", str(out), "--model",
                    str(tiny_model_path)) == 0
    got = rows(out)
    assert [r["path"] for r in got] == [*map(str, chosen), str(tmp_path / "gone.png")]
    assert got[-1]["status"] == "error" and "not found" in got[-1]["message"]
    assert all(r["device"].startswith(("CPU", "GPU")) for r in got)


def test_resume_after_sigkill_equals_an_uninterrupted_run(films, whole, tiny_model_path,
                                                          tmp_path):
    out = tmp_path / "predicted.csv"
    journal = out.with_name(out.name + JOURNAL_SUFFIX)
    args = ("classify", str(films), "-o", str(out), "--model", str(tiny_model_path),
            "--batch-size", "4")
    proc = _launch(*args, cwd=tmp_path)
    # Kill it once a third of the rows are on disk.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.is_file() and journal.read_bytes().count(b"\r\n") > COPIES + 1:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert not out.exists()  # no half CSV under the real name
    done = journal.read_bytes().count(b"\r\n") - 1
    assert 0 < done < 3 * COPIES
    # Tear the last row as a kill in mid-write would.
    data = journal.read_bytes()
    journal.write_bytes(data[: len(data) - 7])

    _finish(_launch(*args, "--resume", cwd=tmp_path))
    assert out.read_bytes() == whole.read_bytes()
    assert not journal.exists()


def test_resume_refuses_another_model_and_a_fresh_run_starts_over(
        films, whole, tiny_model_path, tmp_path):
    from core.model.disk import make_profile, save_profile

    out = tmp_path / "predicted.csv"
    shutil.copyfile(whole, out)
    other = save_profile(make_profile(tiny_model_path, "Elsewhere", 0.3, {}),
                         tmp_path / "else.site.json")
    from core.cli.main import main

    assert main(["classify", str(films), "-o", str(out), "--model", str(other),
                 "--resume"]) == 1
    assert out.read_bytes() == whole.read_bytes()  # untouched
    # Resuming a finished run with the same model classifies nothing and rewrites the same.
    assert classify(str(films), "-o", str(out), "--model", str(tiny_model_path),
                    "--resume") == 0
    assert out.read_bytes() == whole.read_bytes()


def test_a_file_named_twice_gets_two_rows_as_before(films, tiny_model_path, tmp_path):
    one = sorted(films.iterdir())[0]
    out = tmp_path / "twice.csv"
    assert classify(str(one), str(one), "-o", str(out), "--model", str(tiny_model_path)) == 0
    assert [r["path"] for r in rows(out)] == [str(one), str(one)]


def test_a_file_listed_twice_keeps_both_rows_when_a_kill_falls_between_them(
        films, tiny_model_path, tmp_path):
    """Issue 22: --resume used to skip every occurrence of a path the journal held once."""
    a, b, c = sorted(films.iterdir())[:3]
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(map(str, (a, b, a, c, a))) + "\n", encoding="utf-8")
    reference = tmp_path / "reference.csv"
    assert classify("--files-from", str(listing), "-o", str(reference), "--model",
                    str(tiny_model_path)) == 0
    assert [r["path"] for r in rows(reference)] == list(map(str, (a, b, a, c, a)))

    # What a kill after the second row leaves: the header and the rows of a and b.
    out = tmp_path / "predicted.csv"
    journal = out.with_name(out.name + JOURNAL_SUFFIX)
    lines = reference.read_bytes().split(b"\r\n")
    journal.write_bytes(b"\r\n".join(lines[:3]) + b"\r\n")
    assert classify("--files-from", str(listing), "-o", str(out), "--model",
                    str(tiny_model_path), "--resume") == 0
    assert out.read_bytes() == reference.read_bytes()

    # ...and after the third (a's first row and its second): the third a is still owed.
    journal.write_bytes(b"\r\n".join(lines[:4]) + b"\r\n")
    out.unlink()
    assert classify("--files-from", str(listing), "-o", str(out), "--model",
                    str(tiny_model_path), "--resume") == 0
    assert out.read_bytes() == reference.read_bytes()


def test_resume_drops_a_row_torn_inside_a_character_of_several_bytes(
        sample_images, tiny_model_path, tmp_path, capsys):
    """Issue 33: a kill while writing the row of ``tórax.png`` cut its "ó" (two bytes in
    UTF-8) in half; the journal was decoded as a whole and --resume said "cannot resume"."""
    folder = tmp_path / "films"
    folder.mkdir()
    for name, src in zip(("a.png", "tórax.png", "z.png"), sample_images, strict=True):
        shutil.copyfile(src, folder / name)
    reference = tmp_path / "reference.csv"
    assert classify(str(folder), "-o", str(reference), "--model", str(tiny_model_path)) == 0
    assert [r["filename"] for r in rows(reference)] == ["a.png", "tórax.png", "z.png"]

    out = tmp_path / "predicted.csv"
    journal = out.with_name(out.name + JOURNAL_SUFFIX)
    data = reference.read_bytes()
    torn = data.index("tórax".encode()) + 2  # after "t" and the first byte of "ó"
    journal.write_bytes(data[:torn])
    with pytest.raises(UnicodeDecodeError):
        journal.read_bytes().decode("utf-8")
    capsys.readouterr()
    assert classify(str(folder), "-o", str(out), "--model", str(tiny_model_path),
                    "--resume") == 0
    assert "resuming: 1 files already classified in predicted.csv.partial" in (
        capsys.readouterr().err)
    assert out.read_bytes() == reference.read_bytes()
    assert not journal.exists()
