"""Helpers for the GUI tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

TIMEOUT_MS = 60_000


def _radiograph(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A smooth chest-like picture: bright body, two darker lung fields, a little noise."""
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    img = 0.75 - 0.3 * ((xx - 0.5) ** 2 + (yy - 0.45) ** 2)
    for cx in (0.32, 0.68):
        lung = ((xx - cx) / 0.15) ** 2 + ((yy - 0.5) / 0.3) ** 2 < 1
        img = np.where(lung, img - 0.35 + 0.1 * rng.random(), img)
    img = img + rng.normal(0, 0.03, size=(h, w))
    return (np.clip(img, 0, 1) * 255).astype(np.uint8)


def write_images(folder: Path, n: int, seed: int = 0, prefix: str = "cxr") -> list[Path]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        h, w = int(rng.integers(96, 160)), int(rng.integers(96, 160))
        p = folder / f"{prefix}_{i:03d}.png"
        Image.fromarray(_radiograph(rng, h, w), mode="L").save(p)
        paths.append(p)
    return paths


def wait_done(qtbot, window, action: Callable[[], object], timeout: int = TIMEOUT_MS) -> None:
    """Do ``action`` and wait until the window has classified everything it queued."""
    with qtbot.waitSignal(window.classify.classificationFinished, timeout=timeout):
        action()
    qtbot.waitUntil(lambda: not window.classify.busy, timeout=timeout)
