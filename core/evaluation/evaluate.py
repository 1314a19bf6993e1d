"""Every figure for one decoded split: metrics at the card's threshold, the probes, the refusal rates."""

from __future__ import annotations

import numpy as np

from core.evaluation.metrics import summary
from core.evaluation.nonxray import ood_rates
from core.evaluation.probes import PROBE_FINDING, shortcut_probe, source_probe
from core.files.reader import read_xray


def evaluate_decoded(model, split, index=None) -> dict:
    """Full metrics for one decoded split (uint8 cache, labels, thumbs, paths)."""
    from core.model.inference import predict_u8

    net, card = model.keras_model, model.card
    raw, feats = predict_u8(net, split.images)
    p = card.calibrate(raw)
    out = summary(split.labels, p, card.threshold)
    # Both need the films as read (whole image, not the network's cache): read them once.
    images = [read_xray(q).pixels for q in split.paths]
    out["probe"] = shortcut_probe(net, card, images, split.labels)
    out["ood"] = ood_rates(model, images)
    if index is not None:
        # Per-source AUC is not meaningful when a source holds one class only; report the
        # score distribution per source instead (how separable the *collections* are).
        by_source: dict[str, list[float]] = {}
        rels = {
            s.path: index.manifest.get(s.path.relative_to(index.root).as_posix(), {})
            for s in index.samples
        }
        sources = [rels.get(path, {}).get("dataset", "unknown") for path in split.paths]
        findings = [rels.get(path, {}).get("label", PROBE_FINDING) for path in split.paths]
        for src, prob in zip(sources, p, strict=True):
            by_source.setdefault(src, []).append(float(prob))
        out["mean_probability_by_source"] = {k: float(np.mean(v)) for k, v in by_source.items()}
        out["source_probe"] = source_probe(feats, sources, split.labels, findings)
    return out

