"""Chest features: fine-tune the top of the Lite0 backbone on labels that share a collection.

Issue #29. Every linear head on frozen ImageNet features stalls at 0.65-0.69 AUC within
one collection, and those features respond to burned-in text. This recipe changes the
representation itself, with supervision whose classes come from one collection, so that
the collection cannot be the answer:

- **tasks** on one shared backbone: RSNA lung opacity / normal / other findings
  (``rsna-lungs``), NIH findings (multi-label, each label balanced within each view
  position so that AP against PA cannot answer it), and optionally COVID-19 against the
  rest with every (collection, class) cell weighted the same;
- **invariance as a loss**: each film is seen as it is and as an *altered copy* (burned-in
  markers and text, another acquisition: gamma, noise, JPEG, lower resolution, a border);
  the two must give the same pooled features (cosine) and the same task outputs;
- **held close to ImageNet** (L2-SP, Li et al. 2018): the tuned weights are pulled towards
  their ImageNet values rather than towards zero, so the few thousand films refine the
  features instead of replacing them; batch norm keeps ImageNet's statistics.

Only the top of the backbone is tuned (from :attr:`ChestRecipe.split_at` up). On a CPU
that makes many epochs cheap: the frozen lower blocks run once per film and per copy
(:func:`cache_activations`), and training runs the top blocks on that cache.

The tuned backbone keeps the product's network contract (``build_lite0``: pooled
features, one sigmoid unit), so everything above the network (OOD, site check, views,
evidence) works unchanged; the COVID-19 head is then fitted on the new pooled features by
:mod:`core.training.head` (``scripts/build_model.py --chest``).

Plain functions over Keras models and numpy arrays; TensorFlow is imported lazily.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
from PIL import Image

from core.errors import Cancelled, DatasetError
from core.model.preprocess import U8_SCALE

ProgressFn = Callable[[int, int, str], None]
StopFn = Callable[[], bool]

#: Task kinds: one sigmoid unit, a softmax over classes, independent sigmoids.
KINDS = ("binary", "softmax", "multilabel")


@dataclass(frozen=True)
class ChestRecipe:
    """How the top of the backbone is tuned (stored in the card)."""

    #: The frozen lower blocks end here (their output is cached); every layer after it is
    #: tuned. ``block5c_add`` (14 x 14 x 112 at 224 px) tunes block6a-d, block7a and the
    #: 1280-wide top convolution: about a third of the network's arithmetic.
    split_at: str = "block5c_add"
    epochs: int = 6
    #: Films drawn from each task for every step (the batch is the sum over tasks).
    batch_per_task: int = 16
    learning_rate: float = 2e-4
    #: L2-SP: weight of sum((w - w_imagenet)^2) over the tuned kernels.
    l2sp: float = 1e-2
    #: Weight of the invariance terms (features cosine distance, outputs squared difference).
    invariance: float = 1.0
    #: Weight of each task's loss, by task name; a task not named weighs 1.
    task_weights: dict[str, float] = field(default_factory=dict)
    #: Steps in an epoch; None: as many as the largest task needs to be seen once.
    steps_per_epoch: int | None = None
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Task:
    """One supervised task over films of the activation cache.

    ``rows`` index the cache; ``targets`` is (n, k) in {0, 1} (one column for "binary",
    one-hot for "softmax"); ``weights`` is (n, k) (per label for "multilabel") or (n, 1).
    """

    name: str
    kind: str
    classes: tuple[str, ...]
    rows: np.ndarray
    targets: np.ndarray
    weights: np.ndarray

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"task {self.name!r}: kind {self.kind!r} is not one of {KINDS}")
        n = len(self.rows)
        if n == 0:
            raise DatasetError(f"task {self.name!r} has no films")
        if self.targets.shape != (n, len(self.classes)) and not (
            self.kind == "binary" and self.targets.shape == (n, 1)
        ):
            raise ValueError(f"task {self.name!r}: targets {self.targets.shape} for {n} films")
        if self.weights.shape[0] != n:
            raise ValueError(f"task {self.name!r}: {self.weights.shape[0]} weights for {n} films")

    @property
    def units(self) -> int:
        return 1 if self.kind == "binary" else len(self.classes)


def balanced_weights(targets: np.ndarray, strata: np.ndarray) -> np.ndarray:
    """(n, k) weights for independent labels, each label's positives and negatives the same
    total weight *within each stratum* (for NIH: the view position), so the stratum carries
    no information about any label. A stratum where a label is all positive or all
    negative gets no weight for that label."""
    targets = np.asarray(targets, bool)
    strata = np.asarray(strata)
    w = np.zeros(targets.shape, np.float64)
    for s in np.unique(strata):
        rows = strata == s
        for j in range(targets.shape[1]):
            pos, neg = rows & targets[:, j], rows & ~targets[:, j]
            if pos.any() and neg.any():
                w[pos, j] = 0.5 / pos.sum()
                w[neg, j] = 0.5 / neg.sum()
    total = w.sum(0, keepdims=True)
    return (w / np.where(total > 0, total, 1.0) * len(targets)).astype(np.float32)


# --- the altered copy ----------------------------------------------------------------------


def altered_copy(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A radiograph (float32 [0, 1], H x W) as another site might have sent it: burned-in
    markers or text, another exposure curve, lower resolution, sensor noise, JPEG
    compression and sometimes a dark border (collimation). What is in the lungs is left
    as it is; the network must not move."""
    from core.evaluation.markers import draw_markers

    x = draw_markers(pixels, rng) if rng.random() < 0.8 else pixels.astype(np.float32)
    x = np.array(np.clip(x, 0.0, 1.0) ** np.exp(rng.uniform(-0.35, 0.35)), np.float32)
    h, w = x.shape
    if rng.random() < 0.5:  # resolution: down and up again
        f = rng.uniform(0.35, 0.8)
        img = Image.fromarray(x.astype(np.float32), mode="F")
        small = img.resize((max(8, int(w * f)), max(8, int(h * f))), Image.Resampling.BOX)
        x = np.array(small.resize((w, h), Image.Resampling.BILINEAR), np.float32)
    if rng.random() < 0.5:
        x = x + rng.normal(0.0, rng.uniform(0.005, 0.03), x.shape).astype(np.float32)
    if rng.random() < 0.25:  # collimation: a dark band on one side
        band = int(rng.uniform(0.03, 0.1) * (h if rng.random() < 0.5 else w))
        side = rng.integers(4)
        if side == 0:
            x[:band] = 0
        elif side == 1:
            x[-band:] = 0
        elif side == 2:
            x[:, :band] = 0
        else:
            x[:, -band:] = 0
    x = np.clip(x, 0.0, 1.0)
    if rng.random() < 0.5:
        buf = io.BytesIO()
        Image.fromarray(np.rint(x * 255).astype(np.uint8)).save(
            buf, "JPEG", quality=int(rng.integers(25, 90)))
        x = np.asarray(Image.open(io.BytesIO(buf.getvalue())), np.float32) / 255.0
    return x.astype(np.float32)


