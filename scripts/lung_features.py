"""Frozen ImageNet Lite0 features of every labelled set, for the experiments of issue #19.

Decodes ``cxr/``, ``ieee8023/`` and ``newsite/`` once, runs the lung segmenter once, and
stores for each input variant the frozen backbone's features of:

- every film as it is (``plain``);
- every film with burned-in markers drawn (``marked``; seeded, one copy per film);
- ``cxr/test`` and ``ieee8023/test`` with the lung fields blanked (``outside``) and with
  only the lung fields shown (``inside``), the lungs from ``models/lungs.keras`` grown by
  a few pixels.

Per film: the pooled top features (1280), pooled features of the last block of stages 5,
6 and 7 (112 + 192 + 320), and the top features pooled inside the lung mask only. The
heads are fitted by ``scripts/lung_heads.py``; nothing here is fitted.

Run: ``.venv/bin/python scripts/lung_features.py --variant c80eq224 [--out /tmp/lx]``.
"""

from __future__ import annotations

import argparse
import csv
import os
import pickle
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from core.evaluation.markers import draw_markers  # noqa: E402
from core.evaluation.shortcuts import lung_region  # noqa: E402
from core.files.reader import read_xray  # noqa: E402
from core.model.preprocess import PreprocessSpec, prepare  # noqa: E402

DATA = REPO.parent / "shared" / "data"
MAX_SIDE = 640
VARIANTS = {
    "c80eq224": PreprocessSpec(224, 0.8, True),
    "c80eq128": PreprocessSpec(128, 0.8, True),
    "c80eq320": PreprocessSpec(320, 0.8, True),
    "c100eq224": PreprocessSpec(224, 1.0, True),
}
STAGES = ("block5c_add", "block6d_add", "block7a_project_bn")
SIDES = ("half_left", "half_right", "half_upper", "half_lower", "lung_left", "lung_right")


def _downscale(px: np.ndarray) -> np.ndarray:
    h, w = px.shape
    s = MAX_SIDE / max(h, w)
    if s >= 1:
        return px.astype(np.float32)
    return resize_gray_hw(px, round(h * s), round(w * s))


def resize_gray_hw(px: np.ndarray, h: int, w: int) -> np.ndarray:
    img = Image.fromarray(np.ascontiguousarray(px, np.float32), mode="F")
    return np.asarray(img.resize((w, h), Image.Resampling.BILINEAR), np.float32)


def decode_all(out: Path) -> dict:
    cache = out / "decoded.pkl"
    if cache.is_file():
        return pickle.loads(cache.read_bytes())
    rows = []
    with open(DATA / "cxr" / "manifest.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            rows.append(dict(set="cxr", split=r["split"], label=int(r["label"] == "COVID"),
                             finding=r["label"], collection=r["dataset"], patient=r["group"],
                             path=str(DATA / "cxr" / r["file"])))
    with open(DATA / "ieee8023" / "manifest.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            rows.append(dict(set="ieee8023", split=r["split"], label=int(r["label"] == "COVID"),
                             finding=r["label"], collection="ieee8023", patient=r["patient"],
                             path=str(DATA / "ieee8023" / r["file"])))
    for p in sorted((DATA / "newsite" / "COVID").iterdir()):
        rows.append(dict(set="newsite", split="test", label=1, finding="COVID",
                         collection="newsite", patient=p.stem, path=str(p)))
    pixels, kept = [], []
    for r in rows:
        try:
            px = read_xray(r["path"]).pixels
        except Exception as exc:  # a few newsite files are refused by the reader
            print("skip", r["path"], exc)
            continue
        pixels.append(_downscale(px))
        kept.append(r)
    from core.model.lungs import default_segmenter

    seg = default_segmenter()
    masks = np.concatenate([seg.masks(pixels[i:i + 64]) for i in range(0, len(pixels), 64)])
    data = {"rows": kept, "pixels": pixels, "masks": masks.astype(np.float16)}
    cache.write_bytes(pickle.dumps(data, protocol=5))
    return data


def extractor(size: int):
    import keras
    import tensorflow as tf

    from core.model.lite0 import IMAGENET_WEIGHTS, TOP_ACTIVATION, load_backbone_weights
    from core.model.networks import build_lite0

    net = build_lite0(size)
    load_backbone_weights(net, IMAGENET_WEIGHTS)
    outs = [keras.layers.GlobalAveragePooling2D()(net.get_layer(s).output) for s in STAGES]
    model = keras.Model(net.input, [*outs, net.get_layer(TOP_ACTIVATION).output])
    fn = tf.function(lambda x: model(x, training=False), autograph=False)
    return fn


