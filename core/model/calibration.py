"""Platt calibration: the map from the network's raw score to a probability, fitted and applied."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def fit_platt(y: np.ndarray, p: np.ndarray, iters: int = 100) -> tuple[float, float]:
    """Logistic recalibration p' = sigmoid(a * logit(p) + b), fitted on log-loss by Newton's
    method with step halving (plain Newton overshoots when the scores are overconfident).
    Class weights in training shift probabilities; this restores calibration."""
    y = np.asarray(y, dtype=np.float64)
    z = logit(np.asarray(p, dtype=np.float64))

    def loss(a: float, b: float) -> float:
        q = np.clip(sigmoid(a * z + b), 1e-12, 1 - 1e-12)
        return float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))

    a, b = 1.0, 0.0
    current = loss(a, b)
    for _ in range(iters):
        q = sigmoid(a * z + b)
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


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # no overflow for large |x|


def apply_platt(p: npt.ArrayLike, a: float, b: float) -> np.ndarray:
    return sigmoid(a * logit(np.asarray(p, dtype=np.float64)) + b)

