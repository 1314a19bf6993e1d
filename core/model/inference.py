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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import CovidCXRError, NotAnImageError
from core.files.discovery import special_kind
from core.files.reader import decode_threads, read_xray
from core.files.xray import ImageInfo
from core.model.card import INDETERMINATE, NEGATIVE, NOT_ASSESSED, POSITIVE
from core.model.evidence import (
    LOW_EVIDENCE,
    LOW_EVIDENCE_MESSAGE,
    heat_maps,
    lung_evidence,
    lungs_on_grid,
)
from core.model.ood import OOD_MESSAGE, UNUSUAL_ABOVE, UNUSUAL_MESSAGE
from core.model.preprocess import PreprocessSpec, prepare, thumbnail, to_network
from core.model.site import SiteAccumulator
from core.model.views import VIEWS, interval, needs_views, views

if TYPE_CHECKING:
    from core.model.loading import LoadedModel

#: Files per network call. Throughput on CPU is flat from 16 up (65 vs 66 img/s at 256 px
#: for the seed network), but memory is not: its first convolution alone holds
#: 254 x 254 x 64 float32 activations, 16.5 MB per image, so 32 cost ~0.5 GB more than 16.
DEFAULT_BATCH = 16

ProgressFn = Callable[[int, int, str], None]
StopFn = Callable[[], bool]

#: Why an image with no radiograph structure (core.model.ood.OODModel.featureless) is refused.
FEATURELESS = "no anatomy: blank or smooth image"
#: Why a film gets no hard call: its interval over test-time views straddles the threshold.
INDETERMINATE_MESSAGE = (
    "indeterminate: the score moves across the threshold when the film is mirrored, "
    "shifted or zoomed; review the film"
)


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
    #: Assessed, but far from the training images (``ood_score`` > ``UNUSUAL_ABOVE``).
    unusual: bool = False
    #: The 10th-90th percentile of P(COVID) over test-time views (core.model.views); None
    #: when the film was not given views (its score is too far from the threshold to move
    #: across it) or not assessed.
    p_low: float | None = None
    p_high: float | None = None
    #: Share of the heat map's positive mass inside the lung fields (core.model.evidence);
    #: None when not measured.
    lung_evidence: float | None = None

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
        return None  # not assessed, or indeterminate

    @property
    def filename(self) -> str:
        return Path(self.path).name


def error_record(path: str | os.PathLike[str], message: str) -> Prediction:
    return Prediction(path=str(path), status="error", label=NOT_ASSESSED, message=message)


def called_covid(probability: Any, threshold: float) -> Any:
    """The decision rule, for one score or an array of them: P(COVID) at or above the
    threshold is COVID. Written here once; :func:`decide` and every metric apply it."""
    return probability >= threshold


def resolve_threshold(model: LoadedModel, threshold: float | None = None) -> float:
    """The threshold a run applies: ``threshold`` when one is given (``--threshold``), else
    the model's own (its card's, or its site profile's)."""
    return float(model.threshold if threshold is None else threshold)


def decide(
    probability: float, threshold: float, refusal: str | None = None, unusual: bool = False,
    straddles: bool = False, outside_lungs: bool = False,
) -> tuple[str, str]:
    """Label and message for one image the network scored: the one home of the decision
    rule (:func:`called_covid`).

    ``refusal`` (why it is not a frontal chest X-ray) makes it NOT ASSESSED; ``straddles``
    (its interval over test-time views crosses the threshold) makes it INDETERMINATE;
    ``unusual`` and ``outside_lungs`` (its heat map lies mostly outside the lung fields)
    keep the decision and say why it deserves a second look."""
    if refusal:
        return NOT_ASSESSED, f"{OOD_MESSAGE} ({refusal})"
    notes = [INDETERMINATE_MESSAGE] if straddles else []
    if unusual:
        notes.append(UNUSUAL_MESSAGE)
    if outside_lungs:
        notes.append(LOW_EVIDENCE_MESSAGE)
    if straddles:
        return INDETERMINATE, "; ".join(notes)
    label = POSITIVE if called_covid(probability, threshold) else NEGATIVE
    return label, "; ".join(notes)


#: Decides whether a radiograph is a frontal chest film: the reason it is not, or None;
#: or a core.model.lungs.AnatomyVerdict (that reason and the lung mask).
AnatomyCheck = Callable[[np.ndarray], Any]


