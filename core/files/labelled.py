"""A labelled local folder, read and checked before any pixel is: one sub-folder per class
(optionally inside train/val/test), or any folder plus a CSV of ``filename,label`` with
optional patient and sub-group columns; or one split of a training folder
(:mod:`core.files.dataset`). What site validation (:mod:`core.evaluation.validation`)
measures a model on.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.errors import DatasetError
from core.files.dataset import SPLITS, class_folders, find_positive, read_manifest
from core.files.discovery import iter_inputs

if TYPE_CHECKING:
    from core.files.dataset import DatasetIndex

#: Below this many images in a class, intervals are shown with a warning that they are
#: too wide to rely on (a 95% interval for a sensitivity of 0.9 on 20 films is ~0.7-1.0).
MIN_RELIABLE = 20
#: Columns of a labels CSV or manifest that are never a sub-group.
NOT_SUBGROUPS = frozenset(
    {"file", "filename", "path", "split", "label", "class", "group", "patient", "patient_id",
     "license", "source", "original_size"}
)
#: A column is a sub-group when it has between 2 and this many values (more is an
#: identifier, not a group worth a row of the breakdown).
MAX_SUBGROUP_VALUES = 12
#: Patient columns a labels CSV may use, first match wins.
PATIENT_COLUMNS = ("patient", "patient_id", "group")
FOLDER_KEY = "folder"


@dataclass(frozen=True)
class LabelledFile:
    path: Path
    class_name: str
    label: int  # 1 for the positive class
    group: str  # the patient, or the file itself when no patient is named
    subgroups: tuple[tuple[str, str], ...] = ()

    def subgroup(self, key: str) -> str | None:
        return dict(self.subgroups).get(key)


@dataclass(frozen=True)
class LabelledSet:
    """A labelled local folder, checked, before any pixel is read."""

    root: Path
    positive: str
    classes: tuple[str, ...]
    files: tuple[LabelledFile, ...]
    layout: str  # how the labels were given, in words
    grouped: bool  # patients named (the bootstrap resamples patients)
    subgroup_keys: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    #: Files named but left out, with why (missing, the same image under two labels).
    excluded: tuple[tuple[str, str], ...] = ()

    def counts(self) -> dict[str, int]:
        c = Counter(f.class_name for f in self.files)
        return {k: c.get(k, 0) for k in self.classes}

    @property
    def labels(self) -> np.ndarray:
        return np.array([f.label for f in self.files], np.int8)

    def file_list_sha256(self) -> str:
        """A fingerprint of which files carry which label (relative paths, sorted): two
        validations on the same data have the same one, whatever the folder is called."""
        h = hashlib.sha256()
        for rel, cls in sorted((_relative(f.path, self.root), f.class_name) for f in self.files):
            h.update(f"{rel}\t{cls}\n".encode())
        return h.hexdigest()


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def open_labelled(
    root: str | os.PathLike[str],
    labels_csv: str | os.PathLike[str] | None = None,
    positive: str | None = None,
    split: str | None = None,
) -> LabelledSet:
    """Read the labels of a local folder: one sub-folder per class (optionally inside
    train/val/test, then ``split`` picks one, default all), or any folder plus a CSV of
    ``filename,label`` (paths relative to the folder; optional ``patient`` column and
    sub-group columns such as scanner, site or view).

    Raises :class:`DatasetError` for what makes validation impossible (one class only,
    an unknown positive class, a CSV without the needed columns); returns the rest as
    warnings."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"folder not found: {root}")
    if labels_csv is not None:
        files, layout, excluded, warnings = _from_csv(root, Path(labels_csv))
    else:
        files, layout, excluded, warnings = _from_folders(root, split)
    classes = tuple(sorted({c for _, c, _, _ in files}))
    if not files:
        raise DatasetError(f"no labelled images found in {root}")
    if len(classes) < 2:
        raise DatasetError(
            f"only one class ({classes[0]}) in {root}: sensitivity and specificity need "
            "labelled images of both COVID and not COVID"
        )
    pos = _positive_class(list(classes), positive)
    files, dup_excluded, dup_warnings = _duplicates(files, pos)
    excluded += dup_excluded
    warnings += dup_warnings
    labelled = [
        LabelledFile(p, c, int(c == pos), g, tuple(sorted(s.items()))) for p, c, g, s in files
    ]
    keys = _subgroup_keys(labelled)
    labelled = [
        LabelledFile(f.path, f.class_name, f.label, f.group,
                     tuple((k, v) for k, v in f.subgroups if k in keys))
        for f in labelled
    ]
    grouped = any(f.group != str(f.path) for f in labelled)
    labels = [f.label for f in labelled]
    if min(labels) == max(labels):
        raise DatasetError("after leaving out conflicting duplicates, only one class is left")
    n_pos, n_neg = sum(labels), len(labels) - sum(labels)
    for name, n in (("positive", n_pos), ("negative", n_neg)):
        if n < MIN_RELIABLE:
            warnings.append(
                f"only {n} {name} images: the intervals are too wide to rely on "
                f"(at least {MIN_RELIABLE} per class are needed)"
            )
    return LabelledSet(
        root, pos, classes, tuple(labelled), layout, grouped, tuple(keys), tuple(warnings),
        tuple(excluded),
    )


