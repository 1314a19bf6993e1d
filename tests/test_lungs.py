"""The lung segmenter and the "frontal chest film" check.

Mask geometry is tested on hand-made masks with exact values; the bundled segmenter on the
three real radiographs in tests/data, and on images that are plainly not radiographs.
Nothing here needs ../shared.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from core.files.reader import read_xray
from core.model.lungs import (
    FULL_IMAGE,
    LungFields,
    LungSegmenter,
    assess_frontal,
    image_facts,
    is_frontal_chest,
    label_components,
)

S = 128


def two_blobs() -> np.ndarray:
    """Two 80 x 40 'lungs' side by side, rows 20-99, columns 15-54 and 70-109."""
    m = np.zeros((S, S), np.float32)
    m[20:100, 15:55] = 1.0
    m[20:100, 70:110] = 1.0
    return m


# --- geometry, exact ----------------------------------------------------------------------


def test_two_blobs_are_two_confident_fields():
    f = LungFields.from_mask(two_blobs())
    assert f.confident and f.reason == ""
    assert f.box == (20 / 128, 15 / 128, 100 / 128, 110 / 128)
    assert f.areas == (3200 / 16384, 3200 / 16384)
    assert f.n_fields == 2
    assert f.two_sided
    assert f.size_ratio == 1.0
    assert f.vertical_overlap == 1.0
    assert f.confidence == 1.0
    assert f.raggedness == 236**2 / (4 * np.pi * 3200)  # 236 outline pixels
    assert f.vertical_extent == 80 / 128
    assert f.centres == ((60 / 128, 35 / 128), (60 / 128, 90 / 128))
    assert f.box_with_margin(0.1) == pytest.approx((0.05625, 0.0171875, 0.88125, 0.959375))
    assert f.box_with_margin(0.2) == pytest.approx((0.0, 0.0, 0.98125, 1.0))  # clipped
    assert f.crop_box(0.0) == f.box
    assert is_frontal_chest(f) == (True, "")


def test_one_blob_is_not_confident():
    m = two_blobs()
    m[:, 64:] = 0.0
    f = LungFields.from_mask(m)
    assert not f.confident
    assert f.reason == "only one lung field found"
    assert f.areas == (3200 / 16384, 0.0)
    assert f.size_ratio == 0.0 and not f.two_sided
    assert f.box == (20 / 128, 15 / 128, 100 / 128, 55 / 128)
    assert f.crop_box() == FULL_IMAGE
    assert is_frontal_chest(f) == (False, "only one lung field found")


def test_empty_mask_falls_back_to_the_whole_image():
    f = LungFields.from_mask(np.zeros((S, S), np.float32))
    assert not f.confident
    assert f.reason == "no lung field found"
    assert f.box == FULL_IMAGE and f.crop_box() == FULL_IMAGE
    assert f.areas == (0.0, 0.0) and f.n_fields == 0


def test_stacked_or_unequal_fields_are_not_a_pair_of_lungs():
    stacked = np.zeros((S, S), np.float32)
    stacked[10:50, 30:100] = 1.0
    stacked[70:110, 30:100] = 1.0
    f = LungFields.from_mask(stacked)
    assert f.reason == "the two fields are not left and right of each other"

    unequal = two_blobs()
    unequal[20:100, 70:110] = 0.0
    unequal[40:60, 80:110] = 1.0  # 600 px against 3200
    f = LungFields.from_mask(unequal)
    assert not f.confident
    assert f.size_ratio == 600 / 3200
    assert f.reason == "the fields differ too much in size (ratio 0.19)"

    tiny = two_blobs()
    tiny[20:100, 70:110] = 0.0
    tiny[40:58, 80:98] = 1.0  # 324 px: 2.0 % of the image, under the 2 % a lung needs
    f = LungFields.from_mask(tiny)
    assert f.reason == "one lung field is too small (2.0% of the image)"


def test_holed_fields_are_ragged():
    m = two_blobs()
    # 18 x 8 single-pixel holes inside each field, each ringed by 4 new outline pixels.
    m[24:96:4, 19:51:4] = 0.0
    m[24:96:4, 74:106:4] = 0.0
    f = LungFields.from_mask(m)
    assert f.areas == (3056 / 16384, 3056 / 16384)
    assert f.raggedness == pytest.approx((236 + 4 * 144) ** 2 / (4 * np.pi * 3056))
    assert not f.confident
    assert f.reason == "the lung outlines are ragged (17.2): the segmenter is guessing"


def test_uncertain_probabilities_are_not_confident():
    f = LungFields.from_mask(two_blobs() * 0.2 + 0.45)  # 0.65 inside, 0.45 outside
    assert f.areas == (3200 / 16384, 3200 / 16384)
    assert f.confidence == pytest.approx(0.3 * (6400 / 7600) + 0.1 * (1200 / 7600))
    assert not f.confident
    assert f.reason.startswith("the segmentation is uncertain")


def test_components_join_diagonal_neighbours_only():
    m = np.zeros((6, 6), bool)
    m[0, 0] = m[1, 1] = m[2, 2] = True  # one diagonal chain
    m[4:6, 4:6] = True  # a separate square
    m[0, 5] = True
    labels, areas = label_components(m)
    assert sorted(areas.tolist()) == [1, 3, 4]
    assert labels[0, 0] == labels[2, 2] != labels[5, 5]


def test_image_facts_tells_a_floating_section_from_a_collimated_film():
    yy, xx = np.mgrid[0:256, 0:256]
    section = np.where(((yy - 128) / 90) ** 2 + ((xx - 128) / 115) ** 2 <= 1, 0.6, 0.0)
    assert image_facts(section.astype(np.float32)).floating

    rng = np.random.default_rng(0)
    film = np.zeros((256, 256), np.float32)
    film[20:236, 25:231] = rng.uniform(0.2, 0.9, (216, 206))  # flat black frame, inside a film
    facts = image_facts(film)
    assert min(facts.edge_cover) == 1.0
    assert facts.ellipse < 0.9 and not facts.floating


# --- the bundled segmenter ------------------------------------------------------------------


@pytest.fixture(scope="module")
def segmenter() -> LungSegmenter:
    return LungSegmenter.load()


def test_segmenter_finds_two_lungs_on_real_films(segmenter, sample_images):
    films = [read_xray(p).pixels for p in sample_images]
    masks = segmenter.masks(films)
    assert masks.shape == (len(films), 128, 128) and masks.dtype == np.float32
    assert 0.0 <= masks.min() and masks.max() <= 1.0
    for path, check in zip(sample_images, assess_frontal(films, segmenter), strict=True):
        f = check.fields
        assert f.confident, (path.name, f.reason)
        assert check.frontal, (path.name, check.reason)
        assert f.n_fields == 2 and f.two_sided
        # Apices in the upper part, bases below the middle, the pair across the midline
        # (the NIH film is framed low: its apices are at 0.32 of the height).
        assert 0.0 <= f.top < 0.4 and 0.6 < f.bottom <= 1.0, (path.name, f.box)
        assert f.vertical_extent > 0.4 and f.right - f.left > 0.5, (path.name, f.box)
        assert 0.35 < (f.left + f.right) / 2 < 0.65, (path.name, f.box)
        assert 0.05 < f.areas[1] <= f.areas[0] < 0.3


def text_page() -> np.ndarray:
    page = Image.new("L", (400, 520), 250)
    d = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=14)
    for i in range(24):
        d.text(
            (20, 20 + 20 * i),
            f"line {i}: the quick brown fox jumps over the lazy dog",
            0,
            font=font,
        )
    return np.asarray(page, np.float32) / 255.0


def test_blank_noise_and_text_are_not_frontal_films(segmenter):
    rng = np.random.default_rng(0)
    images = {
        "blank": np.full((256, 256), 0.5, np.float32),
        "noise": rng.random((256, 256)).astype(np.float32),
        "text": text_page(),
    }
    checks = assess_frontal(list(images.values()), segmenter)
    for name, check in zip(images, checks, strict=True):
        assert not check.frontal, name
        assert check.reason, name
        assert check.evidence == 0.0, name


def test_load_refuses_a_modified_model(tmp_path):
    from core.errors import ModelError
    from core.model.lungs import card_path_for, default_segmenter_path

    src = default_segmenter_path()
    bad = tmp_path / "lungs.keras"
    bad.write_bytes(src.read_bytes() + b"\0")
    card_path_for(bad).write_text(card_path_for(src).read_text())
    with pytest.raises(ModelError, match="does not match its card"):
        LungSegmenter.load(bad)


def _flood_labels(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """8-connected components by breadth-first flood fill, numbered in row-major order of
    their first pixel: the reference label_components must agree with."""
    h, w = mask.shape
    labels = np.zeros((h, w), np.int32)
    n = 0
    for r in range(h):
        for c in range(w):
            if mask[r, c] and not labels[r, c]:
                n += 1
                labels[r, c] = n
                todo = [(r, c)]
                while todo:
                    y, x = todo.pop()
                    for dy in (-1, 0, 1):
                        for dx in (-1, 0, 1):
                            yy, xx = y + dy, x + dx
                            if 0 <= yy < h and 0 <= xx < w and mask[yy, xx] and not labels[yy, xx]:
                                labels[yy, xx] = n
                                todo.append((yy, xx))
    return labels, np.bincount(labels.ravel(), minlength=n + 1)[1:]


@pytest.mark.parametrize("density", [0.1, 0.45, 0.6, 0.9])
def test_label_components_matches_a_flood_fill(density):
    """The vectorised labelling (#23) numbers components exactly as a flood fill does:
    spirals, diagonal touches and U shapes whose arms meet rows later included."""
    rng = np.random.default_rng(int(density * 100))
    for _ in range(5):
        mask = rng.random((37, 29)) < density
        got, want = label_components(mask), _flood_labels(mask)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
    u = np.zeros((9, 9), bool)
    u[1:8, 1] = u[1:8, 7] = u[7, 1:8] = True  # a U: two runs per row until the bottom joins them
    labels, areas = label_components(u)
    assert areas.tolist() == [19] and labels[1, 1] == labels[1, 7] == 1
    assert label_components(np.zeros((4, 4), bool))[1].size == 0


def test_a_batch_judges_each_film_as_it_is_judged_alone(sample_images):
    """LungCheck (#23): one segmenter pass for a batch gives each film the verdict and the
    lung mask it gets alone."""
    from core.model.lungs import LungCheck, default_segmenter

    check = LungCheck(default_segmenter())
    films = [read_xray(p).pixels for p in sample_images]
    films.append(np.full((200, 180), 0.5, np.float32))  # blank: refused
    batch = check.judge([check.small(px) for px in films])
    for px, verdict in zip(films, batch, strict=True):
        alone = check(px)
        assert verdict.reason == alone.reason
        assert np.abs(verdict.lungs.astype(int) - alone.lungs).max() <= 1
    assert [v.reason is None for v in batch] == [True] * len(sample_images) + [False]
