"""Headless command line: ``covidcxr classify | train | evaluate | validate | listen | pacs |
--self-test``.

One module per sub-command (``add_arguments`` and ``run``), and here the one map from the
project's errors to exit codes: a user error is one line and a non-zero exit, never a
traceback.
"""

from __future__ import annotations

import argparse
import os
import sys

from core import __version__
from core.cli import COMMANDS, classify, evaluate, listen, pacs, selftest, train, validate
from core.cli.validate import ReportWriter
from core.errors import Cancelled, CovidCXRError, is_out_of_memory, user_message

_HELP = {
    "classify": "classify files and folders into predicted.csv",
    "train": "train a model from a dataset folder",
    "evaluate": "metrics of a model on a labelled folder",
    "validate": "measure the model on your own labelled films: intervals, operating point, "
    "site profile, PDF report",
    "listen": "a DICOM node: classify the films a PACS or modality sends, send the results "
    "back",
    "pacs": "talk to a PACS: echo, find studies, retrieve their films, send results",
}

#: Exit codes, first match wins: 130 for an interruption (as a shell reports Ctrl-C),
#: 1 for every error the user can act on.
EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (KeyboardInterrupt, 130),
    (Cancelled, 130),
    (CovidCXRError, 1),
    (MemoryError, 1),
    (OSError, 1),
)


def exit_code(exc: BaseException) -> int | None:
    """The exit code for ``exc``, or None for a bug (which keeps its traceback)."""
    for kind, code in EXIT_CODES:
        if isinstance(exc, kind):
            return code
    return 1 if is_out_of_memory(exc) else None


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
    for name, module in zip(COMMANDS, (classify, train, evaluate, validate, listen, pacs),
                            strict=True):
        module.add_arguments(sub.add_parser(name, help=_HELP[name]))
    return parser


def main(argv: list[str] | None = None, write_report: ReportWriter | None = None) -> int:
    """Run one sub-command; ``write_report`` draws ``validate --report`` (see
    :data:`ReportWriter`)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.self_test:
            return selftest.run(args)
        if args.command is None:
            parser.print_help()
            return 2
        if args.command == "validate":
            return validate.run(args, write_report)
        return {"classify": classify.run, "train": train.run, "evaluate": evaluate.run,
                "listen": listen.run, "pacs": pacs.run}[args.command](args)
    except BaseException as exc:
        code = exit_code(exc)
        if code is None:
            raise
        if isinstance(exc, KeyboardInterrupt):
            print("covidcxr: interrupted", file=sys.stderr)
        else:
            print(f"covidcxr: error: {user_message(exc)}", file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
