"""Dataset indexing, splits, leak detection."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import DatasetError
from core.files.dataset import find_positive, scan
from core.model.cache import decode, near_duplicates
from core.model.preprocess import PreprocessSpec


def _blob(seed: int, size: int = 64) -> Image.Image:
    rng = np.random.default_rng(seed)
    low = rng.random((6, 6)).astype(np.float32)
    img = Image.fromarray(low, "F").resize((size, size), Image.Resampling.BICUBIC)
    arr = np.clip(np.asarray(img) * 255, 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "L")


def make_dataset(root: Path, per_class: int = 10, classes=("COVID-19", "Normal")) -> Path:
    for ci, c in enumerate(classes):
        (root / c).mkdir(parents=True)
        for i in range(per_class):
            _blob(ci * 1000 + i).save(root / c / f"{c.lower()}_{i:02d}.png")
    return root


def test_scan_finds_classes_positive_and_stratified_splits(tmp_path):
    idx = scan(make_dataset(tmp_path / "ds", per_class=20), seed=3)
    assert idx.classes == ["COVID-19", "Normal"]
    assert idx.positive == "COVID-19"
    counts = idx.counts()
    for c in idx.classes:
        assert counts["test"][c] == 3 and counts["val"][c] == 3 and counts["train"][c] == 14
    assert idx.problems() == []
    # Same seed, same split.
    again = scan(tmp_path / "ds", seed=3)
    assert [s.split for s in again.samples] == [s.split for s in idx.samples]


def test_manifest_split_and_groups_are_followed(tmp_path):
    root = make_dataset(tmp_path / "ds", per_class=6)
    rows = ["file,split,group"]
    for p in sorted(root.rglob("*.png")):
        i = int(p.stem[-2:])
        split = "train" if i < 4 else ("val" if i == 4 else "test")
        rows.append(f"{p.relative_to(root).as_posix()},{split},patient{i // 2}")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    idx = scan(root)
    assert idx.split_source == "manifest.csv split column"
    assert idx.counts()["train"] == {"COVID-19": 4, "Normal": 4}
    assert {s.group for s in idx.samples} >= {"patient0", "patient1"}


def test_positive_class_must_be_unambiguous():
    with pytest.raises(DatasetError, match="cannot tell which class is positive"):
        find_positive(["cats", "dogs"], None)
    assert find_positive(["cats", "dogs"], "Dogs") == "dogs"
    with pytest.raises(DatasetError, match="not found"):
        find_positive(["cats", "dogs"], "covid")


def test_problems_reported_before_training(tmp_path):
    root = make_dataset(tmp_path / "ds", per_class=10)
    empty = root / "Empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="dataset folder not found"):
        scan(tmp_path / "nope")
    (tmp_path / "one" / "COVID").mkdir(parents=True)
    with pytest.raises(DatasetError, match="need at least two class sub-folders"):
        scan(tmp_path / "one")
    idx = scan(root, positive="COVID-19")
    assert any("'Empty' has no images" in p for p in idx.problems())


def test_near_duplicates_across_splits_are_found(tmp_path):
    root = make_dataset(tmp_path / "ds", per_class=12)
    # Re-encode a training image as JPEG into the test split: a leak across splits.
    Image.open(root / "Normal" / "normal_00.png").save(root / "Normal" / "copy.jpg", quality=80)
    rows = ["file,split"]
    for p in sorted(root.rglob("*.*")):
        i = 99 if p.name == "copy.jpg" else int(p.stem[-2:])
        split = "test" if i >= 10 else ("val" if i >= 8 else "train")
        rows.append(f"{p.relative_to(root).as_posix()},{split}")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    pairs = near_duplicates(decode(scan(root), PreprocessSpec(size=32)))
    assert [(a.name, b.name) for a, b, _ in pairs] == [("normal_00.png", "copy.jpg")]
    assert pairs[0][2] >= 0.99
    distinct = decode(scan(make_dataset(tmp_path / "clean", per_class=12)), PreprocessSpec(32))
    assert near_duplicates(distinct) == []


def test_unreadable_files_listed_or_skipped(tmp_path):
    root = make_dataset(tmp_path / "ds", per_class=8)
    (root / "Normal" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    idx = scan(root)
    with pytest.raises(DatasetError, match="1 unreadable file.*broken.png"):
        decode(idx, PreprocessSpec(size=32))
    decoded = decode(idx, PreprocessSpec(size=32), skip_unreadable=True)
    assert [p.name for p, _ in decoded.unreadable] == ["broken.png"]
    total = sum(len(s.labels) for s in decoded.splits.values())
    assert total == 16
    assert decoded.splits["train"].images.dtype == np.uint8


def test_split_folders_layout(tmp_path):
    root = tmp_path / "ds"
    for split in ("train", "val", "test"):
        make_dataset(root / split, per_class=3)
    idx = scan(root)
    assert idx.split_source == "train/val/test folders"
    assert idx.counts()["val"] == {"COVID-19": 3, "Normal": 3}
    shutil.rmtree(root / "test" / "Normal")
    assert scan(root).counts()["test"]["Normal"] == 0