_Raw = tuple[Path, str, str, dict[str, str]]  # path, class, group, sub-groups


def _from_folders(root: Path, split: str | None) -> tuple[list[_Raw], str, list, list[str]]:
    classes = class_folders(root)
    split_dirs = [s for s in SPLITS if (root / s).is_dir()]
    if split is not None and split not in split_dirs:
        raise DatasetError(f"no {split} folder in {root} (found: {', '.join(split_dirs) or 'none'})")
    layout_roots = [root / s for s in ([split] if split else split_dirs)] if split_dirs else [root]
    if len(classes) < 2:
        raise DatasetError(
            f"need one sub-folder per class in {root} (found {classes or 'none'}), "
            "or a labels CSV (filename,label)"
        )
    manifest = read_manifest(root / "manifest.csv")
    out: list[_Raw] = []
    for lr in layout_roots:
        for c in classes:
            folder = lr / c
            if not folder.is_dir():
                continue
            for p in iter_inputs([folder]):
                rel = _relative(p, root)
                row = manifest.get(rel, {})
                subs = {k: v for k, v in row.items() if k not in NOT_SUBGROUPS and v}
                below = p.relative_to(folder).parts
                if len(below) > 1:
                    subs[FOLDER_KEY] = below[0]
                out.append((p, c, row.get("group") or str(p), subs))
    layout = "class sub-folders" + (f" ({split} split)" if split else "")
    if manifest:
        layout += " with manifest.csv"
    return out, layout, [], []


def _from_csv(root: Path, csv_path: Path) -> tuple[list[_Raw], str, list, list[str]]:
    if not csv_path.is_file():
        raise DatasetError(f"labels file not found: {csv_path}")
    # Fields beyond the header's columns (an unquoted comma in a name, a trailing "extra")
    # come as a list under the key None from DictReader: left out, with a warning.
    overlong: list[int] = []  # line numbers of rows with more fields than the header
    rows: list[dict[str, str]] = []
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = [c.strip() for c in (reader.fieldnames or [])]
            for r in reader:
                extra = r.pop(None, None)
                if extra and any(str(v).strip() for v in extra):
                    overlong.append(reader.line_num)
                rows.append({(k or "").strip(): (v or "").strip() for k, v in r.items()})
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{csv_path.name} is not a readable CSV file: {exc}") from None
    lower = {c.lower(): c for c in columns}
    name_col = lower.get("filename") or lower.get("file") or lower.get("path")
    label_col = lower.get("label") or lower.get("class")
    if not name_col or not label_col:
        raise DatasetError(
            f"{csv_path.name} needs a 'filename' and a 'label' column (found: "
            f"{', '.join(columns) or 'no header'})"
        )
    patient_col = next((lower[c] for c in PATIENT_COLUMNS if c in lower), None)
    out: list[_Raw] = []
    missing: list[str] = []
    unlabelled = 0
    for row in rows:
        name, label = row.get(name_col, ""), row.get(label_col, "")
        if not name:
            continue
        if not label:
            unlabelled += 1
            continue
        p = (root / name) if not Path(name).is_absolute() else Path(name)
        if not _is_file(p):
            missing.append(name)
            continue
        subs = {
            k: v for k, v in row.items()
            if k not in (name_col, label_col, patient_col) and k.lower() not in NOT_SUBGROUPS
            and v
        }
        group = row.get(patient_col, "") if patient_col else ""
        out.append((p, label, group or str(p), subs))
    warnings = []
    excluded = [(m, "named in the labels file but not found") for m in missing]
    if missing:
        shown = ", ".join(missing[:3]) + (" …" if len(missing) > 3 else "")
        if not out:
            raise DatasetError(
                f"none of the {len(missing)} files named in {csv_path.name} exist under "
                f"{root} (e.g. {shown}): are the names relative to this folder?"
            )
        warnings.append(
            f"{len(missing)} file(s) named in {csv_path.name} are missing and left out: {shown}"
        )
    if unlabelled:
        warnings.append(f"{unlabelled} row(s) of {csv_path.name} have no label and are left out")
    if overlong:
        lines = ", ".join(map(str, overlong[:3])) + (" …" if len(overlong) > 3 else "")
        warnings.append(
            f"{len(overlong)} row(s) of {csv_path.name} have more fields than its header "
            f"(line {lines}): the extra fields are ignored; quote names that hold a comma"
        )
    return out, f"labels file {csv_path.name}", excluded, warnings


