"""The shortcut measures of issue #19 on small, seeded data: each one can fail."""

from __future__ import annotations

import numpy as np
import pytest

from core.evaluation.markers import draw_markers
from core.evaluation.shortcuts import (
    auc_interval,
    collection_probe,
    lung_region,
    marker_shift,
    within_collection,
)


def test_auc_interval_brackets_the_value_and_resamples_patients():
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(60), np.zeros(60)].astype(int)
    p = np.r_[rng.normal(1, 1, 60), rng.normal(0, 1, 60)]
    iv = auc_interval(y, p)
    assert 0.6 < iv.value < 0.9
    assert iv.low < iv.value < iv.high
    # 12 patients of 10 films that share their score: 12 independent units, not 120, so
    # the patient bootstrap must give a wider interval than the film bootstrap
    patients = np.repeat(np.arange(12), 10)
    p_pat = np.repeat(np.r_[rng.normal(1, 1, 6), rng.normal(0, 1, 6)], 10)
    by_film = auc_interval(y, p_pat)
    by_patient = auc_interval(y, p_pat, patients)
    assert by_patient.high - by_patient.low > 1.5 * (by_film.high - by_film.low)


def test_auc_interval_counts_ties_half():
    y = np.array([1, 0, 1, 0])
    p = np.array([0.5, 0.5, 0.5, 0.5])
    assert auc_interval(y, p, resamples=50).value == pytest.approx(0.5)


def test_within_collection_reports_findings_and_operating_point():
    y = np.array([1, 1, 1, 0, 0, 0])
    p = np.array([0.9, 0.8, 0.3, 0.6, 0.2, 0.1])
    findings = ["COVID", "COVID", "COVID", "Pneumonia", "Normal", "Normal"]
    w = within_collection(y, p, findings, ["a", "b", "c", "d", "e", "f"], threshold=0.5)
    assert w.sensitivity == pytest.approx(2 / 3)
    assert w.specificity == pytest.approx(2 / 3)
    assert w.mean_probability_by_finding["Normal"] == pytest.approx(0.15)
    assert w.auc.value == pytest.approx(8 / 9)
    assert w.patients == 6


def test_collection_probe_sees_a_shifted_collection_and_not_a_shuffled_one():
    rng = np.random.default_rng(1)
    same = rng.normal(0, 1, (120, 8))
    shifted = np.r_[rng.normal(0, 1, (60, 8)), rng.normal(1.5, 1, (60, 8))]
    names = ["a"] * 60 + ["b"] * 60
    assert collection_probe(shifted, names).mean_auc > 0.9
    assert abs(collection_probe(same, names).mean_auc - 0.5) < 0.15
    three = collection_probe(np.r_[shifted, rng.normal(-2, 1, (30, 8))], names + ["c"] * 30)
    assert set(three.pairs) == {"a vs b", "a vs c", "b vs c"}


def test_markers_change_pixels_inside_the_crop_only_and_are_seeded():
    film = np.full((200, 160), 0.5, np.float32)
    a = draw_markers(film, np.random.default_rng(3), count=3)
    b = draw_markers(film, np.random.default_rng(3), count=3)
    assert np.array_equal(a, b)
    changed = np.abs(a - film) > 0.1
    assert changed.sum() > 20
    rows, cols = np.nonzero(changed)
    assert rows.min() >= int(200 * 0.1) - 2 and cols.min() >= int(160 * 0.1) - 2
    assert marker_shift(np.array([0.2, 0.4]), np.array([0.3, 0.1])) == pytest.approx(0.2)


def test_lung_region_keeps_or_blanks_the_fields():
    film = np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)
    mask = np.zeros((128, 128), np.float32)
    mask[40:90, 20:60] = 1.0
    inside = lung_region(film, mask, keep_lungs=True)
    outside = lung_region(film, mask, keep_lungs=False)
    fill = np.median(film)
    # a pixel in the middle of the field is kept in one, replaced in the other
    assert inside[32, 20] == film[32, 20] and outside[32, 20] == pytest.approx(fill)
    # a corner far from the field is the reverse
    assert outside[2, 62] == film[2, 62] and inside[2, 62] == pytest.approx(fill)
