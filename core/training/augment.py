"""Training-time augmentation in TensorFlow, applied per image inside ``tf.data``.

The seed used horizontal flips only. The strong set attacks the shortcuts a COVID
classifier learns from mixed-source data: resolution (blur by down/up-sampling: the COVID
collection was 224 px upscaled), exposure and contrast (gamma, contrast, brightness),
compression (JPEG re-encoding), sensor noise, and framing (crop/scale, small rotation).
"""

from __future__ import annotations

import math

import tensorflow as tf


def _rand(lo: float, hi: float) -> tf.Tensor:
    return tf.random.uniform([], lo, hi)


def _maybe(p: float, fn, x: tf.Tensor) -> tf.Tensor:
    return tf.cond(tf.random.uniform([]) < p, lambda: fn(x), lambda: x)


def _rotate(x: tf.Tensor, max_degrees: float) -> tf.Tensor:
    """Small rotation about the centre, bilinear, zero fill."""
    size = tf.cast(tf.shape(x)[0], tf.float32)
    a = _rand(-max_degrees, max_degrees) * math.pi / 180.0
    c, s = tf.cos(a), tf.sin(a)
    cx = (size - 1.0) / 2.0
    # Projective transform maps output (x', y') to input (x, y).
    tx = cx - c * cx + s * cx
    ty = cx - s * cx - c * cx
    transform = tf.stack([c, -s, tx, s, c, ty, 0.0, 0.0])[None, :]
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=x[None],
        transforms=transform,
        output_shape=tf.shape(x)[:2],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    return out[0]


def _crop_scale(x: tf.Tensor) -> tf.Tensor:
    size = tf.shape(x)[0]
    side = tf.cast(tf.cast(size, tf.float32) * _rand(0.82, 1.0), tf.int32)
    crop = tf.image.random_crop(x, tf.stack([side, side, 1]))
    return tf.image.resize(crop, tf.stack([size, size]), method="bilinear")


def _blur(x: tf.Tensor) -> tf.Tensor:
    size = tf.shape(x)[0]
    small = tf.cast(tf.cast(size, tf.float32) * _rand(0.5, 0.9), tf.int32)
    down = tf.image.resize(x, tf.stack([small, small]), method="area")
    return tf.image.resize(down, tf.stack([size, size]), method="bilinear")


def _photometric(x: tf.Tensor) -> tf.Tensor:
    x = tf.clip_by_value(x, 0.0, 1.0) ** tf.exp(_rand(-0.4, 0.4))
    mean = tf.reduce_mean(x)
    return (x - mean) * _rand(0.75, 1.3) + mean + _rand(-0.08, 0.08)


def _noise(x: tf.Tensor) -> tf.Tensor:
    return x + tf.random.normal(tf.shape(x)) * _rand(0.0, 0.03)


def _jpeg(x: tf.Tensor) -> tf.Tensor:
    q = tf.cast(_rand(30.0, 95.0), tf.int32)
    return tf.image.adjust_jpeg_quality(tf.clip_by_value(x, 0.0, 1.0), q)


def equalize(x: tf.Tensor) -> tf.Tensor:
    """Histogram equalisation in TensorFlow, the same LUT as ``core.model.preprocess.equalize_u8``
    (applied to the image quantised to 8 bits), so augmented training images have exactly
    the intensity distribution inference gives the network."""
    u8 = tf.cast(tf.round(tf.clip_by_value(x, 0.0, 1.0) * 255.0), tf.int32)
    hist = tf.math.bincount(tf.reshape(u8, [-1]), minlength=256, maxlength=256)
    cdf = tf.cast(tf.cumsum(hist), tf.float32)
    first = tf.reduce_min(tf.boolean_mask(cdf, cdf > 0))
    span = cdf[-1] - first
    lut = tf.clip_by_value(tf.round((cdf - first) / tf.maximum(span, 1.0) * 255.0), 0.0, 255.0)
    out = tf.gather(lut, u8) / 255.0
    return tf.where(span > 0, out, tf.cast(u8, tf.float32) / 255.0)


def augment(
    x: tf.Tensor, flip: bool = True, strong: bool = False, equalized: bool = False
) -> tf.Tensor:
    """float32 (S, S, 1) in [0, 1] -> augmented image of the same shape and range.

    With ``equalized`` the input is already histogram-equalised (as inference gives it) and
    the result is equalised again after the photometric changes, so the network never sees
    an intensity distribution that inference cannot produce."""
    if flip:
        x = tf.image.random_flip_left_right(x)
    if strong:
        x = _maybe(0.7, _crop_scale, x)
        x = _maybe(0.5, lambda t: _rotate(t, 7.0), x)
        x = _maybe(0.4, _blur, x)
        x = _maybe(0.8, _photometric, x)
        x = _maybe(0.3, _jpeg, x)
        x = _maybe(0.5, _noise, x)
        if equalized:
            x = equalize(x)
    return tf.clip_by_value(x, 0.0, 1.0)
