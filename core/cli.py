"""Headless command line: ``covidcxr classify | train | evaluate | validate | --self-test``.

Never prints a traceback for a user error: a one-line reason and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from core import __version__
from core.errors import CovidCXRError

#: The headless sub-commands (besides ``--self-test``); the launcher sends these here and
#: names them when a mistyped word or a missing display stops the window.
COMMANDS = ("classify", "train", "evaluate", "validate")


class _Progress:
    """A progress bar on a terminal; silent when output is redirected."""

    def __init__(self, stream=sys.stderr) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.start = time.monotonic()
        self.last = -1

    def __call__(self, done: int, total: int, message: str = "") -> None:
        if not self.tty:
            return
        rate = done / max(time.monotonic() - self.start, 1e-6)
        if total > 0:
            pct = int(100 * done / total)
            if pct == self.last and done != total:
                return
            self.last = pct
            bar = "#" * (pct // 4)
            self.stream.write(f"\r[{bar:<25}] {done}/{total} {rate:5.1f} img/s ")
        else:
            self.stream.write(f"\r{done} {rate:5.1f} img/s ")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")


def _resolve_model(arg: str | None) -> Path:
    from core.resources import default_model_path

    path = Path(arg) if arg else default_model_path()
    if not path.is_file():
        raise CovidCXRError(
            f"model not found: {path}" + ("" if arg else " (the bundled model is missing)")
        )
    return path


def cmd_classify(args: argparse.Namespace) -> int:
    from core.discovery import Skipped, iter_inputs
    from core.journal import Journal, in_shard, parse_shard, read_list

    # Every user error is found before TensorFlow is imported, so it is reported at once
    # and on one line (TensorFlow writes its own start-up lines to stderr).
    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        raise CovidCXRError("--threshold must be between 0 and 1")
    if not args.paths and not args.files_from:
        raise CovidCXRError("name files or folders to classify, or --files-from LIST")
    missing = [p for p in args.paths if not Path(p).exists()]
    if missing:
        raise CovidCXRError(f"no such file or folder: {missing[0]}")
    shard = parse_shard(args.shard) if args.shard else (1, 1)
    if args.files_from and args.files_from != "-" and not Path(args.files_from).is_file():
        raise CovidCXRError(f"no such file list: {args.files_from}")
    # Listed lazily (an archive may hold 100,000s of files): only the first is looked at
    # before the model loads, so "nothing to classify" is said at once.
    skipped = Skipped()
    sources = [*args.paths, *(read_list(args.files_from) if args.files_from else ())]
    listing = (f for f in iter_inputs(sources, skipped) if in_shard(f, *shard))
    first = next(listing, None)
    if first is None and not args.resume:
        left_out = f": {skipped.describe()}" if skipped.total else ""
        shard_note = f" for shard {args.shard}" if args.shard else ""
        raise CovidCXRError(f"no image files found{shard_note} in "
                            + ", ".join(map(str, sources[:3])) + left_out)
    model_path = _resolve_model(args.model)
    _check_model(model_path)

    from core.inference import classify
    from core.model import device_name, load_model

    model = load_model(model_path)
    threshold = model.threshold if args.threshold is None else args.threshold
    device = device_name()
    print(f"model {model.display_name} (threshold {threshold:.4f}) on {device}", file=sys.stderr)
    journal = Journal(args.output, model.display_name, threshold, device, resume=args.resume)
    if journal.resumed_from is not None:
        print(f"resuming: {journal.kept} files already classified in "
              f"{journal.resumed_from.name}", file=sys.stderr)
    elif args.resume:
        print(f"nothing to resume in {args.output}: starting from the first file",
              file=sys.stderr)

    files = (f for f in itertools.chain([first] if first else [], listing)
             if str(f) not in journal.done)
    bar = _Progress()
    t0 = time.monotonic()
    new = 0
    try:
        batch: list = []
        for pred in classify(files, model, threshold=args.threshold,
                             batch_size=args.batch_size, on_progress=bar):
            batch.append(pred)
            if len(batch) >= args.batch_size:
                new += journal.append(batch)
                batch = []
        new += journal.append(batch)
    except BaseException:
        journal.close()  # kept for --resume
        print(f"covidcxr: {journal.kept + journal.written} files done so far are kept in "
              f"{journal.path.name}; run the same command with --resume to continue",
              file=sys.stderr)
        raise
    bar.close()
    if not new and not journal.kept:
        journal.close()
        journal.path.unlink(missing_ok=True)
        raise CovidCXRError("no image files found in " + ", ".join(map(str, sources[:3])))
    out = journal.finish()
    elapsed = time.monotonic() - t0
    counts = journal.counts
    n = sum(counts.values())
    summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    if skipped.total:
        summary += f"; {skipped.describe()}"
    if journal.kept:
        summary += f"; {journal.kept} carried over from the interrupted run"
    print(f"{n} files in {elapsed:.1f} s ({new / max(elapsed, 1e-9):.1f} img/s): {summary}")
    print(f"wrote {out}")
    return 0


def _check_model(path: Path) -> None:
    """Card present and hashes matching, checked without TensorFlow (load_model re-checks).
    A site profile is checked against the weights it names."""
    from core.card import read_card, verify
    from core.profiles import base_weights, is_profile, read_profile

    if is_profile(path):
        card = read_profile(path)
        verify(base_weights(path, card), card)
    else:
        verify(path, read_card(path))


def cmd_train(args: argparse.Namespace) -> int:
    from core.training import run_training_cli

    return run_training_cli(args)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from core.evaluation import run_evaluate_cli

    return run_evaluate_cli(args)


#: Writes the PDF report of a validation: ``(path, analysis, metrics, card, model_path)``.
#: The report is drawn with Qt, which core never imports; the launcher supplies it.
ReportWriter = Callable[..., None]


def cmd_validate(args: argparse.Namespace, write_report: ReportWriter | None = None) -> int:
    from core.validation import analyse, metrics_dict, open_labelled, provenance

    for name in ("target_sensitivity", "target_specificity", "threshold", "prevalence"):
        value = getattr(args, name)
        if value is not None and not 0.0 <= value <= 1.0:
            raise CovidCXRError(f"--{name.replace('_', '-')} must be between 0 and 1")
    if args.report and write_report is None:
        raise CovidCXRError("--report needs the window's libraries (run it as `covidcxr`)")
    if args.save_profile and not args.site:
        raise CovidCXRError("--save-profile needs --site NAME (the site the profile is for)")
    labelled = open_labelled(args.folder, args.labels, args.positive, args.split)
    model_path = _resolve_model(args.model)
    _check_model(model_path)

    from core.atomic import write_text_atomic
    from core.model import device_name, load_model
    from core.profiles import make_profile, save_profile
    from core.validation import run_validation

    model = load_model(model_path)
    counts = ", ".join(f"{k} {v}" for k, v in labelled.counts().items())
    print(
        f"model {model.display_name} on {device_name()}; {labelled.root} ({labelled.layout}): "
        f"{counts}; positive class {labelled.positive}",
        file=sys.stderr,
    )
    bar = _Progress()
    run = run_validation(model, labelled, batch_size=args.batch_size, on_progress=bar)
    bar.close()
    assert run is not None  # nothing asks it to stop
    analysis = analyse(run, resamples=args.resamples, seed=args.seed)
    threshold, rule = model.threshold, f"the model's threshold ({model.card.threshold_rule})"
    if args.threshold is not None:
        threshold, rule = args.threshold, f"threshold {args.threshold} set by the user"
    elif args.target_sensitivity is not None:
        threshold = analysis.threshold_for(sensitivity=args.target_sensitivity)
        rule = f"most specific threshold with sensitivity >= {args.target_sensitivity}"
    elif args.target_specificity is not None:
        threshold = analysis.threshold_for(specificity=args.target_specificity)
        rule = f"most sensitive threshold with specificity >= {args.target_specificity}"
    m = analysis.metrics(threshold, args.prevalence)
    sys.stdout.write(format_site_metrics(m, labelled.positive))
    if args.json:
        write_text_atomic(args.json, json.dumps(metrics_dict(m), indent=2) + "\n")
        print(f"wrote {args.json}")
    if args.save_profile:
        from core.metrics import fit_platt

        recal = fit_platt(analysis.y, analysis.p) if args.recalibrate else None
        card = make_profile(model_path, args.site, threshold, provenance(analysis, m, rule),
                            recal)
        print(f"wrote site profile {save_profile(card, args.save_profile)} "
              f"(threshold {card.threshold:.4f}; weights unchanged, "
              f"sha256 {card.weights_sha256[:12]}…)")
    if args.report:
        write_report(args.report, analysis, m, model.card, model_path)
        print(f"wrote {args.report}")
    return 0


def format_site_metrics(m, positive: str) -> str:
    """The validation figures as the command prints them (95% intervals in brackets)."""
    pt = m.point
    lines = [
        "class            images  assessed  not assessed  errors",
        *(f"{c.name + (' (positive)' if c.positive else ''):16s} {c.total:6d}  {c.assessed:8d}"
          f"  {c.refused:12d}  {c.errors:6d}" for c in m.classes),
        f"metrics on {m.assessed} assessed films, 95% bootstrap intervals "
        f"({m.resamples} resamples of {'patients' if m.grouped else 'images'}):",
        f"  ROC AUC       {m.auc.text()}",
        f"  threshold     {pt.threshold:.4f}",
        f"  sensitivity   {pt.sensitivity.text()}",
        f"  specificity   {pt.specificity.text()}",
        f"  PPV           {pt.ppv.text()}" + (f" at prevalence {pt.prevalence:.3f}"),
        f"  NPV           {pt.npv.text()}",
        f"  accuracy      {pt.accuracy.text()}",
        f"  confusion     TP={pt.tp} FN={pt.fn} FP={pt.fp} TN={pt.tn}",
        f"  ECE           {m.ece:.4f}",
    ]
    if m.subgroups:
        lines.append("by sub-group (AUC; sensitivity; specificity):")
        lines += [
            f"  {s.key}={s.value}: {s.positives}+/{s.negatives}-"
            + (f", {s.not_assessed} not assessed" if s.not_assessed else "")
            + f": AUC {s.auc.text()}; sens {s.sensitivity.text()}; spec {s.specificity.text()}"
            for s in m.subgroups
        ]
    lines += [f"warning: {w}" for w in m.warnings]
    return "\n".join(lines) + "\n"


def cmd_self_test(args: argparse.Namespace) -> int:
    """Load the bundled model, verify its hash, classify the bundled samples."""
    from core.discovery import iter_inputs
    from core.inference import classify
    from core.model import device_name, load_model
    from core.resources import samples_dir

    model_path = _resolve_model(args.model)
    _check_model(model_path)
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
        f"samples={len(preds)} device={device_name()}"
    )
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


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

    from core.inference import DEFAULT_BATCH  # no TensorFlow behind it

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
        type=_positive_int,
        default=DEFAULT_BATCH,
        help=f"files per network call (default {DEFAULT_BATCH}; more uses more memory)",
    )
    c.set_defaults(func=cmd_classify)

    from core.evaluation import add_evaluate_arguments
    from core.training import add_train_arguments

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
    v.add_argument("--resamples", type=_positive_int, default=2000,
                   help="bootstrap resamples (default 2000)")
    v.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    v.add_argument("--save-profile", metavar="FILE.site.json",
                   help="write a site profile with this operating point (weights untouched)")
    v.add_argument("--site", help="the site's name, for --save-profile")
    v.add_argument("--recalibrate", action="store_true",
                   help="with --save-profile: refit the calibration on these films")
    v.add_argument("--report", metavar="REPORT.pdf", help="write a PDF report")
    v.add_argument("--json", help="also write the metrics to this JSON file")
    v.add_argument("--batch-size", type=_positive_int, default=DEFAULT_BATCH,
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
