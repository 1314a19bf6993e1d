"""Train the lung-field U-Net on ../shared/data/lungs and bundle it as models/lungs.keras.

A compact U-Net (~0.4 M parameters, built-in Keras layers only so it loads with
``safe_mode=True``) maps the 128 x 128 equalised image of :func:`core.model.lungs.prepare_lungs` to
a lung probability per pixel. Loss: binary cross-entropy + soft Dice. Augmentation (numpy +
Pillow, redrawn every epoch, seeded): horizontal flip, small rotation / anisotropic scale /
shift, gamma and contrast, blur, noise, a few bright wires and occasional black collimation
bands, so that portable ICU films do not look new.

Horizontal flips are ON. The mask is one class, "lung", for both sides: a mirrored film
with its mirrored mask is still a correct pair (it shows situs inversus, heart on the
right), and mirrored films exist in the wild (AP films scanned back to front). The network
still sees the heart in the pixels and keeps the cardiac notch where the heart is; what it
must not learn is "the smaller lung is always on the image's right", which no check here
relies on. Doubling 271 training images is worth more than that prior.

Run: ``.venv/bin/python scripts/train_lungs.py`` (a few minutes on 2 CPU cores). Writes
``models/lungs.keras`` atomically and its card ``models/lungs.json`` (input, preprocessing,
validation Dice, data sources and licenses, the command, the sha256 of the .keras file).
"""

from __future__ import annotations

import argparse
import csv
import datetime as _dt
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from core.files.atomic import atomic_path, write_text_atomic  # noqa: E402
from core.model.disk import sha256_file  # noqa: E402
from core.model.lungs import LUNG_SIZE, LUNG_SPEC, card_path_for, prepare_lungs  # noqa: E402
from core.model.preprocess import resize_gray  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "lungs"


# --- data -------------------------------------------------------------------------------


