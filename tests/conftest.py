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


@pytest.fixture(scope="session", autouse=True)
def _no_decoder_process_left():
    """Compressed DICOM is decoded in worker processes (core.files.decoder_pool): the run
    ends with every one of them stopped and reaped, none left behind."""
    yield
    import multiprocessing

    from core.files import decoder_pool

    decoder_pool.shutdown()
    left = [p for p in multiprocessing.active_children() if p.name == "covidcxr-decoder"]
    assert not left, f"decoder processes left running: {left}"


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

    from core.model.card import ModelCard
    from core.model.disk import save_model
    from core.model.networks import build
    from core.model.ood import fit_ood
    from core.model.preprocess import THUMB_SIZE, PreprocessSpec

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
    """The tiny model loaded once per session (a ``core.model.loading.LoadedModel``)."""
    from core.model.loading import load_model

    return load_model(tiny_model_path)


def make_labelled_folder(root: Path, per_class: int = 12, seed: int = 0) -> Path:
    """A labelled folder of real radiographs, ``COVID/`` and ``Normal/``, each file a
    distinct variant (crop, flip, gamma, noise) of the three shipped test films, so the
    frontal-film check accepts them and no two files are byte copies."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    sources = [np.asarray(Image.open(p).convert("L"), np.float32) / 255.0
               for p in sorted(DATA_DIR.glob("*.png"))]
    for cls in ("COVID", "Normal"):
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            px = sources[(i + (cls == "Normal")) % len(sources)]
            h, w = px.shape
            t, l_ = rng.integers(0, h // 16, 2)
            px = px[t : h - rng.integers(0, h // 16), l_ : w - rng.integers(0, w // 16)]
            if rng.random() < 0.5:
                px = px[:, ::-1]
            px = np.clip(px ** rng.uniform(0.8, 1.25) + rng.normal(0, 0.01, px.shape), 0, 1)
            Image.fromarray((px * 255).astype(np.uint8)).save(root / cls / f"{cls}-{i:02d}.png")
    return root


@pytest.fixture(scope="session")
def labelled_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 COVID and 12 Normal real films (see :func:`make_labelled_folder`)."""
    return make_labelled_folder(tmp_path_factory.mktemp("site") / "site")


# The DICOM node's tests (#32): a real Orthanc per test module that may send to (C-MOVE)
# and accept from our AE title on ``move_port``. test_pacs_listen registers the listener
# instead, with its own ``orthanc``.
PACS_AE = "COVIDCXR"


@pytest.fixture(scope="module")
def move_port() -> int:
    from tests.pacs_support import free_port

    return free_port()


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory: pytest.TempPathFactory, move_port: int):
    from tests.pacs_support import orthanc_serving

    yield from orthanc_serving(tmp_path_factory, {PACS_AE: move_port})
