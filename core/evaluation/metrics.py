"""Binary classification metrics in NumPy: ROC/AUC, confusion, calibration, threshold choice;
and :class:`Metrics`, the figures of one scored, labelled set at one threshold."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from core.answers.inference import called_covid
from core.evaluation.nonxray import RefusalRates
from core.model.calibration import sigmoid


def roc_curve(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds), thresholds descending; predicting positive when p >= t."""
    y = np.asarray(y).astype(int)
    p = np.asarray(p, dtype=np.float64)
    order = np.argsort(-p, kind="mergesort")
    p_sorted, y_sorted = p[order], y[order]
    distinct = np.where(np.diff(p_sorted))[0]
    idx = np.r_[distinct, y_sorted.size - 1]
    tps = np.cumsum(y_sorted)[idx]
    fps = (idx + 1) - tps
    pos, neg = max(int(y.sum()), 1), max(int((1 - y).sum()), 1)
    tpr = np.r_[0.0, tps / pos]
    fpr = np.r_[0.0, fps / neg]
    thresholds = np.r_[np.inf, p_sorted[idx]]
    return fpr, tpr, thresholds


def roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    y = np.asarray(y).astype(int)
    if y.size == 0 or y.min() == y.max():
        return float("nan")
    fpr, tpr, _ = roc_curve(y, p)
    return float(np.trapezoid(tpr, fpr))


def confusion(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, int]:
    y = np.asarray(y).astype(int)
    pred = called_covid(np.asarray(p), threshold).astype(int)
    return {
        "tp": int(((pred == 1) & (y == 1)).sum()),
        "fp": int(((pred == 1) & (y == 0)).sum()),
        "tn": int(((pred == 0) & (y == 0)).sum()),
        "fn": int(((pred == 0) & (y == 1)).sum()),
    }


def _ratio(a: int, b: int) -> float:
    return a / b if b else float("nan")


def at_threshold(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, Any]:
    c = confusion(y, p, threshold)
    tp, fp, tn, fn = c["tp"], c["fp"], c["tn"], c["fn"]
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    return {
        "threshold": float(threshold),
        "accuracy": _ratio(tp + tn, tp + tn + fp + fn),
        "precision": precision,
        "sensitivity": recall,
        "specificity": _ratio(tn, tn + fp),
        "f1": f1,
        "confusion": c,
    }


