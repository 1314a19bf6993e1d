"""Validation at the user's own site: a labelled local folder, the classifier's answers on
it, and the evidence a department needs before it relies on a number.

Metrics come with bootstrap intervals (patients resampled when the data names them), at
the model's threshold or at an operating point the user picks; PPV and NPV at the
prevalence the user expects; a breakdown per sub-group (scanner, site, view...) so a weak
one shows. Files are classified by the same engine as ``covidcxr classify``
(:func:`core.answers.inference.classify`): a film it refuses is counted as *not assessed*, never
scored behind the user's back, and an unreadable file is counted as an error. The
labelled folder itself is read by :mod:`core.files.labelled`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from core.answers.inference import DEFAULT_BATCH, Prediction, called_covid, classify
from core.errors import DatasetError
from core.evaluation.bootstrap import (
    RESAMPLES,
    Interval,
    percentile_interval,
    resample_weights,
    weighted_auc,
    weighted_rates,
    wilson,
)
from core.evaluation.metrics import calibration, choose_threshold, roc_auc, roc_curve
from core.files.labelled import MIN_RELIABLE, LabelledFile, LabelledSet
from core.model.card import INDETERMINATE, NOT_ASSESSED
from core.model.site import SiteAccumulator

if TYPE_CHECKING:
    from core.model.loading import LoadedModel

ProgressFn = Callable[[int, int, str], None]


# ---------------------------------------------------------------------------------------
# Classifying the folder


@dataclass(frozen=True)
class SiteRun:
    """The model's answer for every labelled file, in the set's order."""

    labelled: LabelledSet
    predictions: tuple[Prediction, ...]
    model_name: str
    model_sha256: str
    threshold: float
    #: The assessed films' features in the site check's projection (core.model.site):
    #: a profile saved from this run compares later folders with them. None: no reference.
    site: SiteAccumulator | None = field(default=None, compare=False, repr=False)


def run_validation(
    model: LoadedModel,
    labelled: LabelledSet,
    *,
    batch_size: int = DEFAULT_BATCH,
    on_progress: ProgressFn | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> SiteRun | None:
    """Classify every file with ``model`` (the classify engine itself); None if stopped."""
    paths = [f.path for f in labelled.files]
    site = SiteAccumulator(model.site) if model.site is not None else None
    preds = tuple(
        classify(
            paths, model, total=len(paths), batch_size=batch_size, on_progress=on_progress,
            should_stop=should_stop, site=site,
        )
    )
    if len(preds) < len(paths):
        return None
    return SiteRun(labelled, preds, model.display_name, model.card.weights_sha256,
                   model.threshold, site)


# ---------------------------------------------------------------------------------------
# Metrics with intervals


@dataclass(frozen=True)
class ClassCount:
    name: str
    positive: bool
    total: int
    assessed: int
    refused: int
    errors: int


@dataclass(frozen=True)
class OperatingPoint:
    threshold: float
    prevalence: float
    prevalence_given: bool  # typed by the user (else the folder's own)
    sensitivity: Interval
    specificity: Interval
    ppv: Interval
    npv: Interval
    accuracy: Interval
    tp: int
    fn: int
    fp: int
    tn: int


@dataclass(frozen=True)
class SubgroupResult:
    key: str
    value: str
    positives: int
    negatives: int
    not_assessed: int
    auc: Interval
    sensitivity: Interval
    specificity: Interval


@dataclass(frozen=True)
class SiteMetrics:
    """One model's figures on a labelled set, with intervals: everything the validate page,
    the command and the report show, and each side of a before/after comparison."""

    model_name: str
    auc: Interval
    point: OperatingPoint
    classes: tuple[ClassCount, ...]
    subgroups: tuple[SubgroupResult, ...]
    ece: float
    reliability: tuple[dict, ...]
    warnings: tuple[str, ...]
    resamples: int
    grouped: bool

    @property
    def assessed(self) -> int:
        return sum(c.assessed for c in self.classes)


@dataclass
class SiteAnalysis:
    """The assessed films' labels and scores with their bootstrap weights, drawn once,
    so moving the operating point recomputes only the rates (a matrix product)."""

    run: SiteRun
    y: np.ndarray
    p: np.ndarray
    weights: np.ndarray
    assessed_files: list[LabelledFile]
    auc: Interval
    resamples: int
    seed: int
    _subgroup_auc: dict[tuple[str, str], Interval] = field(default_factory=dict)

    @property
    def sample_prevalence(self) -> float:
        return float(self.y.mean()) if self.y.size else float("nan")

    def roc(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._roc

    # What does not depend on the operating point is computed once per run, not on
    # every drag of the point.
    @cached_property
    def _roc(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return roc_curve(self.y, self.p)

    @cached_property
    def _calibration(self) -> dict:
        return calibration(self.y, self.p)

    def precision_recall(self) -> tuple[np.ndarray, np.ndarray]:
        """(recall, precision) at each distinct threshold, highest threshold first."""
        fpr, tpr, _ = self.roc()
        pos, neg = self.y.sum(), self.y.size - self.y.sum()
        tp, fp = tpr[1:] * pos, fpr[1:] * neg
        return tpr[1:], tp / np.maximum(tp + fp, 1e-12)

    def threshold_for(self, sensitivity: float | None = None,
                      specificity: float | None = None) -> float:
        """The operating point meeting a target: the most specific threshold with at least
        ``sensitivity``, or the most sensitive with at least ``specificity``."""
        if sensitivity is not None:
            return choose_threshold(self.y, self.p, sensitivity)
        if specificity is None:
            raise ValueError("give a target sensitivity or specificity")
        fpr, tpr, thr = self.roc()
        ok = np.flatnonzero((1.0 - fpr >= specificity - 1e-12) & np.isfinite(thr))
        if not ok.size:  # unreachable: the highest score, calling almost nothing positive
            return float(self.p.max())
        return float(thr[ok[np.argmax(tpr[ok])]])

    def point(self, threshold: float, prevalence: float | None = None) -> OperatingPoint:
        called = called_covid(self.p, threshold)
        point_rates = weighted_rates(self.y, called, np.ones((1, self.y.size)), prevalence)
        rates = weighted_rates(self.y, called, self.weights, prevalence)
        ci = {k: percentile_interval(float(point_rates[k][0]), rates[k]) for k in rates}
        yb = self.y.astype(bool)
        tp, fn = int((yb & called).sum()), int((yb & ~called).sum())
        fp, tn = int((~yb & called).sum()), int((~yb & ~called).sum())
        counts = {"sensitivity": (tp, tp + fn), "specificity": (tn, tn + fp),
                  "accuracy": (tp + tn, tp + tn + fp + fn)}
        if prevalence is None:  # at a typed prevalence PPV/NPV are not plain proportions
            counts.update(ppv=(tp, tp + fp), npv=(tn, tn + fn))
        for key, (k, n) in counts.items():
            if ci[key].low == ci[key].high:  # every resample agreed: see core.evaluation.bootstrap.wilson
                ci[key] = wilson(k, n)
        return OperatingPoint(
            float(threshold),
            self.sample_prevalence if prevalence is None else float(prevalence),
            prevalence is not None,
            ci["sensitivity"], ci["specificity"], ci["ppv"], ci["npv"], ci["accuracy"],
            tp, fn, fp, tn,
        )

    def metrics(self, threshold: float | None = None,
                prevalence: float | None = None) -> SiteMetrics:
        thr = self.run.threshold if threshold is None else float(threshold)
        cal = self._calibration
        return SiteMetrics(
            self.run.model_name, self.auc, self.point(thr, prevalence), self._class_counts,
            self._subgroups(thr), cal["ece"], tuple(cal["reliability"]),
            self._warnings(), self.resamples, self.run.labelled.grouped,
        )

    @cached_property
    def _class_counts(self) -> tuple[ClassCount, ...]:
        out = []
        ls = self.run.labelled
        for name in ls.classes:
            idx = [i for i, f in enumerate(ls.files) if f.class_name == name]
            preds = [self.run.predictions[i] for i in idx]
            errors = sum(not p.ok for p in preds)
            refused = sum(p.ok and p.label == NOT_ASSESSED for p in preds)
            out.append(ClassCount(name, name == ls.positive, len(idx),
                                  len(idx) - errors - refused, refused, errors))
        return tuple(out)

    def _subgroups(self, threshold: float) -> tuple[SubgroupResult, ...]:
        ls = self.run.labelled
        out = []
        for key in ls.subgroup_keys:
            values = sorted({f.subgroup(key) or "" for f in ls.files} - {""})
            for value in values:
                mask = np.array([f.subgroup(key) == value for f in self.assessed_files], bool)
                total = sum(f.subgroup(key) == value for f in ls.files)
                y, p, w = self.y[mask], self.p[mask], self.weights[:, mask]
                called = called_covid(p, threshold)
                one = weighted_rates(y, called, np.ones((1, y.size)))
                rates = weighted_rates(y, called, w)
                if (key, value) not in self._subgroup_auc:
                    self._subgroup_auc[(key, value)] = percentile_interval(
                        roc_auc(y, p), weighted_auc(y, p, w)
                    )
                out.append(SubgroupResult(
                    key, value, int(y.sum()), int(y.size - y.sum()), int(total - mask.sum()),
                    self._subgroup_auc[(key, value)],
                    percentile_interval(float(one["sensitivity"][0]), rates["sensitivity"]),
                    percentile_interval(float(one["specificity"][0]), rates["specificity"]),
                ))
        return tuple(out)

    def _warnings(self) -> tuple[str, ...]:
        out = list(self.run.labelled.warnings)
        n_pos = int(self.y.sum())
        n_neg = int(self.y.size - n_pos)
        if self.y.size and min(n_pos, n_neg) < MIN_RELIABLE and not any(
            "too wide" in w for w in out
        ):
            out.append(
                f"only {min(n_pos, n_neg)} assessed images in one class: the intervals are "
                "too wide to rely on"
            )
        return tuple(out)


def analyse(run: SiteRun, resamples: int = RESAMPLES, seed: int = 0) -> SiteAnalysis:
    """Draw the bootstrap once for a finished run (patients resampled when named)."""
    # every assessed film, indeterminate ones too: the metrics are of the score (AUC) and
    # of the threshold applied to it; the page lists the indeterminate ones apart
    keep = [i for i, p in enumerate(run.predictions)
            if p.ok and p.label != NOT_ASSESSED and p.probability is not None]
    files = [run.labelled.files[i] for i in keep]
    y = np.array([f.label for f in files], np.int8)
    p = np.array([run.predictions[i].probability for i in keep], np.float64)
    if y.size == 0 or y.min() == y.max():
        raise DatasetError(
            f"the model assessed {y.size} of {len(run.predictions)} images and they are not "
            "of both classes: nothing to measure (see the refused files and errors)"
        )
    groups = np.array([f.group for f in files]) if run.labelled.grouped else None
    weights = resample_weights(y.size, groups, resamples, seed)
    auc = percentile_interval(roc_auc(y, p), weighted_auc(y, p, weights))
    return SiteAnalysis(run, y, p, weights, files, auc, resamples, seed)


def indeterminate(run: SiteRun) -> list[tuple[LabelledFile, Prediction]]:
    """The assessed films with no hard call: their interval over test-time views straddles
    the threshold (core.answers.views). They stay in the metrics by their score; the page
    and the report list them apart, with their interval."""
    return [
        (f, p) for f, p in zip(run.labelled.files, run.predictions, strict=True)
        if p.ok and p.label == INDETERMINATE
    ]


def not_assessed(run: SiteRun) -> list[tuple[LabelledFile, Prediction]]:
    """The files refused or unreadable, with the classifier's message for each."""
    return [
        (f, p) for f, p in zip(run.labelled.files, run.predictions, strict=True)
        if not p.ok or p.label == NOT_ASSESSED
    ]


