"""The model card: the contract that travels beside every ``.keras`` file.

Input size, class names, decision threshold, preprocessing, OOD cut-offs, training data
summary, metrics and the sha256 of the weights. Loading refuses a model whose weights do not
match the card (:mod:`core.model.disk`). No TensorFlow here, so the GUI can show a card
without loading a network.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from core.errors import ModelError
from core.model.calibration import apply_platt
from core.model.preprocess import PreprocessSpec

POSITIVE = "COVID"
NEGATIVE = "NOT COVID"
NOT_ASSESSED = "NOT ASSESSED"
#: Assessed, but the score's interval over test-time views straddles the threshold.
INDETERMINATE = "INDETERMINATE"
INTENDED_USE = (
    "Research use only. Not a medical device: not for diagnosis, triage or any clinical "
    "decision. Outputs must be reviewed by a qualified clinician."
)


@dataclass
class ModelCard:
    name: str
    architecture: str = "seed"
    input_size: int = 256
    class_names: list[str] = field(default_factory=lambda: [NEGATIVE, POSITIVE])
    threshold: float = 0.5
    threshold_rule: str = "default 0.5 (not calibrated)"
    #: Logistic recalibration of the network's output, fitted on validation: {"a": .., "b": ..}
    calibration: dict[str, Any] = field(default_factory=dict)
    preprocess: dict[str, Any] = field(default_factory=lambda: PreprocessSpec().to_dict())
    weights_file: str = ""
    weights_sha256: str = ""
    ood: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    intended_use: str = INTENDED_USE
    created: str = ""
    notes: str = ""
    #: Set on a site profile (core.model.disk): the local operating point's provenance.
    site: dict[str, Any] = field(default_factory=dict)
    #: Test-time views (core.answers.views): {"margin_logit": m, ...}. Films whose logit lies
    #: within m of the threshold's get views (no "margin_logit": every film does); empty:
    #: a model finalised before views existed, and no film gets them.
    interval: dict[str, Any] = field(default_factory=dict)
    #: The site check's reference (core.model.site): {"file": NAME.site.npz, "sha256": ..,
    #: "films": n, "source": ..}; empty: no check.
    site_check: dict[str, Any] = field(default_factory=dict)
    #: The frontal-film classifier on the pooled features (core.model.frontal): {"file":
    #: NAME.frontal.npz, "sha256": .., "weights_digest": .., "cut": .., ...}; empty: the
    #: lung anatomy check alone decides (a model finalised before #31, a user-trained one).
    frontal_check: dict[str, Any] = field(default_factory=dict)
    #: The network converted for the lean runtime (core.model.runtime, written by
    #: core.model.convert): {"file": NAME.tflite, "sha256": .., "views_file":
    #: NAME.views.tflite, "views_sha256": .., "weights_digest": .., "max_abs_dp": ..,
    #: "map_grid": g, ...}; empty: the Keras network answers (and TensorFlow is imported).
    runtime: dict[str, Any] = field(default_factory=dict)

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """The network's raw P(COVID) through the card's recalibration (identity if none)."""
        cal = self.calibration
        return apply_platt(raw, cal["a"], cal["b"]) if cal else np.asarray(raw)

    @property
    def spec(self) -> PreprocessSpec:
        spec = PreprocessSpec.from_dict(self.preprocess)
        if spec.size != self.input_size:
            raise ModelError(
                f"model card is inconsistent: input size {self.input_size}, "
                f"preprocessing size {spec.size}"
            )
        return spec

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ModelCard:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ModelError(f"model card is not valid JSON: {exc}") from None
        known = set(cls.__dataclass_fields__)
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except TypeError as exc:
            raise ModelError(f"model card is incomplete: {exc}") from None
