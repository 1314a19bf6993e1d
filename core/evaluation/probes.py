"""The shortcut probe and the source probe: does the model read the lungs, or where a film
came from?

The shortcut probe follows Maguolo & Nanni: black out the central 70% of each axis (where
the lungs are) and a model that reads the lungs should fall to chance; black out everything
*but* that centre and it should keep most of its AUC.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from core.evaluation.metrics import ShortcutProbe, SourceProbe, cross_validated_auc, roc_auc
from core.model.card import ModelCard
from core.model.preprocess import crop_box, prepare

PROBE_CENTRE = 0.70


def mask_centre(pixels: np.ndarray, keep_centre: bool) -> np.ndarray:
    """Black out the central 70% (keep_centre=False) or everything else (keep_centre=True)."""
    top, left, bottom, right = crop_box(pixels.shape[0], pixels.shape[1], PROBE_CENTRE)
    out = np.zeros_like(pixels) if keep_centre else pixels.copy()
    if keep_centre:
        out[top:bottom, left:right] = pixels[top:bottom, left:right]
    else:
        out[top:bottom, left:right] = 0.0
    return out


def forward_pixels(
    net: Any, card: ModelCard, images: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated P(COVID) and pooled features of radiographs as read (float32 [0, 1]),
    through the card's preprocessing: no anatomy check, no decision."""
    from core.model.loading import predict_u8

    spec = card.spec
    cache = (
        np.stack([prepare(p, spec) for p in images])
        if images
        else np.zeros((0, spec.size, spec.size), np.uint8)
    )
    raw, feats = predict_u8(net, cache)
    return card.calibrate(raw), feats


def shortcut_probe(
    net: Any, card: ModelCard, images: list[np.ndarray], labels: np.ndarray
) -> ShortcutProbe:
    """Test AUC with the lungs hidden and with only the lungs shown (``images``: the
    radiographs as read, float32 [0, 1]). Through the network alone, not the classifier:
    a film with its lungs blacked out is no frontal chest film, and would be refused."""
    hidden = [mask_centre(px, keep_centre=False) for px in images]
    only = [mask_centre(px, keep_centre=True) for px in images]
    ph, _ = forward_pixels(net, card, hidden)
    po, _ = forward_pixels(net, card, only)
    return ShortcutProbe(roc_auc(labels, ph), roc_auc(labels, po), PROBE_CENTRE, int(len(labels)))


#: The two negative collections of ../shared/data/cxr the source probe tells apart, and
#: the finding compared (NIH also has pneumonia films; comparing normals with normals
#: keeps disease out of the probe).
PROBE_SOURCES = ("rsna", "nih-cxr14")


PROBE_FINDING = "Normal"


def source_probe(
    feats: np.ndarray,
    sources: list[str],
    labels: np.ndarray,
    findings: list[str] | None = None,
) -> SourceProbe | None:
    """How well the model's features tell two *negative* collections apart.

    A cross-validated logistic regression on the pooled features of the normal films of
    the two sources in ``PROBE_SOURCES``: AUC 0.5 means the features carry no trace of
    which hospital a healthy film came from; near 1.0 means the source is in the
    representation, and so available as a shortcut for COVID (which comes from yet
    another collection). ``findings`` (the manifest's label per image) restricts it to
    ``PROBE_FINDING``; without them every negative counts. None when fewer than 20 such
    films, or only one source, are present."""
    a, b = PROBE_SOURCES
    findings = findings or [PROBE_FINDING] * len(sources)
    keep = np.array(
        [
            lab == 0 and src in (a, b) and finding == PROBE_FINDING
            for src, lab, finding in zip(sources, labels, findings, strict=True)
        ],
        bool,
    )
    y = np.array([src == a for src in sources], int)[keep]
    if keep.sum() < 20 or y.min() == y.max():
        return None
    return SourceProbe(cross_validated_auc(feats[keep], y, l2=10.0), PROBE_SOURCES,
                       int(keep.sum()))

