"""The pictures the frontal-film check (issue #31, core.model.frontal) is fitted on and
measured with, and which of them are held out.

Every kind of picture is split once, by a fixed rule, into a part the classifier is fitted
on (augmented: crops, mirrors, rotations, contrast) and a part kept apart that only
``bench/bench_frontal.py`` reads:

| kind | fitted on | held out (reported) |
|---|---|---|
| frontal | `cxr` train + val (<= 500 a collection), `ieee8023/train`, 400 of them as portable-ICU copies | `cxr/test` (each source, and 200 as portable-ICU copies), `newsite`, `fullres`, `lungs`, `ieee8023/test` |
| lateral, ct | `notcxr` patients not held out | `notcxr` patients at every third place in sorted order, from the second |
| photo | `scripts/data/photographs` but HELD_OUT_PHOTOS, in grey | HELD_OUT_PHOTOS, in grey (the reader refuses colour) |
| page | `text_pages(seed=101)`, `text.png`, the screenshots in `docs/screenshots` but HELD_OUT_SCREENSHOTS, synthetic documents (seed 1) | `text_pages()` (seed 7, the #23 set), HELD_OUT_SCREENSHOTS |
| dicom | pydicom's test images at odd places, frames of its multi-frame US and RT dose files | pydicom's test images at even places (sorted by name) |
| synthetic | `synthetic_non_xrays(seed=1)` | `synthetic_non_xrays()` (seed 0, the #23 set) |

Run as a script it prints the held-out files.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
for _p in (REPO, REPO / "scripts"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from eval_lungs import manifest_rows, portable_icu, pydicom_images, read_files, text_pages  # noqa: E402

from core.evaluation.nonxray import synthetic_non_xrays  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data"
PHOTOS = REPO / "scripts" / "data" / "photographs"
SCREENSHOTS = REPO / "docs" / "screenshots"
HELD_OUT_PHOTOS = ("chelsea", "coffee", "coins", "retina", "rocket")
HELD_OUT_SCREENSHOTS = ("validate.png", "validate_es.png", "validate-report.png")
#: Synthetic kinds that are another kind of picture.
SYNTHETIC_AS = {"document": "page", "ct_slice": "ct"}

Named = tuple[str, np.ndarray]


def held_out_patients(data: Path) -> set[str]:
    """notcxr patients kept apart: every third in sorted order from the second, per kind
    (lateral, CT)."""
    rows = manifest_rows(data / "notcxr")
    out: set[str] = set()
    for kind in ("lateral", "ct"):
        patients = sorted({r["patient"] for r in rows if r["kind"].startswith(kind)})
        out |= {p for i, p in enumerate(patients) if i % 3 == 1}
    return out


def notcxr(data: Path, kind: str, held_out: bool) -> list[Path]:
    keep = held_out_patients(data)
    return sorted(data / "notcxr" / r["file"] for r in manifest_rows(data / "notcxr")
                  if r["kind"].startswith(kind) and (r["patient"] in keep) == held_out)


def photographs(held_out: bool) -> list[Path]:
    return sorted(p for p in PHOTOS.glob("*.jpg")
                  if p.stem != "text" and (p.stem in HELD_OUT_PHOTOS) == held_out)


def grey_photographs(held_out: bool) -> list[Named]:
    """The photographs in grey: the reader refuses a colour picture before any check (it
    is "a colour picture, not a radiograph"), so a grey one is the case left to judge."""
    return [(p.name, np.asarray(Image.open(p).convert("L"), np.float32) / 255.0)
            for p in photographs(held_out)]


def screenshots(held_out: bool) -> list[Path]:
    return sorted(p for p in SCREENSHOTS.glob("*.png")
                  if (p.name in HELD_OUT_SCREENSHOTS) == held_out)


def pydicom_split(held_out: bool) -> list[Named]:
    """pydicom's distinct single-frame test images (as #23 measures them), alternately."""
    images, _ = pydicom_images()
    images = sorted(images, key=lambda item: item[0])
    return [item for i, item in enumerate(images) if (i % 2 == 0) == held_out]


def pydicom_frames(per_file: int = 8) -> list[Named]:
    """Frames of pydicom's multi-frame ultrasound and RT dose files (the reader refuses
    multi-frame files; the frames are other modalities' pictures all the same)."""
    import pydicom
    from pydicom.data import get_testdata_file

    folder = Path(get_testdata_file("CT_small.dcm")).parent
    out = []
    for name in ("examples_ybr_color.dcm", "rtdose.dcm"):
        try:
            arr = np.asarray(pydicom.dcmread(folder / name).pixel_array, np.float32)
        except Exception:  # a missing codec: fewer training pictures, nothing more
            continue
        if arr.ndim == 4:
            arr = arr.mean(-1)
        for k in np.linspace(0, len(arr) - 1, per_file).astype(int):
            f = arr[k]
            lo, hi = float(f.min()), float(f.max())
            out.append((f"{name}#{k}", (f - lo) / (hi - lo) if hi > lo else f * 0))
    return out


def frontal_train(data: Path, per_collection: int = 500) -> list[Path]:
    rng = np.random.default_rng(0)
    rows = manifest_rows(data / "cxr")
    out: list[Path] = []
    for coll in sorted({r["dataset"] for r in rows}):
        paths = [data / "cxr" / r["file"] for r in rows
                 if r["dataset"] == coll and r["split"] in ("train", "val")]
        if len(paths) > per_collection:
            paths = [paths[i] for i in sorted(rng.choice(len(paths), per_collection,
                                                         replace=False))]
        out += paths
    out += [data / "ieee8023" / r["file"] for r in manifest_rows(data / "ieee8023")
            if r["split"] == "train"]
    return out


