"""Refit the test-time-view margin of a model (issue #21) on its validation films.

The margin (``card.interval.margin_logit``) is the 95th percentile of how far a film's
views moved its calibrated logit (:func:`core.answers.views.fit_margin`), over the films the
threshold was checked on: ``cxr/val`` and ``ieee8023/train``. Run it whenever the model
or the views change; the weights, the OOD statistics and the site reference are kept and
the set is replaced as a whole.

Run: ``.venv/bin/python scripts/fit_interval.py [MODEL] [--data ../shared/data]``.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DEFAULT_DATA = REPO.parent / "shared" / "data"


def fit_interval(model, images: np.ndarray) -> dict:
    """The card's ``interval`` section from network inputs (uint8 (N, S, S))."""
    from core.answers.views import MARGIN_QUANTILE, VIEWS, fit_margin, views
    from core.model.loading import predict_u8

    net, card = model.keras_model, model.card
    p_single = card.calibrate(predict_u8(net, images)[0])
    p_views = card.calibrate(predict_u8(net, np.concatenate([views(x) for x in images]))[0])
    margin = fit_margin(p_single, p_views.reshape(len(images), len(VIEWS)))
    return {"margin_logit": margin, "views": [v[0] for v in VIEWS], "percentiles": [10, 90],
            "margin_quantile": MARGIN_QUANTILE, "films": int(len(images)),
            "fitted_on": "cxr validation split + ieee8023/train (scripts/fit_interval.py)"}


def main() -> int:
    from core.files.reader import read_xray
    from core.model.disk import save_model
    from core.model.loading import load_model
    from core.model.preprocess import prepare
    from core.resources import default_model_path

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", nargs="?", default=str(default_model_path()))
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    args = ap.parse_args()
    data = Path(args.data)
    model = load_model(args.model)
    paths = []
    with open(data / "cxr" / "manifest.csv", newline="", encoding="utf-8") as fh:
        paths += [data / "cxr" / r["file"] for r in csv.DictReader(fh) if r["split"] == "val"]
    with open(data / "ieee8023" / "manifest.csv", newline="", encoding="utf-8") as fh:
        paths += [data / "ieee8023" / r["file"] for r in csv.DictReader(fh)
                  if r["split"] == "train"]
    images = np.stack([prepare(read_xray(p).pixels, model.card.spec) for p in paths])
    interval = fit_interval(model, images)
    card = replace(model.card, interval=interval)
    save_model(model.keras_model, card, args.model, model.ood, site=model.site)
    print(f"margin {interval['margin_logit']:.3f} logit over {len(images)} films; "
          f"wrote {args.model}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
