"""A labelled dataset folder: classes, splits, leak checks, decoded once into a uint8 cache.

Layouts accepted: ``root/<class>/...`` or ``root/<split>/<class>/...`` (split in train/val/
test). An optional ``root/manifest.csv`` with ``file`` (relative path), ``split`` and
``group`` (patient) columns decides the splits. Otherwise files are split by patient group
when the manifest gives one, else by file; seeded and stratified by class.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import DatasetError
from core.files.discovery import iter_inputs

SPLITS = ("train", "val", "test")


MIN_PER_CLASS = 2


@dataclass(frozen=True)
class Sample:
    path: Path
    class_name: str
    label: int  # 1 positive, 0 negative
    split: str
    group: str


@dataclass
class DatasetIndex:
    root: Path
    classes: list[str]
    positive: str
    samples: list[Sample]
    split_source: str  # how splits were decided, for the card and the training tab
    manifest: dict[str, dict[str, str]] = field(default_factory=dict)

    def counts(self) -> dict[str, dict[str, int]]:
        """{split: {class: n}} for every split and class (zeros included)."""
        out = {s: dict.fromkeys(self.classes, 0) for s in SPLITS}
        for s in self.samples:
            out[s.split][s.class_name] += 1
        return out

    def of_split(self, split: str) -> list[Sample]:
        return [s for s in self.samples if s.split == split]

    def problems(self) -> list[str]:
        """Things that make training pointless or misleading, before any pixel is read."""
        issues = []
        counts = self.counts()
        for c in self.classes:
            total = sum(counts[s][c] for s in SPLITS)
            if total == 0:
                issues.append(f"class '{c}' has no images")
            elif total < MIN_PER_CLASS * 3:
                issues.append(
                    f"class '{c}' has only {total} images (need at least "
                    f"{MIN_PER_CLASS * 3} to train, validate and test)"
                )
        for s in ("train", "val"):
            labels = {x.label for x in self.of_split(s)}
            if labels != {0, 1}:
                issues.append(f"the {s} split does not contain both classes")
        return issues

    def sources(self) -> dict[str, int]:
        """Image counts per (dataset, license) from the manifest, for the model card."""
        c: Counter[str] = Counter()
        for s in self.samples:
            m = self.manifest.get(_rel(self.root, s.path), {})
            c[f"{m.get('dataset', 'unknown')} ({m.get('license', 'license unknown')})"] += 1
        return dict(c)


def _rel(root: Path, p: Path) -> str:
    return p.relative_to(root).as_posix()


def find_positive(classes: list[str], positive: str | None) -> str:
    if positive:
        match = [c for c in classes if c.lower() == positive.lower()]
        if not match:
            raise DatasetError(f"positive class '{positive}' not found among {classes}")
        return match[0]
    covid = [c for c in classes if "covid" in c.lower()]
    if len(covid) != 1:
        raise DatasetError(
            "cannot tell which class is positive (no single folder name contains 'covid'); "
            "choose it explicitly"
        )
    return covid[0]


def scan(
    root: str | os.PathLike[str],
    positive: str | None = None,
    seed: int = 0,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
) -> DatasetIndex:
    """Index a dataset folder (no pixels read)."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset folder not found: {root}")
    manifest = read_manifest(root / "manifest.csv")
    split_dirs = [d for d in SPLITS if (root / d).is_dir()]
    layout_roots = [root / d for d in split_dirs] if split_dirs else [root]
    classes = class_folders(root)
    if len(classes) < 2:
        raise DatasetError(f"need at least two class sub-folders in {root}, found {classes}")
    pos = find_positive(classes, positive)

    raw: list[tuple[Path, str, str | None]] = []
    for lr in layout_roots:
        for c in classes:
            if (lr / c).is_dir():
                split = lr.name if split_dirs else None
                raw.extend((p, c, split) for p in iter_inputs([lr / c]))
    if not raw:
        raise DatasetError(f"no images found in {root}")

    def group_of(p: Path) -> str:
        return manifest.get(_rel(root, p), {}).get("group") or _rel(root, p)

    if manifest and all(manifest.get(_rel(root, p), {}).get("split") in SPLITS for p, _, _ in raw):
        source = "manifest.csv split column"
        splits = {p: manifest[_rel(root, p)]["split"] for p, _, _ in raw}
    elif split_dirs:
        source = "train/val/test folders"
        splits = {p: s for p, _, s in raw if s is not None}  # every file is in a split folder
    else:
        by_group = any(manifest.get(_rel(root, p), {}).get("group") for p, _, _ in raw)
        source = (
            f"seeded stratified split by {'patient group' if by_group else 'file'} (seed {seed})"
        )
        splits = _split_groups(raw, group_of, seed, val_fraction, test_fraction)
    samples = [Sample(p, c, int(c == pos), splits[p], group_of(p)) for p, c, _ in raw]
    return DatasetIndex(root, classes, pos, samples, source, manifest)


def class_folders(root: str | os.PathLike[str]) -> list[str]:
    """Class sub-folder names: directly under ``root``, or under its train/val/test."""
    root = Path(root)
    layout_roots = [root / s for s in SPLITS if (root / s).is_dir()] or [root]
    return sorted(
        {
            d.name
            for lr in layout_roots
            if lr.is_dir()
            for d in lr.iterdir()
            if d.is_dir() and not d.name.startswith(".")
        }
    )


def read_manifest(path: Path) -> dict[str, dict[str, str]]:
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8") as fh:
        return {row["file"]: row for row in csv.DictReader(fh) if row.get("file")}


def _split_groups(raw, group_of, seed, val_fraction, test_fraction) -> dict[Path, str]:
    """Assign whole groups to splits, stratified by class, reproducibly."""
    rng = np.random.default_rng(seed)
    groups_by_class: dict[str, list[str]] = {}
    group_members: dict[str, list[Path]] = {}
    for p, c, _ in raw:
        g = group_of(p)
        if g not in group_members:
            groups_by_class.setdefault(c, []).append(g)
        group_members.setdefault(g, []).append(p)
    out: dict[Path, str] = {}
    for c in sorted(groups_by_class):
        gs = sorted(groups_by_class[c])
        rng.shuffle(gs)
        n = len(gs)
        n_test = max(1, round(n * test_fraction)) if n >= 3 else 0
        n_val = max(1, round(n * val_fraction)) if n >= 3 else 0
        for i, g in enumerate(gs):
            split = "test" if i < n_test else "val" if i < n_test + n_val else "train"
            for p in group_members[g]:
                out[p] = split
    return out

