"""Which input should the ImageNet backbone see? A linear probe on frozen Lite0 features.

For each input variant (whole film or a central crop, equalised or not, a low-resolution
bottleneck, the lung box from the segmenter) the frozen EfficientNet-Lite0 pooled features
of ``cxr/`` (train/val/test) and of ``newsite/COVID`` are computed once; a logistic head is
fitted on the training features (standardised, class-balanced, L2 chosen by validation
log-loss) and the threshold is chosen on validation for 95 % sensitivity. Reported per
variant: internal test AUC, test sensitivity / specificity and newsite sensitivity at that
threshold, the source probe (how well the features tell rsna from nih-cxr14 negatives) and
the mean P(COVID) per source on test. A good input scores high on the first two and low on
the probe: the features then carry the disease rather than the hospital.

Run: ``.venv/bin/python scripts/probe_inputs.py [--data ../shared/data] [--wait-lungs 600]``.
Writes the table and the raw numbers to ``/tmp/probe_inputs.json``.
"""

from __future__ import annotations

import argparse
import collections
import csv
import importlib
import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# One thread for numpy's BLAS as for TensorFlow: another job shares the CPU.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from core.errors import ImageReadError  # noqa: E402
from core.evaluation.metrics import (  # noqa: E402
    at_threshold,
    choose_threshold,
    fit_logistic,
    predict_logistic,
    roc_auc,
)
from core.evaluation.probes import source_probe  # noqa: E402
from core.files.reader import read_xray  # noqa: E402
from core.model.preprocess import PreprocessSpec, crop_box, prepare  # noqa: E402
from core.training.transfer import HEAD_L2  # noqa: E402

SIZE = 224
#: Newsite originals reach 3342 x 4095; the longest side is cut to this right after reading.
MAX_SIDE = 1024
MIN_SENSITIVITY = 0.95
LUNG_MARGIN = 0.05
#: The crop used where the segmenter is not confident.
FALLBACK_CROP = 0.8
SPLITS = ("train", "val", "test")


@dataclass
class Sets:
    """Decoded pixels, labels and sources of every set, read once and shared by variants."""

    pixels: dict[str, list[np.ndarray]]
    labels: dict[str, np.ndarray]
    sources: dict[str, list[str]]
    newsite_refused: dict[str, str]



def _probe_dict(probe) -> dict:
    """A source probe as JSON (empty when there were too few films)."""
    return {} if probe is None else {**asdict(probe), "sources": list(probe.sources)}

