"""Every figure for one decoded split: its films through the classifier (the same rules as
``covidcxr classify``), measured at the model's threshold, with the probes, the refusal
rates and the score by source."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from core.evaluation.metrics import Metrics, summary
from core.evaluation.nonxray import assess_pixels, ood_rates
from core.evaluation.probes import PROBE_FINDING, shortcut_probe, source_probe
from core.files.reader import read_xray
from core.model.card import INDETERMINATE, NOT_ASSESSED

if TYPE_CHECKING:
    from core.answers.inference import Assessment
    from core.files.dataset import DatasetIndex
    from core.model.cache import DecodedSplit
    from core.model.loading import LoadedModel


def measure(labels: np.ndarray, answers: list[Assessment], threshold: float) -> Metrics:
    """The figures of a labelled set from the classifier's answers: every film by its score
    (the network scores a film the classifier refuses, too), with the films refused (NOT
    ASSESSED) and those with no hard call (INDETERMINATE) counted beside them."""
    p = np.array([a.probability for a in answers], np.float64)
    return replace(summary(labels, p, threshold),
                   not_assessed=sum(a.label == NOT_ASSESSED for a in answers),
                   indeterminate=sum(a.label == INDETERMINATE for a in answers))


def evaluate_decoded(
    model: LoadedModel, split: DecodedSplit, index: DatasetIndex | None = None
) -> Metrics:
    """Every figure for one decoded split (its labels and paths): the films as read, each
    through the classifier once (:func:`core.evaluation.nonxray.assess_pixels`), measured
    (:func:`measure`) with the shortcut probe, the refusal rates and, given the dataset
    ``index``, the score and the source probe by source collection."""
    # The films as read (whole image, not the network's cache): the classifier and the
    # shortcut probe both start from them.
    images = [read_xray(q).pixels for q in split.paths]
    answers = assess_pixels(model, images)
    metrics = replace(
        measure(split.labels, answers, model.threshold),
        probe=shortcut_probe(model.keras_model, model.card, images, split.labels),
        ood=ood_rates(model, answers),
    )
    if index is None:
        return metrics
    # Per-source AUC is not meaningful when a source holds one class only; report the
    # score distribution per source instead (how separable the *collections* are), over
    # every film the network scored, refused or not.
    by_source: dict[str, list[float]] = {}
    rels = {
        s.path: index.manifest.get(s.path.relative_to(index.root).as_posix(), {})
        for s in index.samples
    }
    sources = [rels.get(path, {}).get("dataset", "unknown") for path in split.paths]
    findings = [rels.get(path, {}).get("label", PROBE_FINDING) for path in split.paths]
    for src, a in zip(sources, answers, strict=True):
        by_source.setdefault(src, []).append(a.probability)
    feats = np.stack([a.features for a in answers if a.features is not None])
    return replace(
        metrics,
        mean_probability_by_source={k: float(np.mean(v)) for k, v in by_source.items()},
        source_probe=source_probe(feats, sources, split.labels, findings),
    )
