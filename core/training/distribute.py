"""Where training runs: one device, every GPU of a machine, or several machines, through
TensorFlow's own distribution engine (``tf.distribute``), and in which precision.

- ``auto``: ``MirroredStrategy`` when TensorFlow sees more than one GPU, else the default
  strategy (one device: the GPU if there is one, else the CPU).
- ``one``: ``OneDeviceStrategy`` on the first GPU, else the CPU.
- ``mirrored``: ``MirroredStrategy`` over every GPU, or over every logical CPU device when
  there is no GPU (how the tests split a CPU in two).
- ``multiworker``: ``MultiWorkerMirroredStrategy`` configured by ``TF_CONFIG``, the standard
  way to train across machines; every worker runs the same command, the chief writes.

Mixed precision (``mixed_float16``, the output layer in float32) is used on GPUs with tensor
cores (compute capability 7.0 and up), never on a CPU.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from core.errors import CovidCXRError

STRATEGIES = ("auto", "one", "mirrored", "multiworker")
#: Tensor cores arrived with Volta (7.0); mixed precision speeds nothing up before that.
TENSOR_CORES = (7, 0)


@dataclass(frozen=True)
class Placement:
    """The strategy a training run uses, as the model card records it."""

    strategy: Any  # tf.distribute.Strategy
    name: str
    replicas: int
    chief: bool
    precision: str  # "float32" or "mixed_float16"

    @property
    def multiworker(self) -> bool:
        return self.name.startswith("MultiWorker")

    def describe(self) -> dict[str, Any]:
        return {"strategy": self.name, "replicas": self.replicas, "precision": self.precision}


def tf_config(env: Mapping[str, str] = os.environ) -> dict[str, Any]:
    raw = env.get("TF_CONFIG", "")
    if not raw:
        return {}
    try:
        cfg = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CovidCXRError(f"TF_CONFIG is not valid JSON: {exc}") from None
    if not isinstance(cfg, dict):
        raise CovidCXRError("TF_CONFIG must be a JSON object with 'cluster' and 'task'")
    return cfg


def is_chief(env: Mapping[str, str] = os.environ) -> bool:
    """The worker that writes files: the ``chief`` task, or worker 0 when the cluster names
    no chief (TensorFlow's own convention); a single machine is always the chief."""
    cfg = tf_config(env)
    task = cfg.get("task") or {}
    if not task:
        return True
    kind, index = task.get("type"), int(task.get("index", 0))
    if kind == "chief":
        return True
    return kind == "worker" and index == 0 and "chief" not in (cfg.get("cluster") or {})


def precision_for(compute_capabilities: list[tuple[int, int]]) -> str:
    """``mixed_float16`` when every GPU has tensor cores, else ``float32`` (no GPU: CPU)."""
    if compute_capabilities and all(cc >= TENSOR_CORES for cc in compute_capabilities):
        return "mixed_float16"
    return "float32"


def choose(name: str = "auto") -> Placement:
    """The strategy called ``name``. Call it before any other TensorFlow work in the
    process: a multi-worker strategy must be made before the runtime starts."""
    if name not in STRATEGIES:
        raise CovidCXRError(f"unknown strategy {name!r} (choose from {', '.join(STRATEGIES)})")
    import tensorflow as tf

    if name == "multiworker":
        cfg = tf_config()
        if not cfg.get("cluster"):
            raise CovidCXRError(
                "--strategy multiworker needs TF_CONFIG (the cluster's workers and this "
                "worker's index): see README, 'Training on a server or a cluster'")
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        workers = len(cfg["cluster"].get("worker", [])) + len(cfg["cluster"].get("chief", []))
        label = f"MultiWorkerMirroredStrategy ({workers} workers)"
    else:
        gpus = tf.config.list_logical_devices("GPU")
        cpus = tf.config.list_logical_devices("CPU")
        if name == "one" or (name == "auto" and len(gpus) <= 1):
            if name == "auto":
                strategy = tf.distribute.get_strategy()
                label = "default (one device)"
            else:
                device = (gpus or cpus)[0].name
                strategy = tf.distribute.OneDeviceStrategy(device)
                label = f"OneDeviceStrategy ({device})"
        else:
            devices = [d.name for d in (gpus or cpus)]
            # NCCL all-reduce needs GPUs; on CPU devices reduce on one device instead.
            ops = None if gpus else tf.distribute.ReductionToOneDevice()
            strategy = tf.distribute.MirroredStrategy(devices, cross_device_ops=ops)
            label = f"MirroredStrategy ({len(devices)} {'GPUs' if gpus else 'CPU devices'})"
    capabilities = []
    for gpu in tf.config.list_physical_devices("GPU"):
        cc = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        capabilities.append(tuple(cc) if cc else (0, 0))
    return Placement(strategy, label, int(strategy.num_replicas_in_sync), is_chief(),
                     precision_for(capabilities))


@contextmanager
def placed(placement: Placement) -> Iterator[None]:
    """Build and compile inside this: the strategy's scope and the precision policy
    (restored afterwards: inference in the same process stays float32)."""
    import keras

    before = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy(placement.precision)
    try:
        with placement.strategy.scope():
            yield
    finally:
        keras.mixed_precision.set_global_policy(before)


def distribute_options(dataset: Any, placement: Placement) -> Any:
    """Across machines, shard in-memory data by element (there are no files to shard by)."""
    if not placement.multiworker:
        return dataset
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def fit_multiworker(net: Any, placement: Placement, train_ds: Any, val_ds: Any, epochs: int,
                    callbacks: list[Any], global_batch: int) -> dict[str, list[float]]:
    """``net.fit`` for ``MultiWorkerMirroredStrategy``, which Keras 3's own ``fit`` does not
    run (keras-team/keras#20585: the distributed batch reaches the step as a PerReplica it
    cannot convert). TensorFlow's documented custom loop instead: ``strategy.run`` per step,
    the loss averaged over the global batch, sums reduced across workers. The same Keras
    callbacks receive the same calls and logs, so progress, stop and early stopping
    behave as under ``fit``; every worker sees the same reduced numbers and so stops at
    the same step (a worker stopping alone would leave the others waiting forever)."""
    import keras
    import tensorflow as tf

    strategy = placement.strategy
    bce = keras.losses.BinaryCrossentropy(reduction=None)
    dist_train = strategy.experimental_distribute_dataset(train_ds)
    dist_val = strategy.experimental_distribute_dataset(val_ds)

    def sums(y, p, per_example):
        called = tf.cast(p[:, 0] >= 0.5, tf.float32)
        correct = tf.reduce_sum(tf.cast(tf.equal(called, y), tf.float32))
        return tf.reduce_sum(per_example), correct, tf.cast(tf.shape(y)[0], tf.float32)

    def replica_train(x, y, w=None):
        with tf.GradientTape() as tape:
            p = net(x, training=True)
            per_example = bce(y[:, None], p)
            if w is not None:
                per_example = per_example * w
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch)
        grads = tape.gradient(loss, net.trainable_variables)
        net.optimizer.apply_gradients(zip(grads, net.trainable_variables, strict=True))
        # The weighted loss, as fit reports it with sample weights.
        return sums(y, p, per_example)

    def replica_val(x, y):
        p = net(x, training=False)
        return sums(y, p, bce(y[:, None], p))

    def reduced(values):
        return [strategy.reduce(tf.distribute.ReduceOp.SUM, v, axis=None) for v in values]

    train_step = tf.function(lambda batch: reduced(strategy.run(replica_train, args=batch)))
    val_step = tf.function(lambda batch: reduced(strategy.run(replica_val, args=batch)))

    cbs = keras.callbacks.CallbackList(callbacks, model=net)
    history: dict[str, list[float]] = {}
    net.stop_training = False
    cbs.on_train_begin()
    for epoch in range(epochs):
        cbs.on_epoch_begin(epoch)
        loss = correct = seen = 0.0
        for step, batch in enumerate(dist_train):
            l_, c_, n_ = (float(v) for v in train_step(batch))
            loss, correct, seen = loss + l_, correct + c_, seen + n_
            logs = {"loss": loss / seen, "accuracy": correct / seen}
            cbs.on_train_batch_end(step, logs)
            if net.stop_training:
                break
        if net.stop_training and not seen:
            break
        v_loss = v_correct = v_seen = 0.0
        for batch in dist_val:
            l_, c_, n_ = (float(v) for v in val_step(batch))
            v_loss, v_correct, v_seen = v_loss + l_, v_correct + c_, v_seen + n_
        logs = {"loss": loss / max(seen, 1), "accuracy": correct / max(seen, 1),
                "val_loss": v_loss / max(v_seen, 1), "val_accuracy": v_correct / max(v_seen, 1)}
        for k, v in logs.items():
            history.setdefault(k, []).append(v)
        cbs.on_epoch_end(epoch, logs)
        if net.stop_training:
            break
    cbs.on_train_end()
    return history
