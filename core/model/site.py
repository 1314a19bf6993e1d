"""The site check: does a folder of films, taken together, look like the films the model
was checked on?

One film from a new hospital can look ordinary; fifty of them share a scanner, a
processing and a population, and together sit apart from the reference films. The
statistic is the batch's mean distance from each film to its nearest reference films
(k-nearest-neighbour distance in a whitened principal-component space of the model's
pooled features). It asks whether the batch lies *within* the reference, not whether it
has the same mix: a folder holding only one of the reference collections (only the NIH
films, say) is familiar, which a two-sample test of equal distributions (MMD, a classifier
test) would call different, since the reference is a mixture of collections.

The cut is the 99th percentile of the same statistic over batches drawn from the
reference itself (each film's distance taken without itself, leave-one-out), drawn per
collection and mixed, at the batch size checked. The p-value reported is the share of
those reference batches at least as far as the folder.

A folder that is only partly new (25 familiar films and 25 from elsewhere) moves the mean
half as far, so the films are also counted one by one (issue #31): a film is *unlike the
reference* when its distance exceeds the 95th percentile of the reference films' own
(leave-one-out), and the folder is a new site too when more films are unlike it than in
99 % of the same reference batches. Either test suffices; the count is in the answer
("19 of 50 films unlike the reference").

The reference travels with the model (``NAME.site.npz`` beside it, its sha256 in the card,
rebuilt by ``scripts/fit_site_reference.py`` whenever the model changes); a site profile
carries its own (the features of the films it was validated on).
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Below this many assessed films the check does not answer.
MIN_FILMS = 20
#: Principal components kept (whitened) and neighbours averaged.
COMPONENTS = 32
NEIGHBOURS = 5
#: The cut: this percentile of reference batches.
PERCENTILE = 99.0
#: Batches drawn from the reference for the cut, per batch size.
DRAWS = 400
#: A film is unlike the reference beyond this percentile of the reference films' own
#: (leave-one-out) distances; the count's cut is PERCENTILE of the reference batches'.
FILM_PERCENTILE = 95.0

FAMILIAR = "familiar"
NEW_SITE = "new site"
TOO_FEW = "too few films"

ADVICE_NEW = ("these films differ from those the model was checked on; its threshold is "
              "not valid here: validate it on your own labelled films")
ADVICE_FAMILIAR = "the films resemble those the model was checked on"


@dataclass(frozen=True)
class SiteReference:
    """What the check compares with: a whitened projection and the reference points."""

    mean: np.ndarray  # (D,)
    #: (D, k + 1): k whitened principal directions, then a column whose norm is the
    #: scale of the distance from their subspace
    components: np.ndarray
    points: np.ndarray  # (M, k)
    groups: np.ndarray  # (M,) collection of each reference point (str)
    covid_share: float  # share of reference films called COVID at the card's threshold
    source: str  # what the reference is ("public validation films", a profile's name)

    def project(self, feats: np.ndarray) -> np.ndarray:
        """Whitened principal coordinates plus one more: the distance from the principal
        subspace (in units of the reference's own), so a shift along directions the
        reference barely varies in is seen too."""
        x = np.asarray(feats, np.float64) - self.mean
        pcs = x @ self.components[:, :-1]
        basis = self.components[:, :-1] / np.linalg.norm(self.components[:, :-1], axis=0)
        residual = np.linalg.norm(x - (x @ basis) @ basis.T, axis=1)
        scale = float(np.linalg.norm(self.components[:, -1]))  # 1 / the reference's residual
        return np.c_[pcs, residual * scale]

    def distances(self, coords: np.ndarray, leave_one_out: bool = False) -> np.ndarray:
        """Mean distance of each row of ``coords`` to its NEIGHBOURS nearest reference
        points (leaving out a zero distance to itself when ``leave_one_out``)."""
        coords = np.asarray(coords, np.float64)
        out = np.empty(len(coords))
        ref = self.points.astype(np.float64)
        rr = (ref * ref).sum(1)
        for i in range(0, len(coords), 512):
            c = coords[i:i + 512]
            d2 = np.maximum((c * c).sum(1)[:, None] + rr[None, :] - 2 * c @ ref.T, 0.0)
            k = NEIGHBOURS + (1 if leave_one_out else 0)
            part = np.sqrt(np.partition(d2, k - 1, axis=1)[:, :k])
            part.sort(axis=1)
            out[i:i + 512] = part[:, 1:].mean(1) if leave_one_out else part.mean(1)
        return out

    @functools.cached_property
    def own_distances(self) -> np.ndarray:
        """Each reference film's distance to the others (leave-one-out), computed once."""
        return self.distances(self.points, leave_one_out=True)

    @property
    def film_cut(self) -> float:
        """Beyond this distance a single film is unlike the reference (FILM_PERCENTILE)."""
        return float(np.percentile(self.own_distances, FILM_PERCENTILE))

    def null(self, batch: int, draws: int = DRAWS, seed: int = 0) -> np.ndarray:
        """The statistic of reference batches of ``batch`` films: half drawn within one
        collection, half across all (leave-one-out distances)."""
        return self.null_batches(batch, draws, seed)[0]

    def null_batches(self, batch: int, draws: int = DRAWS, seed: int = 0
                     ) -> tuple[np.ndarray, np.ndarray]:
        """(mean distance, films unlike the reference) of the same reference batches as
        :meth:`null`."""
        rng = np.random.default_rng(seed)
        loo = self.own_distances
        over = loo > self.film_cut
        names = [g for g in np.unique(self.groups) if (self.groups == g).sum() >= batch]
        means, counts = [], []
        for t in range(draws):
            if names and t % 2 == 0:
                pool = np.flatnonzero(self.groups == names[(t // 2) % len(names)])
            else:
                pool = np.arange(len(loo))
            pick = rng.choice(pool, min(batch, len(pool)), replace=False)
            means.append(loo[pick].mean())
            counts.append(int(over[pick].sum()))
        return np.array(means), np.array(counts)

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        np.savez_compressed(buf, mean=self.mean, components=self.components,
                            points=self.points.astype(np.float32),
                            groups=self.groups.astype(str),
                            covid_share=np.array(self.covid_share),
                            source=np.array(self.source))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> SiteReference:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return cls(z["mean"], z["components"], z["points"], z["groups"],
                       float(z["covid_share"]), str(z["source"]))

    def save(self, path: str | Path) -> str:
        """Write atomically; returns the file's sha256 (for the card)."""
        from core.files.atomic import write_bytes_atomic

        return write_bytes_atomic(path, self.to_bytes())

    @classmethod
    def load(cls, path: str | Path) -> SiteReference:
        return cls.from_bytes(Path(path).read_bytes())


def fit_reference(feats: np.ndarray, groups: list[str] | np.ndarray, covid_share: float,
                  source: str, components: int = COMPONENTS) -> SiteReference:
    """A reference from the pooled features of the films the model was checked on."""
    x = np.asarray(feats, np.float64)
    mean = x.mean(0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    k = min(components, len(s) - 1)
    scale = s[:k] / np.sqrt(max(len(x) - 1, 1))
    comps = vt[:k].T / np.maximum(scale, 1e-9)
    # the last column holds only a scale: 1 / the reference's median residual norm
    basis = vt[:k].T
    resid = np.linalg.norm((x - mean) - ((x - mean) @ basis) @ basis.T, axis=1)
    last = np.zeros((x.shape[1], 1))
    last[0, 0] = 1.0 / max(float(np.median(resid)), 1e-9)
    comps = np.c_[comps, last]
    ref = SiteReference(mean, comps, np.zeros((0, k + 1), np.float32),
                        np.asarray(groups).astype(str), float(covid_share), source)
    return SiteReference(mean, comps, ref.project(x).astype(np.float32), ref.groups,
                         ref.covid_share, source)


@dataclass(frozen=True)
class SiteCheck:
    """The answer for one batch of films."""

    verdict: str  # FAMILIAR, NEW_SITE or TOO_FEW
    n: int
    statistic: float = float("nan")
    cut: float = float("nan")
    p_value: float = float("nan")
    covid_share: float = float("nan")
    expected_covid_share: float = float("nan")
    source: str = ""
    #: Films unlike the reference one by one, and the most a reference batch shows (the
    #: PERCENTILE of them): more is a new site whatever the mean distance says.
    unlike: int = 0
    unlike_cut: int = 0

    @property
    def is_new(self) -> bool:
        return self.verdict == NEW_SITE

    def line(self) -> str:
        """The command line's summary line (starts with exactly "site check: VERDICT")."""
        if self.verdict == TOO_FEW:
            return f"site check: too few films ({self.n}; it needs {MIN_FILMS} assessed)"
        head = f"site check: {self.verdict}"
        if self.verdict == FAMILIAR and self.source.startswith("site profile "):
            head += f": matches {self.source}"
        stats = (f"{self.unlike} of {self.n} films unlike the reference, at most "
                 f"{self.unlike_cut} expected; distance {self.statistic:.2f} against a cut "
                 f"of {self.cut:.2f}, p = {self.p_value:.3f}; called COVID "
                 f"{self.covid_share:.0%} (the reference: {self.expected_covid_share:.0%})")
        advice = ADVICE_NEW if self.is_new else ADVICE_FAMILIAR
        return f"{head} ({stats}): {advice}"


def check_site(reference: SiteReference, feats: np.ndarray, called_covid: np.ndarray
               ) -> SiteCheck:
    """The site check of one batch: ``feats`` (N, D) pooled features of its assessed
    films, ``called_covid`` (N,) their decisions."""
    acc = SiteAccumulator(reference)
    acc.add(feats, called_covid)
    return acc.result()


class SiteAccumulator:
    """Collects the projected features of assessed films as a run goes, in bounded memory
    (COMPONENTS floats a film), and answers at the end."""

    def __init__(self, reference: SiteReference) -> None:
        self.reference = reference
        self._coords: list[np.ndarray] = []
        self._called: list[np.ndarray] = []

    def add(self, feats: np.ndarray, called_covid: np.ndarray) -> None:
        if len(feats):
            self._coords.append(self.reference.project(feats).astype(np.float32))
            self._called.append(np.asarray(called_covid, bool))

    def as_reference(self, source: str) -> SiteReference | None:
        """The films seen so far as a reference of their own (a site profile's: "familiar"
        then means "like the films this site validated on"), in the same projection;
        None under MIN_FILMS."""
        if not self._coords or sum(len(c) for c in self._coords) < MIN_FILMS:
            return None
        coords = np.concatenate(self._coords)
        called = np.concatenate(self._called)
        ref = self.reference
        return SiteReference(ref.mean, ref.components, coords,
                             np.array(["site"] * len(coords)), float(called.mean()), source)

    def result(self) -> SiteCheck:
        ref = self.reference
        if not self._coords:
            return SiteCheck(TOO_FEW, 0, source=ref.source)
        coords = np.concatenate(self._coords)
        called = np.concatenate(self._called)
        n = len(coords)
        if n < MIN_FILMS:
            return SiteCheck(TOO_FEW, n, source=ref.source)
        dist = ref.distances(coords)
        stat = float(dist.mean())
        null, null_counts = ref.null_batches(n)
        cut = float(np.percentile(null, PERCENTILE))
        p = float((np.sum(null >= stat) + 1) / (len(null) + 1))
        unlike = int(np.sum(dist > ref.film_cut))
        unlike_cut = int(np.ceil(np.percentile(null_counts, PERCENTILE)))
        verdict = NEW_SITE if stat > cut or unlike > unlike_cut else FAMILIAR
        return SiteCheck(verdict, n, stat, cut, p, float(called.mean()), ref.covid_share,
                         ref.source, unlike, unlike_cut)
