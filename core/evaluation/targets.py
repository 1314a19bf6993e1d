"""What the model is held to: the targets the evaluation report and the training tab show
next to the shortcut probe, the source probe and the refusal rates. One home for each."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """A bound on one measure: ``value <= bound`` (``at_most``) or ``value >= bound``."""

    bound: float
    at_most: bool
    percent: bool = False

    def met(self, value: float | None) -> bool | None:
        """Whether ``value`` meets the target; None when there is no value."""
        if value is None or not math.isfinite(value):
            return None
        return value <= self.bound if self.at_most else value >= self.bound

    def text(self) -> str:
        """``target <= 0.65`` or ``target >= 99%``."""
        bound = f"{self.bound:.0%}" if self.percent else f"{self.bound:.2f}"
        return f"target {'<=' if self.at_most else '>='} {bound}"


#: Shortcut probe: AUC with the central 70 % blacked out; near 0.5 means the lungs matter.
LUNGS_HIDDEN_AUC = Target(0.65, at_most=True)
#: Shortcut probe: AUC with only the central 70 % shown; the lungs alone should suffice.
LUNGS_ONLY_AUC = Target(0.90, at_most=False)
#: Real frontal chest X-rays refused as not one (NOT ASSESSED).
XRAY_REFUSED = Target(0.01, at_most=True, percent=True)
#: Synthetic non-X-ray pictures refused.
NON_XRAY_REFUSED = Target(0.99, at_most=False, percent=True)
#: Source probe: two negative collections told apart by the model's features.
SOURCE_PROBE_AUC = Target(0.75, at_most=True)