def calibration(y: np.ndarray, p: np.ndarray, bins: int = 10) -> dict:
    """Expected calibration error and a reliability table over equal-width bins."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    table, ece = [], 0.0
    for b in range(bins):
        m = which == b
        n = int(m.sum())
        if n:
            conf, freq = float(p[m].mean()), float(y[m].mean())
            ece += n / max(len(p), 1) * abs(conf - freq)
        else:
            conf = freq = float("nan")
        table.append(
            {
                "bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}",
                "count": n,
                "mean_predicted": conf,
                "observed_positive": freq,
            }
        )
    return {"ece": float(ece), "reliability": table}


def choose_threshold(y: np.ndarray, p: np.ndarray, min_sensitivity: float = 0.95) -> float:
    """Sensitivity first: the lowest false-positive rate whose sensitivity >= the minimum.

    Among thresholds achieving that rate, the highest is taken (the most specific)."""
    fpr, tpr, thr = roc_curve(y, p)
    ok = np.where(tpr >= min_sensitivity)[0]
    if ok.size == 0:
        return float(np.min(p))
    best = ok[np.argmin(fpr[ok])]
    # Ties in FPR: the first (highest-threshold) index with that FPR.
    best = ok[np.flatnonzero(fpr[ok] == fpr[best])[0]]
    t = float(thr[best])
    return t if math.isfinite(t) else float(np.max(p))


@dataclass(frozen=True)
class Confusion:
    tp: int
    fp: int
    tn: int
    fn: int


@dataclass(frozen=True)
class RocPoint:
    fpr: float
    tpr: float
    threshold: float | None  # None for the point above every score


@dataclass(frozen=True)
class ReliabilityBin:
    bin: str
    count: int
    mean_predicted: float
    observed_positive: float


@dataclass(frozen=True)
class ShortcutProbe:
    """Test AUC with the lungs hidden and with only the lungs shown
    (:func:`core.evaluation.probes.shortcut_probe`)."""

    lungs_hidden_auc: float
    lungs_only_auc: float
    centre_fraction: float
    n: int


@dataclass(frozen=True)
class SourceProbe:
    """How well the model's features tell two negative collections apart
    (:func:`core.evaluation.probes.source_probe`)."""

    auc: float
    sources: tuple[str, ...]
    n: int


@dataclass(frozen=True)
class Metrics:
    """One scored, labelled set at one threshold: what ``covidcxr evaluate`` prints, the
    training page shows and the card keeps.

    Every film counts by its score. Scored through the classifier
    (:func:`core.evaluation.evaluate.evaluate_decoded`), ``not_assessed`` says how many of
    the ``n`` it refused and ``indeterminate`` how many got no hard call; both are None for
    raw scores that never met the classifier (the validation split the threshold is chosen
    on). The probes and refusal rates are there when the set was evaluated with them."""

    n: int
    positives: int
    negatives: int
    auc: float
    threshold: float
    accuracy: float
    precision: float
    sensitivity: float
    specificity: float
    f1: float
    confusion: Confusion
    roc: tuple[RocPoint, ...]
    ece: float
    reliability: tuple[ReliabilityBin, ...]
    not_assessed: int | None = None
    indeterminate: int | None = None
    probe: ShortcutProbe | None = None
    ood: RefusalRates | None = None
    #: With a dataset index only: mean P(COVID) per source collection, and the source probe.
    mean_probability_by_source: dict[str, float] = field(default_factory=dict)
    source_probe: SourceProbe | None = None

    def to_dict(self, roc: bool = True) -> dict[str, Any]:
        """JSON-ready, in the order the command line prints (``roc=False`` for the card)."""
        out: dict[str, Any] = {key: getattr(self, key) for key in _MEASURES}
        out["confusion"] = asdict(self.confusion)
        out["roc"] = [asdict(r) for r in self.roc]
        out["reliability"] = [asdict(r) for r in self.reliability]
        if not roc:
            del out["roc"]
        for key in ("not_assessed", "indeterminate"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.probe is not None:
            out["probe"] = asdict(self.probe)
            out["ood"] = self.ood.to_dict() if self.ood else {}
        if self.mean_probability_by_source:
            out["mean_probability_by_source"] = dict(self.mean_probability_by_source)
            sp = self.source_probe
            out["source_probe"] = {**asdict(sp), "sources": list(sp.sources)} if sp else {}
        return out


#: The fields of :class:`Metrics` every scored set has, in the order of its JSON.
_MEASURES = ("n", "positives", "negatives", "auc", "threshold", "accuracy", "precision",
             "sensitivity", "specificity", "f1", "confusion", "roc", "ece", "reliability")


def summary(y: np.ndarray, p: np.ndarray, threshold: float, roc_points: int = 50) -> Metrics:
    """The figures of scores ``p`` for labels ``y`` at ``threshold`` (the refused and
    indeterminate counts are the classifier's: :func:`core.evaluation.evaluate.measure`)."""
    y = np.asarray(y).astype(int)
    fpr, tpr, thr = roc_curve(y, p)
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(roc_points, len(fpr))).astype(int))
    at = at_threshold(y, p, threshold)
    cal = calibration(y, p)
    return Metrics(
        n=int(len(y)),
        positives=int(y.sum()),
        negatives=int((1 - y).sum()),
        auc=roc_auc(y, p),
        threshold=float(threshold),
        accuracy=at["accuracy"],
        precision=at["precision"],
        sensitivity=at["sensitivity"],
        specificity=at["specificity"],
        f1=at["f1"],
        confusion=Confusion(**at["confusion"]),
        roc=tuple(
            RocPoint(float(fpr[i]), float(tpr[i]),
                     float(thr[i]) if math.isfinite(thr[i]) else None)
            for i in keep
        ),
        ece=cal["ece"],
        reliability=tuple(ReliabilityBin(**row) for row in cal["reliability"]),
    )


