"""``covidcxr evaluate``: a model's metrics, probes and refusal rates on a labelled folder."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace

from core.cli.common import check_model, resolve_model
from core.cli.report import format_report
from core.errors import DatasetError
from core.evaluation.evaluate import evaluate_decoded


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "dataset", help="labelled folder (one sub-folder per class, optionally train/val/test)"
    )
    p.add_argument("--model", default=argparse.SUPPRESS, help="model .keras file")
    p.add_argument(
        "--split",
        default=None,
        help="which split to evaluate (default: test when the folder has splits, else every image)",
    )
    p.add_argument("--positive", help="positive class folder (default: *covid*)")
    p.add_argument("--threshold", type=float, help="override the card's threshold")
    p.add_argument("--json", help="also write the metrics to this JSON file")


def run(args: argparse.Namespace) -> int:
    from core.files.atomic import check_writable, write_text_atomic

    if args.json:
        check_writable(args.json, "--json")  # before the dataset is decoded
    model_path = resolve_model(getattr(args, "model", None))
    check_model(model_path)  # a damaged model is one line, before TensorFlow starts

    from core.files.dataset import scan
    from core.model.cache import DecodedSplit, decode
    from core.model.loading import device_name, load_model

    model = load_model(model_path)
    if args.threshold is not None:  # this run's threshold; the card on disk is untouched
        model = replace(model, card=replace(model.card, threshold=float(args.threshold)))
    index = scan(args.dataset, positive=args.positive)
    has_splits = not index.split_source.startswith("seeded")
    split = args.split or ("test" if has_splits and index.of_split("test") else None)
    decoded = decode(index, model.card.spec, skip_unreadable=True)
    part = (decoded.splits[split] if split
            else DecodedSplit.joined(list(decoded.splits.values())))
    if len(set(part.labels.tolist())) < 2:
        raise DatasetError("the evaluated images must include both classes")
    print(
        f"model {model.display_name} on {device_name(model)}; dataset {index.root} "
        f"({split or 'all images'}); unreadable skipped: {len(decoded.unreadable)}"
    )
    result = evaluate_decoded(model, part, index)
    sys.stdout.write(format_report(result, split or "all"))
    if args.json:
        write_text_atomic(args.json, json.dumps(result.to_dict(), indent=2, default=float) + "\n")
        print(f"wrote {args.json}")
    return 0
