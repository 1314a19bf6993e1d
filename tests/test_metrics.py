"""Metrics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.evaluation.metrics import (
    at_threshold,
    calibration,
    choose_threshold,
    roc_auc,
    roc_curve,
    summary,
)
from core.model.calibration import apply_platt, fit_platt


def test_auc_perfect_random_and_inverted():
    y = np.array([0, 0, 1, 1])
    assert roc_auc(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert roc_auc(y, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    # All scores tied: the ROC is the diagonal.
    assert roc_auc(y, np.full(4, 0.5)) == pytest.approx(0.5)
    # Hand count: 3 of 4 positive/negative pairs ordered correctly.
    assert roc_auc(y, np.array([0.1, 0.6, 0.5, 0.9])) == pytest.approx(0.75)


def test_auc_undefined_with_one_class():
    assert math.isnan(roc_auc(np.ones(5), np.linspace(0, 1, 5)))


def test_roc_curve_endpoints():
    fpr, tpr, thr = roc_curve(np.array([0, 1, 0, 1]), np.array([0.2, 0.7, 0.4, 0.9]))
    assert (fpr[0], tpr[0]) == (0.0, 0.0) and (fpr[-1], tpr[-1]) == (1.0, 1.0)
    assert np.all(np.diff(thr[1:]) < 0)


def test_confusion_and_rates():
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    p = np.array([0.9, 0.8, 0.7, 0.2, 0.6, 0.1, 0.1, 0.1, 0.3, 0.4])
    m = at_threshold(y, p, 0.5)
    assert m["confusion"] == {"tp": 3, "fp": 1, "tn": 5, "fn": 1}
    assert m["sensitivity"] == pytest.approx(0.75)
    assert m["specificity"] == pytest.approx(5 / 6)
    assert m["precision"] == pytest.approx(0.75)
    assert m["f1"] == pytest.approx(0.75)
    assert m["accuracy"] == pytest.approx(0.8)


def test_threshold_is_sensitivity_first():
    y = np.array([1] * 20 + [0] * 20)
    p = np.r_[np.linspace(0.3, 1.0, 20), np.linspace(0.0, 0.6, 20)]
    t = choose_threshold(y, p, 0.95)
    m = at_threshold(y, p, t)
    assert m["sensitivity"] >= 0.95
    # Any higher threshold would lose sensitivity below the minimum.
    higher = p[p > t].min()
    assert at_threshold(y, p, higher)["sensitivity"] < 0.95


def test_calibration_ece():
    p = np.array([0.05] * 10 + [0.95] * 10)
    y = np.array([0] * 10 + [1] * 10)
    assert calibration(y, p)["ece"] == pytest.approx(0.05)
    badly = calibration(np.array([0] * 10 + [1] * 10), np.full(20, 0.9))
    assert badly["ece"] == pytest.approx(0.4)
    assert sum(r["count"] for r in badly["reliability"]) == 20


def test_platt_recalibrates_overconfident_scores():
    rng = np.random.default_rng(0)
    group = rng.integers(0, 2, 4000)
    true_p = np.where(group == 1, 0.7, 0.3)  # the truth: 70% / 30%
    over = np.where(group == 1, 0.97, 0.03)  # an overconfident model
    y = (rng.random(4000) < true_p).astype(int)
    a, b = fit_platt(y, over)
    fixed = apply_platt(over, a, b)
    assert calibration(y, fixed)["ece"] < 0.03 < calibration(y, over)["ece"]


def test_summary_has_everything_evaluate_prints():
    y = np.array([0, 1] * 10)
    p = np.linspace(0, 1, 20)
    s = summary(y, p, 0.5)
    for key in (
        "auc",
        "accuracy",
        "precision",
        "sensitivity",
        "specificity",
        "f1",
        "confusion",
        "roc",
        "ece",
        "reliability",
        "n",
    ):
        assert key in s.to_dict()
    assert s.n == 20 and s.positives == 10


def test_fit_logistic_recovers_known_weights():
    from core.evaluation.metrics import fit_logistic, predict_logistic

    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 3))
    true_w, true_b = np.array([2.0, -1.0, 0.0]), 0.5
    y = (rng.random(4000) < 1 / (1 + np.exp(-(x @ true_w + true_b)))).astype(int)
    w, b = fit_logistic(x, y, l2=1e-3)
    np.testing.assert_allclose(w, true_w, atol=0.15)
    assert b == pytest.approx(true_b, abs=0.15)
    # A strong penalty shrinks the weights towards zero, not the bias.
    w_strong, _ = fit_logistic(x, y, l2=1e5)
    assert np.abs(w_strong).max() < 0.05
    p = predict_logistic(x, w, b)
    assert p.shape == (4000,) and np.all((p > 0) & (p < 1))


def test_cross_validated_auc_separable_and_not():
    from core.evaluation.metrics import cross_validated_auc

    rng = np.random.default_rng(1)
    y = np.repeat([0, 1], 200)
    noise = rng.normal(size=(400, 20))
    assert cross_validated_auc(noise, y) == pytest.approx(0.5, abs=0.1)
    shifted = noise + y[:, None] * 1.5
    assert cross_validated_auc(shifted, y) > 0.95


def test_source_probe_uses_negatives_of_the_two_sources_only():
    from core.evaluation.probes import source_probe

    rng = np.random.default_rng(2)
    n = 120
    sources = ["rsna"] * n + ["nih-cxr14"] * n + ["radiography-covid"] * n
    labels = np.array([0] * (2 * n) + [1] * n)
    feats = rng.normal(size=(3 * n, 8))
    # The COVID source is trivially separable; it must not leak into the probe.
    feats[2 * n :] += 10.0
    probe = source_probe(feats, sources, labels)
    assert probe.n == 2 * n
    assert probe.auc == pytest.approx(0.5, abs=0.12)
    feats[:n, 0] += 3.0  # now RSNA negatives differ from NIH negatives
    assert source_probe(feats, sources, labels).auc > 0.95
    # Only normal films are compared: NIH pneumonia films are left out.
    findings = ["Normal"] * n + ["Normal"] * (n // 2) + ["Pneumonia"] * (n - n // 2) + [
        "COVID"
    ] * n
    assert source_probe(feats, sources, labels, findings).n == n + n // 2


def test_held_out_auc_scores_films_the_probe_was_not_fitted_on():
    from core.evaluation.metrics import held_out_auc

    rng = np.random.default_rng(3)
    y = np.r_[np.zeros(60), np.ones(60)].astype(int)
    x = rng.normal(size=(120, 4)) + y[:, None] * np.array([2.0, 0, 0, 0])
    # fitted on even rows, scored on odd ones: one informative column gives a high AUC
    auc = held_out_auc(x[::2], y[::2], x[1::2], y[1::2])
    assert 0.85 < auc <= 1.0
    # scoring the other class as positive turns the ranking round
    assert held_out_auc(x[::2], y[::2], x[1::2], 1 - y[1::2]) == pytest.approx(1 - auc)
