"""Streaming, batched classification over any number of files.

Files are decoded and preprocessed on a small thread pool (Pillow and NumPy release the
GIL) while the network runs on the previous batch, so decoding overlaps inference. At most
``prefetch`` files are in flight, so memory stays bounded whatever the file count. Results
come back in input order, one frozen :class:`Prediction` per file; a bad file becomes an
error record and never stops the run.
"""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.answers.evidence import (
    LOW_EVIDENCE,
    LOW_EVIDENCE_MESSAGE,
    forward_with_heat,
    heat_maps,
    lung_evidence,
    lungs_on_grid,
)
from core.answers.views import VIEWS, Interval, interval, needs_views, views
from core.errors import CovidCXRError, NotAnImageError
from core.files.discovery import special_kind
from core.files.reader import decode_threads, read_xray
from core.files.xray import ImageInfo
from core.model.card import INDETERMINATE, NEGATIVE, NOT_ASSESSED, POSITIVE
from core.model.lungs import LUNG_SIZE, LungCheck
from core.model.ood import OOD_MESSAGE, UNUSUAL_ABOVE, UNUSUAL_MESSAGE
from core.model.preprocess import PreprocessSpec, prepare, thumbnail, to_network
from core.model.site import SiteAccumulator

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
    #: The 10th-90th percentile of P(COVID) over test-time views (core.answers.views); None
    #: when the film was not given views (its score is too far from the threshold to move
    #: across it) or not assessed.
    p_low: float | None = None
    p_high: float | None = None
    #: Share of the heat map's positive mass inside the lung fields (core.answers.evidence);
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
    #: The film at the segmenter's size while its frontal-film check waits to be judged
    #: with the rest of its batch (core.model.lungs.LungCheck); None once judged.
    lung_small: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def pending(self) -> bool:
        return self.lung_small is not None


def prepare_pixels(
    pixels: np.ndarray,
    spec: PreprocessSpec,
    anatomy: AnatomyCheck | None = None,
    info: ImageInfo | None = None,
) -> Prepared:
    """The network's input and thumbnail of one radiograph, and its frontal-film check: a
    :class:`~core.model.lungs.LungCheck` is only started here (the film brought to the
    segmenter's size) and judged with its batch by :func:`assess`; any other check runs
    here, on this film alone."""
    net_input, thumb = prepare(pixels, spec), thumbnail(pixels)
    if isinstance(anatomy, LungCheck):
        return Prepared(net_input, thumb, info, lung_small=anatomy.small(pixels))
    verdict = anatomy(pixels) if anatomy is not None else None
    refusal, lungs = verdict, None
    if verdict is not None and not isinstance(verdict, str):  # an AnatomyVerdict
        refusal, lungs = verdict.reason, verdict.lungs
    return Prepared(net_input, thumb, info, refusal, lungs)


def judge_pending(model: LoadedModel, items: list[Prepared]) -> list[Prepared]:
    """``items`` with every pending frontal-film check judged: one segmenter pass for all
    of them (core.model.lungs.LungCheck.judge)."""
    pending = [k for k, item in enumerate(items) if item.lung_small is not None]
    if not pending:
        return items
    check = model.anatomy
    if not isinstance(check, LungCheck):
        raise TypeError("films prepared for a lung check, assessed by a model without one")
    smalls = [items[k].lung_small for k in pending]
    verdicts = check.judge([s for s in smalls if s is not None])
    out = list(items)
    for k, verdict in zip(pending, verdicts, strict=True):
        out[k] = replace(items[k], refusal=verdict.reason, lungs=verdict.lungs, lung_small=None)
    return out


def load_one(
    path: str | os.PathLike[str], spec: PreprocessSpec, anatomy: AnatomyCheck | None = None
) -> Prepared:
    _refuse_special_file(path)
    xray = read_xray(path, min_side=decode_side(spec))
    return prepare_pixels(xray.pixels, spec, anatomy, xray.info)


#: Decode a film reduced (core.files.reader, ``min_side``) to at least this many times the
#: network's input across its crop, and the segmenter's across the whole film; None: at
#: full size. Off, because it moves answers: on ../shared/data/newsite (351 films up to
#: 4,095 px) 2 gave 6 label changes, all at the edge of an INDETERMINATE interval, and a
#: largest |change| of P(COVID) of 0.17 (4: 1 change, 0.065), for half the time per film.
#: The bundled model's threshold and the views' margin were fitted on full-size decodes;
#: a model whose card says it was fitted this way could turn it on (issue #23).
DECODE_OVERSAMPLE: int | None = None


def decode_side(spec: PreprocessSpec) -> int | None:
    """The shorter side a film may be decoded down to for ``spec``, None for full size
    (:data:`DECODE_OVERSAMPLE`)."""
    if DECODE_OVERSAMPLE is None:
        return None
    return math.ceil(DECODE_OVERSAMPLE * max(spec.size / max(spec.crop, 0.05), LUNG_SIZE))


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


