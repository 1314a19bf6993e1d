"""The lean runtime (issue #30): a converted network answers as the Keras one does, its
evidence map is Keras's LayerCAM, a model set carries and checks its converted files, and
classifying never imports TensorFlow."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.errors import ModelError

REPO = Path(__file__).resolve().parent.parent
SIZE = 64  # Lite0 at 64 px: the evidence layer (block3b) is 8 x 8


@pytest.fixture(scope="module")
def small_lite0():
    """A 64 px Lite0 classifier with random weights and a non-trivial head."""
    import keras

    from core.model.networks import build_lite0

    keras.utils.set_random_seed(3)
    net = build_lite0(SIZE)
    dense = net.get_layer("prob")
    rng = np.random.default_rng(3)
    dense.set_weights([rng.normal(0, 0.05, (1280, 1)).astype(np.float32),
                       np.array([0.1], np.float32)])
    return net


def test_converted_network_matches_keras(small_lite0):
    from core.model.convert import check_inputs, convert

    x = check_inputs(SIZE, n=5, seed=1)
    data_main, data_views, info = convert(small_lite0, x)
    assert info["max_abs_dp"] <= 1e-4 and info["max_abs_dmap"] <= 1e-2
    assert info["map_grid"] == 8
    assert data_main[4:8] == b"TFL3" and data_views[4:8] == b"TFL3"  # LiteRT flatbuffers


def test_the_converted_map_is_keras_layercam(tmp_path, small_lite0):
    """P, the features and the views' P equal Keras's; the map is LayerCAM with
    TensorFlow's own gradient, computed in the one LiteRT invocation."""
    import keras

    from core.model.convert import check_inputs, convert, layercam
    from core.model.networks import FEATURES
    from core.model.runtime import LiteClassifier, LiteNetwork, unit_max

    data_main, data_views, _ = convert(small_lite0)
    (tmp_path / "m.tflite").write_bytes(data_main)
    (tmp_path / "v.tflite").write_bytes(data_views)
    lite = LiteClassifier(LiteNetwork(tmp_path / "m.tflite"), LiteNetwork(tmp_path / "v.tflite"))
    x = check_inputs(SIZE, n=4, seed=7)
    p, feats, cam = lite.forward(x)
    two = keras.Model(small_lite0.input, [small_lite0.output,
                                          small_lite0.get_layer(FEATURES).output])
    want_p, want_f = (np.asarray(t) for t in two(x, training=False))
    np.testing.assert_allclose(p, want_p.reshape(-1), atol=1e-4)
    np.testing.assert_allclose(feats, want_f, atol=1e-3, rtol=1e-3)
    np.testing.assert_allclose(lite.probabilities(x), want_p.reshape(-1), atol=1e-4)
    assert cam is not None and cam.shape == (4, 8, 8) and cam.min() >= 0
    np.testing.assert_allclose(unit_max(cam), layercam(small_lite0, x), atol=1e-2)


@pytest.mark.parametrize("size", [(14, 14), (9, 12)])
@pytest.mark.parametrize("kernel", [3, 5])
@pytest.mark.parametrize("stride", [1, 2])
def test_depthwise_gradient_from_forward_operators(size, kernel, stride):
    """The input gradient the converted map is built with equals TensorFlow's, for both
    strides, odd and even sizes (where SAME pads unevenly)."""
    import tensorflow as tf

    from core.model.convert import depthwise_input_gradient

    rng = np.random.default_rng(kernel * 10 + stride)
    x = tf.constant(rng.standard_normal((2, *size, 3)), tf.float32)
    k = tf.constant(rng.standard_normal((kernel, kernel, 3, 1)), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.nn.depthwise_conv2d(x, k, [1, stride, stride, 1], "SAME")
    g = tf.constant(rng.standard_normal(y.shape), tf.float32)
    want = tape.gradient(y, x, output_gradients=g)
    got = depthwise_input_gradient(g, k, stride, size[0], size[1])
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-4)


def test_only_a_linear_head_on_pooled_features_is_converted():
    from core.model.convert import convertible, runtime_networks
    from core.model.networks import build

    seed = build("seed", 64)
    assert not convertible(seed)
    with pytest.raises(ModelError, match="not converted"):
        runtime_networks(seed)


