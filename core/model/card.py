"""The model card: the contract that travels beside every ``.keras`` file.

Input size, class names, decision threshold, preprocessing, OOD cut-offs, training data
summary, metrics and the sha256 of the weights. Loading refuses a model whose weights do not
match the card. No TensorFlow here, so the GUI can show a card without loading a network.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ModelError
from core.model.calibration import apply_platt
from core.model.preprocess import PreprocessSpec
from core.model.store import current_weights

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
    #: Set on a site profile (core.model.profiles): the local operating point's provenance.
    site: dict[str, Any] = field(default_factory=dict)
    #: Test-time views (core.model.views): {"margin_logit": m, ...}. Films whose logit lies
    #: within m of the threshold's get views (no "margin_logit": every film does); empty:
    #: a model finalised before views existed, and no film gets them.
    interval: dict[str, Any] = field(default_factory=dict)
    #: The site check's reference (core.model.site): {"file": NAME.site.npz, "sha256": ..,
    #: "films": n, "source": ..}; empty: no check.
    site_check: dict[str, Any] = field(default_factory=dict)

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


def card_path(model_path: str | Path) -> Path:
    """``models/x.keras`` -> ``models/x.card.json``."""
    p = Path(model_path)
    return p.with_name(p.stem + ".card.json")


def ood_path(model_path: str | Path) -> Path:
    p = Path(model_path)
    return p.with_name(p.stem + ".ood.npz")


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_card(model_path: str | Path) -> ModelCard:
    """The card of the model named ``model_path`` (of its new set while a save installs it:
    see :mod:`core.model.store`)."""
    cp = card_path(current_weights(model_path))
    if not cp.is_file():
        raise ModelError(f"model card {cp.name} is missing beside {Path(model_path).name}")
    return ModelCard.from_json(cp.read_text(encoding="utf-8"))


def verify(model_path: str | Path, card: ModelCard) -> None:
    """Refuse a weights file (or OOD file) whose sha256 differs from the card's."""
    model_path = current_weights(model_path)
    if not model_path.is_file():
        raise ModelError(f"model file not found: {model_path}")
    actual = sha256_file(model_path)
    if actual != card.weights_sha256:
        raise ModelError(
            f"model file {model_path.name} does not match its card (sha256 {actual[:12]}… "
            f"expected {card.weights_sha256[:12]}…): refusing to load a modified model"
        )
    ood_file = card.ood.get("file")
    if ood_file:
        op = model_path.with_name(ood_file)
        if not op.is_file() or sha256_file(op) != card.ood.get("sha256"):
            raise ModelError(f"OOD statistics {ood_file} are missing or do not match the card")
