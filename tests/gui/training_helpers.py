"""Helpers for the training page's tests (imported by name, like guitest_helpers): a small
two-class dataset, and a stand-in for ``core.training.fit.train`` that needs no TensorFlow."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_dataset(root: Path, per_class: int = 12, seed: int = 0,
                  classes: tuple[str, ...] = ("COVID", "Normal")) -> Path:
    """Smooth random chest-sized pictures, each distinct (no near-duplicates); the COVID
    ones carry a bright patch in the middle, so even a few batches learn something."""
    rng = np.random.default_rng(seed)
    for c in classes:
        (root / c).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            low = rng.random((6, 6)).astype(np.float32)
            img = np.asarray(Image.fromarray(low, "F").resize((80, 80), Image.Resampling.BICUBIC))
            img = 0.2 + 0.5 * (img - img.min()) / (np.ptp(img) + 1e-6)
            if c == "COVID":
                img[25:55, 20:60] += 0.3
            img = np.clip(img + rng.normal(0, 0.02, img.shape), 0, 1)
            Image.fromarray((img * 255).astype(np.uint8), "L").save(root / c / f"{c}_{i:02d}.png")
    return root


def fake_train(behaviour):
    """A stand-in for core.training.fit.train that reports one epoch or none, then acts."""

    def train(index, cfg, *, on_progress=None, on_batch=None, on_epoch=None,
              should_stop=None, decoded=None):
        return behaviour(on_batch=on_batch, on_epoch=on_epoch, should_stop=should_stop,
                         index=index)

    return train
