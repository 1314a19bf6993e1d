"""core.discovery.iter_inputs: what a chosen folder expands to."""

from __future__ import annotations

from pathlib import Path

from core.discovery import iter_inputs


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_folder_walk(tmp_path):
    root = tmp_path / "study"
    touch(root / "b.PNG")
    touch(root / "a.jpg")
    touch(root / "c.dcm")
    touch(root / "notes.txt")
    touch(root / "Thumbs.db")
    touch(root / ".DS_Store")
    touch(root / ".hidden.png")
    touch(root / ".git" / "x.png")
    touch(root / "IM0001", b"\0" * 128 + b"DICM" + b"\0" * 8)  # DICOM without extension
    touch(root / "LICENSE", b"MIT")  # no extension, not DICOM
    touch(root / "z" / "deep" / "d.tiff")
    touch(root / "m" / "e.bmp")
    got = [p.relative_to(root).as_posix() for p in iter_inputs([root])]
    assert got == ["IM0001", "a.jpg", "b.PNG", "c.dcm", "m/e.bmp", "z/deep/d.tiff"]


def test_files_given_explicitly_are_always_kept(tmp_path):
    odd = touch(tmp_path / "report.txt")
    gone = tmp_path / "missing.png"
    # The reader explains what is wrong with each; discovery does not silently drop them.
    assert list(iter_inputs([odd, gone])) == [odd, gone]


def test_mixed_arguments_keep_their_order(tmp_path):
    one = touch(tmp_path / "one.png")
    folder = tmp_path / "f"
    two = touch(folder / "two.png")
    three = touch(tmp_path / "three.png")
    assert list(iter_inputs([str(three), folder, one])) == [three, two, one]


def test_lazy(tmp_path):
    touch(tmp_path / "a.png")
    gen = iter_inputs([tmp_path])
    assert next(gen).name == "a.png"
