"""Train a model from a dataset folder: the seed recipe plus what a clinician needs.

Everything here is plain Python with callables for progress and cancellation; the GUI's
training tab and the ``covidcxr train`` command are two skins over :func:`train`.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import sys
import time
import weakref
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from core.card import ModelCard
from core.dataset import DatasetIndex, Decoded, decode, near_duplicates, scan
from core.errors import DatasetError
from core.preprocess import PreprocessSpec

EpochFn = Callable[[dict], None]
BatchFn = Callable[[dict], None]
ProgressFn = Callable[[int, int, str], None]
StopFn = Callable[[], bool]


@dataclass
class TrainConfig:
    """The recipe. Defaults are the seed's; the bundled model's are in models/README.md."""

    architecture: str = "seed"
    input_size: int = 256
    epochs: int = 100
    batch_size: int = 32
    learning_rate: float = 1e-3
    patience: int = 10
    min_delta: float = 0.01
    flip: bool = True
    strong_augment: bool = False
    class_weights: bool = True
    crop: float = 1.0
    equalize: bool = False
    seed: int = 0
    positive: str | None = None
    init_from: str | None = None
    ignore_duplicates: bool = False
    skip_unreadable: bool = False
    min_sensitivity: float = 0.95
    max_train_batches: int | None = None  # cap per epoch (quick experiments, tests)
    # Off by default: on run d it lowered validation AUC from 0.914 to 0.902.
    reestimate_bn: bool = False
    #: Transfer learning (architecture lite0): start from the ImageNet backbone (else from
    #: random weights) and fine-tune from this block up; the blocks below stay frozen.
    start_from: str = "imagenet"
    unfreeze_from: str = "block5a"
    #: Where to train (core.distribute.STRATEGIES); batch_size is per replica, so the
    #: global batch grows with the number of devices.
    strategy: str = "auto"

    @property
    def spec(self) -> PreprocessSpec:
        return PreprocessSpec(size=self.input_size, crop=self.crop, equalize=self.equalize)


def transfer_recipe(**overrides) -> TrainConfig:
    """The bundled model's recipe: the ImageNet EfficientNet-Lite0 backbone, head first on
    cached features, then blocks 5a-7a (``TrainConfig.unfreeze_from``) fine-tuned at a low
    learning rate under strong augmentation, on the central 80 % of the image, equalised,
    at 128 px (a resolution bottleneck; models/README.md measures each choice). The
    training tab's "Start from: ImageNet backbone" and ``covidcxr train --architecture
    lite0`` start from here."""
    base = TrainConfig(
        architecture="lite0",
        input_size=128,
        epochs=10,
        learning_rate=1e-4,
        patience=3,
        strong_augment=True,
        crop=0.8,
        equalize=True,
    )
    return replace(base, **overrides)


@dataclass
class TrainResult:
    keras_model: object
    card: ModelCard
    ood: object
    history: dict[str, list[float]]
    best_epoch: int
    stopped_by_user: bool
    val: dict = field(default_factory=dict)
    test: dict = field(default_factory=dict)
    #: False on the workers of a multi-worker run that must not write the model.
    chief: bool = True


def _keras_callback(
    on_batch: BatchFn | None,
    on_epoch: EpochFn | None,
    should_stop: StopFn | None,
    monitor: str = "val_loss",
):
    import keras

    class ProgressCallback(keras.callbacks.Callback):
        """Reports per batch and per epoch; stops within one batch when asked, keeping the
        best weights seen so far (by ``monitor``)."""

        def __init__(self) -> None:
            super().__init__()
            self.best = np.inf
            self.best_epoch = -1
            self.best_weights = None
            self.stopped_by_user = False
            self.partial_epoch = -1
            self.epoch = 0
            self.t0 = time.monotonic()

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            if on_batch:
                on_batch(
                    {
                        "epoch": self.epoch,
                        "batch": batch,
                        **{k: float(v) for k, v in (logs or {}).items()},
                    }
                )
            if should_stop and should_stop():
                self.stopped_by_user = True
                self.partial_epoch = self.epoch
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            logs = {k: float(v) for k, v in (logs or {}).items()}
            value = logs.get(monitor, np.inf)
            # Keras still validates an epoch cut short by a stop request; its weights saw
            # only part of the data, so it never counts as the best epoch.
            partial = epoch == self.partial_epoch
            if value < self.best and not partial:
                self.best, self.best_epoch = value, epoch
                self.best_weights = self.model.get_weights()
            if on_epoch:
                on_epoch(
                    {
                        "epoch": epoch,
                        "partial": partial,
                        "best_epoch": self.best_epoch,
                        "elapsed": time.monotonic() - self.t0,
                        **logs,
                    }
                )
            if should_stop and should_stop():
                self.stopped_by_user = True
                self.model.stop_training = True

        def on_train_end(self, logs=None):
            if self.stopped_by_user and self.best_weights is not None:
                self.model.set_weights(self.best_weights)

    return ProgressCallback()


def make_dataset(
    images: np.ndarray,
    labels: np.ndarray,
    cfg: TrainConfig,
    training: bool,
    weights: np.ndarray | None = None,
):
    """tf.data over the uint8 cache: shuffle, augment, batch, prefetch. Floats only per batch."""
    import tensorflow as tf

    from core.augment import augment

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
        f = tf.cast(img, tf.float32) / 255.0
        if training:
            f = augment(f, flip=cfg.flip, strong=cfg.strong_augment, equalized=cfg.equalize)
        return (f, *rest)

    ds = ds.map(prep, num_parallel_calls=tf.data.AUTOTUNE, deterministic=not training)
    ds = ds.batch(cfg.batch_size)
    if training and cfg.max_train_batches:
        ds = ds.take(cfg.max_train_batches)
    return ds.prefetch(tf.data.AUTOTUNE)


_FORWARDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def predict_u8(
    keras_model, images: np.ndarray, batch_size: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """Raw P(COVID) and penultimate features for a uint8 cache (no calibration)."""
    import keras
    import tensorflow as tf

    from core.model import FEATURES
    from core.preprocess import to_network

    cached = _FORWARDS.get(keras_model)
    if cached is None:
        two = keras.Model(
            keras_model.input, [keras_model.output, keras_model.get_layer(FEATURES).output]
        )
        forward = tf.function(
            lambda x: two(x, training=False), autograph=False, reduce_retracing=True
        )
        cached = _FORWARDS[keras_model] = (forward, int(two.outputs[1].shape[-1]))
    forward, width = cached
    probs, feats = [], []
    for i in range(0, len(images), batch_size):
        p, f = forward(tf.convert_to_tensor(to_network(images[i : i + batch_size])))
        probs.append(p.numpy().reshape(-1))
        feats.append(f.numpy())
    if not probs:
        return np.zeros(0, np.float32), np.zeros((0, width), np.float32)
    return np.concatenate(probs), np.concatenate(feats)


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

    The network is built and fitted under ``cfg.strategy`` (:mod:`core.distribute`);
    calibration, the OOD detector and the evaluation then run on a plain float32 copy of
    the chosen weights, the same on every worker, so what is saved never depends on where
    it was trained."""
    import keras

    from core.distribute import choose, distribute_options, placed
    from core.model import build

    placement = choose(cfg.strategy)  # first: a multi-worker strategy precedes all TF work
    t_start = time.monotonic()
    if cfg.init_from:
        # Fine-tuning inherits the starting model's contract: its architecture, input size
        # and preprocessing, or its weights would see images they were not trained on.
        from core.card import read_card

        start_card = read_card(cfg.init_from)
        start_spec = start_card.spec
        cfg = replace(
            cfg,
            architecture=start_card.architecture,
            input_size=start_spec.size,
            crop=start_spec.crop,
            equalize=start_spec.equalize,
        )
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
        from core.model import load_model

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
            from core.transfer import freeze_below, start_from_imagenet

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

    progress_cb = _keras_callback(on_batch, on_epoch, should_stop)
    early = keras.callbacks.EarlyStopping(
        monitor="val_loss",
        min_delta=cfg.min_delta,
        patience=cfg.patience,
        restore_best_weights=True,
    )
    if placement.multiworker:
        from core.distribute import fit_multiworker

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
    if progress_cb.best_weights is not None and not progress_cb.stopped_by_user:
        # EarlyStopping restores only when it fired; keep the best epoch in every case.
        net.set_weights(progress_cb.best_weights)
    if progress_cb.stopped_by_user and progress_cb.best_weights is None:
        raise DatasetError("training was stopped before the first epoch finished")
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
    result.chief = placement.chief
    return result


