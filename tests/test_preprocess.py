"""core.model.preprocess: the one path from radiograph to network input."""

from __future__ import annotations

import numpy as np
import pytest

from core.files.reader import read_xray
from core.model.preprocess import (
    THUMB_SIZE,
    PreprocessSpec,
    crop_box,
    equalize_u8,
    prepare,
    resize_gray,
    thumbnail,
    to_network,
)


@pytest.mark.parametrize(
    ("shape", "crop", "box"),
    [
        ((100, 200), 1.0, (0, 0, 100, 200)),
        ((100, 200), 0.5, (25, 50, 75, 150)),
        ((101, 99), 0.8, (10, 10, 91, 89)),
        ((100, 100), 1.7, (0, 0, 100, 100)),  # clamped to the whole image
        ((100, 100), 0.0, (47, 47, 52, 52)),  # clamped to 5 %
    ],
)
def test_crop_box(shape, crop, box):
    assert crop_box(*shape, crop) == box


def test_crop_box_is_centred():
    top, left, bottom, right = crop_box(480, 640, 0.75)
    assert (bottom - top, right - left) == (360, 480)
    assert top == 480 - bottom and left == 640 - right


@pytest.mark.parametrize("size", [64, 128, 256])
def test_prepare_output_follows_the_spec_size(size):
    rng = np.random.default_rng(0)
    pixels = rng.random((300, 240), dtype=np.float32)
    out = prepare(pixels, PreprocessSpec(size=size))
    assert out.shape == (size, size)
    assert out.dtype == np.uint8


def test_prepare_values_and_rounding():
    pixels = np.full((80, 80), 0.5, np.float32)
    assert np.all(prepare(pixels, PreprocessSpec(size=32)) == 128)  # rint(127.5) -> 128
    pixels[:] = 1.0
    assert np.all(prepare(pixels, PreprocessSpec(size=32)) == 255)


def test_prepare_crop_drops_the_border():
    pixels = np.ones((200, 200), np.float32)  # white border (burned-in text, collimator)
    pixels[50:150, 50:150] = 0.25
    full = prepare(pixels, PreprocessSpec(size=50))
    cropped = prepare(pixels, PreprocessSpec(size=50, crop=0.5))
    assert full.max() == 255
    assert np.all(cropped == 64)  # only the centre remains


def test_prepare_equalize_spreads_the_histogram():
    y = np.linspace(0.4, 0.6, 64, dtype=np.float32)
    pixels = np.tile(y[:, None], (1, 64))
    plain = prepare(pixels, PreprocessSpec(size=64))
    eq = prepare(pixels, PreprocessSpec(size=64, equalize=True))
    assert int(plain.max()) - int(plain.min()) < 60
    assert eq.min() == 0 and eq.max() == 255
    # Equalisation is monotonic: the order of pixel values is kept.
    order = np.argsort(plain[:, 0], kind="stable")
    assert np.all(np.diff(eq[:, 0][order].astype(int)) >= 0)


def test_equalize_u8():
    img = np.array([[10, 10, 20, 30]], np.uint8)
    np.testing.assert_array_equal(equalize_u8(img), [[0, 0, 128, 255]])
    flat = np.full((4, 4), 77, np.uint8)
    np.testing.assert_array_equal(equalize_u8(flat), flat)


def test_resize_gray_keeps_the_mean():
    rng = np.random.default_rng(1)
    pixels = rng.random((512, 512)).astype(np.float32)
    small = resize_gray(pixels, 64)
    assert small.shape == (64, 64) and small.dtype == np.float32
    assert float(small.mean()) == pytest.approx(float(pixels.mean()), abs=1e-3)


def test_to_network():
    batch = np.array([[[0, 255], [51, 102]]], np.uint8)
    x = to_network(batch)
    assert x.shape == (1, 2, 2, 1) and x.dtype == np.float32
    np.testing.assert_allclose(x[0, :, :, 0], [[0.0, 1.0], [0.2, 0.4]], atol=1e-7)


def test_thumbnail_is_standardised():
    rng = np.random.default_rng(2)
    t = thumbnail(rng.random((300, 200)).astype(np.float32))
    assert t.shape == (THUMB_SIZE * THUMB_SIZE,) and t.dtype == np.float32
    assert float(t.mean()) == pytest.approx(0.0, abs=1e-5)
    assert float(t.std()) == pytest.approx(1.0, abs=1e-4)
    assert np.all(thumbnail(np.full((64, 64), 0.3, np.float32)) == 0.0)


def test_spec_round_trip():
    spec = PreprocessSpec(size=192, crop=0.8, equalize=True)
    assert PreprocessSpec.from_dict(spec.to_dict()) == spec
    assert PreprocessSpec.from_dict({}) == PreprocessSpec()


def test_real_radiograph(sample_images):
    out = prepare(read_xray(sample_images[0]).pixels, PreprocessSpec(size=128, crop=0.9))
    assert out.shape == (128, 128)
    assert 40 < float(out.mean()) < 220  # a radiograph, not a blank
