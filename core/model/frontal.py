"""What kind of picture a film is: frontal chest film, lateral, CT slice, photograph, page,
another modality or body part, or no radiograph at all (issue #31).

The classifier's pooled features (the ``features`` layer, computed for every film anyway)
go through a small softmax regression fitted per model by ``scripts/fit_frontal.py`` and
written beside it as ``NAME.frontal.npz`` (its sha256 in the card's ``frontal_check``). A
film is refused when its probability of being a frontal chest film falls below the cut
stored with it; the reason is the likeliest of the other kinds. A DICOM header, when the
film has one, moves that probability (Modality, BodyPartExamined, ViewPosition,
ImageType) but never decides alone: every shift is bounded, so a film the pictures call a
clear frontal chest film is not refused for its header, nor an obvious CT slice passed
for a "DX / CHEST / PA" label.

This check comes on top of the lung segmenter's (:mod:`core.model.anatomy`), never in its
place: a model without the file (a user-trained one, one finalised before #31) keeps the
anatomy check only, and says so. numpy only.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: The kinds of picture, in the order of the model's outputs. "frontal" must be first.
FRONTAL = "frontal"
KINDS = ("frontal", "lateral", "ct", "photo", "page", "dicom", "synthetic")

#: The reason a refusal gives, per kind (core.answers.inference.decide puts it in brackets
#: after "does not look like a frontal chest X-ray").
REASONS = {
    "lateral": "lateral view",
    "ct": "CT slice",
    "photo": "a photograph, not a radiograph",
    "page": "a page or a screenshot, not a radiograph",
    "dicom": "another modality or body part, not a chest radiograph",
    "synthetic": "not a radiograph",
}

# --- The DICOM header as evidence --------------------------------------------------------
# Shifts of the frontal logit (log-odds) by what the header says. Each is bounded (at most
# HEADER_LIMIT in either direction, all together), so the header tips a doubtful picture
# and never overrules a clear one.

#: Modalities that are never a projection radiograph of the chest.
OTHER_MODALITIES = frozenset({"CT", "MR", "NM", "PT", "US", "SEG", "RTIMAGE", "RTDOSE",
                              "RTSTRUCT", "XA", "MG", "IO", "PX", "OP", "OPT", "ES", "SM",
                              "GM", "XC", "ECG", "HD", "KO", "PR", "SR", "DOC", "REG"})
#: Modalities of a projection radiograph (SC/OT: a secondary capture says nothing).
RADIOGRAPH_MODALITIES = frozenset({"CR", "DX", "RG"})
LATERAL_VIEWS = frozenset({"LL", "RL", "LAT", "LATERAL", "LLD", "RLD", "XTABLE"})
FRONTAL_VIEWS = frozenset({"PA", "AP"})
CHEST_PARTS = frozenset({"CHEST", "THORAX", "LUNG", "TORSO", ""})
HEADER_AGAINST = -4.0
HEADER_FOR = 1.0
HEADER_LIMIT = 4.0


@dataclass(frozen=True)
class HeaderEvidence:
    """What a DICOM header says: a shift of the frontal log-odds and, when it speaks against
    a frontal chest film, the kind it points to and the words why."""

    shift: float = 0.0
    kind: str | None = None
    why: str = ""


def header_evidence(dicom: Mapping[str, str] | None) -> HeaderEvidence:
    """The evidence of a film's DICOM facts (core.files.dicom's shown fields: "Modality",
    "View position", "Body part", "Image type"); none for a file without a header."""
    if not dicom:
        return HeaderEvidence()
    modality = str(dicom.get("Modality", "")).strip().upper()
    view = str(dicom.get("View position", "")).strip().upper()
    part = str(dicom.get("Body part", "")).strip().upper()
    image_type = str(dicom.get("Image type", "")).upper()
    if modality in OTHER_MODALITIES:
        kind = "ct" if modality == "CT" else "dicom"
        return HeaderEvidence(HEADER_AGAINST, kind, f"Modality {modality}")
    if "LOCALIZER" in image_type:
        return HeaderEvidence(HEADER_AGAINST, "dicom", "a localizer (Image Type)")
    if view in LATERAL_VIEWS:
        return HeaderEvidence(HEADER_AGAINST, "lateral", f"View Position {view}")
    if part not in CHEST_PARTS:
        return HeaderEvidence(HEADER_AGAINST, "dicom", f"Body Part {part}")
    shift = 0.0
    if modality in RADIOGRAPH_MODALITIES:
        shift += HEADER_FOR / 2
    if view in FRONTAL_VIEWS:
        shift += HEADER_FOR / 2
    return HeaderEvidence(float(np.clip(shift, -HEADER_LIMIT, HEADER_LIMIT)))


@dataclass(frozen=True)
class FrontalModel:
    """A softmax regression over standardised pooled features, and the cut on the frontal
    log-odds below which a film is refused."""

    mean: np.ndarray  # (D,)
    scale: np.ndarray  # (D,)
    weights: np.ndarray  # (D, K)
    bias: np.ndarray  # (K,)
    kinds: tuple[str, ...]
    #: Refuse below this frontal log-odds (frontal against every other kind together).
    cut: float
    #: What it was fitted on and measured with (for the card and the benchmark).
    held_out: tuple[str, ...] = field(default=())

    def logits(self, feats: np.ndarray) -> np.ndarray:
        z = (np.asarray(feats, np.float64) - self.mean) / self.scale
        return z @ self.weights + self.bias

    def probabilities(self, feats: np.ndarray) -> np.ndarray:
        """(N, K) probabilities of each kind."""
        lg = self.logits(feats)
        lg -= lg.max(axis=1, keepdims=True)
        e = np.exp(lg)
        return e / e.sum(axis=1, keepdims=True)

    def frontal_log_odds(self, feats: np.ndarray) -> np.ndarray:
        """log P(frontal) - log P(any other kind), per film."""
        return self._log_odds(self.probabilities(feats))

    def _log_odds(self, probs: np.ndarray) -> np.ndarray:
        f = np.clip(probs[:, self.kinds.index(FRONTAL)], 1e-12, 1.0)
        return np.log(f) - np.log(np.clip(1.0 - f, 1e-12, 1.0))

    def judge(self, feats: np.ndarray,
              headers: Sequence[Mapping[str, str] | None] | None = None) -> list[str | None]:
        """None for each film that passes as a frontal chest film, else why not: the
        likeliest other kind (the header's, when the header tipped the balance), with the
        header's words when it spoke."""
        if not len(feats):
            return []
        probs = self.probabilities(feats)
        odds = self._log_odds(probs)
        heads = list(headers) if headers is not None else [None] * len(odds)
        out: list[str | None] = []
        fi = self.kinds.index(FRONTAL)
        for k, (lo, p) in enumerate(zip(odds, probs, strict=True)):
            ev = header_evidence(heads[k])
            if lo + ev.shift >= self.cut:
                out.append(None)
                continue
            others = p.copy()
            others[fi] = -1.0
            kind = self.kinds[int(np.argmax(others))]
            if ev.kind is not None and lo >= self.cut:  # the header decided it
                kind = ev.kind
            reason = REASONS.get(kind, REASONS["synthetic"])
            out.append(f"{reason} (DICOM header: {ev.why})" if ev.why else reason)
        return out

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        np.savez_compressed(buf, mean=self.mean, scale=self.scale, weights=self.weights,
                            bias=self.bias, kinds=np.array(self.kinds), cut=np.array(self.cut),
                            held_out=np.array(self.held_out, dtype=str))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> FrontalModel:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return cls(z["mean"], z["scale"], z["weights"], z["bias"],
                       tuple(str(k) for k in z["kinds"]), float(z["cut"]),
                       tuple(str(h) for h in z["held_out"]))

    def save(self, path: str | Path) -> str:
        """Write atomically; returns the file's sha256 (for the card)."""
        from core.files.atomic import write_bytes_atomic

        return write_bytes_atomic(path, self.to_bytes())

    @classmethod
    def load(cls, path: str | Path) -> FrontalModel:
        return cls.from_bytes(Path(path).read_bytes())


def fit_softmax(feats: np.ndarray, labels: np.ndarray, kinds: Sequence[str],
                weights: np.ndarray | None = None, l2: float = 1e-2, steps: int = 600,
                lr: float = 0.05, seed: int = 0) -> FrontalModel:
    """A softmax regression of ``labels`` (indices into ``kinds``) on standardised
    ``feats``, L2-penalised, by full-batch Adam; ``weights`` per sample (class balance).
    Its cut is 0 (P(frontal) = 1/2) until the caller sets one."""
    x = np.asarray(feats, np.float64)
    mean, scale = x.mean(0), x.std(0) + 1e-6
    z = (x - mean) / scale
    n, d = z.shape
    k = len(kinds)
    y = np.zeros((n, k))
    y[np.arange(n), labels] = 1.0
    w = np.ones(n) if weights is None else np.asarray(weights, np.float64)
    w = w / w.sum()
    rng = np.random.default_rng(seed)
    W, b = rng.normal(0, 1e-3, (d, k)), np.zeros(k)
    mW, vW, mb, vb = np.zeros_like(W), np.zeros_like(W), np.zeros_like(b), np.zeros_like(b)
    for t in range(1, steps + 1):
        lg = z @ W + b
        lg -= lg.max(1, keepdims=True)
        p = np.exp(lg)
        p /= p.sum(1, keepdims=True)
        g = (p - y) * w[:, None]
        gW, gb = z.T @ g + l2 * W, g.sum(0)
        for m, v, gr in ((mW, vW, gW), (mb, vb, gb)):
            m *= 0.9
            m += 0.1 * gr
            v *= 0.999
            v += 0.001 * gr * gr
        W -= lr * (mW / (1 - 0.9**t)) / (np.sqrt(vW / (1 - 0.999**t)) + 1e-8)
        b -= lr * (mb / (1 - 0.9**t)) / (np.sqrt(vb / (1 - 0.999**t)) + 1e-8)
    return FrontalModel(mean, scale, W, b, tuple(kinds), 0.0)
