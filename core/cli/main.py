"""Headless command line: ``covidcxr classify | train | evaluate | validate | --self-test``.

Never prints a traceback for a user error: a one-line reason and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import os
import sys

from core import __version__
from core.cli.classify import cmd_classify
from core.cli.common import positive_int
from core.cli.selftest import cmd_self_test
from core.cli.validate import ReportWriter, cmd_validate
from core.errors import CovidCXRError

#: The headless sub-commands (besides ``--self-test``); the launcher sends these here and
#: names them when a mistyped word or a missing display stops the window.
COMMANDS = ("classify", "train", "evaluate", "validate")


def cmd_train(args: argparse.Namespace) -> int:
    from core.cli.train import run_training_cli

    return run_training_cli(args)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from core.cli.evaluate import run_evaluate_cli

    return run_evaluate_cli(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="covidcxr",
        description="CovidCXR: chest X-ray COVID-19 screening. Research use only, not a "
        "medical device. With no command, opens the window.",
    )
    parser.add_argument("--version", action="version", version=f"covidcxr {__version__}")
    parser.add_argument(
        "--self-test",
        action="store_true",
        help="load the bundled model, check it, classify the samples",
    )
    parser.add_argument("--model", help="model .keras file (default: the bundled model)")
    sub = parser.add_subparsers(dest="command")

    from core.model.inference import DEFAULT_BATCH  # no TensorFlow behind it

    c = sub.add_parser("classify", help="classify files and folders into predicted.csv")
    c.add_argument("paths", nargs="*", help="image files and/or folders (searched recursively)")
    c.add_argument("--files-from", metavar="LIST",
                   help="also classify the paths in this file, one per line (- for stdin)")
    c.add_argument("--output", "-o", default="predicted.csv", help="CSV to write")
    c.add_argument("--resume", action="store_true",
                   help="continue an interrupted run: keep the rows already written for "
                   "--output and classify only the other files")
    c.add_argument("--shard", metavar="I/N",
                   help="classify only shard I of N (a stable hash of each path): N machines "
                   "split an archive and their CSVs together hold every file once")
    c.add_argument("--model", default=argparse.SUPPRESS, help="model .keras file")
    c.add_argument("--threshold", type=float, help="override the model card's threshold")
    c.add_argument(
        "--batch-size",
        type=positive_int,
        default=DEFAULT_BATCH,
        help=f"files per network call (default {DEFAULT_BATCH}; more uses more memory)",
    )
    c.set_defaults(func=cmd_classify)

    from core.cli.evaluate import add_evaluate_arguments
    from core.cli.train import add_train_arguments

    t = sub.add_parser("train", help="train a model from a dataset folder")
    add_train_arguments(t)
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="metrics of a model on a labelled folder")
    add_evaluate_arguments(e)
    e.set_defaults(func=cmd_evaluate)

    v = sub.add_parser(
        "validate",
        help="measure the model on your own labelled films: intervals, operating point, "
        "site profile, PDF report",
    )
    v.add_argument("folder", help="labelled folder: one sub-folder per class, or any folder "
                   "with --labels")
    v.add_argument("--labels", help="CSV of filename,label (optional patient and sub-group "
                   "columns), names relative to the folder")
    v.add_argument("--positive", help="the COVID class (default: the one named *covid*)")
    v.add_argument("--split", choices=("train", "val", "test"),
                   help="only this split of a train/val/test folder")
    v.add_argument("--model", default=argparse.SUPPRESS,
                   help="model .keras file or site profile .site.json")
    point = v.add_mutually_exclusive_group()
    point.add_argument("--threshold", type=float, help="operating point (default: the model's)")
    point.add_argument("--target-sensitivity", type=float,
                       help="the most specific threshold reaching this sensitivity")
    point.add_argument("--target-specificity", type=float,
                       help="the most sensitive threshold reaching this specificity")
    v.add_argument("--prevalence", type=float,
                   help="PPV and NPV at this share of COVID (default: the folder's own)")
    v.add_argument("--resamples", type=positive_int, default=2000,
                   help="bootstrap resamples (default 2000)")
    v.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    v.add_argument("--save-profile", metavar="FILE.site.json",
                   help="write a site profile with this operating point (weights untouched)")
    v.add_argument("--site", help="the site's name, for --save-profile")
    v.add_argument("--recalibrate", action="store_true",
                   help="with --save-profile: refit the calibration on these films")
    v.add_argument("--report", metavar="REPORT.pdf", help="write a PDF report")
    v.add_argument("--json", help="also write the metrics to this JSON file")
    v.add_argument("--batch-size", type=positive_int, default=DEFAULT_BATCH,
                   help=f"files per network call (default {DEFAULT_BATCH})")
    v.set_defaults(func=cmd_validate)
    return parser


def main(argv: list[str] | None = None, write_report: ReportWriter | None = None) -> int:
    """Run one sub-command; ``write_report`` draws ``validate --report`` (see
    :data:`ReportWriter`)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.self_test:
            return cmd_self_test(args)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        if args.func is cmd_validate:
            return cmd_validate(args, write_report)
        return args.func(args)
    except CovidCXRError as exc:
        print(f"covidcxr: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("covidcxr: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("covidcxr: error: out of memory", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"covidcxr: error: {exc.strerror or exc}: {exc.filename or ''}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