def reestimate_batchnorm(net, images: np.ndarray, batch_size: int = 64) -> bool:
    """Recompute batch-norm statistics on clean (unaugmented) training images.

    The moving averages learned during training describe augmented images (blurred, noisy,
    re-contrasted); inference sees clean ones. With them, run d's validation predictions
    flipped between all-positive and all-negative from one epoch to the next. A pass over
    the clean training set with a fast momentum recomputes them ("precise BN"). On run d's
    best weights it did not help (validation AUC 0.914 -> 0.902), so it is opt-in
    (``TrainConfig.reestimate_bn``). Returns False when the network has no batch norm.
    """
    import keras

    bns = [layer for layer in net.layers if isinstance(layer, keras.layers.BatchNormalization)]
    if not bns or not len(images):
        return False
    saved = [bn.momentum for bn in bns]
    trainable = net.trainable
    try:
        for bn in bns:
            bn.momentum = 0.9
        order = np.random.default_rng(0).permutation(len(images))
        for _ in range(2):
            for i in range(0, len(order), batch_size):
                x = images[np.sort(order[i : i + batch_size])].astype(np.float32)[..., None] / 255.0
                net(x, training=True)  # updates moving statistics; no gradient step
    finally:
        for bn, m in zip(bns, saved, strict=True):
            bn.momentum = m
        net.trainable = trainable
    return True


