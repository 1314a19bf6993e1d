"""Transfer learning from the ImageNet backbone: the head first, then the top blocks.

Features learned from ImageNet's 1.3 M photographs carry to hospitals the training
collections never saw much further than features learned from 2,850 X-rays (issue #9's
probe: external AUC 0.82-0.87 for a linear head on frozen Lite0 features, 0.76 for the
seed network). The recipe is the usual one:

1. load the ImageNet weights and fit the one-unit head on the frozen backbone's pooled
   features, computed once per image (seconds, not an epoch a minute);
2. unfreeze the top blocks and fine-tune them, with the head, at a low learning rate
   under the strong augmentation; batch norm stays frozen (inference statistics, no
   updates), because the batches are small and augmented and the ImageNet statistics are
   the ones the unfrozen weights were trained with.

Plain functions over a Keras model and the uint8 caches; TensorFlow is imported lazily.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.errors import DatasetError
from core.evaluation.metrics import fit_logistic, predict_logistic, roc_auc
from core.model.preprocess import to_network

ProgressFn = Callable[[int, int, str], None]

#: L2 strengths tried for the head; the one with the lowest validation log-loss wins.
HEAD_L2 = (1.0, 10.0, 100.0, 1000.0)


@dataclass(frozen=True)
class HeadFit:
    """What the first stage did, for the card."""

    l2: float
    val_loss: float
    val_auc: float
    trainable_from: str
    trainable_weights: int
    frozen_weights: int

    def to_dict(self) -> dict:
        return {
            "head_l2": self.l2,
            "head_val_loss": round(self.val_loss, 4),
            "head_val_auc": round(self.val_auc, 4),
            "fine_tuned_from_block": self.trainable_from,
            "trainable_parameters": self.trainable_weights,
            "frozen_parameters": self.frozen_weights,
        }


def pooled_features(net, images: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """The pooled backbone features of a uint8 (N, S, S) cache (inference mode)."""
    import keras
    import tensorflow as tf

    from core.model.networks import FEATURES
    extractor = keras.Model(net.input, net.get_layer(FEATURES).output)
    fn = tf.function(lambda x: extractor(x, training=False), autograph=False)
    out = [
        fn(tf.convert_to_tensor(to_network(images[i : i + batch_size]))).numpy()
        for i in range(0, len(images), batch_size)
    ]
    width = int(extractor.output.shape[-1])
    return np.concatenate(out) if out else np.zeros((0, width), np.float32)


def fit_head(
    net,
    train_images: np.ndarray,
    train_labels: np.ndarray,
    val_images: np.ndarray,
    val_labels: np.ndarray,
    sample_weight: np.ndarray | None = None,
    on_progress: ProgressFn | None = None,
) -> tuple[float, float, float]:
    """Fit the final Dense(1) on cached pooled features; returns (l2, val loss, val AUC).

    A logistic regression by Newton's method is exact and deterministic where a Keras fit
    would need a learning rate and epochs; the strength of its L2 penalty is chosen on the
    validation split.
    """
    if on_progress:
        on_progress(0, 2, "backbone features of the training images")
    ftr = pooled_features(net, train_images)
    if on_progress:
        on_progress(1, 2, "backbone features of the validation images")
    fva = pooled_features(net, val_images)
    best = None
    for l2 in HEAD_L2:
        w, b = fit_logistic(ftr, train_labels, l2=l2, sample_weight=sample_weight)
        q = np.clip(predict_logistic(fva, w, b), 1e-7, 1 - 1e-7)
        y = val_labels.astype(np.float64)
        loss = float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))
        if best is None or loss < best[0]:
            best = (loss, l2, w, b, roc_auc(val_labels, q))
    assert best is not None
    loss, l2, w, b, auc = best
    head = net.get_layer("prob")
    head.set_weights([w.reshape(-1, 1).astype(np.float32), np.array([b], np.float32)])
    if on_progress:
        on_progress(2, 2, f"head fitted (validation AUC {auc:.3f})")
    return l2, loss, auc


def freeze_below(net, block: str) -> tuple[int, int]:
    """Freeze every layer before the first one named ``block*`` (and every batch norm);
    returns (trainable, frozen) parameter counts."""
    import keras

    from core.model.lite0 import BLOCKS

    # "none": the whole backbone stays frozen and only the head trains (the bundled
    # model's recipe since issue #19)
    if block not in BLOCKS and block not in ("top", "none"):
        raise DatasetError(
            f"unknown block {block!r}; choose one of {', '.join(BLOCKS)}, top, none")
    trainable = False
    for layer in net.layers:
        if layer.name.startswith(block):
            trainable = True
        if isinstance(layer, keras.layers.BatchNormalization):
            # Keras 3: a non-trainable batch norm also runs in inference mode.
            layer.trainable = False
        else:
            layer.trainable = trainable or layer.name in ("prob", "drop_head")
    n_train = int(sum(np.prod(w.shape) for w in net.trainable_weights))
    n_frozen = int(sum(np.prod(w.shape) for w in net.non_trainable_weights))
    return n_train, n_frozen


def start_from_imagenet(
    net,
    train_images: np.ndarray,
    train_labels: np.ndarray,
    val_images: np.ndarray,
    val_labels: np.ndarray,
    unfreeze_from: str,
    sample_weight: np.ndarray | None = None,
    on_progress: ProgressFn | None = None,
) -> HeadFit:
    """Stage 1: ImageNet weights in, head fitted on frozen features, top blocks unfrozen."""
    from core.model.lite0 import IMAGENET_WEIGHTS, load_backbone_weights

    load_backbone_weights(net, IMAGENET_WEIGHTS)
    l2, loss, auc = fit_head(
        net, train_images, train_labels, val_images, val_labels, sample_weight, on_progress
    )
    n_train, n_frozen = freeze_below(net, unfreeze_from)
    return HeadFit(l2, loss, auc, unfreeze_from, n_train, n_frozen)