def fit_logistic(
    x: np.ndarray,
    y: np.ndarray,
    l2: float = 1.0,
    sample_weight: np.ndarray | None = None,
    iters: int = 50,
) -> tuple[np.ndarray, float]:
    """L2-penalised logistic regression by Newton's method: (weights, bias).

    Used where a linear read-out of fixed features answers a question: the head on cached
    backbone features and the source probe. ``l2`` penalises the weights (not the bias),
    per sample, as in ``mean(w * log-loss) + l2 / 2 * |w|^2 / n``. The features are small
    enough (<= a few thousand columns) for the exact Hessian.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, d = x.shape
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, np.float64)
    xb = np.hstack([x, np.ones((n, 1))])
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0
    theta = np.zeros(d + 1)

    def objective(t: np.ndarray) -> float:
        z = xb @ t
        # log(1 + exp(-z)) for y = 1 and log(1 + exp(z)) for y = 0, without overflow
        ll = np.logaddexp(0.0, z) - y * z
        return float(np.sum(sw * ll) + 0.5 * np.sum(reg * t * t))

    current = objective(theta)
    for _ in range(iters):
        q = sigmoid(xb @ theta)
        grad = xb.T @ (sw * (q - y)) + reg * theta
        hess = (xb * (sw * q * (1 - q))[:, None]).T @ xb + np.diag(reg + 1e-9)
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while t > 1e-6:
            new_theta = theta - t * step
            new = objective(new_theta)
            if new <= current:
                break
            t *= 0.5
        else:
            break
        done = current - new < 1e-10 * max(1.0, abs(current))
        theta, current = new_theta, new
        if done:
            break
    return theta[:-1], float(theta[-1])


def predict_logistic(x: np.ndarray, weights: np.ndarray, bias: float) -> np.ndarray:
    return sigmoid(np.asarray(x, dtype=np.float64) @ weights + bias)


def held_out_auc(x_fit: np.ndarray, y_fit: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                 l2: float = 1.0) -> float:
    """AUC on ``x_test`` of a logistic regression fitted on ``x_fit`` (both standardised by
    ``x_fit``'s statistics): a linear probe of a feature space on films it was not fitted on."""
    x_fit = np.asarray(x_fit, dtype=np.float64)
    mu, sd = x_fit.mean(0), x_fit.std(0) + 1e-6
    w, b = fit_logistic((x_fit - mu) / sd, np.asarray(y_fit).astype(int), l2=l2)
    return roc_auc(y_test, predict_logistic((np.asarray(x_test, np.float64) - mu) / sd, w, b))


def cross_validated_auc(
    x: np.ndarray, y: np.ndarray, folds: int = 5, l2: float = 1.0, seed: int = 0
) -> float:
    """AUC of a logistic regression on ``x``, each score predicted by a model that did not
    see it (stratified k-fold). How linearly separable two groups are in a feature space."""
    y = np.asarray(y).astype(int)
    x = np.asarray(x, dtype=np.float64)
    if y.min() == y.max():
        return float("nan")
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), int)
    for cls in (0, 1):
        idx = rng.permutation(np.flatnonzero(y == cls))
        fold[idx] = np.arange(len(idx)) % folds
    scores = np.empty(len(y))
    for k in range(folds):
        test = fold == k
        mu, sd = x[~test].mean(0), x[~test].std(0) + 1e-6
        w, b = fit_logistic((x[~test] - mu) / sd, y[~test], l2=l2)
        scores[test] = predict_logistic((x[test] - mu) / sd, w, b)
    return roc_auc(y, scores)