# --- the network split in two --------------------------------------------------------------


def split_network(net, split_at: str):
    """(lower, upper) Keras models over ``net``'s own layers: ``lower`` maps the network
    input to the activation ``split_at``, ``upper`` maps that activation to the pooled
    features. Training ``upper`` trains ``net``."""
    import keras

    from core.model.networks import FEATURES

    names = [layer.name for layer in net.layers]
    if split_at not in names:
        raise ValueError(f"network {net.name!r} has no layer {split_at!r}")
    boundary = net.get_layer(split_at).output
    lower = keras.Model(net.input, boundary, name="frozen_lower")
    inp = keras.Input(tuple(boundary.shape[1:]), name="cached")
    # Re-apply every layer after the boundary, in order, on the new input: the layers (and
    # their weights) are net's own.
    values = {id(boundary): inp}
    start = names.index(split_at) + 1
    for layer in net.layers[start:]:
        node_inputs = layer._inbound_nodes[0].input_tensors
        args = [values[id(t)] for t in node_inputs]
        out = layer(args if len(args) > 1 else args[0])
        values[id(layer.output)] = out
        if layer.name == FEATURES:
            break
    upper = keras.Model(inp, values[id(net.get_layer(FEATURES).output)], name="tuned_upper")
    return lower, upper


