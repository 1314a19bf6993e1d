"""Measure the lung segmenter and the "frontal chest film" check on every set we have.

Prints one table: for each set, how many images, how many the reader refused, the share
judged "not a frontal chest film" and the share where the segmenter is not confident (the
lung box falls back to the whole image), with the commonest reason. Real frontal films
(cxr/test by source, newsite/, fullres/, lungs/val, cxr/test under portable-ICU
artefacts) should be refused <= 1 %; non-X-rays (synthetic, pydicom's CT/MR/other test
files, rendered text pages) >= 99 %; laterals and CT slices (notcxr/, a test set only) as
many as possible. Also: Dice on lungs/val, the forward-pass cost at batch 32, the
distribution of each anatomical measure on the *training* films (how the thresholds in
core/model/lungs.py were checked), and contact sheets /tmp/lungs_contact_*.png.

Run: ``.venv/bin/python scripts/eval_lungs.py [--data ../shared/data] [--threads 2]``.
"""

from __future__ import annotations

import argparse
import collections
import csv
import hashlib
import math
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
for _p in (REPO, REPO / "scripts"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from core.errors import ImageReadError  # noqa: E402
from core.evaluation.nonxray import synthetic_non_xrays  # noqa: E402
from core.files.reader import read_xray  # noqa: E402
from core.model.lungs import (  # noqa: E402
    FrontalCheck,
    LungFields,
    LungSegmenter,
    assess_frontal,
    frontal_check,
    image_facts,
    prepare_lungs,
)
from core.model.preprocess import resize_gray  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data"
CHUNK = 16  # images read and segmented together: bounds memory with full-size originals
SHEET_PER_SET = 6


@dataclass
class SetResult:
    """Verdicts for one set, plus a few (image, mask, check) triples for the contact sheet."""

    name: str
    expect_frontal: bool
    checks: list[FrontalCheck] = field(default_factory=list)
    unreadable: collections.Counter = field(default_factory=collections.Counter)
    examples: list[tuple[np.ndarray, np.ndarray, FrontalCheck, str]] = field(default_factory=list)
    #: Real frontal films that were refused (or non-frontal images accepted): the mistakes.
    mistakes: list[tuple[np.ndarray, np.ndarray, FrontalCheck, str]] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.checks)

    def refused(self) -> float:
        return float(np.mean([not c.frontal for c in self.checks])) if self.checks else math.nan

    def unconfident(self) -> float:
        return (
            float(np.mean([not c.fields.confident for c in self.checks]))
            if self.checks
            else math.nan
        )

    def top_reason(self) -> str:
        reasons = collections.Counter(c.reason for c in self.checks if not c.frontal)
        if not reasons:
            return ""
        reason, count = reasons.most_common(1)[0]
        return f"{reason} ({count})"


# --- sources ----------------------------------------------------------------------------


def read_files(paths: list[Path]) -> Iterator[tuple[str, np.ndarray | None, str]]:
    """(name, pixels or None, error) per file, read as the product reads it."""
    for p in paths:
        try:
            yield p.name, read_xray(p).pixels, ""
        except ImageReadError as exc:
            yield p.name, None, f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # a reader bug is still a refusal to measure
            yield p.name, None, f"reader crashed ({type(exc).__name__}: {exc})"


def from_arrays(items: list[tuple[str, np.ndarray]]) -> Iterator[tuple[str, np.ndarray, str]]:
    for name, px in items:
        yield name, px, ""


def manifest_rows(root: Path) -> list[dict[str, str]]:
    with open(root / "manifest.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def run_set(
    name: str,
    items: Iterator[tuple[str, np.ndarray | None, str]],
    seg: LungSegmenter,
    expect_frontal: bool,
    transform: Callable[[np.ndarray, int], np.ndarray] | None = None,
) -> SetResult:
    res = SetResult(name, expect_frontal)
    chunk: list[tuple[str, np.ndarray]] = []

    def flush() -> None:
        masks = seg.masks([px for _, px in chunk])
        for (fname, px), prob in zip(chunk, masks, strict=True):
            check = frontal_check(LungFields.from_mask(prob), image_facts(px, prob))
            res.checks.append(check)
            if len(res.examples) < SHEET_PER_SET:
                res.examples.append((resize_gray(px, 256), prob, check, fname))
            if check.frontal != expect_frontal and len(res.mistakes) < 24:
                res.mistakes.append((resize_gray(px, 256), prob, check, fname))
        chunk.clear()

    for k, (fname, px, err) in enumerate(items):
        if px is None:
            res.unreadable[err.split(":")[0]] += 1
            continue
        chunk.append((fname, transform(px, k) if transform else px))
        if len(chunk) == CHUNK:
            flush()
    if chunk:
        flush()
    return res