def test_saved_set_carries_checked_converted_files(tmp_path, small_lite0):
    from core.model.card import ModelCard
    from core.model.disk import runtime_paths, save_model
    from core.model.loading import load_model
    from core.model.preprocess import PreprocessSpec, to_network

    card = ModelCard(name="small", architecture="lite0", input_size=SIZE,
                     preprocess=PreprocessSpec(size=SIZE).to_dict())
    path = save_model(small_lite0, card, tmp_path / "small.keras")
    main, views = runtime_paths(path)
    assert main.is_file() and views.is_file()
    saved = json.loads((tmp_path / "small.card.json").read_text())["runtime"]
    assert saved["file"] == main.name and saved["views_file"] == views.name
    model = load_model(path)
    assert model.runtime is not None and model._keras is None  # Keras not read
    x = to_network(np.random.default_rng(0).integers(0, 255, (3, SIZE, SIZE), np.uint8))
    probs, feats, maps = model.forward_with_map(x)
    assert maps is not None and maps.shape == (3, 8, 8) and np.all(maps <= 1.0)
    keras_probs, _ = model.keras_model(x, training=False), None  # read on demand
    np.testing.assert_allclose(probs, np.asarray(keras_probs).reshape(-1), atol=1e-4)

    # A converted file that does not match its card is refused, not run.
    data = bytearray(views.read_bytes())
    data[-100] ^= 0xFF
    views.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="converted network .* does not match"):
        load_model(path)


def test_unconverted_set_answers_with_keras(tiny_model_path):
    from core.model.loading import load_model

    model = load_model(tiny_model_path)
    assert model.runtime is None and model._keras is not None


def test_lung_segmenter_runtime_matches_keras():
    from core.model.convert import check_inputs
    from core.model.lungs import LUNG_SIZE, LungSegmenter
    from core.model.runtime import LiteNetwork

    lean, full = LungSegmenter.load(), LungSegmenter.load(lean=False)
    assert isinstance(lean.net, LiteNetwork)
    x = (check_inputs(LUNG_SIZE, n=3)[..., 0] * 255).astype(np.uint8)
    np.testing.assert_allclose(lean.masks_u8(x), full.masks_u8(x), atol=1e-4)


def test_a_modified_converted_segmenter_is_refused(tmp_path):
    models = REPO / "models"
    for name in ("lungs.keras", "lungs.json", "lungs.tflite"):
        shutil.copy(models / name, tmp_path / name)
    data = bytearray((tmp_path / "lungs.tflite").read_bytes())
    data[-64] ^= 0xFF
    (tmp_path / "lungs.tflite").write_bytes(bytes(data))
    from core.model.lungs import LungSegmenter

    with pytest.raises(ModelError, match="does not match"):
        LungSegmenter.load(tmp_path / "lungs.keras")


def test_classifying_never_imports_tensorflow(tmp_path):
    """``covidcxr classify`` on the bundled model and samples: answers, and neither
    TensorFlow nor Keras is ever imported (a finder that refuses them would fail it)."""
    script = (
        "import sys\n"
        "class Refuse:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('tensorflow', 'keras'):\n"
        "            raise ImportError('classify imported ' + name)\n"
        "sys.meta_path.insert(0, Refuse())\n"
        "from core.cli.main import main\n"
        f"rc = main(['classify', {str(REPO / 'assets' / 'samples')!r}, '--output', "
        f"{str(tmp_path / 'predicted.csv')!r}])\n"
        "sys.exit(rc)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    rows = (tmp_path / "predicted.csv").read_text().splitlines()
    assert len(rows) >= 7  # a header and the six sample films
    assert "LiteRT" in run.stderr + run.stdout  # the device line names the runtime


def test_runtime_choice_follows_the_gpu_and_the_setting(monkeypatch):
    """The lean runtime answers on a CPU; where TensorFlow would have a GPU, Keras does (the
    product runs on the GPU when TensorFlow sees one); COVIDCXR_RUNTIME overrides both."""
    from core.model import loading

    monkeypatch.delenv(loading.RUNTIME_ENV, raising=False)
    monkeypatch.setattr(loading, "gpu_present", lambda: False)
    assert loading.lean_by_default()
    monkeypatch.setattr(loading, "gpu_present", lambda: True)
    assert not loading.lean_by_default()
    monkeypatch.setenv(loading.RUNTIME_ENV, "lite")
    assert loading.lean_by_default()
    monkeypatch.setenv(loading.RUNTIME_ENV, "keras")
    monkeypatch.setattr(loading, "gpu_present", lambda: False)
    assert not loading.lean_by_default()


def test_the_window_knows_before_loading_whether_tensorflow_is_needed(monkeypatch,
                                                                      tiny_model_path):
    """The model load maps TensorFlow's libraries first only where the load will import it:
    an unconverted model, or Keras chosen."""
    from core.model import loading

    monkeypatch.delenv(loading.RUNTIME_ENV, raising=False)
    monkeypatch.setattr(loading, "gpu_present", lambda: False)
    assert not loading.needs_tensorflow(REPO / "models" / "covidcxr.keras")
    assert loading.needs_tensorflow(tiny_model_path)
    monkeypatch.setenv(loading.RUNTIME_ENV, "keras")
    assert loading.needs_tensorflow(REPO / "models" / "covidcxr.keras")