def cache_activations(lower, images_u8: np.ndarray, batch_size: int = 32,
                      should_stop: StopFn | None = None) -> np.ndarray:
    """``lower`` applied to a uint8 (N, S, S) cache, as float16 (N, h, w, c)."""
    import tensorflow as tf

    fn = tf.function(lambda x: lower(x, training=False), autograph=False)
    out = []
    for i in range(0, len(images_u8), batch_size):
        if should_stop and should_stop():
            raise Cancelled("stopped while caching activations")
        x = images_u8[i : i + batch_size].astype(np.float32)[..., None] / U8_SCALE
        out.append(fn(tf.convert_to_tensor(x)).numpy().astype(np.float16))
    shape = tuple(int(d) for d in lower.output.shape[1:])
    return np.concatenate(out) if out else np.zeros((0, *shape), np.float16)


def pooled_from_cache(upper, activations: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """The pooled features of cached activations (inference mode)."""
    import tensorflow as tf

    fn = tf.function(lambda x: upper(x, training=False), autograph=False)
    out = [fn(tf.convert_to_tensor(activations[i : i + batch_size].astype(np.float32))).numpy()
           for i in range(0, len(activations), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, int(upper.output.shape[-1])), np.float32)


# --- training ------------------------------------------------------------------------------


@dataclass
class ChestFit:
    """What :func:`train_chest` did: per-epoch mean losses by term, and the tuned weights'
    distance from ImageNet (relative L2 norm)."""

    history: dict[str, list[float]]
    drift: float
    steps: int
    stopped_by_user: bool = False
    heads: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"history": {k: [round(v, 5) for v in vals] for k, vals in self.history.items()},
                "drift_from_imagenet": round(self.drift, 5), "steps": self.steps,
                "stopped_by_user": self.stopped_by_user}


def tuned_kernels(upper) -> list:
    """The variables L2-SP holds close: every convolution kernel of ``upper`` (batch norm
    stays frozen, with ImageNet's statistics)."""
    return [v for layer in upper.layers if not _is_bn(layer) for v in layer.trainable_weights]


def _is_bn(layer) -> bool:
    import keras

    return isinstance(layer, keras.layers.BatchNormalization)