# --- portable ICU artefacts --------------------------------------------------------------


def portable_icu(pixels: np.ndarray, seed: int) -> np.ndarray:
    """A film as a portable ICU unit and a PACS export might give it: rotation +-10 deg,
    lines/tubes/wires (bright random polylines), ECG lead discs, black collimation bands,
    then low contrast, gamma, or a 12-bit-in-16-bit range compression."""
    rng = np.random.default_rng(seed)
    h, w = pixels.shape
    img = Image.fromarray(np.ascontiguousarray(pixels, np.float32), "F")
    img = img.rotate(float(rng.uniform(-10, 10)), Image.Resampling.BILINEAR, fillcolor=0.0)
    d = ImageDraw.Draw(img)
    s = min(h, w) / 256
    for _ in range(int(rng.integers(2, 7))):  # lines, tubes and wires
        n = int(rng.integers(3, 8))
        pts = np.cumsum(rng.normal(0, 30 * s, (n, 2)), axis=0) + rng.uniform(0, 1, 2) * (w, h)
        d.line(
            [tuple(p) for p in pts],
            fill=float(rng.uniform(0.75, 1.0)),
            width=max(1, int(rng.integers(1, 5) * s)),
        )
    for _ in range(int(rng.integers(0, 6))):  # ECG lead discs, with their wire
        r = rng.uniform(4, 9) * s
        cx, cy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.05, 0.7) * h
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=float(rng.uniform(0.85, 1.0)))
        d.line(
            [(cx, cy), (cx + rng.normal(0, 40 * s), cy + rng.normal(0, 40 * s))],
            fill=0.9,
            width=max(1, int(2 * s)),
        )
    x = np.array(img, np.float32)
    if rng.random() < 0.6:  # collimation: black bands on some sides
        for side in range(4):
            if rng.random() < 0.5:
                depth = int(rng.uniform(0.03, 0.12) * (h if side < 2 else w))
                if depth:
                    band = [np.s_[:depth], np.s_[-depth:], np.s_[:, :depth], np.s_[:, -depth:]]
                    x[band[side]] = 0.0
    kind = rng.integers(3)
    if kind == 0:  # low contrast
        lo = rng.uniform(0.2, 0.4)
        x = lo + x * rng.uniform(0.15, 0.35)
    elif kind == 1:
        x = np.clip(x, 0, 1) ** rng.uniform(0.4, 2.5)
    else:  # 12-bit data in a 16-bit container, read as 16-bit: a few per cent of the range
        x = x * (4095.0 / 65535.0) * rng.uniform(0.5, 1.0)
    return np.clip(x, 0, 1).astype(np.float32)


# --- non-X-rays --------------------------------------------------------------------------


