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

import numpy as np
from PIL import Image, ImageDraw

from core.card import ModelCard
from core.metrics import summary
from core.preprocess import crop_box, prepare
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


def shortcut_probe(
    net, card: ModelCard, images: list[np.ndarray], labels: np.ndarray
) -> dict:
    """Test AUC with the lungs hidden and with only the lungs shown (``images``: the
    radiographs as read, float32 [0, 1])."""
    from core.metrics import roc_auc

    hidden = [mask_centre(px, keep_centre=False) for px in images]
    only = [mask_centre(px, keep_centre=True) for px in images]
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


def assess_pixels(model, images: list[np.ndarray], batch_size: int = 32) -> list:
    """The classifier's full answer (refusal, unusual flag, probability) for in-memory
    radiographs, through the same rules as ``covidcxr classify``."""
    from core.inference import assess, prepare_pixels

    spec = model.card.spec
    out = []
    for i in range(0, len(images), batch_size):
        items = [prepare_pixels(p, spec, model.anatomy) for p in images[i : i + batch_size]]
        out.extend(assess(model, items, model.threshold))
    return out


def answer_rates(answers: list) -> dict:
    """Refused / unusual / called-COVID shares of a list of assessments."""
    from core.card import NOT_ASSESSED, POSITIVE

    n = len(answers)
    if not n:
        return {"n": 0}
    refused = sum(a.label == NOT_ASSESSED for a in answers)
    assessed = n - refused
    return {
        "n": n,
        "refused": refused / n,
        "unusual": sum(a.unusual for a in answers) / n,
        "called_covid_of_assessed": (
            sum(a.label == POSITIVE for a in answers) / assessed if assessed else float("nan")
        ),
    }


def ood_rates(model, real_pixels: list[np.ndarray] | None = None) -> dict:
    """Share of real X-rays refused or flagged unusual, and of non-X-rays refused, per kind."""
    if model.ood is None and model.anatomy is None:
        return {}
    res: dict = {}
    if real_pixels:
        real = answer_rates(assess_pixels(model, real_pixels))
        res["xray_refused"] = real["refused"]
        res["xray_unusual"] = real["unusual"]
        res["xray_n"] = real["n"]
    by_kind = {kind: assess_pixels(model, imgs) for kind, imgs in synthetic_non_xrays().items()}
    every = answer_rates([a for answers in by_kind.values() for a in answers])
    res["non_xray_refused"] = every.get("refused", 0.0)
    res["non_xray_n"] = every["n"]
    res["non_xray_by_kind"] = {k: answer_rates(v)["refused"] for k, v in by_kind.items()}
    return res


#: The two negative collections of ../shared/data/cxr the source probe tells apart, and
#: the finding compared (NIH also has pneumonia films; comparing normals with normals
#: keeps disease out of the probe).
PROBE_SOURCES = ("rsna", "nih-cxr14")
PROBE_FINDING = "Normal"


def source_probe(
    feats: np.ndarray,
    sources: list[str],
    labels: np.ndarray,
    findings: list[str] | None = None,
) -> dict:
    """How well the model's features tell two *negative* collections apart.

    A cross-validated logistic regression on the pooled features of the normal films of
    the two sources in ``PROBE_SOURCES``: AUC 0.5 means the features carry no trace of
    which hospital a healthy film came from; near 1.0 means the source is in the
    representation, and so available as a shortcut for COVID (which comes from yet
    another collection). ``findings`` (the manifest's label per image) restricts it to
    ``PROBE_FINDING``; without them every negative counts."""
    from core.metrics import cross_validated_auc

    a, b = PROBE_SOURCES
    findings = findings or [PROBE_FINDING] * len(sources)
    keep = np.array(
        [
            lab == 0 and src in (a, b) and finding == PROBE_FINDING
            for src, lab, finding in zip(sources, labels, findings, strict=True)
        ],
        bool,
    )
    y = np.array([src == a for src in sources], int)[keep]
    if keep.sum() < 20 or y.min() == y.max():
        return {}
    return {
        "auc": cross_validated_auc(feats[keep], y, l2=10.0),
        "sources": list(PROBE_SOURCES),
        "n": int(keep.sum()),
    }


def evaluate_decoded(model, split, index=None) -> dict:
    """Full metrics for one decoded split (uint8 cache, labels, thumbs, paths)."""
    from core.training import predict_u8

    net, card = model.keras_model, model.card
    raw, feats = predict_u8(net, split.images)
    p = card.calibrate(raw)
    out = summary(split.labels, p, card.threshold)
    # Both need the films as read (whole image, not the network's cache): read them once.
    images = [read_xray(q).pixels for q in split.paths]
    out["probe"] = shortcut_probe(net, card, images, split.labels)
    out["ood"] = ood_rates(model, images)
    if index is not None:
        # Per-source AUC is not meaningful when a source holds one class only; report the
        # score distribution per source instead (how separable the *collections* are).
        by_source: dict[str, list[float]] = {}
        rels = {
            s.path: index.manifest.get(s.path.relative_to(index.root).as_posix(), {})
            for s in index.samples
        }
        sources = [rels.get(path, {}).get("dataset", "unknown") for path in split.paths]
        findings = [rels.get(path, {}).get("label", PROBE_FINDING) for path in split.paths]
        for src, prob in zip(sources, p, strict=True):
            by_source.setdefault(src, []).append(float(prob))
        out["mean_probability_by_source"] = {k: float(np.mean(v)) for k, v in by_source.items()}
        out["source_probe"] = source_probe(feats, sources, split.labels, findings)
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
                f"  not a frontal chest X-ray: real X-rays refused {o['xray_refused']:.1%} "
                f"of {o['xray_n']} (target <= 1%); flagged unusual {o['xray_unusual']:.1%}\n"
            )
        w(
            f"  not a frontal chest X-ray: non-X-rays refused {o['non_xray_refused']:.1%} "
            f"of {o['non_xray_n']} "
            f"(target >= 99%) "
            + ", ".join(f"{k} {v:.0%}" for k, v in o["non_xray_by_kind"].items())
            + "\n"
        )
    if m.get("source_probe"):
        sp = m["source_probe"]
        w(
            f"  source probe: {' vs '.join(sp['sources'])} normal films told apart by the "
            f"model's features with AUC {_fmt(sp['auc'])} (n={sp['n']}; target <= 0.75)\n"
        )
    if m.get("mean_probability_by_source"):
        w(
            "  mean P(COVID) by source: "
            + ", ".join(f"{k} {v:.3f}" for k, v in m["mean_probability_by_source"].items())
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
    m = evaluate_decoded(model, part, index)
    print_report(m, split or "all")
    if args.json:
        write_text_atomic(args.json, json.dumps(m, indent=2, default=float) + "\n")
        print(f"wrote {args.json}")
    return 0
