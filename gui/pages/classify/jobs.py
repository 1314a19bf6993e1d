"""The jobs the classify window runs on workers: plain functions over ``core``.

Each takes a :class:`gui.services.workers.Control` first. They return or yield small frozen records
and never touch a widget. TensorFlow is imported only when a job runs (inside the jobs and the
``core`` functions they call), so the window opens before TensorFlow has loaded.
"""

from __future__ import annotations

import gc
import threading
from collections import deque
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtGui import QImage

from core.answers.gradcam import HeatMap, explain
from core.files.discovery import Skipped, iter_inputs
from core.model.site import SiteAccumulator
from gui.services.native_libraries import preload_tensorflow
from gui.services.workers import Control
from gui.widgets.viewer import display_pixels

THUMB_PIXELS = 48


@dataclass(frozen=True)
class ModelReady:
    path: Path
    model: Any  # core.model.loading.LoadedModel
    device: str


def load_model_job(control: Control, path: Path) -> ModelReady:
    """Load and verify the model (on the lean runtime, or importing TensorFlow where Keras
    answers), and run its forward pass once so the first batch does not pay for it.

    With TensorFlow imported a full collection of Python's cyclic garbage collector walks
    some 290,000 objects for about 150 ms while holding the GIL, and each one froze the
    window for as long, during the load and then while classifying
    (bench/bench_gui_startup.py). So the collector is paused during the load, and what the
    load allocated is then frozen (``gc.freeze``): later collections skip it. Where Keras
    answers, TensorFlow's libraries are mapped first with the GIL released
    (``native_libraries``). A previous
    load's frozen objects are released first, so a model that was replaced can still be
    collected (that one collection happens here, on the worker, when models are switched).
    """
    gc.unfreeze()
    gc.collect()
    gc.disable()
    try:
        from core.model.loading import device_name, load_model, needs_tensorflow
        from core.model.runtime import interactive_threads, set_threads

        set_threads(interactive_threads())  # leave the window's thread a core

        if needs_tensorflow(path):
            preload_tensorflow()  # the import below would map its libraries holding the GIL

        model = load_model(path)
        control.check()
        size = model.card.input_size
        model.forward(np.zeros((1, size, size, 1), dtype=np.float32))
    finally:
        gc.freeze()
        gc.enable()
    return ModelReady(path, model, device_name(model))


def discover_job(control: Control, paths: list[str]) -> tuple[list[Path], Skipped]:
    """Files to classify: files as given, folders walked recursively (``core.files.discovery``),
    and what the walk left out, for the status bar."""
    found: list[Path] = []
    skipped = Skipped()
    for i, p in enumerate(iter_inputs(paths, skipped)):
        found.append(p)
        if i % 256 == 0:
            control.check()
            control.progress(len(found), -1, "finding files…")
    return found, skipped


def classify_job(control: Control, paths: list[Path], model: Any,
                 batch_size: int = 8) -> Generator[Any, None, Any]:
    """Stream ``core.answers.inference.classify``: one Prediction per file, in order. Small batches
    keep rows arriving steadily; the network still sees several images per call."""
    from core.answers.inference import classify
    from core.files.reader import decode_threads

    total = len(paths)
    control.progress(0, total, "")
    # Leave one core to the GUI thread (and the viewer's loader): with every core decoding,
    # the event loop waited up to ~50 ms for a CPU while classifying.
    workers = decode_threads(leave_free=1)
    site = SiteAccumulator(model.site) if model.site is not None else None
    yield from classify(paths, model, total=total, batch_size=batch_size, workers=workers,
                        on_progress=control.progress, should_stop=control.should_stop,
                        site=site)
    # the run's films taken together (core.model.site); None: the model has no reference
    return site.result() if site is not None else None


def dicom_export_job(control: Control, preds: list[Any], model: Any, folder: Path) -> Any:
    """``core.output.dicom_results.export_results``: the SR and heat-map SC of every DICOM
    film among ``preds``, written into ``folder``; returns its ExportSummary."""
    from core.output.dicom_results import export_results

    return export_results(preds, model, folder, on_progress=control.progress,
                          should_stop=control.should_stop)