def text_pages(n: int = 20, seed: int = 7) -> list[tuple[str, np.ndarray]]:
    """Rendered pages: black text on white, headings, paragraphs, sometimes a table."""
    rng = np.random.default_rng(seed)
    pages = []
    for i in range(n):
        w = int(rng.integers(400, 900))
        h = int(w * rng.uniform(1.0, 1.5))
        page = Image.new("L", (w, h), int(rng.integers(235, 256)))
        d = ImageDraw.Draw(page)
        y = int(rng.integers(20, 60))
        size = int(rng.integers(10, 22))
        font = ImageFont.load_default(size=size)
        d.text((30, y), "Patient report " + str(i), fill=0, font=ImageFont.load_default(size=28))
        y += 50
        while y < h - 40:
            if rng.random() < 0.1:  # a table
                rows, cols = int(rng.integers(3, 7)), int(rng.integers(2, 5))
                for r in range(rows + 1):
                    d.line([(30, y + r * 22), (w - 30, y + r * 22)], fill=40)
                for c in range(cols + 1):
                    x0 = 30 + c * (w - 60) // cols
                    d.line([(x0, y), (x0, y + rows * 22)], fill=40)
                y += rows * 22 + 20
                continue
            words = " ".join(
                "".join(chr(int(c)) for c in rng.integers(97, 123, int(rng.integers(2, 10))))
                for _ in range(int(rng.integers(4, 14)))
            )
            d.text((30, y), words, fill=int(rng.integers(0, 50)), font=font)
            y += int(size * 1.5) + (int(size) if rng.random() < 0.15 else 0)
        pages.append((f"page-{i}", np.asarray(page, np.float32) / 255.0))
    return pages


def pydicom_images() -> tuple[list[tuple[str, np.ndarray]], collections.Counter]:
    """pydicom's bundled test files that our reader opens as one grayscale image (CT, MR,
    NM, secondary capture, segmentation), one copy per distinct picture."""
    from pydicom.data import get_testdata_file

    folder = Path(get_testdata_file("CT_small.dcm")).parent
    seen, out, refused = set(), [], collections.Counter()
    for name, px, err in read_files(sorted(folder.glob("*.dcm"))):
        if px is None:
            refused[err.split(":")[0]] += 1
            continue
        key = hashlib.sha1(np.round(resize_gray(px, 32), 2).tobytes()).hexdigest()
        if key not in seen:
            seen.add(key)
            out.append((name, px))
    return out, refused


# --- measures -------------------------------------------------------------------------------


def lungs_val_dice(seg: LungSegmenter, root: Path) -> np.ndarray:
    from train_lungs import dice_scores, load_split

    images, masks, _ = load_split(root, "val")
    return dice_scores(seg.masks(list(images)), masks)


def cost_ms(seg: LungSegmenter, images: list[np.ndarray]) -> dict[str, float]:
    """ms per image at batch 32: preprocessing alone, preprocessing + forward pass, and the
    whole check (adds components, measures and the image facts)."""
    batch = (images * 32)[:32]
    seg.masks(batch)  # warm-up: trace the tf.function
    reps = 3
    t0 = time.perf_counter()
    for _ in range(reps):
        [prepare_lungs(p) for p in batch]
    t1 = time.perf_counter()
    for _ in range(reps):
        seg.masks(batch)
    t2 = time.perf_counter()
    for _ in range(reps):
        assess_frontal(batch, seg)
    t3 = time.perf_counter()
    per = 1000.0 / (reps * 32)
    return {
        "preprocess": (t1 - t0) * per,
        "preprocess+forward": (t2 - t1) * per,
        "full check": (t3 - t2) * per,
    }


def training_distribution(seg: LungSegmenter, data: Path, limit: int, sheets: Path) -> None:
    """Percentiles of each measure on the training films: the evidence for the bounds."""
    files = [
        data / "lungs" / r["file"] for r in manifest_rows(data / "lungs") if r["split"] == "train"
    ]
    rows = [r for r in manifest_rows(data / "cxr") if r["split"] == "train"]
    files += [data / "cxr" / r["file"] for r in rows][:limit]
    res = run_set("train films", read_files(files), seg, True)
    f = [c.fields for c in res.checks]
    outl = [c.facts for c in res.checks if c.facts is not None]
    measures = {
        "smaller field area": [x.areas[1] for x in f],
        "size ratio": [x.size_ratio for x in f],
        "vertical overlap": [x.vertical_overlap for x in f],
        "confidence": [x.confidence for x in f],
        "raggedness": [x.raggedness for x in f],
        "box centre x": [(x.left + x.right) / 2 for x in f],
        "box top": [x.top for x in f],
        "box height": [x.vertical_extent for x in f],
        "box width": [x.right - x.left for x in f],
        "total area": [x.total_area for x in f],
        "min edge cover": [min(o.edge_cover) for o in outl],
        "section ellipse IoU": [o.ellipse for o in outl],
        "wall contrast": [o.wall_contrast for o in outl],
        "mediastinum contrast": [o.mediastinum_contrast for o in outl],
    }
    print(
        f"\nTraining films (lungs/train + cxr/train[:{limit}], n={res.n}): "
        f"refused {res.refused():.2%}, not confident {res.unconfident():.2%}"
    )
    print(
        f"  {'measure':22s} {'min':>7s} {'p0.5':>7s} {'p5':>7s} {'p50':>7s} {'p95':>7s} "
        f"{'p99.5':>7s} {'max':>7s}"
    )
    for k, v in measures.items():
        q = np.nanpercentile(np.asarray(v, float), [0, 0.5, 5, 50, 95, 99.5, 100])
        print(f"  {k:22s} " + " ".join(f"{x:7.3f}" for x in q))
    reasons = collections.Counter(c.reason for c in res.checks if not c.frontal)
    for reason, count in reasons.most_common(6):
        print(f"    refused: {reason} ({count})")
    contact_sheet(mistake_rows([res])[:6], sheets / "lungs_contact_refused_train.png")


