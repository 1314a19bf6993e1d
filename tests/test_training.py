"""Training end to end on a tiny dataset: history, stop, card, calibration, OOD, probe."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import DatasetError
from core.files.dataset import scan
from core.training.fit import train
from core.training.recipe import TrainConfig
from tests.test_dataset import make_dataset

pytestmark = pytest.mark.slow


def _cfg(**kw) -> TrainConfig:
    base = dict(input_size=64, epochs=2, batch_size=8, patience=5, seed=1)
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def tiny_ds(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("ds") / "data", per_class=16)


def test_train_reports_epochs_and_fills_the_card(tiny_ds, tmp_path):
    epochs, batches = [], []
    result = train(
        tiny_ds,
        _cfg(strong_augment=True, crop=0.8, equalize=True),
        on_epoch=epochs.append,
        on_batch=batches.append,
    )
    assert [e["epoch"] for e in epochs] == [0, 1]
    assert len(result.history["loss"]) == 2
    assert all(k in epochs[0] for k in ("loss", "accuracy", "auc", "val_loss", "val_auc"))
    assert batches and batches[0]["batch"] == 0
    card = result.card
    assert card.input_size == 64 and card.preprocess["crop"] == 0.8
    assert 0.0 <= card.threshold <= 1.0
    assert set(card.calibration) >= {"a", "b"}
    assert card.training["counts"]["train"]["COVID-19"] > 0
    assert result.val.sensitivity >= 0.95  # the threshold rule, on validation
    assert result.test.probe is not None and result.test.ood is not None

    from core.model.disk import save_model
    from core.model.loading import load_model

    path = save_model(result.keras_model, card, tmp_path / "m.keras", result.ood)
    loaded = load_model(path)
    probs, feats = loaded.forward(np.zeros((2, 64, 64, 1), np.float32))
    assert probs.shape == (2,) and feats.shape == (2, 64)
    assert loaded.card.ood["feature_cutoff"] > 0


def test_stop_keeps_best_weights(tiny_ds):
    seen = []
    result = train(
        tiny_ds, _cfg(epochs=20), on_epoch=seen.append, should_stop=lambda: len(seen) >= 2
    )
    assert result.stopped_by_user
    assert len(result.history["loss"]) == 2


def test_stop_keeps_exactly_the_best_completed_epoch(tiny_ds, monkeypatch):
    """After Stop, the weights kept are the best completed epoch's (lowest validation
    loss; the epoch cut short never counts) and the card names that epoch."""
    import core.model.networks

    nets, snapshots = [], {}
    real_build = core.model.networks.build

    def keep_net(*args, **kwargs):
        nets.append(real_build(*args, **kwargs))
        return nets[-1]

    monkeypatch.setattr(core.model.networks, "build", keep_net)

    def on_epoch(e):  # called at the end of each epoch, before any other callback
        if not e["partial"]:
            snapshots[e["epoch"]] = (e["val_loss"], [w.copy() for w in nets[0].get_weights()])

    batches = []
    result = train(
        tiny_ds,
        # A wide min_delta makes "improved enough to keep waiting" differ from "lowest
        # validation loss"; patience is long enough that only Stop ends the run.
        _cfg(epochs=20, learning_rate=3e-3, min_delta=0.05, patience=20),
        on_epoch=on_epoch,
        on_batch=batches.append,
        should_stop=lambda: len(snapshots) >= 4 and batches[-1]["epoch"] == 4,
    )
    assert result.stopped_by_user
    best = min(snapshots, key=lambda k: snapshots[k][0])
    assert best > 0  # the case where the two rules disagree
    assert result.best_epoch == best
    assert result.card.training["best_epoch"] == best + 1
    kept = result.keras_model.get_weights()
    for w_kept, w_best in zip(kept, snapshots[best][1], strict=True):
        np.testing.assert_array_equal(w_kept, w_best)


def test_stop_before_first_epoch_is_reported(tiny_ds):
    batches = []
    with pytest.raises(DatasetError, match="stopped before the first epoch"):
        train(tiny_ds, _cfg(), on_batch=batches.append, should_stop=lambda: bool(batches))
    assert len(batches) == 1  # stopped within one batch


def test_cancel_while_reading_is_reported(tiny_ds):
    with pytest.raises(DatasetError, match="cancelled while reading"):
        train(tiny_ds, _cfg(), should_stop=lambda: True)


def test_leaky_dataset_refused(tmp_path):
    root = make_dataset(tmp_path / "ds", per_class=16)
    idx = scan(root, seed=1)
    tr = next(s for s in idx.samples if s.split == "train")
    te = next(s for s in idx.samples if s.split == "test" and s.class_name == tr.class_name)
    te.path.write_bytes(tr.path.read_bytes())
    with pytest.raises(DatasetError, match="near-duplicate"):
        train(idx, _cfg())
    result = train(idx, _cfg(epochs=1, ignore_duplicates=True))
    assert any("near-duplicate" in w for w in result.card.training["warnings"])


def test_batchnorm_statistics_reestimated_on_clean_images():
    import keras

    from core.model.networks import build
    from core.training.finalise import reestimate_batchnorm

    net = build("seed_gap", 32)
    bn = next(la for la in net.layers if isinstance(la, keras.layers.BatchNormalization))
    before = np.array(bn.moving_mean)
    weights_before = [np.array(w) for w in net.trainable_weights]
    images = np.full((40, 32, 32), 200, np.uint8)
    assert reestimate_batchnorm(net, images)
    assert not np.allclose(np.array(bn.moving_mean), before)
    assert bn.momentum == 0.99  # restored
    for w0, w1 in zip(weights_before, net.trainable_weights, strict=True):
        assert np.array_equal(w0, np.array(w1))  # statistics only, no training step
    assert not reestimate_batchnorm(build("seed", 64), images[:, :, :])