def features(fn, u8: np.ndarray, masks: np.ndarray, batch: int = 32) -> dict[str, np.ndarray]:
    """Pooled features of uint8 inputs; ``masks`` (N, g, g) pools the top map inside them."""
    import tensorflow as tf

    parts: dict[str, list] = {k: [] for k in (*STAGES, "top", "top_lung", *SIDES)}
    for i in range(0, len(u8), batch):
        x = tf.convert_to_tensor(u8[i:i + batch, ..., None].astype(np.float32) / 255.0)
        *stage, top = fn(x)
        for k, v in zip(STAGES, stage, strict=True):
            parts[k].append(v.numpy())
        top = top.numpy()
        parts["top"].append(top.mean(axis=(1, 2)))
        m = masks[i:i + batch][..., None].astype(np.float32)
        parts["top_lung"].append((top * m).sum(axis=(1, 2)) / np.maximum(m.sum(axis=(1, 2)), 1e-3))
        g = top.shape[1]
        half = g // 2
        # fixed halves of the crop (the image's left is the patient's right), the centre
        # column left out when the grid is odd; and the lung mask split the same way
        parts["half_left"].append(top[:, :, :half].mean(axis=(1, 2)))
        parts["half_right"].append(top[:, :, g - half:].mean(axis=(1, 2)))
        parts["half_upper"].append(top[:, :half].mean(axis=(1, 2)))
        parts["half_lower"].append(top[:, g - half:].mean(axis=(1, 2)))
        for name, sl in (("lung_left", np.s_[:, :, :half]), ("lung_right", np.s_[:, :, g - half:])):
            mm = m[sl]
            parts[name].append((top[sl] * mm).sum(axis=(1, 2))
                               / np.maximum(mm.sum(axis=(1, 2)), 1e-3))
    return {k: np.concatenate(v).astype(np.float32) for k, v in parts.items()}


def grid_masks(masks: np.ndarray, spec: PreprocessSpec, grid: int) -> np.ndarray:
    """Lung masks (N, 128, 128 over the whole film) cropped like the network input and
    averaged onto the top feature grid; a film with no lungs found pools everywhere."""
    out = []
    for m in masks.astype(np.float32):
        crop = prepare(m, PreprocessSpec(grid, spec.crop, False)).astype(np.float32) / 255.0
        out.append(crop if crop.sum() > 1 else np.ones_like(crop))
    return np.stack(out)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", default="c80eq224", choices=list(VARIANTS))
    ap.add_argument("--out", default="/tmp/lx")
    ap.add_argument("--tag", default="")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    data = decode_all(out)
    rows, pixels, masks = data["rows"], data["pixels"], data["masks"]
    print(f"decoded {len(rows)} films in {time.monotonic() - t0:.0f} s", flush=True)
    spec = VARIANTS[args.variant]
    grid = -(-spec.size // 32)
    gm = grid_masks(masks, spec, grid)
    fn = extractor(spec.size)
    result: dict = {"rows": rows, "spec": spec.to_dict()}
    u8 = np.stack([prepare(p, spec) for p in pixels])
    result["plain"] = features(fn, u8, gm)
    print(f"plain in {time.monotonic() - t0:.0f} s", flush=True)
    rng = np.random.default_rng(19)
    u8m = np.stack([prepare(draw_markers(p, rng), spec) for p in pixels])
    result["marked"] = features(fn, u8m, gm)
    print(f"marked in {time.monotonic() - t0:.0f} s", flush=True)
    test = [i for i, r in enumerate(rows) if r["split"] == "test" and r["set"] != "newsite"]
    result["probe_index"] = np.array(test)
    for name, keep_lungs in (("outside", False), ("inside", True)):
        imgs = [lung_region(pixels[i], masks[i].astype(np.float32), keep_lungs) for i in test]
        u8p = np.stack([prepare(p, spec) for p in imgs])
        result[name] = features(fn, u8p, gm[test])
        print(f"{name} in {time.monotonic() - t0:.0f} s", flush=True)
    (out / f"feats_{args.variant}{args.tag}.pkl").write_bytes(pickle.dumps(result, protocol=5))
    print(f"done in {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
