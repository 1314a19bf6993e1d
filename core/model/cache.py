"""A labelled dataset decoded once into the network's uint8 cache, and the near-duplicate leak check over it."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import Cancelled, CovidCXRError, DatasetError
from core.files.dataset import SPLITS, DatasetIndex
from core.files.reader import decode_threads, read_xray
from core.model.preprocess import PreprocessSpec, prepare, thumbnail


def relabel(decoded: Decoded, index: DatasetIndex) -> Decoded:
    """The same decoded images labelled by another scan of the folder (another positive
    class): labels are looked up by path, nothing is decoded again."""
    from dataclasses import replace

    label_of = {s.path: s.label for s in index.samples}
    splits = {
        name: replace(part, labels=np.array([label_of[p] for p in part.paths], np.int32))
        for name, part in decoded.splits.items()
    }
    return Decoded(splits, decoded.unreadable)


@dataclass
class DecodedSplit:
    images: np.ndarray  # uint8 (N, S, S): network input before scaling
    labels: np.ndarray  # int (N,)
    thumbs: np.ndarray  # float32 (N, 1024): OOD input statistics
    paths: list[Path]

    @classmethod
    def joined(cls, parts: list[DecodedSplit]) -> DecodedSplit:
        """Several splits as one (every image of a folder, whatever its split)."""
        return cls(
            np.concatenate([q.images for q in parts]),
            np.concatenate([q.labels for q in parts]),
            np.concatenate([q.thumbs for q in parts]),
            [x for q in parts for x in q.paths],
        )


@dataclass
class Decoded:
    splits: dict[str, DecodedSplit]
    unreadable: list[tuple[Path, str]]


def _decode_one(path: Path, spec: PreprocessSpec):
    x = read_xray(path)
    return prepare(x.pixels, spec), thumbnail(x.pixels)


def decode(
    index: DatasetIndex,
    spec: PreprocessSpec,
    skip_unreadable: bool = False,
    on_progress: Callable[[int, int, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    workers: int | None = None,
) -> Decoded:
    """Decode every image once into a compact uint8 cache at the model's input size."""
    n = len(index.samples)
    size = spec.size
    images = np.zeros((n, size, size), np.uint8)
    thumbs = np.zeros((n, 1024), np.float32)
    ok = np.zeros(n, bool)
    unreadable: list[tuple[Path, str]] = []
    with ThreadPoolExecutor(max_workers=workers or decode_threads()) as pool:
        futures = [pool.submit(_decode_one, s.path, spec) for s in index.samples]
        for i, fut in enumerate(futures):
            if should_stop and should_stop():
                for f in futures[i:]:
                    f.cancel()
                raise Cancelled("cancelled while reading the dataset")
            try:
                images[i], thumbs[i] = fut.result()
                ok[i] = True
            except CovidCXRError as exc:
                unreadable.append((index.samples[i].path, str(exc)))
            if on_progress and (i % 50 == 0 or i == n - 1):
                on_progress(i + 1, n, "reading images")
    if unreadable and not skip_unreadable:
        listing = "; ".join(f"{p.name}: {m}" for p, m in unreadable[:5])
        raise DatasetError(
            f"{len(unreadable)} unreadable file(s) ({listing}); remove them or choose to skip them"
        )
    splits = {}
    for split in SPLITS:
        idx = [i for i, s in enumerate(index.samples) if s.split == split and ok[i]]
        splits[split] = DecodedSplit(
            images[idx],
            np.array([index.samples[i].label for i in idx], np.int32),
            thumbs[idx],
            [index.samples[i].path for i in idx],
        )
    return Decoded(splits, unreadable)


def near_duplicates(
    decoded: Decoded, min_similarity: float = 0.99
) -> list[tuple[Path, Path, float]]:
    """Pairs of near-identical images that sit in different splits (a leak).

    The perceptual fingerprint is the standardised 32x32 thumbnail; two images whose
    thumbnails correlate above ``min_similarity`` are the same picture re-encoded, resized
    or lightly edited. (An 8x8 dHash is useless on chest X-rays: they all share one layout;
    on ../shared/data/cxr it flagged 1,661 cross-split pairs at distance 2. The correlation
    of distinct patients' thumbnails stays below 0.99 there.)
    """
    found = []
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        ta, tb = decoded.splits[a].thumbs, decoded.splits[b].thumbs
        if not len(ta) or not len(tb):
            continue
        sim = (ta @ tb.T) / ta.shape[1]
        for i, j in zip(*np.nonzero(sim >= min_similarity), strict=True):
            found.append((decoded.splits[a].paths[i], decoded.splits[b].paths[j], float(sim[i, j])))
    return found