class Requests:
    """A thread-safe request queue for a long-lived loader job.

    ``latest_only`` keeps just the newest request (the viewer: only the selected image
    matters); otherwise the newest is served first (thumbnails: the rows on screen now).
    """

    def __init__(self, latest_only: bool = False) -> None:
        self._items: deque[Any] = deque()
        self._latest_only = latest_only
        self._cond = threading.Condition()

    def put(self, item: Any) -> None:
        with self._cond:
            if self._latest_only:
                self._items.clear()
            self._items.append(item)
            self._cond.notify()

    def newer_waiting(self) -> bool:
        with self._cond:
            return bool(self._items)

    def get(self, control: Control, poll: float = 0.1) -> Any | None:
        """The next request, or None once the worker is cancelled."""
        with self._cond:
            while not self._items:
                if control.should_stop():
                    return None
                self._cond.wait(poll)
            return self._items.pop()


def _gray_qimage(u8: np.ndarray) -> QImage:
    u8 = np.ascontiguousarray(u8)
    h, w = u8.shape
    return QImage(u8.data, w, h, w, QImage.Format.Format_Grayscale8).copy()


def thumbnail_loop(control: Control, requests: Requests,
                   size: int = THUMB_PIXELS) -> Iterator[tuple[str, QImage | None]]:
    """Yield (path, small grayscale QImage or None when unreadable) for each request."""
    from PIL import Image

    from core.errors import CovidCXRError
    from core.files.reader import read_xray

    while (path := requests.get(control)) is not None:
        try:
            pixels = read_xray(path).pixels
        except (CovidCXRError, OSError, MemoryError):
            yield path, None
            continue
        img = Image.fromarray(np.clip(np.rint(pixels * 255.0), 0, 255).astype(np.uint8))
        img.thumbnail((size, size), Image.Resampling.BILINEAR)
        yield path, _gray_qimage(np.asarray(img))


@dataclass(frozen=True)
class ViewRequest:
    token: int
    path: str
    model: Any = None  # a LoadedModel when a heat map is wanted
    class_index: int = 1


@dataclass(frozen=True)
class LoadedImage:
    token: int
    path: str
    #: The film as the viewer keeps it (gui.widgets.viewer.display_pixels: uint16, at most
    #: DISPLAY_MAX_SIDE across), made on this thread, not the GUI's.
    pixels: np.ndarray | None
    info: Any  # core.files.xray.ImageInfo | None
    error: str = ""
    shape: tuple[int, int] | None = None  # the film's own size, which pixels span


@dataclass(frozen=True)
class ExplainedImage:
    """The heat map of a viewed image (``core.answers.gradcam.explain``), or why there is none."""

    token: int
    path: str
    heatmap: HeatMap | None
    error: str = ""


def image_loop(control: Control, requests: Requests) -> Iterator[LoadedImage | ExplainedImage]:
    """Full-resolution image for the viewer, then (when a model is given) its Grad-CAM."""
    from core.errors import CovidCXRError
    from core.files.reader import read_xray

    while (req := requests.get(control)) is not None:
        try:
            xray = read_xray(req.path)
        except (CovidCXRError, OSError) as exc:
            yield LoadedImage(req.token, req.path, None, None, str(exc))
            continue
        except MemoryError:
            yield LoadedImage(req.token, req.path, None, None, "not enough memory for this image")
            continue
        yield LoadedImage(req.token, req.path, display_pixels(xray.pixels), xray.info,
                          shape=xray.pixels.shape[:2])
        if req.model is None or requests.newer_waiting():
            continue
        yield _explain(req, xray.pixels)


def _explain(req: ViewRequest, pixels: np.ndarray) -> ExplainedImage:
    try:
        heatmap = explain(req.model, pixels, req.class_index)
    except Exception as exc:  # a heat map failure must not take the viewer down
        return ExplainedImage(req.token, req.path, None, error=f"heat map failed: {exc}")
    return ExplainedImage(req.token, req.path, heatmap)