def frontal_held_out(data: Path, icu_n: int = 200) -> dict[str, list[Path]]:
    """The real frontal films the benchmark reports on, by set (as scripts/measure_model.py
    names them; the portable-ICU copies are drawn the same way)."""
    sets: dict[str, list[Path]] = {}
    cxr = data / "cxr"
    by_source: dict[str, list[Path]] = {}
    for row in manifest_rows(cxr):
        if row["split"] == "test":
            by_source.setdefault(f"cxr/test {row['dataset']} {row['label']}", []).append(
                cxr / row["file"])
    sets.update(sorted(by_source.items()))
    test_paths = sorted(p for ps in by_source.values() for p in ps)
    rng = np.random.default_rng(0)
    sets["cxr/test as portable ICU films"] = [
        test_paths[i] for i in sorted(rng.choice(len(test_paths), icu_n, replace=False))]
    sets["newsite"] = sorted(p for p in (data / "newsite" / "COVID").iterdir() if p.is_file())
    sets["fullres"] = sorted(p for p in (data / "fullres").rglob("*")
                             if p.is_file() and p.suffix not in (".csv", ".md"))
    sets["lungs"] = sorted((data / "lungs" / "images").rglob("*.png"))
    sets["ieee8023/test"] = [data / "ieee8023" / r["file"]
                             for r in manifest_rows(data / "ieee8023") if r["split"] == "test"]
    return sets


def read_named(paths: list[Path]) -> list[Named]:
    return [(name, px) for name, px, _ in read_files(paths) if px is not None]


def non_frontal_held_out(data: Path) -> dict[str, list[Named]]:
    """The non-frontal pictures kept apart, by set."""
    synth = synthetic_non_xrays()
    return {
        "notcxr lateral": read_named(notcxr(data, "lateral", True)),
        "notcxr CT": read_named(notcxr(data, "ct", True)),
        "photographs (grey)": grey_photographs(True),
        "text pages": text_pages(),
        "screenshots": read_named(screenshots(True)),
        "pydicom CT/MR/other": pydicom_split(True),
        "synthetic non-X-rays": [(f"{k}-{i}", px) for k, v in synth.items()
                                 for i, px in enumerate(v)],
    }


def non_frontal_train(data: Path) -> dict[str, list[Named]]:
    """The non-frontal pictures the classifier is fitted on, by kind (core.model.frontal)."""
    out: dict[str, list[Named]] = {
        "lateral": read_named(notcxr(data, "lateral", False)),
        "ct": read_named(notcxr(data, "ct", False)),
        "photo": grey_photographs(False),
        "page": [*text_pages(40, seed=101), *read_named([PHOTOS / "text.jpg"]),
                 *read_named(screenshots(False))],
        "dicom": [*pydicom_split(False), *pydicom_frames()],
        "synthetic": [],
    }
    for kind, images in synthetic_non_xrays(n_each=15, seed=1).items():
        target = SYNTHETIC_AS.get(kind, "synthetic")
        out[target] += [(f"synthetic-{kind}-{i}", px) for i, px in enumerate(images)]
    return out


def augment(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One altered copy: a crop of 55-100 % of each side, a mirror, a rotation up to 12
    degrees, and a gamma / contrast change; float32 [0, 1] in and out."""
    h, w = pixels.shape
    fh, fw = rng.uniform(0.55, 1.0, 2)
    ch, cw = min(h, max(16, int(h * fh))), min(w, max(16, int(w * fw)))
    y, x = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    out = pixels[y:y + ch, x:x + cw]
    if rng.random() < 0.5:
        out = out[:, ::-1]
    img = Image.fromarray(np.ascontiguousarray(out, np.float32), "F")
    img = img.rotate(float(rng.uniform(-12, 12)), Image.Resampling.BILINEAR,
                     fillcolor=float(np.median(out)))
    out = np.clip(np.asarray(img, np.float32), 0, 1) ** float(rng.uniform(0.6, 1.6))
    lo = float(rng.uniform(0.0, 0.2))
    return np.clip(lo + out * float(rng.uniform(0.7, 1.0 - lo)), 0, 1).astype(np.float32)


def copies(images: list[Named], n: int, seed: int) -> Iterator[Named]:
    """Each image as it is, then ``n - 1`` altered copies of it (named after it: the fold
    an image falls in takes its copies with it)."""
    rng = np.random.default_rng(seed)
    for name, px in images:
        yield name, px
        for _ in range(n - 1):
            yield name, augment(px, rng)


def icu_copies(paths: list[Path], n: int, seed: int = 1000) -> list[Named]:
    rng = np.random.default_rng(seed)
    pick = [paths[i] for i in sorted(rng.choice(len(paths), min(n, len(paths)), replace=False))]
    return [(f"icu-{name}", portable_icu(px, seed + k))
            for k, (name, px) in enumerate(read_named(pick))]


def group_of(name: str) -> int:
    """A stable number per source picture, for folds by picture."""
    return int(hashlib.sha1(name.encode()).hexdigest()[:8], 16)


def main() -> int:
    data = DEFAULT_DATA
    print("held out (never fitted on):")
    for kind in ("lateral", "ct"):
        print(f"  notcxr {kind}:", ", ".join(p.name for p in notcxr(data, kind, True)))
    print("  photographs:", ", ".join(p.name for p in photographs(True)))
    print("  screenshots:", ", ".join(p.name for p in screenshots(True)))
    print("  pydicom:", ", ".join(n for n, _ in pydicom_split(True)))
    print("  text pages: eval_lungs.text_pages() (seed 7, 20 pages); synthetic: "
          "synthetic_non_xrays() (seed 0, 140)")
    print("  frontal:", ", ".join(frontal_held_out(data)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
