"""``covidcxr validate``: a model measured on a site's own labelled films."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from core.cli.common import Progress, check_model, positive_int, resolve_model
from core.errors import CovidCXRError
from core.files.atomic import check_writable

#: Writes the PDF report of a validation: ``(path, analysis, metrics, card, model_path)``.
#: The report is drawn with Qt, which core never imports; the launcher supplies it.
ReportWriter = Callable[..., None]


def add_arguments(p: argparse.ArgumentParser) -> None:
    from core.answers.inference import DEFAULT_BATCH  # no TensorFlow behind it

    p.add_argument("folder", help="labelled folder: one sub-folder per class, or any folder "
                   "with --labels")
    p.add_argument("--labels", help="CSV of filename,label (optional patient and sub-group "
                   "columns), names relative to the folder")
    p.add_argument("--positive", help="the COVID class (default: the one named *covid*)")
    p.add_argument("--split", choices=("train", "val", "test"),
                   help="only this split of a train/val/test folder")
    p.add_argument("--model", default=argparse.SUPPRESS,
                   help="model .keras file or site profile .site.json")
    point = p.add_mutually_exclusive_group()
    point.add_argument("--threshold", type=float, help="operating point (default: the model's)")
    point.add_argument("--target-sensitivity", type=float,
                       help="the most specific threshold reaching this sensitivity")
    point.add_argument("--target-specificity", type=float,
                       help="the most sensitive threshold reaching this specificity")
    p.add_argument("--prevalence", type=float,
                   help="PPV and NPV at this share of COVID (default: the folder's own)")
    p.add_argument("--resamples", type=positive_int, default=2000,
                   help="bootstrap resamples (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--save-profile", metavar="FILE.site.json",
                   help="write a site profile with this operating point (weights untouched)")
    p.add_argument("--site", help="the site's name, for --save-profile")
    p.add_argument("--recalibrate", action="store_true",
                   help="with --save-profile: refit the calibration on these films")
    p.add_argument("--report", metavar="REPORT.pdf", help="write a PDF report")
    p.add_argument("--json", help="also write the metrics to this JSON file")
    p.add_argument("--batch-size", type=positive_int, default=DEFAULT_BATCH,
                   help=f"files per network call (default {DEFAULT_BATCH})")


def run(args: argparse.Namespace, write_report: ReportWriter | None = None) -> int:
    from core.evaluation.validation import analyse, metrics_dict, provenance
    from core.files.labelled import open_labelled

    for name in ("target_sensitivity", "target_specificity", "threshold", "prevalence"):
        value = getattr(args, name)
        if value is not None and not 0.0 <= value <= 1.0:
            raise CovidCXRError(f"--{name.replace('_', '-')} must be between 0 and 1")
    if args.report and write_report is None:
        raise CovidCXRError("--report needs the window's libraries (run it as `covidcxr`)")
    if args.save_profile and not args.site:
        raise CovidCXRError("--save-profile needs --site NAME (the site the profile is for)")
    for option, target in (("--json", args.json), ("--report", args.report),
                           ("--save-profile", args.save_profile)):
        if target:
            check_writable(target, option)  # before the films are classified
    labelled = open_labelled(args.folder, args.labels, args.positive, args.split)
    model_path = resolve_model(args.model)
    check_model(model_path)

    from core.evaluation.validation import run_validation
    from core.files.atomic import write_text_atomic
    from core.model.disk import make_profile, save_profile
    from core.model.loading import device_name, load_model

    model = load_model(model_path)
    counts = ", ".join(f"{k} {v}" for k, v in labelled.counts().items())
    print(
        f"model {model.display_name} on {device_name(model)}; {labelled.root} ({labelled.layout}): "
        f"{counts}; positive class {labelled.positive}",
        file=sys.stderr,
    )
    bar = Progress()
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
        from core.model.calibration import fit_platt

        recal = fit_platt(analysis.y, analysis.p) if args.recalibrate else None
        card = make_profile(model_path, args.site, threshold, provenance(analysis, m, rule),
                            recal)
        run = analysis.run
        ref = run.site.as_reference(f"site profile {args.site.strip()}") if run.site else None
        print(f"wrote site profile {save_profile(card, args.save_profile, ref)} "
              f"(threshold {card.threshold:.4f}; weights unchanged, "
              f"sha256 {card.weights_sha256[:12]}…)")
    if args.report:
        assert write_report is not None  # checked before any work
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