def finalize(
    net,
    index: DatasetIndex,
    decoded: Decoded,
    cfg: TrainConfig,
    *,
    history: dict,
    best_epoch: int,
    stopped_by_user: bool,
    warnings: list[str],
    seconds: float,
    on_progress: ProgressFn | None = None,
    transfer: dict | None = None,
) -> TrainResult:
    """After the weights are chosen: batch-norm statistics, calibration, threshold, OOD
    detector, test evaluation and the model card."""
    from core import evaluation
    from core.metrics import apply_platt, choose_threshold, fit_platt, summary
    from core.model import device_name
    from core.ood import UNUSUAL_PERCENTILE, fit_ood

    hist = history
    tr, va, te = decoded.splits["train"], decoded.splits["val"], decoded.splits["test"]
    spec = cfg.spec
    t_start = time.monotonic() - seconds
    if on_progress:
        on_progress(0, 1, "calibrating and fitting the OOD detector")
    bn_fixed = cfg.reestimate_bn and reestimate_batchnorm(net, tr.images)
    val_raw, val_feats = predict_u8(net, va.images)
    a, b = fit_platt(va.labels, val_raw)
    val_p = apply_platt(val_raw, a, b)
    threshold = choose_threshold(va.labels, val_p, cfg.min_sensitivity)
    _, train_feats = predict_u8(net, tr.images)
    ood = fit_ood(train_feats, tr.thumbs, held_out=(val_feats, va.thumbs))

    elapsed = time.monotonic() - t_start
    card = ModelCard(
        name=f"covidcxr-{cfg.architecture}-{_dt.datetime.now():%Y%m%d-%H%M}",
        architecture=cfg.architecture,
        input_size=cfg.input_size,
        threshold=float(threshold),
        threshold_rule=(
            f"lowest false-positive rate with sensitivity >= {cfg.min_sensitivity}"
            " on the validation split (after calibration)"
        ),
        calibration={"method": "platt", "a": a, "b": b, "fitted_on": "validation split"},
        preprocess=spec.to_dict(),
        training={
            "dataset": str(index.root),
            "split_source": index.split_source,
            "classes": index.classes,
            "positive_class": index.positive,
            "counts": index.counts(),
            "sources": index.sources(),
            "warnings": warnings,
            "config": {k: v for k, v in asdict(cfg).items()},
            "epochs_run": len(hist.get("loss", [])),
            "best_epoch": best_epoch + 1,
            "stopped_by_user": stopped_by_user,
            "batchnorm_reestimated_on_clean_train": bn_fixed,
            "transfer": transfer or {},
            "seconds": round(elapsed, 1),
            "hardware": f"{device_name()}; {platform.platform()}",
            "history": hist,
        },
        ood={
            "percentile": UNUSUAL_PERCENTILE,
            "cut_offs_from": "validation split (fitted on the training split)",
            "method": "unusual (assessed, flagged): max(feature Mahalanobis, thumbnail PCA "
            "residual) / cut-off > 1; not a frontal chest X-ray (NOT ASSESSED): the lung-field "
            "anatomy check, or no radiograph structure",
        },
    )
    result = TrainResult(net, card, ood, hist, best_epoch, stopped_by_user)
    # Validation metrics at the chosen threshold (what the threshold was tuned on).
    result.val = summary(va.labels, val_p, threshold)
    if len(te.labels) and len(set(te.labels.tolist())) == 2:
        if on_progress:
            on_progress(0, 1, "evaluating on the test split")
        from core.model import LoadedModel, bundled_anatomy

        model = LoadedModel(net, card, ood, anatomy=bundled_anatomy())
        result.test = evaluation.evaluate_decoded(model, te, index)
    card.metrics = {"validation": _slim(result.val), "test": _slim(result.test)}
    return result