@dataclass(frozen=True)
class Prepared:
    """One radiograph ready for the network: its input, thumbnail and anatomy verdict."""

    net_input: np.ndarray  # uint8 (S, S)
    thumb: np.ndarray
    info: ImageInfo | None
    refusal: str | None = None
    #: The segmenter's lung probability over the whole film, uint8 (128, 128), when the
    #: anatomy check returned it (core.model.lungs.AnatomyVerdict).
    lungs: np.ndarray | None = None


def prepare_pixels(
    pixels: np.ndarray,
    spec: PreprocessSpec,
    anatomy: AnatomyCheck | None = None,
    info: ImageInfo | None = None,
) -> Prepared:
    verdict = anatomy(pixels) if anatomy is not None else None
    refusal, lungs = verdict, None
    if verdict is not None and not isinstance(verdict, str):  # an AnatomyVerdict
        refusal, lungs = verdict.reason, verdict.lungs
    return Prepared(prepare(pixels, spec), thumbnail(pixels), info, refusal, lungs)


def load_one(
    path: str | os.PathLike[str], spec: PreprocessSpec, anatomy: AnatomyCheck | None = None
) -> Prepared:
    _refuse_special_file(path)
    xray = read_xray(path)
    return prepare_pixels(xray.pixels, spec, anatomy, xray.info)


def _refuse_special_file(path: str | os.PathLike[str]) -> None:
    """Refuse a FIFO, socket or device given by name before anything opens it: reading a
    FIFO waits for a writer forever, which would hang the whole run on one file."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # missing or unreadable: the reader words that itself
    kind = special_kind(mode)
    if kind is not None:
        raise NotAnImageError(f"not a regular file ({kind})")


@dataclass(frozen=True)
class Assessment:
    """The network's answer for one prepared image (before it becomes a Prediction)."""

    label: str
    message: str
    probability: float
    ood_score: float | None
    unusual: bool
    p_low: float | None = None
    p_high: float | None = None
    lung_evidence: float | None = None
    #: The pooled features (for the site check), not part of a Prediction.
    features: np.ndarray | None = field(default=None, repr=False, compare=False)


def evidence_shares(model: LoadedModel, items: list[Prepared], assessed: list[bool]
                    ) -> list[float | None]:
    """The share of each assessed film's heat map inside its lung fields (one gradient
    pass for the batch), None where there is no lung mask or the film was refused."""
    out: list[float | None] = [None] * len(items)
    idx = [k for k, item in enumerate(items) if assessed[k] and item.lungs is not None]
    if not idx:
        return out
    maps = heat_maps(model.keras_model, to_network(np.stack([items[k].net_input for k in idx])))
    spec = model.card.spec
    for k, heat in zip(idx, maps, strict=True):
        lungs = items[k].lungs
        assert lungs is not None
        out[k] = lung_evidence(heat, lungs_on_grid(lungs.astype(np.float32) / 255.0, spec,
                                                   heat.shape[0]))
    return out


def view_intervals(model: LoadedModel, items: list[Prepared], probs: np.ndarray,
                   threshold: float, refused: list[bool]) -> list[tuple[float, float] | None]:
    """The interval over test-time views of every assessed film near the threshold (one
    network call for all their views), None for the others."""
    if not model.card.interval:
        return [None] * len(items)  # a model finalised before views existed: none
    margin = float(model.card.interval.get("margin_logit", float("inf")))
    near = needs_views(probs, threshold, margin) & ~np.asarray(refused, bool)
    out: list[tuple[float, float] | None] = [None] * len(items)
    idx = np.flatnonzero(near)
    if idx.size == 0:
        return out
    stack = np.concatenate([views(items[k].net_input) for k in idx])
    pv, _ = model.forward(to_network(stack))
    pv = pv.reshape(len(idx), len(VIEWS))
    for j, k in enumerate(idx):
        iv = interval(float(probs[k]), pv[j])
        out[k] = (iv.low, iv.high)
    return out


