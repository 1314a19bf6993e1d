"""Bootstrap intervals: exact on one resample, patients drawn whole, honest coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.evaluation.bootstrap import (
    percentile_interval,
    resample_weights,
    weighted_auc,
    weighted_rates,
)
from core.evaluation.metrics import roc_auc


def test_unit_weights_give_the_plain_auc_with_ties():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    p = np.round(rng.random(300) + 0.3 * y, 1)  # coarse scores: many ties
    assert weighted_auc(y, p, np.ones((1, 300)))[0] == pytest.approx(roc_auc(y, p), abs=1e-12)


def test_weights_equal_repeating_the_images():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 50)
    p = rng.random(50) + 0.5 * y
    counts = rng.integers(0, 4, 50)
    repeated = np.repeat(np.arange(50), counts)
    expected = roc_auc(y[repeated], p[repeated])
    assert weighted_auc(y, p, counts[None, :].astype(float))[0] == pytest.approx(expected)


def test_a_resample_without_positives_is_nan():
    y = np.array([0, 0, 1])
    out = weighted_auc(y, np.array([0.1, 0.2, 0.9]), np.array([[2.0, 1.0, 0.0]]))
    assert math.isnan(out[0])


def test_rates_match_the_confusion_matrix():
    y = np.array([1, 1, 1, 0, 0, 0, 0])
    called = np.array([1, 1, 0, 1, 0, 0, 0])
    r = weighted_rates(y, called, np.ones((1, 7)))
    assert r["sensitivity"][0] == pytest.approx(2 / 3)
    assert r["specificity"][0] == pytest.approx(3 / 4)
    assert r["ppv"][0] == pytest.approx(2 / 3)
    assert r["npv"][0] == pytest.approx(3 / 4)
    # PPV at a 1% prevalence: Bayes' rule on the same sensitivity and specificity.
    low = weighted_rates(y, called, np.ones((1, 7)), prevalence=0.01)
    sens, spec = 2 / 3, 3 / 4
    assert low["ppv"][0] == pytest.approx(sens * 0.01 / (sens * 0.01 + (1 - spec) * 0.99))


def test_patients_are_drawn_whole():
    groups = np.array(["a", "a", "a", "b", "c", "c"])
    w = resample_weights(6, groups, resamples=200, seed=3)
    assert w.shape == (200, 6)
    # Every film of a patient carries that patient's count, and three patients are drawn.
    assert np.all(w[:, 0] == w[:, 1]) and np.all(w[:, 1] == w[:, 2])
    assert np.all(w[:, 4] == w[:, 5])
    assert np.all(w[:, [0, 3, 4]].sum(1) == 3)


def test_seeded():
    a = resample_weights(40, resamples=10, seed=7)
    assert np.array_equal(a, resample_weights(40, resamples=10, seed=7))
    assert not np.array_equal(a, resample_weights(40, resamples=10, seed=8))
    assert np.all(a.sum(1) == 40)


def test_auc_interval_covers_the_true_auc_about_95_percent_of_the_time():
    """Binormal scores with separation d have AUC Phi(d / sqrt 2) exactly; over repeated
    datasets the 95% interval must contain it close to 95% of the time."""
    d = 1.0
    true_auc = 0.5 * (1 + math.erf(d / 2))  # Phi(d / sqrt(2))
    rng = np.random.default_rng(2024)
    hits, trials = 0, 300
    for t in range(trials):
        y = np.r_[np.ones(100, int), np.zeros(100, int)]
        p = np.r_[rng.normal(d, 1, 100), rng.normal(0, 1, 100)]
        w = resample_weights(200, resamples=500, seed=t)
        iv = percentile_interval(roc_auc(y, p), weighted_auc(y, p, w))
        hits += iv.contains(true_auc)
    assert 0.90 <= hits / trials <= 0.98, hits / trials


def test_interval_of_nothing_is_nan():
    iv = percentile_interval(float("nan"), np.array([0.5, 0.6]))
    assert math.isnan(iv.low) and math.isnan(iv.high)


def test_interval_texts():
    from core.evaluation.bootstrap import Interval

    assert Interval(0.95213, 0.9211, 0.97649).texts() == ("0.952", "0.921 – 0.976")
    assert Interval(0.5, float("nan"), float("nan")).texts() == ("0.500", "")
    assert Interval(float("nan"), 0.1, 0.2).texts() == ("n/a", "")
    assert Interval(0.95213, 0.9211, 0.97649).text() == "0.952 (0.921 – 0.976)"
    assert Interval(0.5, float("nan"), float("nan")).text() == "0.500"


def test_wilson_interval():
    from core.evaluation.bootstrap import wilson

    iv = wilson(12, 12)
    # 12 of 12: the 95% Wilson interval reaches down to about 0.76, not to 1.0.
    assert iv.value == 1.0 and iv.high == 1.0 and iv.low == pytest.approx(0.7575, abs=1e-3)
    iv = wilson(50, 100)
    assert iv.low == pytest.approx(0.4038, abs=1e-3) and iv.high == pytest.approx(0.5962, abs=1e-3)
