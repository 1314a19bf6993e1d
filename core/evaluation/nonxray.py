"""The out-of-distribution rates: real films refused, and a synthetic set of non-X-rays that must be."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageDraw

from core.answers.inference import Assessment, assess, prepare_pixels
from core.model.card import NOT_ASSESSED, POSITIVE

if TYPE_CHECKING:
    from core.model.loading import LoadedModel


def synthetic_non_xrays(n_each: int = 20, seed: int = 0) -> dict[str, list[np.ndarray]]:
    """Images that are clearly not chest X-rays: noise, documents, CT-like slices, smooth
    'photographs', gradients, shapes, blanks. Grayscale, so the colour check cannot help."""
    rng = np.random.default_rng(seed)
    size = 384
    out: dict[str, list[np.ndarray]] = {
        k: [] for k in ("noise", "document", "ct_slice", "photo", "gradient", "shapes", "blank")
    }
    yy, xx = np.mgrid[0:size, 0:size] / size
    for _ in range(n_each):
        out["noise"].append(
            rng.random((size, size)).astype(np.float32)
            if rng.random() < 0.5
            else np.clip(rng.normal(0.5, 0.2, (size, size)), 0, 1).astype(np.float32)
        )
        page = Image.new("L", (size, size), int(rng.integers(225, 256)))
        d = ImageDraw.Draw(page)
        for line in range(int(rng.integers(8, 30))):
            y = 10 + line * 12
            words = " ".join(
                "".join(chr(int(c)) for c in rng.integers(97, 123, rng.integers(2, 9)))
                for _ in range(int(rng.integers(3, 9)))
            )
            d.text((int(rng.integers(5, 40)), y), words, fill=int(rng.integers(0, 60)))
        out["document"].append(np.asarray(page, np.float32) / 255.0)
        ct = Image.new("L", (size, size), 0)
        d = ImageDraw.Draw(ct)
        cx, cy = size // 2 + int(rng.integers(-20, 20)), size // 2 + int(rng.integers(-20, 20))
        rx, ry = int(rng.integers(130, 175)), int(rng.integers(95, 130))
        d.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=int(rng.integers(90, 130)))
        d.ellipse([cx - rx + 12, cy - ry + 12, cx + rx - 12, cy + ry - 12], outline=230, width=6)
        for side in (-1, 1):
            lx = cx + side * rx // 2
            d.ellipse(
                [lx - rx // 3, cy - ry // 2, lx + rx // 3, cy + ry // 2],
                fill=int(rng.integers(10, 40)),
            )
        d.ellipse([cx - 18, cy + ry // 3, cx + 18, cy + ry // 3 + 36], fill=240)
        out["ct_slice"].append(np.asarray(ct, np.float32) / 255.0)
        low = rng.random((8, 8)).astype(np.float32)
        photo = np.asarray(Image.fromarray(low, "F").resize((size, size), Image.Resampling.BICUBIC))
        out["photo"].append(
            np.clip(photo + rng.normal(0, 0.03, photo.shape), 0, 1).astype(np.float32)
        )
        ang = rng.random() * 2 * math.pi
        out["gradient"].append(
            np.clip(np.cos(ang) * xx + np.sin(ang) * yy + 0.5, 0, 1).astype(np.float32)
        )
        shapes = Image.new("L", (size, size), int(rng.integers(0, 256)))
        d = ImageDraw.Draw(shapes)
        for _ in range(int(rng.integers(3, 12))):
            x0, y0 = rng.integers(0, size, 2)
            w, h = rng.integers(20, 200, 2)
            fn = d.rectangle if rng.random() < 0.5 else d.ellipse
            fn([int(x0), int(y0), int(x0 + w), int(y0 + h)], fill=int(rng.integers(0, 256)))
        out["shapes"].append(np.asarray(shapes, np.float32) / 255.0)
        out["blank"].append(np.full((size, size), rng.random(), np.float32))
    return out


def assess_pixels(model: LoadedModel, images: list[np.ndarray], batch_size: int = 32,
                  ) -> list[Assessment]:
    """The classifier's full answer (refusal, unusual flag, probability) for in-memory
    radiographs, through the same rules as ``covidcxr classify``."""
    spec = model.card.spec
    out = []
    for i in range(0, len(images), batch_size):
        items = [prepare_pixels(p, spec, model.anatomy) for p in images[i : i + batch_size]]
        out.extend(assess(model, items, model.threshold))
    return out


@dataclass(frozen=True)
class AnswerRates:
    """Refused / unusual / called-COVID shares of a list of assessments."""

    n: int
    refused: float
    unusual: float
    called_covid_of_assessed: float


def answer_rates(answers: list[Assessment]) -> AnswerRates:
    """Refused / unusual / called-COVID shares of a list of assessments (0 of none)."""
    n = len(answers)
    if not n:
        return AnswerRates(0, 0.0, 0.0, float("nan"))
    refused = sum(a.label == NOT_ASSESSED for a in answers)
    assessed = n - refused
    return AnswerRates(
        n,
        refused / n,
        sum(a.unusual for a in answers) / n,
        sum(a.label == POSITIVE for a in answers) / assessed if assessed else float("nan"),
    )


@dataclass(frozen=True)
class RefusalRates:
    """Real X-rays refused or flagged unusual (when given), and non-X-rays refused."""

    non_xray_refused: float
    non_xray_n: int
    non_xray_by_kind: dict[str, float]
    xray_refused: float | None = None
    xray_unusual: float | None = None
    xray_n: int = 0

    def to_dict(self) -> dict[str, Any]:
        real = (
            {"xray_refused": self.xray_refused, "xray_unusual": self.xray_unusual,
             "xray_n": self.xray_n}
            if self.xray_n else {}
        )
        return {**real, "non_xray_refused": self.non_xray_refused,
                "non_xray_n": self.non_xray_n, "non_xray_by_kind": dict(self.non_xray_by_kind)}


def ood_rates(model: LoadedModel, real: list[Assessment] | None = None,
              ) -> RefusalRates | None:
    """Share of real X-rays refused or flagged unusual (``real``: the classifier's answers
    for them, :func:`assess_pixels`), and of non-X-rays refused, per kind; None for a model
    with neither an OOD detector nor an anatomy check."""
    if model.ood is None and model.anatomy is None:
        return None
    rates = answer_rates(real) if real else None
    by_kind = {kind: assess_pixels(model, imgs) for kind, imgs in synthetic_non_xrays().items()}
    every = answer_rates([a for answers in by_kind.values() for a in answers])
    return RefusalRates(
        non_xray_refused=every.refused,
        non_xray_n=every.n,
        non_xray_by_kind={k: answer_rates(v).refused for k, v in by_kind.items()},
        xray_refused=rates.refused if rates else None,
        xray_unusual=rates.unusual if rates else None,
        xray_n=rates.n if rates else 0,
    )
