"""The Keras callback that reports progress, obeys Stop and keeps the best epoch's weights.

One rule decides which epoch is best, :func:`is_improvement`, and one object keeps its
weights, this callback; ``EarlyStopping`` only decides *when* to stop (its own
``restore_best_weights`` stays off: in Keras 3 it restores whenever it holds weights, and
two keepers with two rules disagreed after a Stop). Keras is imported inside
:func:`progress_callback`, so importing this module stays cheap.
"""

from __future__ import annotations

import math
import time
from typing import Any

from core.training.recipe import BatchFn, EpochFn, StopFn

#: The quantity whose lowest value marks the best epoch.
MONITOR = "val_loss"


def is_improvement(value: float, best: float) -> bool:
    """The best epoch is the completed epoch with the lowest validation loss (strictly
    lower than every earlier one; ``min_delta`` is patience's rule for "still improving
    enough to wait", not this one)."""
    return math.isfinite(value) and value < best


def batch_loss(batch: int, running_mean: float, previous_mean: float) -> float:
    """This batch's own loss from Keras's running mean of the epoch so far (exact for
    equal batches; the last batch of an epoch may be smaller)."""
    if batch == 0:
        return running_mean
    return (batch + 1) * running_mean - batch * previous_mean


def progress_callback(
    on_batch: BatchFn | None,
    on_epoch: EpochFn | None,
    should_stop: StopFn | None,
) -> Any:
    """A ``keras.callbacks.Callback`` that reports every batch (``on_batch``: epoch, batch,
    Keras's logs and ``batch_loss``) and epoch (``on_epoch``: epoch, ``partial``,
    ``best_epoch``, ``elapsed`` and the logs), stops within one batch when
    ``should_stop()`` says so, and at the end of training, however it ended, restores the
    weights of the best completed epoch (:func:`is_improvement`). An epoch cut short by
    Stop never counts: its weights saw only part of the data."""
    import keras

    class ProgressCallback(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.best = math.inf
            self.best_epoch = -1
            self.best_weights: list[Any] | None = None
            self.stopped_by_user = False
            self.partial_epoch = -1
            self.epoch = 0
            self.t0 = time.monotonic()
            self._mean = 0.0

        def on_train_begin(self, logs: dict | None = None) -> None:
            self.best, self.best_epoch, self.best_weights = math.inf, -1, None
            self.stopped_by_user, self.partial_epoch = False, -1
            self.t0 = time.monotonic()

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.epoch = epoch
            self._mean = 0.0

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            logs = {k: float(v) for k, v in (logs or {}).items()}
            if on_batch:
                mean = logs.get("loss", math.nan)
                on_batch({"epoch": self.epoch, "batch": batch, **logs,
                          "batch_loss": batch_loss(batch, mean, self._mean)})
                self._mean = mean
            if should_stop and should_stop():
                self.stopped_by_user = True
                self.partial_epoch = self.epoch
                self.model.stop_training = True

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            logs = {k: float(v) for k, v in (logs or {}).items()}
            # Keras still validates an epoch cut short by a stop request.
            partial = epoch == self.partial_epoch
            if not partial and is_improvement(logs.get(MONITOR, math.nan), self.best):
                self.best, self.best_epoch = logs[MONITOR], epoch
                self.best_weights = self.model.get_weights()
            if on_epoch:
                on_epoch({"epoch": epoch, "partial": partial, "best_epoch": self.best_epoch,
                          "elapsed": time.monotonic() - self.t0, **logs})
            if should_stop and should_stop():
                self.stopped_by_user = True
                self.model.stop_training = True

        def on_train_end(self, logs: dict | None = None) -> None:
            if self.best_weights is not None:
                self.model.set_weights(self.best_weights)

    return ProgressCallback()