def evidence_shares(model: LoadedModel, items: list[Prepared], assessed: list[bool],
                    heat: np.ndarray | None = None) -> list[float | None]:
    """The share of each assessed film's heat map inside its lung fields, None where there
    is no lung mask or the film was refused. ``heat``: the maps of all ``items`` when the
    caller has them (:func:`core.answers.evidence.forward_with_heat`), else one gradient pass
    for the films that need one."""
    out: list[float | None] = [None] * len(items)
    idx = [k for k, item in enumerate(items) if assessed[k] and item.lungs is not None]
    if not idx:
        return out
    if heat is None:
        x = to_network(np.stack([items[k].net_input for k in idx]))
        maps = (model.forward_with_map(x)[2] if model.runtime is not None
                else heat_maps(model.keras_model, x))
        if maps is None:
            return out
    else:
        maps = heat[idx]
    spec = model.card.spec
    for k, grid in zip(idx, maps, strict=True):
        lungs = items[k].lungs
        assert lungs is not None
        out[k] = lung_evidence(grid, lungs_on_grid(lungs.astype(np.float32) / 255.0, spec,
                                                   grid.shape[0]))
    return out


#: Films per call of the evidence pass, and views per network call. All the views of a
#: batch of 16 near the threshold in one call (96 inputs of 224 px), and the gradient pass
#: over 16 films, took a classify process from 920 MiB once warm to 1,760 MiB; with 16 and
#: 8 it peaks near 1,080 MiB, at the same CPU time per film (bench/README.md, #23).
VIEW_BATCH = 16
EVIDENCE_BATCH = 8


def view_intervals(model: LoadedModel, items: list[Prepared], probs: np.ndarray,
                   threshold: float, refused: list[bool]) -> list[tuple[float, float] | None]:
    """The interval over test-time views of every assessed film near the threshold (their
    views in network calls of :data:`VIEW_BATCH`), None for the others."""
    if not model.card.interval:
        return [None] * len(items)  # a model finalised before views existed: none
    margin = float(model.card.interval.get("margin_logit", float("inf")))
    near = needs_views(probs, threshold, margin) & ~np.asarray(refused, bool)
    out: list[tuple[float, float] | None] = [None] * len(items)
    idx = np.flatnonzero(near)
    if idx.size == 0:
        return out
    stack = np.concatenate([views(items[k].net_input) for k in idx])
    pv = np.concatenate([model.view_probabilities(to_network(stack[i:i + VIEW_BATCH]))
                         for i in range(0, len(stack), VIEW_BATCH)])
    pv = pv.reshape(len(idx), len(VIEWS))
    for j, k in enumerate(idx):
        iv = interval(float(probs[k]), pv[j])
        out[k] = (iv.low, iv.high)
    return out


def network_pass(model: LoadedModel, items: list[Prepared], want_heat: bool
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Calibrated P(COVID), features and, when ``want_heat``, the heat maps of ``items``:
    the network once: on the lean runtime the map comes with the pass; on Keras, with its
    gradient pass when the maps are wanted (the calibration is the card's, as
    :meth:`LoadedModel.forward` applies it)."""
    x = to_network(np.stack([g.net_input for g in items]))
    if model.runtime is not None:  # the map comes with the pass (core.model.convert)
        return model.forward_with_map(x, want_heat)
    both = forward_with_heat(model.keras_model, x, EVIDENCE_BATCH) if want_heat else None
    if both is None:
        probs, feats = model.forward(x)
        return probs, feats, None
    raw, feats, heat = both
    return model.card.calibrate(raw).astype(np.float32), feats, heat


def frontal_refusals(model: LoadedModel, items: list[Prepared], feats: np.ndarray,
                     refusals: list[str | None]) -> list[str | None]:
    """``refusals`` with the frontal-film classifier's (core.model.frontal) on top: where it
    refuses, its reason ("CT slice", "lateral view", ...) replaces the anatomy check's,
    being the more specific; a film it accepts keeps the anatomy check's verdict. A model
    without the classifier: ``refusals`` unchanged."""
    if model.frontal is None:
        return refusals
    headers = [item.info.dicom if item.info is not None else None for item in items]
    kinds = model.frontal.judge(feats, headers)
    return [kind or r for kind, r in zip(kinds, refusals, strict=True)]


def assess(model: LoadedModel, items: list[Prepared], threshold: float) -> list[Assessment]:
    """One network call for a batch: probability, refusal, unusual flag and, near the
    threshold, the interval over test-time views per image. The one place these rules are
    applied, for classification and evaluation alike. Frontal-film checks still pending
    (:func:`prepare_pixels`) are judged first, the batch together."""
    if not items:
        return []
    items = judge_pending(model, items)
    featureless = None
    thumbs = np.stack([g.thumb for g in items])
    if model.ood is not None:
        featureless = model.ood.featureless(thumbs)
    refusals = [
        item.refusal or (FEATURELESS if featureless is not None and featureless[k] else None)
        for k, item in enumerate(items)
    ]
    assessed = [r is None for r in refusals]
    want_heat = any(ok and item.lungs is not None for ok, item in zip(assessed, items,
                                                                      strict=True))
    probs, feats, heat = network_pass(model, items, want_heat)
    refusals = frontal_refusals(model, items, feats, refusals)
    assessed = [r is None for r in refusals]
    scores = model.ood.score(feats, thumbs) if model.ood is not None else None
    spans = view_intervals(model, items, probs, threshold, [not ok for ok in assessed])
    shares = evidence_shares(model, items, assessed, heat)
    out = []
    for k, refusal in enumerate(refusals):
        p = float(probs[k])
        s = float(scores[k]) if scores is not None else None
        unusual = s is not None and s > UNUSUAL_ABOVE and not refusal
        span = spans[k]
        straddles = span is not None and Interval(*span).straddles(threshold)
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
