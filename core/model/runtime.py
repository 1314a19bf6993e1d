"""The networks on a lean runtime: LiteRT (``ai-edge-litert``, TensorFlow's own successor to
``tf.lite``) running the converted files of a model's set, without importing TensorFlow.

Why LiteRT (issue #30, ``bench/bench_runtime.py`` against ONNX Runtime, OpenVINO and Keras
in one run): EfficientNet-Lite was designed for it, TensorFlow's converter writes its files
from the Keras network itself (no third exporter), its outputs stay within 3e-6 of Keras's
in P, and it was at or near the fastest on every network (the ordinary Lite0 pass about
10 ms a film at batch 1 on a busy 2-core machine, 15-29 ms under ``tf.function``), with the
smallest wheel (21 MiB), 0.01 s to import and about 50 MiB once loaded, where TensorFlow
takes 3-4 s and 600 MiB. OpenVINO was up to 1.5x faster on one network but twice the
memory and a 56 MiB wheel; ONNX Runtime no faster, and one more converter.

A converted classifier (:mod:`core.model.convert`) has three outputs: P(COVID) before
calibration (N,), the pooled features (N, F) and the LayerCAM evidence map (N, g, g), from
one invocation (the map's gradient runs in the same graph). Its views file has P alone.

An interpreter is not thread-safe: each network holds a lock, so the window's viewer and
the inference thread may share one. Films go through one at a time: a batch of 16 costs
no less a film on this runtime, and a fixed input shape never re-plans the graph.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from core.errors import ModelError


def _cores() -> int:
    return os.cpu_count() or 2


#: The CPU threads an interpreter uses (XNNPACK), at most 4: every core for the command
#: line and the DICOM node, where throughput counts (on 2 cores, 2 threads classified 17.2
#: films/s against 11.1 for one, at the same CPU a film: bench_classify). The window uses
#: :func:`interactive_threads` instead. ``COVIDCXR_THREADS`` sets both.
_THREADS_ENV = "COVIDCXR_THREADS"
DEFAULT_THREADS = int(os.environ.get(_THREADS_ENV, 0) or 0) or min(4, _cores())


def interactive_threads() -> int:
    """Threads for a process with a window: half the cores, so that the window's own
    thread finds a free one (on 2 cores, 2 threads made the window stall 55-68 ms while
    classifying, 1 thread 26-39 ms: bench_gui_startup)."""
    return int(os.environ.get(_THREADS_ENV, 0) or 0) or max(1, min(4, _cores() // 2))


def set_threads(threads: int) -> None:
    """The threads of every interpreter created from now on in this process."""
    global DEFAULT_THREADS
    DEFAULT_THREADS = max(1, int(threads))


ENGINE = "LiteRT"


def engine_version() -> str:
    """``LiteRT <version>`` of the installed ``ai-edge-litert``."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"{ENGINE} {version('ai-edge-litert')}"
    except PackageNotFoundError:  # a frozen app without metadata
        return ENGINE


class LiteNetwork:
    """One converted network: float32 inputs (1, S, S, C) in, its outputs by rank out."""

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:  # pragma: no cover - a broken install
            raise ModelError(f"the LiteRT runtime is not installed ({exc})") from None
        self.path = Path(path)
        try:
            self._it = Interpreter(model_path=str(self.path),
                                   num_threads=threads or DEFAULT_THREADS)
            self.threads = threads or DEFAULT_THREADS
            self._it.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"cannot load converted network {self.path.name}: {exc}") from None
        self._lock = threading.Lock()
        inp = self._it.get_input_details()
        if len(inp) != 1:
            raise ModelError(f"{self.path.name}: expected one input, found {len(inp)}")
        self._input = inp[0]["index"]
        self.input_shape = tuple(int(d) for d in inp[0]["shape"][1:])
        # Outputs by rank: 1 = P, 2 = features, 3 = map (N, g, g), 4 = masks (N, S, S, 1).
        self._outputs = {len(d["shape"]): d["index"] for d in self._it.get_output_details()}

    @property
    def size(self) -> int:
        return self.input_shape[0]

    def has(self, rank: int) -> bool:
        return rank in self._outputs

    def run(self, batch: np.ndarray) -> dict[int, np.ndarray]:
        """Every output for ``batch`` (N, S, S, C) float32, keyed by rank, rows in order."""
        batch = np.ascontiguousarray(batch, np.float32)
        if batch.shape[1:] != self.input_shape:
            raise ValueError(f"{self.path.name} takes (N, {self.input_shape}), got {batch.shape}")
        out: dict[int, list[np.ndarray]] = {rank: [] for rank in self._outputs}
        with self._lock:
            for row in batch:
                self._it.set_tensor(self._input, row[None])
                self._it.invoke()
                for rank, index in self._outputs.items():
                    out[rank].append(self._it.get_tensor(index)[0].copy())
        return {rank: (np.stack(v) if v else np.zeros((0,), np.float32))
                for rank, v in out.items()}


class LiteClassifier:
    """A converted classifier and its views network: what :class:`LoadedModel` runs."""

    def __init__(self, main: LiteNetwork, views: LiteNetwork | None = None) -> None:
        if not (main.has(1) and main.has(2)):
            raise ModelError(f"{main.path.name}: not a converted classifier (no P or features)")
        self.main = main
        self.views = views or main

    @property
    def input_size(self) -> int:
        return self.main.size

    def forward(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Raw P (N,), pooled features (N, F) and the evidence map (N, g, g) or
        None, for float32 (N, S, S, 1)."""
        if len(batch) == 0:
            return np.zeros(0, np.float32), np.zeros((0, 0), np.float32), None
        out = self.main.run(batch)
        return out[1].reshape(-1), out[2], out.get(3)

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """Raw P (N,) alone, on the views network (the cheaper one, without a map)."""
        if len(batch) == 0:
            return np.zeros(0, np.float32)
        return self.views.run(batch)[1].reshape(-1)


def unit_max(maps: np.ndarray) -> np.ndarray:
    """Each map (N, g, g) scaled to a maximum of 1 (left as it is where nothing
    contributed)."""
    maps = np.asarray(maps, np.float32)
    top = maps.reshape(len(maps), -1).max(axis=1) if len(maps) else np.zeros(0)
    top = np.where(np.isfinite(top) & (top > 0), top, 1.0)
    return (maps / top[:, None, None]).astype(np.float32)
