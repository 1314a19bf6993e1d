"""Fixtures shared by the core and GUI tests.

Keep the fixture names stable (``tiny_model_path``, ``sample_images``): tests/gui builds on
them. TensorFlow is imported only inside the fixtures that need it, so tests that never
touch a network start fast.
"""

from __future__ import annotations

import os

# Before anything imports Qt or TensorFlow.
os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

DATA_DIR = Path(__file__).parent / "data"
TINY_SIZE = 64


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA_DIR


@pytest.fixture(scope="session")
def sample_images() -> list[Path]:
    """Real 256x256 chest X-rays (one COVID, two Normal) shipped in tests/data."""
    images = sorted(DATA_DIR.glob("*.png"))
    assert len(images) >= 2, "tests/data must hold the real sample radiographs"
    return images


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A freshly initialised seed network with a 64x64 input, its card and OOD statistics.

    The weights are random but seeded, so probabilities are the same on every run. The OOD
    statistics are fitted on wide random data so that real radiographs score well below the
    cut-off (the tests that want an out-of-distribution verdict make one on purpose).
    """
    import keras

    from core.card import ModelCard
    from core.model import build, save_model
    from core.ood import fit_ood
    from core.preprocess import THUMB_SIZE, PreprocessSpec

    keras.utils.set_random_seed(1234)
    net = build("seed", input_size=TINY_SIZE)
    rng = np.random.default_rng(1234)
    feats = rng.normal(0.0, 10.0, size=(400, 64))
    thumbs = rng.normal(0.0, 3.0, size=(400, THUMB_SIZE * THUMB_SIZE))
    # Random thumbnails have far more edge structure than a radiograph: no structure cut.
    ood = fit_ood(feats, thumbs, structure_percentile=None)
    card = ModelCard(
        name="tiny-test",
        input_size=TINY_SIZE,
        preprocess=PreprocessSpec(size=TINY_SIZE).to_dict(),
        threshold=0.5,
    )
    path = tmp_path_factory.mktemp("tiny_model") / "tiny.keras"
    save_model(net, card, path, ood=ood)
    return path


@pytest.fixture(scope="session")
def tiny_model(tiny_model_path: Path):
    """The tiny model loaded once per session (a ``core.model.LoadedModel``)."""
    from core.model import load_model

    return load_model(tiny_model_path)
