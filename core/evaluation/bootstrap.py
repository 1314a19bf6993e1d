"""Bootstrap confidence intervals for a binary classifier's metrics, vectorised.

Every resample is a row of weights (how many times each image was drawn), so all
resamples are evaluated at once with matrix products instead of a Python loop. With
patient groups, whole patients are drawn (a cluster bootstrap), so two films of one
patient never count as independent evidence. Percentile intervals; seeded.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Resamples for the intervals shown to the user (2,000: the 2.5th/97.5th percentiles of
#: a 95% interval then rest on 50 resamples each side).
RESAMPLES = 2000
LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """A point estimate with its bootstrap interval (``nan`` where undefined)."""

    value: float
    low: float
    high: float

    def contains(self, x: float) -> bool:
        return bool(self.low <= x <= self.high)

    def texts(self, digits: int = 3) -> tuple[str, str]:
        """("0.952", "0.921 – 0.976") as every page, report and command shows it; "n/a"
        when undefined, an empty range when no resample defined it."""
        if not math.isfinite(self.value):
            return "n/a", ""
        if not math.isfinite(self.low):
            return f"{self.value:.{digits}f}", ""
        return f"{self.value:.{digits}f}", f"{self.low:.{digits}f} – {self.high:.{digits}f}"

    def text(self, digits: int = 3) -> str:
        """"0.952 (0.921 – 0.976)" in one cell or line."""
        value, span = self.texts(digits)
        return f"{value} ({span})" if span else value

    def to_dict(self) -> dict[str, float | None]:
        """JSON-ready: an undefined number is null (JSON has no NaN)."""
        return {k: (v if math.isfinite(v) else None)
                for k, v in (("value", self.value), ("low", self.low), ("high", self.high))}


def resample_weights(
    n: int,
    groups: np.ndarray | None = None,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> np.ndarray:
    """(resamples, n) draw counts: how often each image appears in each resample.

    Drawing n items with replacement, equally likely, is a multinomial draw of counts;
    with ``groups`` (one id per image), groups are drawn and every image of a drawn group
    gets its group's count."""
    rng = np.random.default_rng(seed)
    if groups is None:
        return rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(np.float64)
    _, index = np.unique(np.asarray(groups), return_inverse=True)
    g = int(index.max()) + 1
    counts = rng.multinomial(g, np.full(g, 1.0 / g), size=resamples).astype(np.float64)
    return counts[:, index]


def weighted_auc(y: np.ndarray, p: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC AUC for each row of ``weights`` (ties count one half), nan where a row has no
    positive or no negative. ``weights`` is (R, n); one row of ones gives the plain AUC."""
    y = np.asarray(y).astype(bool)
    p = np.asarray(p, dtype=np.float64)
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    order = np.argsort(p, kind="mergesort")
    ps, ys, ws = p[order], y[order], w[:, order]
    starts = np.r_[0, np.flatnonzero(np.diff(ps)) + 1]  # one bin per distinct score
    pos = np.add.reduceat(ws * ys, starts, axis=1)
    neg = np.add.reduceat(ws * ~ys, starts, axis=1)
    below = np.cumsum(neg, axis=1) - neg
    num = np.sum(pos * (below + 0.5 * neg), axis=1)
    den = pos.sum(1) * neg.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def weighted_rates(
    y: np.ndarray, called: np.ndarray, weights: np.ndarray, prevalence: float | None = None
) -> dict[str, np.ndarray]:
    """Sensitivity, specificity, PPV, NPV and accuracy for each row of ``weights``.

    ``called`` is the decision (1 = COVID). With ``prevalence``, PPV and NPV are those a
    population with that share of positives would see (Bayes' rule on sensitivity and
    specificity), not the sample's own."""
    y = np.asarray(y).astype(bool)
    c = np.asarray(called).astype(bool)
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    tp, fn = w @ (y & c), w @ (y & ~c)
    tn, fp = w @ (~y & ~c), w @ (~y & c)
    with np.errstate(invalid="ignore", divide="ignore"):
        sens = tp / (tp + fn)
        spec = tn / (tn + fp)
        if prevalence is None:
            ppv = tp / (tp + fp)
            npv = tn / (tn + fn)
        else:
            q = float(prevalence)
            ppv = sens * q / (sens * q + (1 - spec) * (1 - q))
            npv = spec * (1 - q) / (spec * (1 - q) + (1 - sens) * q)
        acc = (tp + tn) / (tp + tn + fp + fn)
    return {
        "sensitivity": sens,
        "specificity": spec,
        "ppv": ppv,
        "npv": npv,
        "accuracy": acc,
    }


def percentile_interval(
    value: float, samples: np.ndarray, level: float = LEVEL
) -> Interval:
    """The point estimate with the percentile interval of its resampled values."""
    s = np.asarray(samples, dtype=np.float64)
    s = s[np.isfinite(s)]
    if not np.isfinite(value) or s.size == 0:
        return Interval(float(value), float("nan"), float("nan"))
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(s, [tail, 100.0 - tail])
    return Interval(float(value), float(low), float(high))


def wilson(successes: int, n: int, level: float = LEVEL) -> Interval:
    """The Wilson score interval of a proportion. Used where the percentile bootstrap
    collapses: when every film of a class is called the same way (a sensitivity of 1.0 on
    12 films), every resample agrees and the bootstrap says (1.0, 1.0), which claims a
    certainty 12 films cannot give."""
    if n <= 0:
        return Interval(float("nan"), float("nan"), float("nan"))
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + level / 2)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))
