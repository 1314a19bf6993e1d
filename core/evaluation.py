"""Honest evaluation: metrics on a labelled folder, the shortcut probe, the OOD refusal rates.

The shortcut probe follows Maguolo & Nanni: black out the central 70% of each axis (where
the lungs are) and a model that reads the lungs should fall to chance; black out everything
*but* that centre and it should keep most of its AUC.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from core.card import ModelCard
from core.metrics import summary
from core.preprocess import crop_box, prepare, thumbnail
from core.reader import read_xray

PROBE_CENTRE = 0.70


def mask_centre(pixels: np.ndarray, keep_centre: bool) -> np.ndarray:
    """Black out the central 70% (keep_centre=False) or everything else (keep_centre=True)."""
    top, left, bottom, right = crop_box(*pixels.shape, PROBE_CENTRE)
    out = np.zeros_like(pixels) if keep_centre else pixels.copy()
    if keep_centre:
        out[top:bottom, left:right] = pixels[top:bottom, left:right]
    else:
        out[top:bottom, left:right] = 0.0
    return out


def _forward_pixels(
    net, card: ModelCard, images: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    from core.training import predict_u8

    spec = card.spec
    cache = (
        np.stack([prepare(p, spec) for p in images])
        if images
        else np.zeros((0, spec.size, spec.size), np.uint8)
    )
    raw, feats = predict_u8(net, cache)
    return card.calibrate(raw), feats


def shortcut_probe(net, card: ModelCard, paths: list[Path], labels: np.ndarray) -> dict:
    """Test AUC with the lungs hidden and with only the lungs shown."""
    from core.metrics import roc_auc

    hidden, only = [], []
    for p in paths:
        px = read_xray(p).pixels
        hidden.append(mask_centre(px, keep_centre=False))
        only.append(mask_centre(px, keep_centre=True))
    ph, _ = _forward_pixels(net, card, hidden)
    po, _ = _forward_pixels(net, card, only)
    return {
        "lungs_hidden_auc": roc_auc(labels, ph),
        "lungs_only_auc": roc_auc(labels, po),
        "centre_fraction": PROBE_CENTRE,
        "n": int(len(labels)),
    }


def synthetic_non_xrays(n_each: int = 20, seed: int = 0) -> dict[str, list[np.ndarray]]:
    """Images that are clearly not chest X-rays: noise, documents, CT-like slices, smooth
    'photographs', gradients, shapes, blanks. Grayscale, so the colour check cannot help."""
    rng = np.random.default_rng(seed)
    size = 384
    out: dict[str, list[np.ndarray]] = {
        k: [] for k in ("noise", "document", "ct_slice", "photo", "gradient", "shapes", "blank")
    }
    yy, xx = np.mgrid[0:size, 0:size] / size
    for _ in range(n_each):
        out["noise"].append(
            rng.random((size, size)).astype(np.float32)
            if rng.random() < 0.5
            else np.clip(rng.normal(0.5, 0.2, (size, size)), 0, 1).astype(np.float32)
        )
        page = Image.new("L", (size, size), int(rng.integers(225, 256)))
        d = ImageDraw.Draw(page)
        for line in range(int(rng.integers(8, 30))):
            y = 10 + line * 12
            words = " ".join(
                "".join(chr(int(c)) for c in rng.integers(97, 123, rng.integers(2, 9)))
                for _ in range(int(rng.integers(3, 9)))
            )
            d.text((int(rng.integers(5, 40)), y), words, fill=int(rng.integers(0, 60)))
        out["document"].append(np.asarray(page, np.float32) / 255.0)
        ct = Image.new("L", (size, size), 0)
        d = ImageDraw.Draw(ct)
        cx, cy = size // 2 + rng.integers(-20, 20), size // 2 + rng.integers(-20, 20)
        rx, ry = int(rng.integers(130, 175)), int(rng.integers(95, 130))
        d.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=int(rng.integers(90, 130)))
        d.ellipse([cx - rx + 12, cy - ry + 12, cx + rx - 12, cy + ry - 12], outline=230, width=6)
        for side in (-1, 1):
            lx = cx + side * rx // 2
            d.ellipse(
                [lx - rx // 3, cy - ry // 2, lx + rx // 3, cy + ry // 2],
                fill=int(rng.integers(10, 40)),
            )
        d.ellipse([cx - 18, cy + ry // 3, cx + 18, cy + ry // 3 + 36], fill=240)
        out["ct_slice"].append(np.asarray(ct, np.float32) / 255.0)
        low = rng.random((8, 8)).astype(np.float32)
        photo = np.asarray(Image.fromarray(low, "F").resize((size, size), Image.Resampling.BICUBIC))
        out["photo"].append(
            np.clip(photo + rng.normal(0, 0.03, photo.shape), 0, 1).astype(np.float32)
        )
        ang = rng.random() * 2 * math.pi
        out["gradient"].append(
            np.clip(np.cos(ang) * xx + np.sin(ang) * yy + 0.5, 0, 1).astype(np.float32)
        )
        shapes = Image.new("L", (size, size), int(rng.integers(0, 256)))
        d = ImageDraw.Draw(shapes)
        for _ in range(int(rng.integers(3, 12))):
            x0, y0 = rng.integers(0, size, 2)
            w, h = rng.integers(20, 200, 2)
            fn = d.rectangle if rng.random() < 0.5 else d.ellipse
            fn([int(x0), int(y0), int(x0 + w), int(y0 + h)], fill=int(rng.integers(0, 256)))
        out["shapes"].append(np.asarray(shapes, np.float32) / 255.0)
        out["blank"].append(np.full((size, size), rng.random(), np.float32))
    return out


def ood_rates(
    net,
    card: ModelCard,
    ood,
    real_pixels: list[np.ndarray] | None = None,
    real_thumbs: np.ndarray | None = None,
    real_feats: np.ndarray | None = None,
) -> dict:
    """Share of real X-rays refused and share of non-X-rays refused, per kind."""
    if ood is None:
        return {}
    res: dict = {}
    if real_feats is not None and real_thumbs is not None:
        s = ood.score(real_feats, real_thumbs)
        res["xray_refused"] = float(np.mean(s > 1.0))
        res["xray_n"] = int(len(s))
    per_kind, total, refused = {}, 0, 0
    for kind, imgs in synthetic_non_xrays().items():
        _, feats = _forward_pixels(net, card, imgs)
        s = ood.score(feats, np.stack([thumbnail(p) for p in imgs]))
        per_kind[kind] = float(np.mean(s > 1.0))
        total += len(imgs)
        refused += int(np.sum(s > 1.0))
    res["non_xray_refused"] = refused / max(total, 1)
    res["non_xray_n"] = total
    res["non_xray_by_kind"] = per_kind
    return res


def evaluate_decoded(net, card: ModelCard, ood, split, index=None) -> dict:
    """Full metrics for one decoded split (uint8 cache, labels, thumbs, paths)."""
    from core.training import predict_u8

    raw, feats = predict_u8(net, split.images)
    p = card.calibrate(raw)
    out = summary(split.labels, p, card.threshold)
    out["probe"] = shortcut_probe(net, card, split.paths, split.labels)
    out["ood"] = ood_rates(net, card, ood, real_thumbs=split.thumbs, real_feats=feats)
    if index is not None:
        # Per-source AUC is not meaningful when a source holds one class only; report the
        # score distribution per source instead (how separable the *collections* are).
        by_source: dict[str, list[float]] = {}
        rels = {
            s.path: index.manifest.get(s.path.relative_to(index.root).as_posix(), {})
            for s in index.samples
        }
        for path, prob in zip(split.paths, p, strict=True):
            by_source.setdefault(rels.get(path, {}).get("dataset", "unknown"), []).append(
                float(prob)
            )
        out["mean_probability_by_source"] = {k: float(np.mean(v)) for k, v in by_source.items()}
    return out


def _fmt(v) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4f}"


def print_report(m: dict, name: str, stream=sys.stdout) -> None:
    if not m:
        print(f"no {name} metrics", file=stream)
        return
    w = stream.write
    w(f"{name} split: n={m['n']} ({m['positives']} positive, {m['negatives']} negative)\n")
    w(f"  ROC AUC       {_fmt(m['auc'])}\n")
    w(f"  threshold     {_fmt(m['threshold'])}\n")
    for k in ("accuracy", "precision", "sensitivity", "specificity", "f1"):
        w(f"  {k:13s} {_fmt(m[k])}\n")
    c = m["confusion"]
    w(f"  confusion     TP={c['tp']} FN={c['fn']} FP={c['fp']} TN={c['tn']}\n")
    w(f"  ECE           {_fmt(m['ece'])}\n")
    w(
        "  reliability   "
        + "  ".join(
            f"{r['bin']}:{r['count']}/{_fmt(r['observed_positive'])}"
            for r in m["reliability"]
            if r["count"]
        )
        + "\n"
    )
    if m.get("probe"):
        pr = m["probe"]
        w(
            f"  shortcut probe: lungs hidden AUC {_fmt(pr['lungs_hidden_auc'])} (target <= 0.65), "
            f"lungs only AUC {_fmt(pr['lungs_only_auc'])} (target >= 0.90)\n"
        )
    if m.get("ood"):
        o = m["ood"]
        if "xray_refused" in o:
            w(
                f"  OOD: real X-rays refused {o['xray_refused']:.1%} of {o['xray_n']} "
                f"(target <= 2%)\n"
            )
        w(
            f"  OOD: non-X-rays refused {o['non_xray_refused']:.1%} of {o['non_xray_n']} "
            f"(target >= 99%) "
            + ", ".join(f"{k} {v:.0%}" for k, v in o["non_xray_by_kind"].items())
            + "\n"
        )
    stream.flush()


def add_evaluate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "dataset", help="labelled folder (one sub-folder per class, optionally train/val/test)"
    )
    p.add_argument("--model", default=argparse.SUPPRESS, help="model .keras file")
    p.add_argument(
        "--split",
        default=None,
        help="which split to evaluate (default: test when the folder has splits, else every image)",
    )
    p.add_argument("--positive", help="positive class folder (default: *covid*)")
    p.add_argument("--threshold", type=float, help="override the card's threshold")
    p.add_argument("--json", help="also write the metrics to this JSON file")


def run_evaluate_cli(args: argparse.Namespace) -> int:
    from core.atomic import write_text_atomic
    from core.cli import _resolve_model
    from core.dataset import DecodedSplit, decode, scan
    from core.model import device_name, load_model

    model = load_model(_resolve_model(getattr(args, "model", None)))
    if args.threshold is not None:
        model.card.threshold = float(args.threshold)
    index = scan(args.dataset, positive=args.positive)
    has_splits = not index.split_source.startswith("seeded")
    split = args.split or ("test" if has_splits and index.of_split("test") else None)
    decoded = decode(index, model.card.spec, skip_unreadable=True)
    if split:
        part = decoded.splits[split]
    else:
        parts = list(decoded.splits.values())
        part = DecodedSplit(
            np.concatenate([q.images for q in parts]),
            np.concatenate([q.labels for q in parts]),
            np.concatenate([q.thumbs for q in parts]),
            [x for q in parts for x in q.paths],
        )
    if len(set(part.labels.tolist())) < 2:
        print("covidcxr: error: the evaluated images must include both classes", file=sys.stderr)
        return 1
    print(
        f"model {model.display_name} on {device_name()}; dataset {index.root} "
        f"({split or 'all images'}); unreadable skipped: {len(decoded.unreadable)}"
    )
    m = evaluate_decoded(model.keras_model, model.card, model.ood, part, index)
    print_report(m, split or "all")
    if args.json:
        write_text_atomic(args.json, json.dumps(m, indent=2, default=float) + "\n")
        print(f"wrote {args.json}")
    return 0