def _slim(m: dict) -> dict:
    """Metrics for the card: drop the long ROC list, keep the rest."""
    return {k: v for k, v in m.items() if k != "roc"} if m else {}


# ---------------------------------------------------------------------------------------
# Command line


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    """Recipe options default to None: the architecture's recipe fills what is not given
    (the seed's for seed/seed_gap, :func:`transfer_recipe` for lite0)."""
    d = TrainConfig()
    t = transfer_recipe()

    def both(field: str) -> str:
        return f"default: {getattr(d, field)}; lite0: {getattr(t, field)}"

    p.add_argument(
        "dataset",
        help="folder with one sub-folder per class (optionally "
        "train/val/test folders and a manifest.csv)",
    )
    p.add_argument("--output", "-o", required=True, help="model file to write (.keras)")
    p.add_argument(
        "--architecture", default=d.architecture, choices=["seed", "seed_gap", "lite0"]
    )
    p.add_argument("--input-size", type=int, help="network input in pixels (" + both("input_size") + ")")
    p.add_argument(
        "--start-from",
        choices=["imagenet", "scratch"],
        help="lite0: ImageNet backbone (head first, then fine-tune) or random weights",
    )
    p.add_argument(
        "--unfreeze-from",
        help="lite0: fine-tune this block and those above it (block1a ... block7a, top; "
        f"default {t.unfreeze_from})",
    )
    p.add_argument("--epochs", type=int, help=both("epochs"))
    p.add_argument("--batch-size", type=int, help=both("batch_size"))
    p.add_argument("--learning-rate", type=float, help=both("learning_rate"))
    p.add_argument("--patience", type=int, help=both("patience"))
    p.add_argument("--min-delta", type=float, help=both("min_delta"))
    p.add_argument("--no-flip", dest="flip", action="store_false", default=None)
    p.add_argument(
        "--strong-augment",
        action="store_true",
        default=None,
        help="contrast, gamma, blur, noise, JPEG, crop/scale, rotation (lite0: on)",
    )
    p.add_argument(
        "--no-class-weights", dest="class_weights", action="store_false", default=None
    )
    p.add_argument(
        "--crop",
        type=float,
        help="central fraction of each axis the network sees (1.0 = whole image; "
        + both("crop")
        + ")",
    )
    p.add_argument(
        "--equalize", action="store_true", default=None, help="histogram equalisation (lite0: on)"
    )
    p.add_argument("--seed", type=int)
    p.add_argument("--positive", help="name of the positive class folder (default: *covid*)")
    p.add_argument("--init-from", help="start from this model's weights")
    p.add_argument("--ignore-duplicates", action="store_true", default=None)
    p.add_argument("--skip-unreadable", action="store_true", default=None)
    p.add_argument("--max-train-batches", type=int)
    p.add_argument(
        "--reestimate-bn",
        action="store_true",
        default=None,
        help="recompute batch-norm statistics on clean training images at the end",
    )
    from core.distribute import STRATEGIES

    p.add_argument(
        "--strategy",
        choices=STRATEGIES,
        help="where to train: auto (all GPUs when there are several, else one device), one, "
        "mirrored (every GPU, or every logical CPU device), multiworker (machines named by "
        "TF_CONFIG); --batch-size is per device (default auto)",
    )
    p.add_argument("--name", help="model name for the card")
    p.add_argument("--notes", default="")


