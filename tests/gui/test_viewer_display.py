"""The viewer keeps a film at display size as 16-bit (issue #30): the array is bounded, the
grey levels survive, and heat maps and outlines stay placed in the film's own pixels."""

from __future__ import annotations

import numpy as np

from gui.widgets.viewer import DISPLAY_MAX_SIDE, XRayViewer, display_pixels


def test_a_large_film_is_kept_bounded_and_16_bit():
    rng = np.random.default_rng(0)
    film = rng.random((3000, 2400), dtype=np.float32)
    shown = display_pixels(film)
    assert shown.dtype == np.uint16
    assert max(shown.shape) == DISPLAY_MAX_SIDE and shown.shape == (2048, 1638)
    # Area averaging: the mean grey is kept; sixteen bits keep a 12-bit step.
    assert abs(shown.mean() / 65535 - film.mean()) < 1e-3
    ramp = np.linspace(0, 1, 4096, dtype=np.float32)[None, :].repeat(4, 0)
    assert len(np.unique(display_pixels(ramp, max_side=8192))) == 4096


def test_a_small_film_keeps_its_size():
    film = np.full((500, 400), 0.25, np.float32)
    shown = display_pixels(film)
    assert shown.shape == (500, 400) and int(shown[0, 0]) == round(0.25 * 65535)


def test_the_shown_image_spans_the_films_pixels(qtbot):
    viewer = XRayViewer()
    qtbot.addWidget(viewer)
    film_shape = (3000, 2400)
    viewer.set_image(display_pixels(np.zeros(film_shape, np.float32)), film_shape)
    rect = viewer.image.mapRectToParent(viewer.image.boundingRect())
    assert (round(rect.width()), round(rect.height())) == (2400, 3000)
    viewer.set_levels(0.2, 0.6)
    low, high = viewer.image.getLevels()
    assert (round(low), round(high)) == (round(0.2 * 65535), round(0.6 * 65535))
