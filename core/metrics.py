"""Binary classification metrics in NumPy: ROC/AUC, confusion, calibration, threshold choice."""

from __future__ import annotations

import math

import numpy as np


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
    pred = (np.asarray(p) >= threshold).astype(int)
    return {
        "tp": int(((pred == 1) & (y == 1)).sum()),
        "fp": int(((pred == 1) & (y == 0)).sum()),
        "tn": int(((pred == 0) & (y == 0)).sum()),
        "fn": int(((pred == 0) & (y == 1)).sum()),
    }


def _ratio(a: int, b: int) -> float:
    return a / b if b else float("nan")


def at_threshold(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
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


def summary(y: np.ndarray, p: np.ndarray, threshold: float, roc_points: int = 50) -> dict:
    """Everything `covidcxr evaluate` prints, as a JSON-ready dict."""
    y = np.asarray(y).astype(int)
    fpr, tpr, thr = roc_curve(y, p)
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(roc_points, len(fpr))).astype(int))
    out = {
        "n": int(len(y)),
        "positives": int(y.sum()),
        "negatives": int((1 - y).sum()),
        "auc": roc_auc(y, p),
        **at_threshold(y, p, threshold),
        "roc": [
            {
                "fpr": float(fpr[i]),
                "tpr": float(tpr[i]),
                "threshold": float(thr[i]) if math.isfinite(thr[i]) else None,
            }
            for i in keep
        ],
    }
    out.update(calibration(y, p))
    return out


def fit_platt(y: np.ndarray, p: np.ndarray, iters: int = 100) -> tuple[float, float]:
    """Logistic recalibration p' = sigmoid(a * logit(p) + b), fitted on log-loss by Newton's
    method with step halving (plain Newton overshoots when the scores are overconfident).
    Class weights in training shift probabilities; this restores calibration."""
    y = np.asarray(y, dtype=np.float64)
    z = logit(np.asarray(p, dtype=np.float64))

    def loss(a: float, b: float) -> float:
        q = np.clip(_sigmoid(a * z + b), 1e-12, 1 - 1e-12)
        return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))

    a, b = 1.0, 0.0
    current = loss(a, b)
    for _ in range(iters):
        q = _sigmoid(a * z + b)
        g = np.array([np.sum((q - y) * z), np.sum(q - y)])
        w = q * (1 - q) + 1e-9
        h = np.array([[np.sum(w * z * z), np.sum(w * z)], [np.sum(w * z), np.sum(w)]])
        step = np.linalg.solve(h + np.eye(2) * 1e-6, g)
        t = 1.0
        while t > 1e-6:
            na, nb = a - t * step[0], b - t * step[1]
            new = loss(na, nb)
            if new <= current:
                break
            t *= 0.5
        else:
            break
        converged = current - new < 1e-12
        a, b, current = na, nb, new
        if converged:
            break
    return float(a), float(b)


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # no overflow for large |x|


def apply_platt(p: np.ndarray, a: float, b: float) -> np.ndarray:
    return _sigmoid(a * logit(np.asarray(p, dtype=np.float64)) + b)
