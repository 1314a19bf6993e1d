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
    batch_size: int = 32,
    workers: int | None = None,
    threshold: float | None = None,
    on_progress: ProgressFn | None = None,
    should_stop: StopFn | None = None,
) -> Iterator[Prediction]:
    """Yield one :class:`Prediction` per path, in input order.

    ``threshold`` overrides the card's. ``should_stop`` is polled between files; when it
    returns True the generator stops after the files already yielded (no partial records).
    """
    spec = model.card.spec
    thr = float(model.threshold if threshold is None else threshold)
    workers = workers or max(1, min(4, os.cpu_count() or 1))
    prefetch = max(2 * batch_size, 8)
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

        refill()
        while queue:
            if stopped():
                for _, fut in queue:
                    fut.cancel()
                return
            # Take up to batch_size files in order; errors pass straight through.
            block: list[tuple[str, _Loaded | str]] = []
            while queue and len([b for b in block if not isinstance(b[1], str)]) < batch_size:
                path, fut = queue.popleft()
                try:
                    block.append((path, fut.result()))
                except CovidCXRError as exc:
                    block.append((path, str(exc)))
                except MemoryError:
                    block.append((path, "not enough memory to read this image"))
                except Exception as exc:  # a reader bug must not end the run
                    block.append((path, f"unexpected error reading file: {exc!r}"))
                refill()
            good = [b[1] for b in block if not isinstance(b[1], str)]
            probs = feats = scores = None
            if good:
                batch = to_network(np.stack([g.net_input for g in good]))
                probs, feats = model.forward(batch)
                if ood is not None:
                    scores = ood.score(feats, np.stack([g.thumb for g in good]))
            k = 0
            for path, item in block:
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