def config_from_arguments(args: argparse.Namespace) -> TrainConfig:
    """The architecture's recipe, with what the command line gave on top."""
    base = transfer_recipe() if args.architecture == "lite0" else TrainConfig()
    fields = TrainConfig.__dataclass_fields__
    given = {k: v for k, v in vars(args).items() if k in fields and v is not None}
    return replace(base, **given)


def run_training_cli(args: argparse.Namespace) -> int:
    from core.model import save_model

    cfg = config_from_arguments(args)
    out = Path(args.output)
    if out.suffix != ".keras":
        raise DatasetError("--output must end in .keras")
    index = scan(args.dataset, positive=cfg.positive, seed=cfg.seed)
    print(f"dataset {index.root} ({index.split_source}); positive class: {index.positive}")
    for split, per in index.counts().items():
        print(
            f"  {split:5s} "
            + "  ".join(f"{c}={n}" for c, n in per.items())
            + f"  total={sum(per.values())}"
        )

    def epoch_line(e: dict) -> None:
        keys = ("loss", "accuracy", "auc", "val_loss", "val_accuracy", "val_auc")
        vals = " ".join(f"{k}={e[k]:.4f}" for k in keys if k in e)
        print(f"epoch {e['epoch'] + 1:3d} {vals} ({e['elapsed']:.0f} s)", flush=True)

    def progress(done: int, total: int, msg: str) -> None:
        print(f"  {msg}: {done}/{total}", file=sys.stderr, flush=True)

    result = train(index, cfg, on_epoch=epoch_line, on_progress=progress)
    t = result.card.training
    print(f"trained under {t['strategy']} ({t['replicas']} replica(s), {t['precision']})")
    if not result.chief:
        print(f"not the chief worker: {out} is written by the chief only")
        return 0
    if args.name:
        result.card.name = args.name
    result.card.notes = args.notes
    save_model(result.keras_model, result.card, out, result.ood)
    from core.evaluation import print_report

    print(f"best epoch {result.best_epoch + 1}; threshold {result.card.threshold:.4f}")
    print_report(result.test or result.val, "test" if result.test else "validation")
    print(f"wrote {out} and {out.stem}.card.json")
    if result.test:
        print(
            json.dumps(
                {"test_auc": result.test.get("auc"), "probe": result.test.get("probe")}, indent=None
            )
        )
    return 0
