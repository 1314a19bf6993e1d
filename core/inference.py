"""Streaming, batched classification over any number of files.

Files are decoded and preprocessed on a small thread pool (Pillow and NumPy release the
GIL) while the network runs on the previous batch, so decoding overlaps inference. At most
``prefetch`` files are in flight, so memory stays bounded whatever the file count. Results
come back in input order, one frozen :class:`Prediction` per file; a bad file becomes an
error record and never stops the run.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.card import NEGATIVE, NOT_ASSESSED, POSITIVE
from core.errors import CovidCXRError
from core.ood import OOD_MESSAGE
from core.preprocess import PreprocessSpec, prepare, thumbnail, to_network
from core.reader import ImageInfo, read_xray

if TYPE_CHECKING:
    from core.model import LoadedModel

#: Files per network call. Throughput on CPU is flat from 16 up (65 vs 66 img/s at 256 px
#: for the seed network), but memory is not: its first convolution alone holds
#: 254 x 254 x 64 float32 activations, 16.5 MB per image, so 32 cost ~0.5 GB more than 16.
DEFAULT_BATCH = 16

ProgressFn = Callable[[int, int, str], None]
StopFn = Callable[[], bool]


@dataclass(frozen=True)
class Prediction:
    """The outcome for one file. ``status`` is ``ok`` or ``error``."""

    path: str
    status: str
    label: str
    probability: float | None = None
    threshold: float | None = None
    ood_score: float | None = None
    message: str = ""
    info: ImageInfo | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def decision(self) -> int | None:
        """1 COVID, 0 not COVID, None when not assessed."""
        if self.label == POSITIVE:
            return 1
        if self.label == NEGATIVE:
            return 0
        return None

    @property
    def filename(self) -> str:
        return Path(self.path).name


def error_record(path: str | os.PathLike[str], message: str) -> Prediction:
    return Prediction(path=str(path), status="error", label=NOT_ASSESSED, message=message)


def decide(probability: float, threshold: float, ood_score: float | None) -> tuple[str, str]:
    """Label and message for one assessed image."""
    if ood_score is not None and ood_score > 1.0:
        return NOT_ASSESSED, OOD_MESSAGE
    return (POSITIVE if probability >= threshold else NEGATIVE), ""


@dataclass(frozen=True)
class _Loaded:
    net_input: np.ndarray  # uint8 (S, S)
    thumb: np.ndarray
    info: ImageInfo


def load_one(path: str | os.PathLike[str], spec: PreprocessSpec) -> _Loaded:
    xray = read_xray(path)
    return _Loaded(prepare(xray.pixels, spec), thumbnail(xray.pixels), xray.info)


def classify(
    paths: Iterable[str | os.PathLike[str]],
    model: LoadedModel,
    *,
    total: int | None = None,
    batch_size: int = DEFAULT_BATCH,
    workers: int | None = None,
    prefetch: int | None = None,
    threshold: float | None = None,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> Iterator[Prediction]:
    """Yield one :class:`Prediction` per path, in input order.

    ``paths`` is consumed lazily: at most ``prefetch`` files (default ``2 * batch_size``,
    at least 8) are queued or being read, besides the batch in hand, so memory does not
    grow with the number of files. ``threshold``
    overrides the card's. ``should_stop`` is polled before each record; when it returns
    True the generator ends after the records already yielded (no partial records), and
    files not yet started are never read. ``on_progress(done, total, filename)`` is called
    once per record, with ``total`` -1 when unknown.
    """
    spec = model.card.spec
    thr = float(model.threshold if threshold is None else threshold)
    batch_size = max(1, int(batch_size))
    workers = workers or max(1, min(4, os.cpu_count() or 1))
    prefetch = max(1, prefetch if prefetch is not None else max(2 * batch_size, 8))
    ood = model.ood
    done = 0

    def stopped() -> bool:
        return bool(should_stop and should_stop())

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cxr-decode") as pool:
        queue: deque[tuple[str, Future[_Loaded]]] = deque()
        source = iter(paths)
        exhausted = False

        def refill() -> None:
            nonlocal exhausted
            while not exhausted and len(queue) < prefetch:
                try:
                    p = next(source)
                except StopIteration:
                    exhausted = True
                    return
                queue.append((str(p), pool.submit(load_one, p, spec)))

        try:
            refill()
            while queue:
                if stopped():
                    return
                # Take up to batch_size readable files in order; errors pass straight through.
                block: list[tuple[str, _Loaded | str]] = []
                n_good = 0
                while queue and n_good < batch_size:
                    path, fut = queue.popleft()
                    item = _outcome(fut)
                    n_good += not isinstance(item, str)
                    block.append((path, item))
                    refill()
                good = [item for _, item in block if not isinstance(item, str)]
                probs = scores = None
                if good:
                    batch = to_network(np.stack([g.net_input for g in good]))
                    probs, feats = model.forward(batch)
                    if ood is not None:
                        scores = ood.score(feats, np.stack([g.thumb for g in good]))
                k = 0
                for path, item in block:
                    if stopped():
                        return
                    if isinstance(item, str):
                        rec = error_record(path, item)
                    else:
                        p = float(probs[k])
                        s = float(scores[k]) if scores is not None else None
                        label, msg = decide(p, thr, s)
                        rec = Prediction(path, "ok", label, p, thr, s, msg, item.info)
                        k += 1
                    done += 1
                    if on_progress:
                        on_progress(done, total if total is not None else -1, rec.filename)
                    yield rec
        finally:
            # Stopped, abandoned (generator closed) or failed: files not started are dropped,
            # so leaving the pool waits for at most ``workers`` reads in progress.
            for _, fut in queue:
                fut.cancel()


def _outcome(fut: Future[_Loaded]) -> _Loaded | str:
    """The loaded file, or the message of what went wrong with it."""
    try:
        return fut.result()
    except CovidCXRError as exc:
        return str(exc)
    except MemoryError:
        return "not enough memory to read this image"
    except Exception as exc:  # a reader bug must not end the run
        return f"unexpected error reading file: {exc!r}"
