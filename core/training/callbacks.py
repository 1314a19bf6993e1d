"""The Keras callback that reports progress, obeys Stop and keeps the best epoch's weights."""

from __future__ import annotations

import time

import numpy as np

from core.training.recipe import BatchFn, EpochFn, StopFn


def progress_callback(
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

