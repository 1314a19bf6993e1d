"""Train a model from a dataset folder: the seed recipe plus what a clinician needs.

Everything here is plain Python with callables for progress and cancellation; the GUI's
training tab and the ``covidcxr train`` command are two skins over :func:`train`.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace

import numpy as np

from core.errors import (
    CovidCXRError,
    DatasetError,
    OutOfMemory,
    StoppedBeforeFirstEpoch,
    is_out_of_memory,
)
from core.files.dataset import DatasetIndex, scan
from core.model.cache import Decoded, decode, near_duplicates
from core.model.disk import read_card
from core.model.preprocess import U8_SCALE
from core.training.callbacks import MONITOR, progress_callback
from core.training.finalise import TrainResult, finalize
from core.training.recipe import BatchFn, EpochFn, ProgressFn, StopFn, TrainConfig


def make_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    cfg: TrainConfig,
    training: bool,
    weights: np.ndarray | None = None,
):
    """tf.data over the uint8 cache: shuffle, augment, batch, prefetch. Floats only per batch."""
    import tensorflow as tf

    from core.training.augment import augment

    x = images[..., None]
    parts = (
        (x, labels.astype(np.float32))
        if weights is None
        else (x, labels.astype(np.float32), weights.astype(np.float32))
    )
    ds = tf.data.Dataset.from_tensor_slices(parts)
    if training:
        ds = ds.shuffle(len(images), seed=cfg.seed, reshuffle_each_iteration=True)

    def prep(img, *rest):
        f = tf.cast(img, tf.float32) / U8_SCALE
        if training:
            f = augment(f, flip=cfg.flip, strong=cfg.strong_augment, equalized=cfg.equalize)
        return (f, *rest)

    ds = ds.map(prep, num_parallel_calls=tf.data.AUTOTUNE, deterministic=not training)
    ds = ds.batch(cfg.batch_size)
    if training and cfg.max_train_batches:
        ds = ds.take(cfg.max_train_batches)
    return ds.prefetch(tf.data.AUTOTUNE)


def check_dataset(index: DatasetIndex, decoded: Decoded, cfg: TrainConfig) -> list[str]:
    """Refuse to train on a leaky or degenerate dataset; returns warnings otherwise."""
    problems = index.problems()
    if problems:
        raise DatasetError("; ".join(problems))
    dups = near_duplicates(decoded)
    warnings = (
        [f"{len(decoded.unreadable)} unreadable file(s) skipped"] if decoded.unreadable else []
    )
    if dups:
        listing = "; ".join(f"{a.name} ~ {b.name}" for a, b, _ in dups[:5])
        msg = f"{len(dups)} near-duplicate image pair(s) across splits ({listing})"
        if not cfg.ignore_duplicates:
            raise DatasetError(
                msg + ": this leaks test images into training. Remove them, "
                "or pass --ignore-duplicates to train anyway"
            )
        warnings.append(msg + " (ignored on request)")
    return warnings


def train(
    dataset: str | os.PathLike[str] | DatasetIndex,
    cfg: TrainConfig,
    *,
    on_progress: ProgressFn | None = None,
    on_batch: BatchFn | None = None,
    on_epoch: EpochFn | None = None,
    should_stop: StopFn | None = None,
    decoded: Decoded | None = None,
) -> TrainResult:
    """Train, calibrate, choose the threshold, fit the OOD detector, evaluate on test.

    The network is built and fitted under ``cfg.strategy`` (:mod:`core.training.distribute`);
    calibration, the OOD detector and the evaluation then run on a plain float32 copy of
    the chosen weights, the same on every worker, so what is saved never depends on where
    it was trained.

    Raises :class:`~core.errors.Cancelled` when ``should_stop`` ends the reading,
    :class:`~core.errors.StoppedBeforeFirstEpoch` when it ends training with no epoch
    done, and :class:`~core.errors.OutOfMemory` when the machine or the GPU runs out."""
    try:
        return _train(dataset, cfg, on_progress=on_progress, on_batch=on_batch,
                      on_epoch=on_epoch, should_stop=should_stop, decoded=decoded)
    except CovidCXRError:
        raise
    except Exception as exc:  # TensorFlow's ResourceExhaustedError has no importable name
        if is_out_of_memory(exc):  # MemoryError included
            raise OutOfMemory() from exc
        raise


def _train(
    dataset: str | os.PathLike[str] | DatasetIndex,
    cfg: TrainConfig,
    *,
    on_progress: ProgressFn | None,
    on_batch: BatchFn | None,
    on_epoch: EpochFn | None,
    should_stop: StopFn | None,
    decoded: Decoded | None,
) -> TrainResult:
    import keras

    from core.model.networks import build
    from core.training.distribute import choose, distribute_options, placed

    placement = choose(cfg.strategy)  # first: a multi-worker strategy precedes all TF work
    t_start = time.monotonic()
    if cfg.init_from:
        cfg = cfg.starting_from(read_card(cfg.init_from), cfg.init_from)
    index = (
        dataset
        if isinstance(dataset, DatasetIndex)
        else scan(dataset, positive=cfg.positive, seed=cfg.seed)
    )
    spec = cfg.spec
    if decoded is None:
        decoded = decode(
            index,
            spec,
            skip_unreadable=cfg.skip_unreadable,
            on_progress=on_progress,
            should_stop=should_stop,
        )
    warnings = check_dataset(index, decoded, cfg)
    tr, va = decoded.splits["train"], decoded.splits["val"]

    keras.utils.set_random_seed(cfg.seed)
    start_weights = None
    if cfg.init_from:
        from core.model.loading import load_model

        start = load_model(cfg.init_from)
        if start.input_size != cfg.input_size:
            raise DatasetError(
                f"starting model input {start.input_size} differs from {cfg.input_size}"
            )
        start_weights = start.keras_model.get_weights()

    # Every variable (network, optimizer, metrics) is made inside the strategy's scope.
    with placed(placement):
        net = build(cfg.architecture, cfg.input_size)
        if start_weights is not None:
            net.set_weights(start_weights)
        weights = None
        if cfg.class_weights:
            n, pos = len(tr.labels), int(tr.labels.sum())
            w = {1: n / (2.0 * max(pos, 1)), 0: n / (2.0 * max(n - pos, 1))}
            weights = np.where(tr.labels == 1, w[1], w[0])
        transfer: dict = {}
        if cfg.architecture == "lite0":
            from core.training.transfer import freeze_below, start_from_imagenet

            if cfg.start_from == "imagenet" and not cfg.init_from:
                head = start_from_imagenet(
                    net,
                    tr.images,
                    tr.labels,
                    va.images,
                    va.labels,
                    cfg.unfreeze_from,
                    weights,
                    on_progress,
                )
                transfer = {"start": "ImageNet EfficientNet-Lite0", **head.to_dict()}
            elif not cfg.init_from:
                # Random weights have no features worth keeping: every layer, batch norm
                # included, trains (freezing below a block would freeze noise).
                transfer = {"start": "random weights", "fine_tuned_from_block": "all layers"}
            else:
                n_train, n_frozen = freeze_below(net, cfg.unfreeze_from)
                transfer = {
                    "start": cfg.init_from,
                    "fine_tuned_from_block": cfg.unfreeze_from,
                    "trainable_parameters": n_train,
                    "frozen_parameters": n_frozen,
                }
        net.compile(
            optimizer=keras.optimizers.Adam(cfg.learning_rate),
            loss="binary_crossentropy",
            metrics=["accuracy", keras.metrics.AUC(name="auc")],
        )
    # batch_size is per replica: the global batch grows with the devices.
    per_step = replace(cfg, batch_size=cfg.batch_size * placement.replicas)
    train_ds = distribute_options(
        make_dataset(tr.images, tr.labels, per_step, True, weights), placement)
    val_ds = distribute_options(make_dataset(va.images, va.labels, per_step, False), placement)

    progress_cb = progress_callback(on_batch, on_epoch, should_stop)
    # EarlyStopping decides when to stop, nothing else: the progress callback alone keeps
    # and restores the best epoch's weights (core.training.callbacks).
    early = keras.callbacks.EarlyStopping(
        monitor=MONITOR,
        min_delta=cfg.min_delta,
        patience=cfg.patience,
        restore_best_weights=False,
    )
    if placement.multiworker:
        from core.training.distribute import fit_multiworker

        hist = fit_multiworker(net, placement, train_ds, val_ds, cfg.epochs,
                               [progress_cb, early], per_step.batch_size)
    else:
        history = net.fit(
            train_ds,
            validation_data=val_ds,
            epochs=cfg.epochs,
            verbose=0,
            callbacks=[progress_cb, early],
        )
        hist = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    if progress_cb.stopped_by_user and progress_cb.best_weights is None:
        raise StoppedBeforeFirstEpoch
    if placement.replicas > 1 or placement.precision != "float32":
        # A plain float32 copy: what is measured and saved carries neither the strategy's
        # variables nor float16 layers (a mixed-precision model would run float16 on CPU).
        plain = build(cfg.architecture, cfg.input_size)
        plain.set_weights(net.get_weights())
        net = plain

    result = finalize(
        net,
        index,
        decoded,
        cfg,
        history=hist,
        best_epoch=progress_cb.best_epoch,
        stopped_by_user=progress_cb.stopped_by_user,
        warnings=warnings,
        seconds=time.monotonic() - t_start,
        on_progress=on_progress,
        transfer=transfer,
    )
    result.card.training.update(placement.describe())
    return replace(result, chief=placement.chief)

