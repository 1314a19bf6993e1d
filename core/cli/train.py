"""``covidcxr train``: train a model from a dataset folder."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from core.cli.report import format_report
from core.errors import DatasetError
from core.files.atomic import check_writable
from core.files.dataset import scan
from core.training.fit import train
from core.training.recipe import TrainConfig, transfer_recipe


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Recipe options default to None: the architecture's recipe fills what is not given
    (the seed's for seed/seed_gap, :func:`transfer_recipe` for lite0)."""
    d = TrainConfig()
    t = transfer_recipe()

    def both(field: str) -> str:
        return f"default: {getattr(d, field)}; lite0: {getattr(t, field)}"

    p.add_argument(
        "dataset",
        help="folder with one sub-folder per class (optionally "
        "train/val/test folders and a manifest.csv)",
    )
    p.add_argument("--output", "-o", required=True, help="model file to write (.keras)")
    p.add_argument(
        "--architecture", default=d.architecture, choices=["seed", "seed_gap", "lite0"]
    )
    p.add_argument("--input-size", type=int, help="network input in pixels (" + both("input_size") + ")")
    p.add_argument(
        "--start-from",
        choices=["imagenet", "scratch"],
        help="lite0: ImageNet backbone (head first, then fine-tune) or random weights",
    )
    p.add_argument(
        "--unfreeze-from",
        help="lite0: fine-tune this block and those above it (block1a ... block7a, top, "
        "or none: the backbone stays frozen and only the head trains; "
        f"default {t.unfreeze_from})",
    )
    p.add_argument("--epochs", type=int, help=both("epochs"))
    p.add_argument("--batch-size", type=int, help=both("batch_size"))
    p.add_argument("--learning-rate", type=float, help=both("learning_rate"))
    p.add_argument("--patience", type=int, help=both("patience"))
    p.add_argument("--min-delta", type=float, help=both("min_delta"))
    p.add_argument("--no-flip", dest="flip", action="store_false", default=None)
    p.add_argument(
        "--strong-augment",
        action="store_true",
        default=None,
        help="contrast, gamma, blur, noise, JPEG, crop/scale, rotation (lite0: on)",
    )
    p.add_argument(
        "--no-class-weights", dest="class_weights", action="store_false", default=None
    )
    p.add_argument(
        "--crop",
        type=float,
        help="central fraction of each axis the network sees (1.0 = whole image; "
        + both("crop")
        + ")",
    )
    p.add_argument(
        "--equalize", action="store_true", default=None, help="histogram equalisation (lite0: on)"
    )
    p.add_argument("--seed", type=int)
    p.add_argument("--positive", help="name of the positive class folder (default: *covid*)")
    p.add_argument("--init-from", help="start from this model's weights")
    p.add_argument("--ignore-duplicates", action="store_true", default=None)
    p.add_argument("--skip-unreadable", action="store_true", default=None)
    p.add_argument("--max-train-batches", type=int)
    p.add_argument(
        "--reestimate-bn",
        action="store_true",
        default=None,
        help="recompute batch-norm statistics on clean training images at the end",
    )
    from core.training.distribute import STRATEGIES

    p.add_argument(
        "--strategy",
        choices=STRATEGIES,
        help="where to train: auto (all GPUs when there are several, else one device), one, "
        "mirrored (every GPU, or every logical CPU device), multiworker (machines named by "
        "TF_CONFIG); --batch-size is per device (default auto)",
    )
    p.add_argument("--name", help="model name for the card")
    p.add_argument("--notes", default="")


def config_from_arguments(args: argparse.Namespace) -> TrainConfig:
    """The architecture's recipe, with what the command line gave on top."""
    base = transfer_recipe() if args.architecture == "lite0" else TrainConfig()
    fields = TrainConfig.__dataclass_fields__
    given = {k: v for k, v in vars(args).items() if k in fields and v is not None}
    return replace(base, **given)


def run(args: argparse.Namespace) -> int:
    from core.model.disk import save_model

    cfg = config_from_arguments(args)
    out = Path(args.output)
    if out.suffix != ".keras":
        raise DatasetError("--output must end in .keras")
    check_writable(out, "--output")  # now, not after hours of training
    index = scan(args.dataset, positive=cfg.positive, seed=cfg.seed)
    print(f"dataset {index.root} ({index.split_source}); positive class: {index.positive}")
    for split, per in index.counts().items():
        print(
            f"  {split:5s} "
            + "  ".join(f"{c}={n}" for c, n in per.items())
            + f"  total={sum(per.values())}"
        )

    def epoch_line(e: dict) -> None:
        keys = ("loss", "accuracy", "auc", "val_loss", "val_accuracy", "val_auc")
        vals = " ".join(f"{k}={e[k]:.4f}" for k in keys if k in e)
        print(f"epoch {e['epoch'] + 1:3d} {vals} ({e['elapsed']:.0f} s)", flush=True)

    def progress(done: int, total: int, msg: str) -> None:
        print(f"  {msg}: {done}/{total}", file=sys.stderr, flush=True)

    result = train(index, cfg, on_epoch=epoch_line, on_progress=progress)
    t = result.card.training
    print(f"trained under {t['strategy']} ({t['replicas']} replica(s), {t['precision']})")
    if not result.chief:
        print(f"not the chief worker: {out} is written by the chief only")
        return 0
    if args.name:
        result.card.name = args.name
    result.card.notes = args.notes
    save_model(result.keras_model, result.card, out, result.ood)
    print(f"best epoch {result.best_epoch + 1}; threshold {result.card.threshold:.4f}")
    sys.stdout.write(format_report(result.test or result.val,
                                   "test" if result.test else "validation"))
    print(f"wrote {out} and {out.stem}.card.json")
    if result.test:
        test = result.test.to_dict(roc=False)
        print(json.dumps({"test_auc": test["auc"], "probe": test["probe"]}, indent=None))
    return 0