def _downscale(pixels: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    h, w = pixels.shape
    scale = max_side / max(h, w)
    if scale >= 1.0:
        return pixels
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    img = Image.fromarray(np.ascontiguousarray(pixels, np.float32), mode="F")
    return np.asarray(img.resize(size, Image.Resampling.BILINEAR), np.float32)


def read_sets(data: Path) -> Sets:
    pixels: dict[str, list[np.ndarray]] = {s: [] for s in (*SPLITS, "newsite")}
    labels: dict[str, list[int]] = {s: [] for s in pixels}
    sources: dict[str, list[str]] = {s: [] for s in pixels}
    with open(data / "cxr" / "manifest.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        pixels[r["split"]].append(read_xray(data / "cxr" / r["file"]).pixels)
        labels[r["split"]].append(int(r["label"] == "COVID"))
        sources[r["split"]].append(r["dataset"])
    refused: dict[str, str] = {}
    for path in sorted((data / "newsite" / "COVID").iterdir()):
        try:
            px = read_xray(path).pixels
        except ImageReadError as exc:
            refused[path.name] = str(exc)
            continue
        pixels["newsite"].append(_downscale(px))
        labels["newsite"].append(1)
        sources["newsite"].append("newsite")
    return Sets(pixels, {k: np.array(v, int) for k, v in labels.items()}, sources, refused)


# --- Input variants: float32 radiograph list -> uint8 (N, 224, 224) ---------------------


def spec_variant(crop: float, equalize: bool) -> Callable[[list[np.ndarray]], np.ndarray]:
    spec = PreprocessSpec(size=SIZE, crop=crop, equalize=equalize)
    return lambda images: np.stack([prepare(p, spec) for p in images])


def bottleneck_variant(crop: float, low: int) -> Callable[[list[np.ndarray]], np.ndarray]:
    """Prepare at ``low`` px, then enlarge the uint8 to 224: only coarse detail survives."""
    spec = PreprocessSpec(size=low, crop=crop, equalize=True)

    def run(images: list[np.ndarray]) -> np.ndarray:
        return np.stack(
            [
                np.asarray(
                    Image.fromarray(prepare(p, spec)).resize(
                        (SIZE, SIZE), Image.Resampling.BILINEAR
                    ),
                    np.uint8,
                )
                for p in images
            ]
        )

    return run


def crop_fraction(pixels: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    h, w = pixels.shape
    top, left, bottom, right = box
    r0, r1 = int(math.floor(top * h)), max(int(math.ceil(bottom * h)), int(top * h) + 1)
    c0, c1 = int(math.floor(left * w)), max(int(math.ceil(right * w)), int(left * w) + 1)
    return pixels[r0:r1, c0:c1]


def lung_variant(segmenter, stats: dict) -> Callable[[list[np.ndarray]], np.ndarray]:
    """The lung box plus a margin, equalised; the central 80 % where the segmenter is unsure.

    ``stats`` collects, per call, how often the fallback was taken and why."""
    from core.model.lungs import LungFields

    spec = PreprocessSpec(size=SIZE, crop=1.0, equalize=True)

    def run(images: list[np.ndarray]) -> np.ndarray:
        out, fallback, reasons = [], 0, collections.Counter()
        for i in range(0, len(images), 64):
            chunk = images[i : i + 64]
            for px, mask in zip(chunk, segmenter.masks(chunk), strict=True):
                fields = LungFields.from_mask(mask)
                if fields.confident:
                    region = crop_fraction(px, fields.box_with_margin(LUNG_MARGIN))
                else:
                    fallback += 1
                    reasons[fields.reason] += 1
                    top, left, bottom, right = crop_box(*px.shape, FALLBACK_CROP)
                    region = px[top:bottom, left:right]
                out.append(prepare(region, spec))
        stats["calls"].append(
            {"n": len(images), "fallback": fallback, "reasons": dict(reasons.most_common(3))}
        )
        return np.stack(out)

    return run


VARIANTS: list[tuple[str, str, Callable[[], Callable]]] = [
    ("1", "whole image, not equalised", lambda: spec_variant(1.0, False)),
    ("2", "whole image, equalised", lambda: spec_variant(1.0, True)),
    ("3", "central 80 %, equalised", lambda: spec_variant(0.8, True)),
    ("4", "central 70 %, equalised", lambda: spec_variant(0.7, True)),
    ("5", "central 80 %, equalised, 128 px bottleneck", lambda: bottleneck_variant(0.8, 128)),
]


# --- The probe --------------------------------------------------------------------------


def fit_head(ftr, ytr, fva, yva) -> tuple[np.ndarray, float, float, float]:
    """(weights, bias, l2, validation log-loss) of the best standardised, balanced head."""
    n, pos = len(ytr), int(ytr.sum())
    w = {1: n / (2.0 * max(pos, 1)), 0: n / (2.0 * max(n - pos, 1))}
    sample_weight = np.where(ytr == 1, w[1], w[0])
    best = None
    for l2 in HEAD_L2:
        wt, b = fit_logistic(ftr, ytr, l2=l2, sample_weight=sample_weight)
        q = np.clip(predict_logistic(fva, wt, b), 1e-7, 1 - 1e-7)
        loss = float(-np.mean(yva * np.log(q) + (1 - yva) * np.log(1 - q)))
        if best is None or loss < best[3]:
            best = (wt, b, l2, loss)
    assert best is not None
    return best


def evaluate(feats: dict[str, np.ndarray], sets: Sets) -> dict:
    mu = feats["train"].mean(0)
    sd = feats["train"].std(0) + 1e-6
    z = {k: (v - mu) / sd for k, v in feats.items()}
    y = sets.labels
    w, b, l2, val_loss = fit_head(z["train"], y["train"], z["val"], y["val"])
    p = {k: predict_logistic(v, w, b) for k, v in z.items()}
    thr = choose_threshold(y["val"], p["val"], MIN_SENSITIVITY)
    test = at_threshold(y["test"], p["test"], thr)
    by_source: dict[str, list[float]] = collections.defaultdict(list)
    for src, prob in zip(sets.sources["test"], p["test"], strict=True):
        by_source[src].append(float(prob))
    pooled = _probe_dict(source_probe(
        np.concatenate([feats["val"], feats["test"]]),
        sets.sources["val"] + sets.sources["test"],
        np.concatenate([y["val"], y["test"]]),
    ))
    return {
        "l2": l2,
        "val_loss": val_loss,
        "val_auc": roc_auc(y["val"], p["val"]),
        "threshold": thr,
        "test_auc": roc_auc(y["test"], p["test"]),
        "test_sensitivity": test["sensitivity"],
        "test_specificity": test["specificity"],
        "test_confusion": test["confusion"],
        "newsite_sensitivity": float(np.mean(p["newsite"] >= thr)),
        "newsite_n": int(len(p["newsite"])),
        "newsite_mean_p": float(np.mean(p["newsite"])),
        "source_probe_test": _probe_dict(
            source_probe(feats["test"], sets.sources["test"], y["test"])),
        "source_probe_val_test": pooled,
        "mean_p_by_source_test": {k: float(np.mean(v)) for k, v in sorted(by_source.items())},
    }


def run_variant(net, make_cache: Callable, sets: Sets) -> tuple[dict, dict]:
    from core.training.transfer import pooled_features

    t0 = time.perf_counter()
    caches = {k: make_cache(v) for k, v in sets.pixels.items()}
    t1 = time.perf_counter()
    feats = {k: pooled_features(net, v) for k, v in caches.items()}
    t2 = time.perf_counter()
    res = evaluate(feats, sets)
    t3 = time.perf_counter()
    return res, {"prepare_s": t1 - t0, "features_s": t2 - t1, "fit_s": t3 - t2, "total_s": t3 - t0}


# --- The lung segmenter, when another helper has finished it ----------------------------


def try_segmenter():
    """The bundled lung segmenter, or (None, why) while it is missing or does not load."""
    try:
        lungs = importlib.import_module("core.model.lungs")
        if not lungs.default_segmenter_path().is_file():
            return None, "models/lungs.keras not found"
        seg = lungs.LungSegmenter.load()
        probe = np.zeros((1, 256, 256), np.float32)
        lungs.LungFields.from_mask(seg.masks(list(probe))[0]).box_with_margin(LUNG_MARGIN)
        return seg, ""
    except Exception as exc:  # a half-written module or model: not ready yet
        return None, f"{type(exc).__name__}: {exc}"


# --- Report -----------------------------------------------------------------------------


def _f(v, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    return f"{v:.{digits}f}"


def table(rows: list[dict]) -> str:
    head = (
        "| # | input | test AUC | thr | test sens | test spec | newsite sens | "
        "source probe test (n) | source probe val+test (n) | "
        "mean P test: radiography-covid / rsna / nih-cxr14 | time s |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        m = r["metrics"]
        st, sp = m["source_probe_test"], m["source_probe_val_test"]
        mp = m["mean_p_by_source_test"]
        lines.append(
            f"| {r['id']} | {r['name']} | {_f(m['test_auc'])} | {_f(m['threshold'])} | "
            f"{_f(m['test_sensitivity'])} | {_f(m['test_specificity'])} | "
            f"{_f(m['newsite_sensitivity'])} | {_f(st.get('auc'))} ({st.get('n', 0)}) | "
            f"{_f(sp.get('auc'))} ({sp.get('n', 0)}) | "
            f"{_f(mp.get('radiography-covid'))} / {_f(mp.get('rsna'))} / "
            f"{_f(mp.get('nih-cxr14'))} | {r['timing']['total_s']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    p.add_argument("--output", type=Path, default=Path("/tmp/probe_inputs.json"))
    p.add_argument("--threads", type=int, default=1, help="TensorFlow intra/inter-op threads")
    p.add_argument(
        "--wait-lungs",
        type=float,
        default=600.0,
        help="seconds to wait for models/lungs.keras after variants 1-5",
    )
    p.add_argument("--poll", type=float, default=60.0)
    p.add_argument("--only", nargs="*", help="variant ids to run (default: all)")
    args = p.parse_args(argv)

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    from core.model.lite0 import IMAGENET_WEIGHTS, load_backbone_weights
    from core.model.networks import build_lite0

    start = time.perf_counter()
    sets = read_sets(args.data)
    read_s = time.perf_counter() - start
    counts = {
        k: {"n": len(v), "positives": int(sets.labels[k].sum())} for k, v in sets.pixels.items()
    }
    print(
        f"read in {read_s:.0f} s: {counts}; newsite refused {len(sets.newsite_refused)}", flush=True
    )
    for name, why in sets.newsite_refused.items():
        print(f"  refused {name}: {why}", flush=True)

    net = build_lite0(SIZE)
    load_backbone_weights(net, IMAGENET_WEIGHTS)
    out: dict = {
        "counts": counts,
        "newsite_refused": sets.newsite_refused,
        "read_s": read_s,
        "threads": args.threads,
        "variants": [],
    }

    def save() -> None:
        out["table"] = table(out["variants"])
        args.output.write_text(json.dumps(out, indent=2, default=float) + "\n", encoding="utf-8")

    for vid, name, factory in VARIANTS:
        if args.only and vid not in args.only:
            continue
        res, timing = run_variant(net, factory(), sets)
        out["variants"].append({"id": vid, "name": name, "metrics": res, "timing": timing})
        save()
        print(f"variant {vid} ({name}) done in {timing['total_s']:.0f} s", flush=True)

    if not args.only or "6" in args.only:
        waited = 0.0
        seg, why = try_segmenter()
        while seg is None and waited < args.wait_lungs:
            print(f"lung segmenter not ready ({why}); waiting", flush=True)
            time.sleep(args.poll)
            waited += args.poll
            seg, why = try_segmenter()
        out["lungs_waited_s"] = waited
        if seg is None:
            out["lungs_skipped"] = why
            print(f"variant 6 skipped after {waited:.0f} s: {why}", flush=True)
        else:
            stats: dict = {"calls": []}
            res, timing = run_variant(net, lung_variant(seg, stats), sets)
            res["lung_fallback"] = {k: c for k, c in zip(sets.pixels, stats["calls"], strict=True)}
            out["lung_segmenter_card"] = {
                k: seg.card.get(k) for k in ("sha256", "val_dice", "created") if k in seg.card
            }
            out["variants"].append(
                {
                    "id": "6",
                    "name": "lung box + 5 % margin, equalised",
                    "metrics": res,
                    "timing": timing,
                }
            )
            print(f"variant 6 done in {timing['total_s']:.0f} s", flush=True)
    out["total_s"] = time.perf_counter() - start
    save()
    print()
    print(out["table"])
    for v in out["variants"]:
        fb = v["metrics"].get("lung_fallback")
        if fb:
            print(
                f"lung box fallback (central {FALLBACK_CROP:.0%}): "
                + "; ".join(f"{k} {c['fallback']}/{c['n']} {c['reasons']}" for k, c in fb.items())
            )
    print(f"wrote {args.output} ({out['total_s']:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
