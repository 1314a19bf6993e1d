"""Every figure for one decoded split: metrics at the card's threshold, the probes, the
refusal rates, and the score by source."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from core.evaluation.metrics import Metrics, summary
from core.evaluation.nonxray import RefusalRates, ood_rates
from core.evaluation.probes import (
    PROBE_FINDING,
    ShortcutProbe,
    SourceProbe,
    shortcut_probe,
    source_probe,
)
from core.files.reader import read_xray

if TYPE_CHECKING:
    from core.files.dataset import DatasetIndex
    from core.model.cache import DecodedSplit
    from core.model.loading import LoadedModel


@dataclass(frozen=True)
class Evaluation:
    """A model on one labelled split: what ``covidcxr evaluate`` prints and the training
    tab shows."""

    metrics: Metrics
    probe: ShortcutProbe
    ood: RefusalRates | None
    #: With a dataset index only: mean P(COVID) per source collection, and the source probe.
    mean_probability_by_source: dict[str, float] = field(default_factory=dict)
    source_probe: SourceProbe | None = None
    by_source: bool = False

    def to_dict(self, roc: bool = True) -> dict[str, Any]:
        """The JSON of ``evaluate --json`` (and, without the ROC list, of the card)."""
        out = self.metrics.to_dict(roc)
        out["probe"] = _plain(self.probe)
        out["ood"] = self.ood.to_dict() if self.ood else {}
        if self.by_source:
            out["mean_probability_by_source"] = dict(self.mean_probability_by_source)
            out["source_probe"] = _plain(self.source_probe)
        return out


def _plain(probe: ShortcutProbe | SourceProbe | None) -> dict[str, Any]:
    if probe is None:
        return {}
    out = asdict(probe)
    if "sources" in out:
        out["sources"] = list(out["sources"])
    return out


def evaluate_decoded(
    model: LoadedModel, split: DecodedSplit, index: DatasetIndex | None = None
) -> Evaluation:
    """Full metrics for one decoded split (uint8 cache, labels, thumbs, paths)."""
    from core.model.loading import predict_u8

    net, card = model.keras_model, model.card
    raw, feats = predict_u8(net, split.images)
    p = card.calibrate(raw)
    metrics = summary(split.labels, p, card.threshold)
    # Both need the films as read (whole image, not the network's cache): read them once.
    images = [read_xray(q).pixels for q in split.paths]
    probe = shortcut_probe(net, card, images, split.labels)
    ood = ood_rates(model, images)
    if index is None:
        return Evaluation(metrics, probe, ood)
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
    return Evaluation(
        metrics, probe, ood,
        mean_probability_by_source={k: float(np.mean(v)) for k, v in by_source.items()},
        source_probe=source_probe(feats, sources, split.labels, findings),
        by_source=True,
    )