def load_split(root: Path, split: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Images (N, 256, 256) float32 [0, 1] and masks (N, 256, 256) float32 {0, 1}."""
    with open(root / "manifest.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == split]
    images = np.stack(
        [np.asarray(Image.open(root / r["file"]).convert("L"), np.float32) / 255.0 for r in rows]
    )
    masks = np.stack(
        [
            (np.asarray(Image.open(root / r["mask"]).convert("L")) > 127).astype(np.float32)
            for r in rows
        ]
    )
    return images, masks, [r["file"] for r in rows]


def _affine(img: Image.Image, inverse: tuple[float, ...], resample: int) -> Image.Image:
    return img.transform(img.size, Image.Transform.AFFINE, inverse, resample=resample, fillcolor=0)


def augment_pair(
    image: np.ndarray, mask: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """One random geometric + photometric variant of a (image, mask) pair, both 256 x 256."""
    h, w = image.shape
    if rng.random() < 0.5:
        image, mask = image[:, ::-1], mask[:, ::-1]
    # Rotation +-10 deg, scale 0.85-1.15 per axis (the source images were resized without
    # keeping their aspect ratio), shift +-6 %: an inverse affine map about the centre.
    a = math.radians(rng.uniform(-10, 10))
    sx, sy = rng.uniform(0.85, 1.15, 2)
    tx, ty = rng.uniform(-0.06, 0.06, 2) * (w, h)
    c, s = math.cos(a), math.sin(a)
    m = np.array([[c / sx, s / sx], [-s / sy, c / sy]])
    cx, cy = (w - 1) / 2, (h - 1) / 2
    off = np.array([cx, cy]) - m @ np.array([cx + tx, cy + ty])
    inv = (m[0, 0], m[0, 1], off[0], m[1, 0], m[1, 1], off[1])
    img = _affine(Image.fromarray(np.ascontiguousarray(image), "F"), inv, Image.Resampling.BILINEAR)
    msk = _affine(Image.fromarray(np.ascontiguousarray(mask), "F"), inv, Image.Resampling.BILINEAR)
    x = np.asarray(img, np.float32).copy()
    y = np.asarray(msk, np.float32).copy()

    if rng.random() < 0.8:  # exposure: gamma, then a compressed window
        x = np.clip(x, 0, 1) ** rng.uniform(0.6, 1.6)
        lo = rng.uniform(0.0, 0.3)
        x = lo + x * rng.uniform(0.3, 1.0 - lo)
    if rng.random() < 0.3:  # soft films: down/up-sampling blur
        k = int(rng.integers(2, 4))
        x = resize_gray(resize_gray(x, h // k), h)
    if rng.random() < 0.3:
        x = x + rng.normal(0, rng.uniform(0.005, 0.03), x.shape).astype(np.float32)
    if rng.random() < 0.3:  # lines, tubes and wires over the lungs: bright, thin, curved
        pic = Image.fromarray(np.clip(x, 0, 1), "F")
        d = ImageDraw.Draw(pic)
        for _ in range(int(rng.integers(1, 5))):
            pts = np.cumsum(rng.normal(0, 25, (int(rng.integers(3, 7)), 2)), axis=0)
            pts += rng.uniform(0, w, 2)
            d.line(
                [tuple(p) for p in pts],
                fill=float(rng.uniform(0.8, 1.0)),
                width=int(rng.integers(1, 4)),
            )
        x = np.asarray(pic, np.float32).copy()
    if rng.random() < 0.15:  # a collimation band: black, and no visible lung under it
        side, depth = int(rng.integers(4)), int(rng.uniform(0.03, 0.12) * h)
        band = [np.s_[:depth, :], np.s_[-depth:, :], np.s_[:, :depth], np.s_[:, -depth:]][side]
        x = np.array(x, np.float32)
        x[band] = 0.0
        y[band] = 0.0
    return np.clip(x, 0, 1), y


def to_inputs(images: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """256 px float pairs -> the network's (N, 128, 128, 1) input and hard 128 px target."""
    x = np.stack([prepare_lungs(im) for im in images]).astype(np.float32)[..., None] / 255.0
    y = np.stack([resize_gray(m, LUNG_SIZE) > 0.5 for m in masks]).astype(np.float32)[..., None]
    return x, y


# --- model ------------------------------------------------------------------------------


def build_unet(size: int = LUNG_SIZE, widths: tuple[int, ...] = (12, 24, 48, 64, 96)):
    """Compact U-Net: four 2x poolings (128 -> 8 px, so the bottleneck sees the whole chest:
    which side the heart is on, whether there are two fields), two 3x3 conv + BN + ReLU per
    level, bilinear upsampling with skip concatenation, sigmoid output."""
    import keras
    from keras import layers

    def block(x, n: int, name: str):
        for i in (1, 2):
            x = layers.Conv2D(n, 3, padding="same", use_bias=False, name=f"{name}_conv{i}")(x)
            x = layers.BatchNormalization(name=f"{name}_bn{i}")(x)
            x = layers.ReLU(name=f"{name}_relu{i}")(x)
        return x

    inputs = keras.Input((size, size, 1), name="image")
    x, skips = inputs, []
    for i, n in enumerate(widths[:-1]):
        x = block(x, n, f"down{i}")
        skips.append(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = block(x, widths[-1], "bottom")
    for i in reversed(range(len(widths) - 1)):
        x = layers.UpSampling2D(2, interpolation="bilinear", name=f"up{i}")(x)
        x = layers.Concatenate(name=f"cat{i}")([x, skips[i]])
        x = block(x, widths[i], f"dec{i}")
    out = layers.Conv2D(1, 1, activation="sigmoid", name="lung")(x)
    return keras.Model(inputs, out, name="lung_unet")


def bce_dice(y_true, y_pred):
    """Binary cross-entropy + (1 - soft Dice over the batch): BCE trains every pixel, Dice
    keeps the small lung class from being drowned by the background."""
    import keras
    from keras import ops

    bce = ops.mean(keras.losses.binary_crossentropy(y_true, y_pred))
    inter = ops.sum(y_true * y_pred)
    dice = (2.0 * inter + 1.0) / (ops.sum(y_true) + ops.sum(y_pred) + 1.0)
    return bce + (1.0 - dice)


def dice_scores(probs: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Per-image Dice of the 0.5-thresholded probabilities upsampled to the masks' size."""
    size = masks.shape[1]
    out = []
    for p, m in zip(probs, masks, strict=True):
        pred = resize_gray(p, size) > 0.5 if p.shape[0] != size else p > 0.5
        truth = m > 0.5
        denom = pred.sum() + truth.sum()
        out.append(1.0 if denom == 0 else 2.0 * np.logical_and(pred, truth).sum() / denom)
    return np.asarray(out)


# --- main -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=DEFAULT_DATA)
    p.add_argument("--output", type=Path, default=REPO / "models" / "lungs.keras")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--learning-rate", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="TensorFlow intra-op threads")
    args = p.parse_args(argv)

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras

    keras.utils.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    tr_img, tr_mask, _ = load_split(args.data, "train")
    va_img, va_mask, _ = load_split(args.data, "val")
    va_x, _ = to_inputs(va_img, va_mask)
    print(f"train {len(tr_img)}  val {len(va_img)}", flush=True)

    net = build_unet()
    steps = math.ceil(len(tr_img) / args.batch_size) * args.epochs
    schedule = keras.optimizers.schedules.CosineDecay(args.learning_rate, steps, alpha=0.05)
    net.compile(optimizer=keras.optimizers.Adam(schedule), loss=bce_dice)
    print(f"parameters {net.count_params():,}", flush=True)

    t0 = time.perf_counter()
    for epoch in range(args.epochs):
        pairs = [augment_pair(i, m, rng) for i, m in zip(tr_img, tr_mask, strict=True)]
        x, y = to_inputs(np.stack([a for a, _ in pairs]), np.stack([b for _, b in pairs]))
        hist = net.fit(
            x,
            y,
            batch_size=args.batch_size,
            epochs=epoch + 1,
            initial_epoch=epoch,
            shuffle=True,
            verbose=0,
        )
        line = f"epoch {epoch + 1:3d}  loss {hist.history['loss'][-1]:.4f}"
        if (epoch + 1) % 5 == 0 or epoch + 1 == args.epochs:
            probs = net.predict(va_x, batch_size=32, verbose=0)[..., 0]
            line += f"  val Dice {dice_scores(probs, va_mask).mean():.4f}"
        print(f"{line}  {time.perf_counter() - t0:.0f} s", flush=True)
    train_s = time.perf_counter() - t0

    # No epoch is picked on validation: the last weights of a fixed schedule are reported.
    probs = net.predict(va_x, batch_size=32, verbose=0)[..., 0]
    dice256 = dice_scores(probs, va_mask)
    _, va_y128 = to_inputs(va_img, va_mask)
    dice128 = dice_scores(probs, va_y128[..., 0])
    print(
        f"val Dice (256 px, vs the dataset masks): mean {dice256.mean():.4f} "
        f"median {np.median(dice256):.4f} min {dice256.min():.4f}; at 128 px {dice128.mean():.4f}"
    )

    # Save a fresh, uncompiled copy: no optimizer state, no custom loss in the archive.
    bundle = build_unet()
    bundle.set_weights(net.get_weights())
    with atomic_path(args.output, suffix=".keras") as tmp:
        bundle.save(tmp)
    card = {
        "name": "lung-unet-v1",
        "file": args.output.name,
        "sha256": sha256_file(args.output),
        "architecture": "U-Net, widths 12-24-48-64-96, 2x(conv3x3+BN+ReLU) per level, "
        "bilinear upsampling, sigmoid; built-in Keras layers only (safe_mode loading)",
        "parameters": int(bundle.count_params()),
        "input": {"size": LUNG_SIZE, "channels": 1, "range": "[0, 1] (uint8 / 255)"},
        "output": "per-pixel lung probability, (N, 128, 128, 1); both lungs are one class",
        "preprocessing": {
            **LUNG_SPEC.to_dict(),
            "function": "core.model.lungs.prepare_lungs (core.model.preprocess.prepare: whole image, "
            "bilinear resize to 128 x 128, uint8, global histogram equalisation)",
        },
        "metrics": {
            "val_dice_mean": round(float(dice256.mean()), 4),
            "val_dice_median": round(float(np.median(dice256)), 4),
            "val_dice_min": round(float(dice256.min()), 4),
            "val_dice_mean_128px": round(float(dice128.mean()), 4),
            "val_n": len(va_img),
            "note": "Dice of the 0.5-thresholded output, upsampled to 256 px, against the "
            "dataset masks; last epoch of a fixed schedule, no selection on validation",
        },
        "training": {
            "command": "python scripts/train_lungs.py " + " ".join(argv or sys.argv[1:]),
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "optimizer": f"Adam, cosine decay from {args.learning_rate} to 5 %",
            "loss": "binary cross-entropy + (1 - soft Dice)",
            "augmentation": "horizontal flip (one lung class: a mirrored pair is still "
            "correct), rotation +-10 deg, scale 0.85-1.15 per axis, shift +-6 %, gamma "
            "0.6-1.6, contrast window, blur, noise, bright wires (p 0.3), black "
            "collimation band with the mask cut under it (p 0.15)",
            "seed": args.seed,
            "seconds": round(train_s),
            "machine": f"{platform.machine()} CPU, {args.threads} TensorFlow threads",
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
        },
        "data": {
            "source": "shared/data/lungs: 320 adult frontal chest X-rays (256 x 256) with "
            "lung masks; train 271 images / 173 patients, val 49 / 31, split by patient",
            "masks": "V7 Labs COVID-19 X-ray dataset (github.com/v7labs/covid-19-xray-"
            "dataset), lung polygons, CC BY 4.0; masks include the lung behind the heart "
            "and below the diaphragm dome",
            "images": "COVID-19 image data collection (Cohen, Morrison, Dao, "
            "arXiv:2003.11597; github.com/ieee8023/covid-chestxray-dataset), per-image "
            "licenses: 188 unspecified, 100 CC BY-NC-SA, 19 CC BY-NC-ND, 7 'authorized "
            "for everyone', 6 CC BY 4.0. Research use only.",
            "limits": "almost all COVID-19, adults, 2020; many portable/ICU films",
        },
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    write_text_atomic(card_path_for(args.output), json.dumps(card, indent=2) + "\n")
    size_kb = args.output.stat().st_size / 1024
    print(f"wrote {args.output} ({size_kb:.0f} KiB) and {card_path_for(args.output).name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
