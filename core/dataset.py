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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.discovery import iter_inputs
from core.errors import CovidCXRError, DatasetError
from core.preprocess import PreprocessSpec, prepare, thumbnail
from core.reader import read_xray

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
        splits = {p: s for p, _, s in raw}
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


def relabel(decoded: Decoded, index: DatasetIndex) -> Decoded:
    """The same decoded images labelled by another scan of the folder (another positive
    class): labels are looked up by path, nothing is decoded again."""
    from dataclasses import replace

    label_of = {s.path: s.label for s in index.samples}
    splits = {
        name: replace(part, labels=np.array([label_of[p] for p in part.paths], np.int32))
        for name, part in decoded.splits.items()
    }
    return Decoded(splits, decoded.unreadable)


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


# ---------------------------------------------------------------------------------------
# Decoding once, into memory


@dataclass
class DecodedSplit:
    images: np.ndarray  # uint8 (N, S, S): network input before scaling
    labels: np.ndarray  # int (N,)
    thumbs: np.ndarray  # float32 (N, 1024): OOD input statistics
    paths: list[Path]


@dataclass
class Decoded:
    splits: dict[str, DecodedSplit]
    unreadable: list[tuple[Path, str]]


def _decode_one(path: Path, spec: PreprocessSpec):
    x = read_xray(path)
    return prepare(x.pixels, spec), thumbnail(x.pixels)


def decode(
    index: DatasetIndex,
    spec: PreprocessSpec,
    skip_unreadable: bool = False,
    on_progress: Callable[[int, int, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    workers: int | None = None,
) -> Decoded:
    """Decode every image once into a compact uint8 cache at the model's input size."""
    n = len(index.samples)
    size = spec.size
    images = np.zeros((n, size, size), np.uint8)
    thumbs = np.zeros((n, 1024), np.float32)
    ok = np.zeros(n, bool)
    unreadable: list[tuple[Path, str]] = []
    with ThreadPoolExecutor(max_workers=workers or min(4, os.cpu_count() or 1)) as pool:
        futures = [pool.submit(_decode_one, s.path, spec) for s in index.samples]
        for i, fut in enumerate(futures):
            if should_stop and should_stop():
                for f in futures[i:]:
                    f.cancel()
                raise DatasetError("cancelled while reading the dataset")
            try:
                images[i], thumbs[i] = fut.result()
                ok[i] = True
            except CovidCXRError as exc:
                unreadable.append((index.samples[i].path, str(exc)))
            if on_progress and (i % 50 == 0 or i == n - 1):
                on_progress(i + 1, n, "reading images")
    if unreadable and not skip_unreadable:
        listing = "; ".join(f"{p.name}: {m}" for p, m in unreadable[:5])
        raise DatasetError(
            f"{len(unreadable)} unreadable file(s) ({listing}); remove them or choose to skip them"
        )
    splits = {}
    for split in SPLITS:
        idx = [i for i, s in enumerate(index.samples) if s.split == split and ok[i]]
        splits[split] = DecodedSplit(
            images[idx],
            np.array([index.samples[i].label for i in idx], np.int32),
            thumbs[idx],
            [index.samples[i].path for i in idx],
        )
    return Decoded(splits, unreadable)


def near_duplicates(
    decoded: Decoded, min_similarity: float = 0.99
) -> list[tuple[Path, Path, float]]:
    """Pairs of near-identical images that sit in different splits (a leak).

    The perceptual fingerprint is the standardised 32x32 thumbnail; two images whose
    thumbnails correlate above ``min_similarity`` are the same picture re-encoded, resized
    or lightly edited. (An 8x8 dHash is useless on chest X-rays: they all share one layout;
    on ../shared/data/cxr it flagged 1,661 cross-split pairs at distance 2. The correlation
    of distinct patients' thumbnails stays below 0.99 there.)
    """
    found = []
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        ta, tb = decoded.splits[a].thumbs, decoded.splits[b].thumbs
        if not len(ta) or not len(tb):
            continue
        sim = (ta @ tb.T) / ta.shape[1]
        for i, j in zip(*np.nonzero(sim >= min_similarity), strict=True):
            found.append((decoded.splits[a].paths[i], decoded.splits[b].paths[j], float(sim[i, j])))
    return found