def train_chest(
    upper,
    plain: np.ndarray,
    altered: np.ndarray | None,
    tasks: list[Task],
    recipe: ChestRecipe,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> ChestFit:
    """Tune ``upper`` (from :func:`split_network`) and one head per task on the cached
    activations ``plain`` (and their ``altered`` copies, same rows) under the recipe.

    Each step draws ``recipe.batch_per_task`` films from every task; an epoch is as many
    steps as the largest task needs to be seen once. Returns the losses per epoch; the
    tuned weights are ``upper``'s (and so the full network's)."""
    import keras
    import tensorflow as tf

    if not tasks:
        raise DatasetError("no tasks to train on")
    if altered is not None and altered.shape != plain.shape:
        raise ValueError(f"altered copies {altered.shape} do not match {plain.shape}")
    for task in tasks:
        if task.rows.max() >= len(plain):
            raise ValueError(f"task {task.name!r} indexes past the cache ({len(plain)} films)")
    keras.utils.set_random_seed(recipe.seed)
    rng = np.random.default_rng(recipe.seed)
    for layer in upper.layers:
        if _is_bn(layer):
            layer.trainable = False
    width = int(upper.output.shape[-1])
    heads = {t.name: keras.layers.Dense(t.units, name=f"head_{t.name}") for t in tasks}
    for t in tasks:
        heads[t.name].build((None, width))
    kernels = tuned_kernels(upper)
    anchors = [tf.constant(v.numpy()) for v in kernels]
    head_vars = [v for h in heads.values() for v in h.trainable_weights]
    variables = kernels + head_vars
    opt = keras.optimizers.Adam(recipe.learning_rate)
    opt.build(variables)
    n_tasks = len(tasks)
    bpt = recipe.batch_per_task
    tw = [float(recipe.task_weights.get(t.name, 1.0)) for t in tasks]

    def task_loss(task: Task, logits, y, w):
        if task.kind == "softmax":
            per = tf.nn.softmax_cross_entropy_with_logits(labels=y, logits=logits)
            return tf.reduce_sum(per * w[:, 0]) / tf.reduce_sum(w[:, 0] + 1e-9)
        per = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits)
        return tf.reduce_sum(per * w) / tf.reduce_sum(w + 1e-9)

    use_alt = altered is not None and recipe.invariance > 0

    @tf.function(autograph=False, reduce_retracing=True)
    def step(xa, xb, ys, ws):
        with tf.GradientTape() as tape:
            fa = upper(xa, training=False)
            fb = upper(xb, training=False) if use_alt else fa
            terms = {}
            total = tf.constant(0.0)
            inv_out = tf.constant(0.0)
            for k, task in enumerate(tasks):
                sl = slice(k * bpt, (k + 1) * bpt)
                la = heads[task.name](fa[sl])
                loss = task_loss(task, la, ys[k], ws[k])
                if use_alt:
                    lb = heads[task.name](fb[sl])
                    loss = 0.5 * (loss + task_loss(task, lb, ys[k], ws[k]))
                    inv_out += tf.reduce_mean(tf.square(la - lb))
                terms[task.name] = loss
                total += tw[k] * loss
            if use_alt:
                cos = tf.reduce_sum(tf.math.l2_normalize(fa, 1) * tf.math.l2_normalize(fb, 1), 1)
                inv_feat = tf.reduce_mean(1.0 - cos)
                terms["invariance"] = inv_feat * 100.0 + inv_out / n_tasks
                total += recipe.invariance * terms["invariance"]
            sp = tf.add_n([tf.reduce_sum(tf.square(v - a)) for v, a in zip(kernels, anchors, strict=True)])
            terms["l2sp"] = sp
            total += recipe.l2sp * sp
            terms["total"] = total
        grads = tape.gradient(total, variables)
        opt.apply_gradients(zip(grads, variables, strict=True))
        return terms

    steps_per_epoch = recipe.steps_per_epoch or max(math.ceil(len(t.rows) / bpt) for t in tasks)
    total_steps = recipe.epochs * steps_per_epoch
    history: dict[str, list[float]] = {}
    done = 0
    stopped = False
    for epoch in range(recipe.epochs):
        sums: dict[str, float] = {}
        orders = [rng.permutation(len(t.rows)) for t in tasks]
        for s in range(steps_per_epoch):
            if should_stop and should_stop():
                stopped = True
                break
            picks = []
            for order in orders:
                start = (s * bpt) % len(order) if len(order) >= bpt else 0
                idx = order[start : start + bpt]
                if len(idx) < bpt:
                    idx = np.r_[idx, order[: bpt - len(idx)]]
                if len(idx) < bpt:  # a task smaller than one batch
                    idx = rng.choice(order, bpt)
                picks.append(idx)
            rows = np.concatenate([t.rows[i] for t, i in zip(tasks, picks, strict=True)])
            xa = plain[rows].astype(np.float32)
            if use_alt:
                assert altered is not None
                # half the time the roles swap, so neither copy is "the" film
                swap = rng.random(len(rows)) < 0.5
                xb = np.where(swap[:, None, None, None], xa, altered[rows].astype(np.float32))
                xa = np.where(swap[:, None, None, None], altered[rows].astype(np.float32), xa)
            else:
                xb = xa
            ys = [tf.constant(t.targets[i].astype(np.float32)) for t, i in zip(tasks, picks, strict=True)]
            ws = [tf.constant(np.asarray(t.weights[i], np.float32).reshape(bpt, -1))
                  for t, i in zip(tasks, picks, strict=True)]
            terms = step(tf.constant(xa), tf.constant(xb), ys, ws)
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + float(v)
            done += 1
            if on_progress and (done % 10 == 0 or done == total_steps):
                on_progress(done, total_steps,
                            f"epoch {epoch + 1}: loss {sums['total'] / (s + 1):.4f}")
        n = max(1, s + (0 if stopped else 1))
        for k, v in sums.items():
            history.setdefault(k, []).append(v / n)
        if stopped:
            break
    num = sum(float(tf.reduce_sum(tf.square(v - a))) for v, a in zip(kernels, anchors, strict=True))
    den = sum(float(tf.reduce_sum(tf.square(a))) for a in anchors)
    return ChestFit(history=history, drift=math.sqrt(num / max(den, 1e-12)), steps=done,
                    stopped_by_user=stopped,
                    heads={k: (h.kernel.numpy(), h.bias.numpy()) for k, h in heads.items()})
