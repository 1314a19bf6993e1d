"""``covidcxr classify``: files, folders or a list into ``predicted.csv``, resumable and shardable."""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path

from core.cli.common import Progress, check_model, positive_int, resolve_model
from core.errors import CovidCXRError
from core.files.atomic import check_writable
from core.model.site import SiteAccumulator


def add_arguments(p: argparse.ArgumentParser) -> None:
    from core.answers.inference import DEFAULT_BATCH  # no TensorFlow behind it

    p.add_argument("paths", nargs="*", help="image files and/or folders (searched recursively)")
    p.add_argument("--files-from", metavar="LIST",
                   help="also classify the paths in this file, one per line (- for stdin)")
    p.add_argument("--output", "-o", default="predicted.csv", help="CSV to write")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted run: keep the rows already written for "
                   "--output and classify only the other files")
    p.add_argument("--shard", metavar="I/N",
                   help="classify only shard I of N (a stable hash of each path): N machines "
                   "split an archive and their CSVs together hold every file once")
    p.add_argument("--model", default=argparse.SUPPRESS, help="model .keras file")
    p.add_argument("--threshold", type=float, help="override the model card's threshold")
    p.add_argument("--dicom-out", metavar="DIR",
                   help="also write, for each DICOM film, a Structured Report and a heat-map "
                   "Secondary Capture in its study into DIR (named by SOP Instance UID)")
    p.add_argument("--send", metavar="AE@HOST:PORT",
                   help="with --dicom-out: send the results written to this PACS (C-STORE, "
                   "our AE title from the PACS settings); what it does not take stays in DIR")
    p.add_argument(
        "--batch-size",
        type=positive_int,
        default=DEFAULT_BATCH,
        help=f"files per network call (default {DEFAULT_BATCH}; more uses more memory)",
    )


def _absent(path: str) -> bool:
    """Nothing at all by this name (a typo): the run is refused. A dangling link, a link
    loop or a name the system refuses (too long) is something the user named: it gets its
    own error row, as it would inside a folder."""
    try:
        os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


def run(args: argparse.Namespace) -> int:
    from core.files.discovery import Skipped, iter_inputs
    from core.output.journal import Journal, in_shard, parse_shard, read_list

    # Every user error is found before TensorFlow is imported, so it is reported at once
    # and on one line (TensorFlow writes its own start-up lines to stderr).
    if args.threshold is not None and not 0.0 <= args.threshold <= 1.0:
        raise CovidCXRError("--threshold must be between 0 and 1")
    if not args.paths and not args.files_from:
        raise CovidCXRError("name files or folders to classify, or --files-from LIST")
    missing = [p for p in args.paths if _absent(p)]
    if missing:
        raise CovidCXRError(f"no such file or folder: {missing[0]}")
    check_writable(args.output, "--output")
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
    dicom_out = _dicom_folder(args.dicom_out) if args.dicom_out else None
    send_to = _send_target(args)
    model_path = resolve_model(args.model)
    check_model(model_path)

    from core.answers.inference import classify, resolve_threshold
    from core.model.loading import device_name, load_model

    model = load_model(model_path)
    threshold = resolve_threshold(model, args.threshold)
    device = device_name(model)
    print(f"model {model.display_name} (threshold {threshold:.4f}) on {device}", file=sys.stderr)
    if model.frontal is None and model.frontal_note:
        print(f"frontal-film check: {model.frontal_note}", file=sys.stderr)
    journal = Journal(args.output, model.display_name, threshold, device, resume=args.resume)
    if journal.resumed_from is not None:
        print(f"resuming: {journal.kept} files already classified in "
              f"{journal.resumed_from.name}", file=sys.stderr)
    elif args.resume:
        print(f"nothing to resume in {args.output}: starting from the first file",
              file=sys.stderr)

    files = (f for f in itertools.chain([first] if first else [], listing)
             if not journal.take_done(f))
    results = None
    if dicom_out is not None:
        from core.output.dicom_results import ResultWriter, threshold_origin

        results = ResultWriter(model, dicom_out, threshold_origin(model.card, args.threshold))
    bar = Progress()
    t0 = time.monotonic()
    new = 0
    site = SiteAccumulator(model.site) if model.site is not None else None
    try:
        batch: list = []
        for pred in classify(files, model, threshold=threshold,
                             batch_size=args.batch_size, on_progress=bar, site=site):
            batch.append(pred)
            if results is not None:
                results.add(pred)
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
    if site is not None:
        # films carried over from an interrupted run were not seen by the check this time
        print(site.result().line())
    else:
        print("site check: not available (the model has no site reference)")
    print(f"wrote {out}")
    if results is not None:
        for path, why in results.summary.failed:
            print(f"no DICOM result for {path}: {why}", file=sys.stderr)
        print(f"{results.summary.describe()} in {dicom_out}")
        if send_to is not None:
            return _send_results(results.summary.written, *send_to)
    return 0


def _send_target(args: argparse.Namespace) -> tuple | None:
    """(peer, settings) for ``--send``, checked before the model loads; None without it."""
    if not getattr(args, "send", None):
        return None
    if not args.dicom_out:
        raise CovidCXRError("--send needs --dicom-out DIR: the results are written there "
                            "first, and stay there if the PACS does not take them")
    from core.pacs.settings import load_settings, parse_peer

    return parse_peer(args.send, "--send"), load_settings()


def _send_results(written: list, peer, settings) -> int:
    """C-STORE every SR and SC written; 1 when any object was not taken."""
    from core.cli.pacs import print_send_report
    from core.pacs.scu import send

    files = [f for w in written for f in (w.capture, w.report)]
    if not files:
        print(f"nothing to send to {peer}")
        return 0
    report = send(files, peer, settings)
    print_send_report(report)
    return 1 if report.failed else 0


def _dicom_folder(name: str) -> Path:
    """The ``--dicom-out`` folder, made now, so a wrong path is said before the model loads."""
    folder = Path(name)
    if folder.exists() and not folder.is_dir():
        raise CovidCXRError(f"--dicom-out {name} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CovidCXRError(f"cannot make the --dicom-out folder {name}: "
                            f"{exc.strerror or exc}") from None
    return folder

