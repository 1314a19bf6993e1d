"""Test-time views, the interval and the INDETERMINATE answer (issue #21)."""

from __future__ import annotations

import csv
import dataclasses
import io

import numpy as np
import pytest

from core.answers.inference import assess, load_one
from core.answers.views import VIEWS, fit_margin, interval, logit, needs_views, views
from core.model.card import INDETERMINATE
from core.output.export import COLUMNS, to_csv_text


def test_views_are_distinct_and_keep_the_input_contract():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (64, 64), dtype=np.uint8)
    v = views(image)
    assert v.shape == (len(VIEWS), 64, 64) and v.dtype == np.uint8
    assert np.array_equal(v[0], image[:, ::-1])  # the mirror image
    for k in range(len(VIEWS)):
        assert not np.array_equal(v[k], image), VIEWS[k][0]


def test_interval_straddles_only_when_views_cross_the_threshold():
    iv = interval(0.48, np.array([0.40, 0.45, 0.50, 0.55, 0.60, 0.47, 0.52, 0.49]))
    assert iv.low < 0.5 <= iv.high and iv.straddles(0.5)
    assert not iv.straddles(0.9)


def test_margin_is_the_farthest_reach_of_the_views():
    p = np.array([0.5, 0.9])
    pv = np.array([[0.5] * (len(VIEWS) - 1) + [0.4], [0.9] * len(VIEWS)])
    pv[1, :] = 0.5  # the second film's views all fall to 0.5: a reach of logit(0.9)
    m = fit_margin(p, pv, quantile=1.0)
    assert m == pytest.approx(float(logit(0.9)), rel=0.05)
    assert needs_views(np.array([0.5, 0.99]), 0.5, m).tolist() == [True, False]


def _with_interval(model, margin: float, threshold: float):
    card = dataclasses.replace(model.card, interval={"margin_logit": margin},
                               threshold=threshold)
    return dataclasses.replace(model, card=card)


def test_a_film_whose_views_straddle_the_threshold_is_indeterminate(tiny_model, sample_images):
    item = load_one(sample_images[0], tiny_model.card.spec)
    p, _ = tiny_model.forward(np.stack([item.net_input])[..., None] / 255.0)
    pv, _ = tiny_model.forward(views(item.net_input)[..., None] / 255.0)
    # a threshold inside the film's own spread of view scores
    thr = float(np.median(np.r_[p, pv]))
    model = _with_interval(tiny_model, float("inf"), thr)
    a = assess(model, [item], thr)[0]
    assert a.p_low is not None and a.p_high is not None
    assert a.p_low < thr <= a.p_high
    assert a.label == INDETERMINATE and "indeterminate" in a.message
    # far from the threshold (beyond the margin) no views are spent and the call stands
    far = _with_interval(tiny_model, 0.5, 1e-4)
    b = assess(far, [item], 1e-4)[0]
    assert b.label == "COVID" and b.p_low is None


def test_csv_appends_the_interval_and_leaves_prediction_empty(tiny_model, sample_images,
                                                               tmp_path):
    from core.answers.inference import classify

    item = load_one(sample_images[0], tiny_model.card.spec)
    p, _ = tiny_model.forward(np.stack([item.net_input])[..., None] / 255.0)
    pv, _ = tiny_model.forward(views(item.net_input)[..., None] / 255.0)
    thr = float(np.median(np.r_[p, pv]))
    model = _with_interval(tiny_model, float("inf"), thr)
    rec = next(iter(classify([sample_images[0]], model)))
    assert rec.label == INDETERMINATE and rec.decision is None
    head, values = list(csv.reader(io.StringIO(to_csv_text([rec]))))
    assert head[-3:] == ["p_low", "p_high", "lung_evidence"] and tuple(head) == COLUMNS
    row = dict(zip(head, values, strict=True))
    assert row["prediction"] == "" and row["label"] == INDETERMINATE
    assert float(row["p_low"]) < thr <= float(row["p_high"])


def test_the_interval_always_holds_the_score_it_is_shown_with():
    # the single pass above every view: the percentiles alone would leave it out
    iv = interval(0.23, np.array([0.03, 0.05, 0.08, 0.10, 0.12, 0.16]))
    assert iv.low <= 0.23 <= iv.high and iv.high == pytest.approx(0.23)