def _is_file(path: Path) -> bool:
    """``Path.is_file`` that says False, not raises, for a name the system refuses (over
    255 bytes: ENAMETOOLONG) or cannot look at: such a name is one more missing file."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _positive_class(classes: list[str], positive: str | None) -> str:
    if positive is None and sorted(classes) == ["0", "1"]:
        return "1"
    try:
        return find_positive(classes, positive)
    except DatasetError:
        if positive:
            raise DatasetError(
                f"the positive class '{positive}' does not match any label "
                f"(labels: {', '.join(classes)})"
            ) from None
        raise DatasetError(
            f"cannot tell which label is COVID among {', '.join(classes)}: choose the "
            "positive class"
        ) from None


def _duplicates(files: list[_Raw], positive: str) -> tuple[list[_Raw], list, list[str]]:
    """Identical files: under two labels they contradict each other and are left out;
    under one label they are kept but share a group, so the bootstrap does not count one
    image twice. Only files of equal size are read and hashed."""
    by_size: dict[int, list[int]] = {}
    for i, (p, *_rest) in enumerate(files):
        try:
            by_size.setdefault(p.stat().st_size, []).append(i)
        except OSError:
            continue
    by_hash: dict[str, list[int]] = {}
    for idx in by_size.values():
        if len(idx) < 2:
            continue
        for i in idx:
            try:
                digest = hashlib.sha256(files[i][0].read_bytes()).hexdigest()
            except OSError:
                continue
            by_hash.setdefault(digest, []).append(i)
    drop: set[int] = set()
    regroup: dict[int, str] = {}
    conflicts = repeats = 0
    for digest, idx in by_hash.items():
        if len(idx) < 2:
            continue
        if len({files[i][1] == positive for i in idx}) > 1:
            drop.update(idx)
            conflicts += 1
        else:
            repeats += len(idx) - 1
            for i in idx:
                regroup[i] = f"duplicate:{digest[:16]}"
    warnings = []
    excluded = []
    if conflicts:
        names = sorted({files[i][0].name for i in drop})
        warnings.append(
            f"{conflicts} image(s) appear under both labels and are left out: "
            + ", ".join(names[:4]) + (" …" if len(names) > 4 else "")
        )
        excluded = [(str(files[i][0]), "the same image is labelled both ways") for i in drop]
    if repeats:
        warnings.append(
            f"{repeats} file(s) are exact copies of another with the same label; each set of "
            "copies counts as one patient in the intervals"
        )
    kept = [
        (p, c, regroup.get(i, g), s) for i, (p, c, g, s) in enumerate(files) if i not in drop
    ]
    return kept, excluded, warnings


def _subgroup_keys(files: list[LabelledFile]) -> list[str]:
    values: dict[str, set[str]] = {}
    for f in files:
        for k, v in f.subgroups:
            values.setdefault(k, set()).add(v)
    return sorted(k for k, v in values.items() if 2 <= len(v) <= MAX_SUBGROUP_VALUES)


def labelled_from_split(index: DatasetIndex, split: str = "test") -> LabelledSet:
    """One split of a training folder (``core.files.dataset.DatasetIndex``) as a labelled set:
    the local test part kept apart when fine-tuning on a site."""
    files = tuple(
        LabelledFile(s.path, s.class_name, s.label, s.group)
        for s in index.samples if s.split == split
    )
    grouped = any(s.group != _relative(s.path, index.root) for s in index.samples)
    return LabelledSet(
        index.root, index.positive, tuple(index.classes), files,
        f"{split} part ({index.split_source})", grouped,
    )
