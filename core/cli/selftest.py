"""``covidcxr --self-test``: load the bundled model, verify it, classify the samples."""

from __future__ import annotations

import argparse

from core.cli.common import check_model, resolve_model
from core.errors import CovidCXRError


def run(args: argparse.Namespace) -> int:
    """Load the bundled model, verify its hash, classify the bundled samples."""
    from core.answers.inference import classify
    from core.files.discovery import iter_inputs
    from core.model.loading import device_name, load_model
    from core.resources import samples_dir

    model_path = resolve_model(args.model)
    check_model(model_path)
    model = load_model(model_path)
    files = list(iter_inputs([samples_dir()]))
    if not files:
        raise CovidCXRError(f"no sample images in {samples_dir()}")
    preds = list(classify(files, model))
    bad = [p for p in preds if not p.ok]
    for p in preds:
        prob = "" if p.probability is None else f"{p.probability:.4f}"
        print(f"  {p.filename:32s} {p.label:13s} {prob} {p.message}")
    if bad:
        print(f"FAILED: {len(bad)} sample(s) could not be read")
        return 1
    print(
        f"OK model={model.display_name} sha256={model.card.weights_sha256[:12]} "
        f"samples={len(preds)} device={device_name(model)}"
    )
    return 0