def metrics_dict(m: SiteMetrics) -> dict:
    """JSON-ready form of :class:`SiteMetrics` (the profile's provenance, ``--json``)."""
    pt = m.point
    return {
        "auc": m.auc.to_dict(),
        "threshold": pt.threshold,
        "prevalence": pt.prevalence,
        "prevalence_given": pt.prevalence_given,
        **{k: getattr(pt, k).to_dict()
           for k in ("sensitivity", "specificity", "ppv", "npv", "accuracy")},
        "confusion": {"tp": pt.tp, "fn": pt.fn, "fp": pt.fp, "tn": pt.tn},
        "ece": m.ece,
        "classes": [vars(c) for c in m.classes],
        "subgroups": [
            {"key": s.key, "value": s.value, "positives": s.positives,
             "negatives": s.negatives, "not_assessed": s.not_assessed,
             "auc": s.auc.to_dict(), "sensitivity": s.sensitivity.to_dict(),
             "specificity": s.specificity.to_dict()}
            for s in m.subgroups
        ],
        "interval": f"95% bootstrap percentile, {m.resamples} resamples"
        + (", patients resampled" if m.grouped else ", images resampled"),
        "warnings": list(m.warnings),
    }


def provenance(analysis: SiteAnalysis, m: SiteMetrics, rule: str) -> dict:
    """What a site profile records about the evidence behind its threshold."""
    ls = analysis.run.labelled
    return {
        "rule": rule,
        "folder": str(ls.root),
        "layout": ls.layout,
        "positive_class": ls.positive,
        "images_per_class": ls.counts(),
        "file_list_sha256": ls.file_list_sha256(),
        "validated_with": analysis.run.model_name,
        "metrics": metrics_dict(m),
    }


def compare(
    models: dict[str, LoadedModel],
    labelled: LabelledSet,
    *,
    resamples: int = RESAMPLES,
    on_progress: ProgressFn | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, SiteMetrics] | None:
    """Each model on the same films, each at its own threshold, with intervals from the
    same bootstrap seed, under the caller's label for it ("before", "after") and in the
    same order; None if stopped."""
    out = {}
    total = len(models) * len(labelled.files)
    for k, (label, model) in enumerate(models.items()):
        offset = k * len(labelled.files)

        def progress(done: int, _total: int, message: str, offset: int = offset) -> None:
            if on_progress:
                on_progress(offset + done, total, message)

        run = run_validation(model, labelled, on_progress=progress, should_stop=should_stop)
        if run is None:
            return None
        out[label] = analyse(run, resamples).metrics()
    return out