# --- contact sheets ----------------------------------------------------------------------


Example = tuple[np.ndarray, np.ndarray, FrontalCheck, str]


def contact_sheet(rows: list[tuple[str, list[Example]]], path: Path, tile: int = 256) -> None:
    """One row per (title, examples): the image, the mask outline (red), the lung box (green
    if confident, yellow if not), the verdict and the reason (or file name) underneath."""
    rows = [(t, ex) for t, ex in rows if ex]
    if not rows:
        return
    cols = max(len(ex) for _, ex in rows)
    label_h = 30
    sheet = Image.new("RGB", (cols * tile, len(rows) * (tile + label_h)), (40, 40, 40))
    d = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=11)
    for ri, (title, examples) in enumerate(rows):
        for ci, (img, prob, check, fname) in enumerate(examples):
            x0, y0 = ci * tile, ri * (tile + label_h)
            # Display only: stretch each image to its own range (12-bit-in-16 films are dark).
            lo, hi = float(img.min()), float(img.max())
            show = (img - lo) / (hi - lo) if hi > lo else img
            rgb = np.repeat((np.clip(show, 0, 1) * 255).astype(np.uint8)[..., None], 3, axis=2)
            mask = resize_gray(prob, tile) > 0.5
            edge = mask & ~(
                np.roll(mask, 1, 0)
                & np.roll(mask, -1, 0)
                & np.roll(mask, 1, 1)
                & np.roll(mask, -1, 1)
            )
            rgb[edge] = (255, 40, 40)
            sheet.paste(Image.fromarray(rgb), (x0, y0))
            f = check.fields
            colour = (60, 230, 60) if f.confident else (240, 220, 0)
            t, lft, b, rgt = (v * tile for v in f.box)
            d.rectangle([x0 + lft, y0 + t, x0 + rgt - 1, y0 + b - 1], outline=colour, width=2)
            verdict = "FRONTAL" if check.frontal else "refused"
            d.text(
                (x0 + 3, y0 + tile + 2),
                f"{title} {verdict} e={check.evidence:.2f}",
                fill=(255, 255, 255),
                font=font,
            )
            d.text(
                (x0 + 3, y0 + tile + 15),
                (check.reason or fname)[:44],
                fill=(200, 200, 200),
                font=font,
            )
    sheet.save(path)


def mistake_rows(results: list[SetResult], per_row: int = 6) -> list[tuple[str, list[Example]]]:
    rows = []
    for r in results:
        for i in range(0, len(r.mistakes), per_row):
            rows.append((r.name, r.mistakes[i : i + per_row]))
    return rows


