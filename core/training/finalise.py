"""After fitting: calibrate, choose the threshold, fit the OOD detector, measure, write the card."""

from __future__ import annotations

import datetime as _dt
import platform
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from core.evaluation.evaluate import evaluate_decoded
from core.evaluation.metrics import Metrics, choose_threshold, summary
from core.files.dataset import DatasetIndex
from core.model.cache import Decoded
from core.model.calibration import apply_platt, fit_platt
from core.model.card import ModelCard
from core.model.ood import OODModel, fit_ood
from core.model.preprocess import to_network
from core.training.recipe import ProgressFn, TrainConfig


@dataclass(frozen=True)
class TrainResult:
    """A trained model before it is saved: the network, its card and OOD detector, the
    history, and its figures on the validation split (where the threshold was chosen: its
    raw scores, every film counted) and, when the folder has one with both classes, the
    test split (through the classifier, with the probes)."""

    keras_model: Any  # keras.Model (TensorFlow is imported only inside the functions)
    card: ModelCard
    ood: OODModel
    history: dict[str, list[float]]
    #: The epoch whose weights were kept (0-based): the best completed one.
    best_epoch: int
    stopped_by_user: bool
    val: Metrics
    test: Metrics | None = None
    #: False on the workers of a multi-worker run that must not write the model.
    chief: bool = True


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
                x = to_network(images[np.sort(order[i : i + batch_size])])
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
    from core.model.loading import LoadedModel, bundled_anatomy, device_name, predict_u8

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
        ood=ood.describe(),
    )
    # Validation metrics at the chosen threshold, on the very scores it was chosen from:
    # plain arrays made before the card existed, every film counted (not the classifier's
    # answers, which would leave refused films out of what the threshold rule saw).
    val = summary(va.labels, val_p, threshold)
    test = None
    if len(te.labels) and len(set(te.labels.tolist())) == 2:
        if on_progress:
            on_progress(0, 1, "evaluating on the test split")
        model = LoadedModel(net, card, ood, anatomy=bundled_anatomy())
        test = evaluate_decoded(model, te, index)
    # The card keeps the figures without the long ROC list.
    card.metrics = {"validation": val.to_dict(roc=False),
                    "test": test.to_dict(roc=False) if test else {}}
    return TrainResult(net, card, ood, hist, best_epoch, stopped_by_user, val, test)