def assess(model: LoadedModel, items: list[Prepared], threshold: float) -> list[Assessment]:
    """One network call for a batch: probability, refusal, unusual flag and, near the
    threshold, the interval over test-time views per image. The one place these rules are
    applied, for classification and evaluation alike."""
    if not items:
        return []
    probs, feats = model.forward(to_network(np.stack([g.net_input for g in items])))
    scores = featureless = None
    if model.ood is not None:
        thumbs = np.stack([g.thumb for g in items])
        scores = model.ood.score(feats, thumbs)
        featureless = model.ood.featureless(thumbs)
    refusals = [
        item.refusal or (FEATURELESS if featureless is not None and featureless[k] else None)
        for k, item in enumerate(items)
    ]
    spans = view_intervals(model, items, probs, threshold, [r is not None for r in refusals])
    shares = evidence_shares(model, items, [r is None for r in refusals])
    out = []
    for k, refusal in enumerate(refusals):
        p = float(probs[k])
        s = float(scores[k]) if scores is not None else None
        unusual = s is not None and s > UNUSUAL_ABOVE and not refusal
        span = spans[k]
        straddles = span is not None and span[0] < threshold <= span[1]
        share = shares[k]
        outside = share is not None and share < LOW_EVIDENCE
        label, msg = decide(p, threshold, refusal, unusual, straddles, outside)
        lo, hi = span if span is not None else (None, None)
        out.append(Assessment(label, msg, p, s, unusual, lo, hi, share, feats[k]))
    return out


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
    site: SiteAccumulator | None = None,
) -> Iterator[Prediction]:
    """Yield one :class:`Prediction` per path, in input order.

    ``paths`` is consumed lazily: at most ``prefetch`` files (default ``2 * batch_size``,
    at least 8) are queued or being read, besides the batch in hand, so memory does not
    grow with the number of files. ``threshold``
    overrides the card's. ``should_stop`` is polled before each record; when it returns
    True the generator ends after the records already yielded (no partial records), and
    files not yet started are never read. ``on_progress(done, total, filename)`` is called
    once per record, with ``total`` -1 when unknown. ``site`` collects the features of the
    assessed films for the site check (core.model.site).
    """
    spec = model.card.spec
    thr = resolve_threshold(model, threshold)
    batch_size = max(1, int(batch_size))
    workers = workers or decode_threads()
    prefetch = max(1, prefetch if prefetch is not None else max(2 * batch_size, 8))
    anatomy = model.anatomy
    done = 0

    def stopped() -> bool:
        return bool(should_stop and should_stop())

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cxr-decode") as pool:
        queue: deque[tuple[str, Future[Prepared]]] = deque()
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
                queue.append((str(p), pool.submit(load_one, p, spec, anatomy)))

        try:
            refill()
            while queue:
                if stopped():
                    return
                # Take up to batch_size readable files in order; errors pass straight through.
                block: list[tuple[str, Prepared | str]] = []
                n_good = 0
                while queue and n_good < batch_size:
                    path, fut = queue.popleft()
                    item = _outcome(fut)
                    n_good += not isinstance(item, str)
                    block.append((path, item))
                    refill()
                good = [item for _, item in block if not isinstance(item, str)]
                answered = assess(model, good, thr)
                if site is not None:
                    kept = [(a.features, a.label == POSITIVE) for a in answered
                            if a.label != NOT_ASSESSED and a.features is not None]
                    if kept:
                        site.add(np.stack([f for f, _ in kept]),
                                 np.array([c for _, c in kept]))
                answers = iter(answered)
                for path, item in block:
                    if stopped():
                        return
                    if isinstance(item, str):
                        rec = error_record(path, item)
                    else:
                        a = next(answers)
                        rec = Prediction(
                            path, "ok", a.label, a.probability, thr, a.ood_score, a.message,
                            item.info, a.unusual, a.p_low, a.p_high, a.lung_evidence,
                        )
                    done += 1
                    if on_progress:
                        on_progress(done, total if total is not None else -1, rec.filename)
                    yield rec
        finally:
            # Stopped, abandoned (generator closed) or failed: files not started are dropped,
            # so leaving the pool waits for at most ``workers`` reads in progress.
            for _, fut in queue:
                fut.cancel()


def _outcome(fut: Future[Prepared]) -> Prepared | str:
    """The loaded file, or the message of what went wrong with it."""
    try:
        return fut.result()
    except CovidCXRError as exc:
        return str(exc)
    except MemoryError:
        return "not enough memory to read this image"
    except Exception as exc:  # a reader bug must not end the run
        return f"unexpected error reading file: {exc!r}"