# --- main --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--model", type=Path, default=None, help="default: models/lungs.keras")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--train-limit",
        type=int,
        default=100_000,
        help="cxr/train films in the training distribution (0 skips it)",
    )
    p.add_argument("--sheets", type=Path, default=Path("/tmp"))
    args = p.parse_args(argv)

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    seg = LungSegmenter.load(args.model)
    data = args.data
    t_start = time.perf_counter()

    dice = lungs_val_dice(seg, data / "lungs")
    print(
        f"lungs/val Dice (n={len(dice)}): mean {dice.mean():.4f}, median "
        f"{np.median(dice):.4f}, min {dice.min():.4f}, < 0.85: {int((dice < 0.85).sum())}"
    )

    cxr_rows = [r for r in manifest_rows(data / "cxr") if r["split"] == "test"]
    by_source = collections.defaultdict(list)
    for r in cxr_rows:
        by_source[r["dataset"]].append(data / "cxr" / r["file"])
    lungs_val = [
        data / "lungs" / r["file"] for r in manifest_rows(data / "lungs") if r["split"] == "val"
    ]
    notcxr = collections.defaultdict(list)
    for r in manifest_rows(data / "notcxr"):
        notcxr[r["kind"]].append(data / "notcxr" / r["file"])
    newsite = [data / "newsite" / r["file"] for r in manifest_rows(data / "newsite")]
    fullres = [data / "fullres" / r["file"] for r in manifest_rows(data / "fullres")]

    results: list[SetResult] = []
    for source in sorted(by_source):
        results.append(run_set(f"cxr/test {source}", read_files(by_source[source]), seg, True))
    all_test = [f for s in sorted(by_source) for f in by_source[s]]
    results.append(
        run_set("cxr/test portable ICU", read_files(all_test), seg, True, transform=portable_icu)
    )
    results.append(run_set("lungs/val", read_files(lungs_val), seg, True))
    results.append(run_set("newsite", read_files(newsite), seg, True))
    results.append(run_set("fullres", read_files(fullres), seg, True))
    for kind in sorted(notcxr):
        results.append(run_set(f"notcxr {kind}", read_files(notcxr[kind]), seg, False))
    for kind, imgs in synthetic_non_xrays().items():
        items = [(f"{kind}-{i}", im) for i, im in enumerate(imgs)]
        results.append(run_set(f"synthetic {kind}", from_arrays(items), seg, False))
    dcm, dcm_refused = pydicom_images()
    res = run_set("pydicom test files", from_arrays(dcm), seg, False)
    res.unreadable.update(dcm_refused)
    results.append(res)
    results.append(run_set("text pages", from_arrays(text_pages()), seg, False))

    print(
        f"\n{'set':30s} {'n':>5s} {'unread':>6s} {'refused':>8s} {'not conf':>8s}  "
        "commonest reason for refusal"
    )
    for r in results:
        target = "<= 1%" if r.expect_frontal else ">= 99%"
        print(
            f"{r.name:30s} {r.n:5d} {sum(r.unreadable.values()):6d} {r.refused():8.1%} "
            f"{r.unconfident():8.1%}  [{target}] {r.top_reason()}"
        )
    for r in results:
        if r.unreadable:
            print(f"  {r.name}: unreadable {dict(r.unreadable)}")

    sample = [ex[0] for ex in results[0].examples[:4]]
    cost = cost_ms(seg, sample)
    print(
        "\nms per image at batch 32 (256 px inputs, "
        f"{args.threads} threads): " + ", ".join(f"{k} {v:.1f}" for k, v in cost.items())
    )

    sheets = {
        "cxr": [r for r in results if r.name.startswith("cxr/test") or r.name == "lungs/val"],
        "external": [r for r in results if r.name in ("newsite", "fullres")],
        "notcxr": [r for r in results if r.name.startswith("notcxr")],
        "nonxray": [r for r in results if r.name.startswith(("synthetic", "pydicom", "text"))],
    }
    for key, group in sheets.items():
        path = args.sheets / f"lungs_contact_{key}.png"
        contact_sheet([(r.name, r.examples) for r in group], path)
        print(f"wrote {path}")
    real = [r for r in results if r.expect_frontal]
    for key, group in (
        ("refused_real", real),
        ("accepted_nonfrontal", [r for r in results if not r.expect_frontal]),
    ):
        path = args.sheets / f"lungs_contact_{key}.png"
        contact_sheet(mistake_rows(group)[:10], path)
        print(f"wrote {path}")
    if args.train_limit:
        training_distribution(seg, data, args.train_limit, args.sheets)
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
