"""Every number issue #9 asks of a model, on data it never saw, per source.

For one model (default: the bundled one):
- the internal test split of ../shared/data/cxr (AUC, sensitivity and specificity at the
  stored threshold, the shortcut probe, the source probe, mean P(COVID) per source) — an
  upper bound, since its sources are the training collections;
- for every other set: how many files were read, refused ("not a frontal chest X-ray"),
  flagged unusual, and called COVID among those assessed: cxr/test per source, newsite/
  (COVID-19 films from a collection the model never saw: sensitivity and coverage),
  fullres/, lungs/, cxr/test under portable-ICU artefacts, notcxr/ laterals and CT
  slices, synthetic non-X-rays, pydicom's CT/MR test files and rendered text pages.

And the shortcut measures of issue #19 (``shortcut_measures``): AUC within one collection
that holds both classes (``ieee8023/test`` and ``train``, patient bootstrap interval,
sensitivity and specificity at the stored threshold, mean P(COVID) per finding); the
collection probe within a class on the model's pooled features (COVID: radiography-covid
vs newsite vs ieee8023; negatives: rsna vs nih-cxr14 vs ieee8023; lower is better); the
marker test (mean |change of P| when burned-in annotations are drawn on test negatives);
and the ``cxr/test`` AUC with the lungs blanked and with only the lungs shown.
``--only-shortcuts`` measures just those (minutes instead of a quarter of an hour).

Issue #29 adds two: ``rsna_probe`` (a linear probe on the model's pooled features, fitted on
``rsna-lungs`` train + val, AUC on its test split: does the network see lung opacity, and
tell it from other findings, where all three classes share a collection?) and, with
``--site-adaptation``, the AUC on ``ieee8023/test`` after the product's own "Fine-tune on
this site" recipe has run on ``ieee8023/train`` as if it were a hospital's labelled films.

``--write-card`` stores the results in the model card (``metrics.external``), atomically;
the weights and their sha256 are untouched.

Run: ``.venv/bin/python scripts/measure_model.py [MODEL] [--data ../shared/data]
[--json out.json] [--write-card]``.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
for _p in (REPO, REPO / "scripts"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from eval_lungs import (  # noqa: E402
    manifest_rows,
    portable_icu,
    pydicom_images,
    read_files,
    text_pages,
)

from core.evaluation.nonxray import answer_rates, assess_pixels, synthetic_non_xrays  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data"
CHUNK = 32


def rates_for(model, items, transform=None) -> dict:
    """answer_rates over (name, pixels | None, error) items, read in chunks; reader
    refusals are counted apart (they are not the model's answers)."""
    answers, unreadable = [], collections.Counter()
    chunk: list[np.ndarray] = []
    for k, (_name, px, err) in enumerate(items):
        if px is None:
            unreadable[err.split(":")[0]] += 1
            continue
        chunk.append(transform(px, k) if transform else px)
        if len(chunk) == CHUNK:
            answers.extend(assess_pixels(model, chunk))
            chunk.clear()
    if chunk:
        answers.extend(assess_pixels(model, chunk))
    out: dict = dataclasses.asdict(answer_rates(answers))
    out["unreadable"] = sum(unreadable.values())
    if unreadable:
        out["unreadable_by_reason"] = dict(unreadable)
    out["mean_probability"] = (
        float(np.mean([a.probability for a in answers])) if answers else float("nan")
    )
    out["_probabilities"] = [a.probability for a in answers]
    return out


def mixed_auc(sets: dict[str, dict]) -> dict:
    """The unseen collection's COVID-19 films against the internal test negatives: AUC,
    and the specificity at the thresholds giving 0.90 and 0.95 sensitivity on newsite.
    Half of it is internal (the negatives come from training collections), so it is a
    proxy for an external AUC, not one; it is threshold-free, unlike newsite sensitivity."""
    from core.evaluation.metrics import roc_auc

    pos = np.array(sets["newsite (COVID only)"]["_probabilities"])
    neg = np.concatenate(
        [r["_probabilities"] for k, r in sets.items() if k.startswith("cxr/test") and
         " COVID" not in k and "ICU" not in k]
    )
    y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    out = {"auc": roc_auc(y, np.r_[pos, neg]), "positives": len(pos), "negatives": len(neg)}
    for sens in (0.90, 0.95):
        out[f"specificity_at_newsite_sensitivity_{sens:.2f}"] = float(
            np.mean(neg < np.quantile(pos, 1 - sens))
        )
    return out


def internal(model, data: Path) -> dict:
    from core.evaluation.evaluate import evaluate_decoded
    from core.files.dataset import scan
    from core.model.cache import decode

    index = scan(data / "cxr")
    decoded = decode(index, model.card.spec, skip_unreadable=True)
    m = evaluate_decoded(model, decoded.splits["test"], index).to_dict(roc=False)
    return {k: v for k, v in m.items() if k != "reliability"}


def external_sets(model, data: Path, icu_n: int) -> dict[str, dict]:
    sets: dict[str, dict] = {}
    cxr = data / "cxr"
    by_source: dict[str, list[Path]] = collections.defaultdict(list)
    for row in manifest_rows(cxr):
        if row["split"] == "test":
            by_source[f"{row['dataset']} {row['label']}"].append(cxr / row["file"])
    for source, paths in sorted(by_source.items()):
        sets[f"cxr/test {source}"] = rates_for(model, read_files(paths))
    test_paths = sorted(p for ps in by_source.values() for p in ps)
    rng = np.random.default_rng(0)
    icu = [test_paths[i] for i in sorted(rng.choice(len(test_paths), icu_n, replace=False))]
    sets["cxr/test as portable ICU films"] = rates_for(model, read_files(icu), portable_icu)
    newsite = sorted(p for p in (data / "newsite" / "COVID").iterdir() if p.is_file())
    sets["newsite (COVID only)"] = rates_for(model, read_files(newsite))
    fullres = sorted(
        p for p in (data / "fullres").rglob("*") if p.is_file() and p.suffix != ".csv"
    )
    sets["fullres"] = rates_for(
        model, read_files([p for p in fullres if p.name != "README.md"])
    )
    lungs = sorted(p for p in (data / "lungs").rglob("*") if "image" in p.parent.name)
    sets["lungs (all)"] = rates_for(model, read_files(lungs))
    notcxr = sorted((data / "notcxr").glob("ieee8023-*"))
    sets["notcxr lateral"] = rates_for(
        model, read_files([p for p in notcxr if "-lateral-" in p.name])
    )
    sets["notcxr CT"] = rates_for(model, read_files([p for p in notcxr if "-ct-" in p.name]))
    synth = [(f"{k}-{i}", px) for k, v in synthetic_non_xrays().items() for i, px in enumerate(v)]
    sets["synthetic non-X-rays"] = rates_for(model, ((n, px, "") for n, px in synth))
    dcm, _ = pydicom_images()
    sets["pydicom CT/MR/other"] = rates_for(model, ((n, px, "") for n, px in dcm))
    sets["text pages"] = rates_for(model, ((n, px, "") for n, px in text_pages()))
    return sets


def _films(paths: list[Path]) -> tuple[list[np.ndarray], list[int]]:
    """Pixels of the readable files and the indices they came from."""
    px, kept = [], []
    for k, (_name, p, _err) in enumerate(read_files(paths)):
        if p is not None:
            px.append(p)
            kept.append(k)
    return px, kept


def shortcut_measures(model, data: Path, per_collection: int = 150) -> dict:
    """Issue #19's measures of whether the model reads the disease or the collection."""
    from core.evaluation.probes import forward_pixels
    from core.evaluation.shortcuts import (
        collection_probe,
        lung_region_test,
        marker_test,
        within_collection,
    )
    from core.model.lungs import default_segmenter

    net, card = model.keras_model, model.card
    out: dict = {}
    ieee = data / "ieee8023"
    rows = manifest_rows(ieee)
    ieee_px: dict[str, list] = {}
    for split in ("test", "train"):
        rs = [r for r in rows if r["split"] == split]
        px, kept = _films([ieee / r["file"] for r in rs])
        rs = [rs[k] for k in kept]
        ieee_px[split] = [(r, x) for r, x in zip(rs, px, strict=True)]
        p, _ = forward_pixels(net, card, px)
        w = within_collection(
            np.array([r["label"] == "COVID" for r in rs], int), p,
            [r["label"] for r in rs], [r["patient"] for r in rs], model.threshold,
        )
        out[f"ieee8023/{split}"] = w.to_dict()
    # collection probe within a class: the same number of films from each collection
    rng = np.random.default_rng(0)
    cxr_rows = [r for r in manifest_rows(data / "cxr") if r["split"] == "test"]

    def sample(paths: list[Path]) -> list[Path]:
        if len(paths) <= per_collection:
            return paths
        return [paths[i] for i in sorted(rng.choice(len(paths), per_collection, replace=False))]

    groups = {
        "covid": {
            "radiography-covid": sample([data / "cxr" / r["file"] for r in cxr_rows
                                         if r["dataset"] == "radiography-covid"]),
            "newsite": sample(sorted(p for p in (data / "newsite" / "COVID").iterdir())),
        },
        "negative": {
            "rsna": sample([data / "cxr" / r["file"] for r in cxr_rows if r["dataset"] == "rsna"]),
            "nih-cxr14": sample([data / "cxr" / r["file"] for r in cxr_rows
                                 if r["dataset"] == "nih-cxr14"]),
        },
    }
    ieee_all = ieee_px["test"] + ieee_px["train"]
    for cls, films in groups.items():
        feats, names = [], []
        for name, paths in films.items():
            px, _ = _films(paths)
            _, f = forward_pixels(net, card, px)
            feats.append(f)
            names += [name] * len(f)
        mine = [x for r, x in ieee_all if (r["label"] == "COVID") == (cls == "covid")]
        _, f = forward_pixels(net, card, mine[:per_collection])
        feats.append(f)
        names += ["ieee8023"] * len(f)
        out[f"collection_probe_{cls}"] = collection_probe(np.concatenate(feats), names).to_dict()
    # markers on negatives of both test sets
    negatives, _ = _films([data / "cxr" / r["file"] for r in cxr_rows if r["label"] != "COVID"])
    negatives += [x for r, x in ieee_px["test"] if r["label"] != "COVID"]
    out["marker_shift"] = marker_test(net, card, negatives)
    out["marker_films"] = len(negatives)
    # the lungs hidden or alone, cxr/test
    px, kept = _films([data / "cxr" / r["file"] for r in cxr_rows])
    y = np.array([cxr_rows[k]["label"] == "COVID" for k in kept], int)
    seg = default_segmenter()
    masks = np.concatenate([seg.masks(px[i:i + 64]) for i in range(0, len(px), 64)])
    out["lung_region_cxr_test"] = lung_region_test(net, card, px, y, masks).to_dict()
    ipx = [x for _r, x in ieee_px["test"]]
    iy = np.array([r["label"] == "COVID" for r, _x in ieee_px["test"]], int)
    imasks = seg.masks(ipx)
    out["lung_region_ieee8023_test"] = lung_region_test(net, card, ipx, iy, imasks).to_dict()
    out["rsna_probe"] = rsna_probe(model, data)
    return out


RSNA_PAIRS = (("opacity", "normal"), ("opacity", "not-normal"), ("not-normal", "normal"))


def rsna_probe(model, data: Path, l2: float = 10.0) -> dict:
    """Linear probes on the pooled features (standardised logistic regression, fitted on
    ``rsna-lungs`` train + val): AUC on ``rsna-lungs/test`` for each pair of its classes,
    and how far the model's own P(COVID) orders opacity above normal."""
    from core.evaluation.metrics import held_out_auc, roc_auc
    from core.evaluation.probes import forward_pixels

    root = data / "rsna-lungs"
    rows = manifest_rows(root)
    px, kept = _films([root / r["file"] for r in rows])
    rows = [rows[k] for k in kept]
    p, feats = [], []
    for i in range(0, len(px), 64):
        pp, ff = forward_pixels(model.keras_model, model.card, px[i:i + 64])
        p.append(pp)
        feats.append(ff)
    prob, f = np.concatenate(p), np.concatenate(feats)
    label = np.array([r["label"] for r in rows])
    train = np.array([r["split"] in ("train", "val") for r in rows])
    out: dict = {"films": len(rows)}
    for a, b in RSNA_PAIRS:
        fit_rows = train & np.isin(label, [a, b])
        test_rows = ~train & np.isin(label, [a, b])
        out[f"{a}_vs_{b}"] = held_out_auc(f[fit_rows], label[fit_rows] == a,
                                          f[test_rows], label[test_rows] == a, l2=l2)
    rows_on = ~train & np.isin(label, ["opacity", "normal"])
    out["p_covid_opacity_vs_normal"] = roc_auc(label[rows_on] == "opacity", prob[rows_on])
    return out


def site_adaptation(model_path: str, data: Path, work: Path) -> dict:
    """What a hospital gets from "Fine-tune on this site" with its own labelled films:
    ``ieee8023/train`` (split train/val by patient, seeded) plays the hospital's films, the
    product's recipe for fine-tuning the bundled model runs on it, and ``ieee8023/test`` is
    the kept-apart part both models are measured on."""
    import csv

    from core.evaluation.evaluate import evaluate_decoded
    from core.files.dataset import scan
    from core.model.cache import decode
    from core.model.loading import load_model
    from core.training.fit import train
    from core.training.recipe import transfer_recipe

    root = data / "ieee8023"
    rows = manifest_rows(root)
    patients = sorted({r["patient"] for r in rows if r["split"] == "train"})
    rng = np.random.default_rng(29)
    val_patients = set(rng.choice(patients, max(1, len(patients) // 5), replace=False))
    site = work / "site"
    with open(work / "manifest.tmp", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "split", "group"])
        for r in rows:
            cls = "COVID" if r["label"] == "COVID" else "Other"
            dest = site / cls / Path(r["file"]).name
            dest.parent.mkdir(parents=True, exist_ok=True)
            if not dest.exists():
                dest.symlink_to((root / r["file"]).resolve())
            split = "test" if r["split"] == "test" else (
                "val" if r["patient"] in val_patients else "train")
            writer.writerow([f"{cls}/{dest.name}", split, r["patient"]])
    (work / "manifest.tmp").replace(site / "manifest.csv")
    start = load_model(model_path)
    cfg = transfer_recipe().starting_from(start.card, model_path)
    index = scan(site, positive="COVID", seed=cfg.seed)
    decoded = decode(index, start.card.spec)
    before = evaluate_decoded(start, decoded.splits["test"], index)
    result = train(index, cfg, decoded=decoded)
    after = result.test
    return {
        "films": {s: int(len(decoded.splits[s].labels)) for s in ("train", "val", "test")},
        "recipe": "transfer_recipe().starting_from(bundled card): the window's "
                  "'Fine-tune on this site'",
        "auc_before": before.auc,
        "auc_after": after.auc if after is not None else float("nan"),
        "specificity_after": after.specificity if after is not None else float("nan"),
        "sensitivity_after": after.sensitivity if after is not None else float("nan"),
        "epochs_run": len(result.history.get("loss", [])),
    }


def shortcut_lines(m: dict) -> list[str]:
    lines = []
    for split in ("test", "train"):
        w = m[f"ieee8023/{split}"]
        a = w["auc"]
        lines.append(
            f"ieee8023/{split} (both classes, one collection): AUC {a['value']:.3f} "
            f"({a['low']:.2f}-{a['high']:.2f}, {w['patients']} patients), sensitivity "
            f"{w['sensitivity']:.3f}, specificity {w['specificity']:.3f} at {w['threshold']:.3f}; "
            "mean P " + ", ".join(f"{k} {v:.3f}" for k, v in w["mean_probability_by_finding"].items())
        )
    for cls in ("covid", "negative"):
        c = m[f"collection_probe_{cls}"]
        lines.append(f"collection probe among {cls} films: {c['mean_auc']:.3f} ("
                     + ", ".join(f"{k} {v:.2f}" for k, v in c["pairs"].items()) + ")")
    if "rsna_probe" in m:
        r = m["rsna_probe"]
        lines.append("rsna-lungs/test linear probe on the pooled features: " + ", ".join(
            f"{a} vs {b} {r[f'{a}_vs_{b}']:.3f}" for a, b in RSNA_PAIRS)
            + f"; P(COVID) opacity vs normal {r['p_covid_opacity_vs_normal']:.3f}")
    if "site_adaptation" in m:
        r = m["site_adaptation"]
        lines.append(f"site adaptation on ieee8023/train: ieee8023/test AUC {r['auc_before']:.3f}"
                     f" -> {r['auc_after']:.3f}")
    lines.append(f"marker test: mean |change of P| {m['marker_shift']:.3f} "
                 f"over {m['marker_films']} negative films")
    for where in ("cxr_test", "ieee8023_test"):
        r = m[f"lung_region_{where}"]
        lines.append(f"{where.replace('_', '/', 1)}: AUC lungs blanked {r['outside_auc']:.3f}, "
                     f"lungs only {r['inside_auc']:.3f}")
    return lines


def table(sets: dict[str, dict]) -> str:
    lines = [
        "| set | files | unreadable | refused | unusual | called COVID (of assessed) |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in sets.items():
        if not r.get("n"):
            lines.append(f"| {name} | 0 | {r.get('unreadable', 0)} | | | |")
            continue
        lines.append(
            f"| {name} | {r['n'] + r['unreadable']} | {r['unreadable']} | "
            f"{r['refused']:.1%} | {r['unusual']:.1%} | {r['called_covid_of_assessed']:.1%} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from core.model.loading import load_model
    from core.resources import default_model_path

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", nargs="?", default=str(default_model_path()))
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--icu", type=int, default=200, help="cxr/test films given ICU artefacts")
    ap.add_argument("--json", help="write the numbers here")
    ap.add_argument("--write-card", action="store_true", help="store them in the model card")
    ap.add_argument("--only-shortcuts", action="store_true",
                    help="measure only the shortcut measures of issues #19 and #29")
    ap.add_argument("--site-adaptation", action="store_true",
                    help="also fine-tune on ieee8023/train as a site would (minutes)")
    args = ap.parse_args(argv)
    data = Path(args.data)
    model = load_model(args.model)
    t0 = time.monotonic()
    shortcuts = shortcut_measures(model, data)
    if args.site_adaptation:
        import tempfile

        with tempfile.TemporaryDirectory() as work:
            shortcuts["site_adaptation"] = site_adaptation(args.model, data, Path(work))
    print(f"model {model.display_name}, threshold {model.threshold:.4f}")
    print("\n".join(shortcut_lines(shortcuts)), flush=True)
    if args.only_shortcuts:
        if args.json:
            Path(args.json).write_text(json.dumps(shortcuts, indent=2, default=float) + "\n")
        if args.write_card:
            _store(args.model, model.card, {"shortcuts": shortcuts})
        return 0
    inside = internal(model, data)
    sets = external_sets(model, data, args.icu)
    news = sets["newsite (COVID only)"]
    mixed = mixed_auc(sets)
    for r in sets.values():
        r.pop("_probabilities")
    summary = {
        "model": model.display_name,
        "threshold": model.threshold,
        "internal_test": inside,
        "sets": sets,
        "newsite": {
            "sensitivity_of_assessed": news["called_covid_of_assessed"],
            "sensitivity_of_read": news["called_covid_of_assessed"] * (1 - news["refused"]),
            "coverage": 1 - news["refused"],
            "unusual": news["unusual"],
        },
        "newsite_vs_internal_negatives": mixed,
        "shortcuts": shortcuts,
        "seconds": round(time.monotonic() - t0, 1),
    }
    print(
        f"internal test: AUC {inside['auc']:.4f}, sensitivity {inside['sensitivity']:.3f}, "
        f"specificity {inside['specificity']:.3f}, source probe "
        f"{inside.get('source_probe', {}).get('auc', float('nan')):.3f}, shortcut probe "
        f"{inside['probe']['lungs_hidden_auc']:.3f} hidden / "
        f"{inside['probe']['lungs_only_auc']:.3f} lungs only"
    )
    print("mean P(COVID) by source:", inside.get("mean_probability_by_source"))
    print(table(sets))
    print(json.dumps(summary["newsite"]))
    print(
        f"newsite COVID-19 films vs internal test negatives: AUC {mixed['auc']:.4f}, "
        f"specificity {mixed['specificity_at_newsite_sensitivity_0.90']:.3f} at newsite "
        "sensitivity 0.90 (a proxy: the negatives are from the training collections)"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2, default=float) + "\n")
    if args.write_card:
        _store(args.model, model.card, {
            "sets": sets,
            "newsite": summary["newsite"],
            "newsite_vs_internal_negatives": mixed,
            "source_probe": inside.get("source_probe", {}),
            "mean_probability_by_source": inside.get("mean_probability_by_source", {}),
            "shortcuts": shortcuts,
        })
    return 0


def _store(model_path: str, card, external: dict) -> None:
    """Merge ``external`` into the card's ``metrics.external``, atomically."""
    from core.files.atomic import write_text_atomic
    from core.model.disk import card_path

    card.metrics.setdefault("external", {}).update(external)
    card.metrics["external"]["measured_by"] = "scripts/measure_model.py"
    write_text_atomic(card_path(Path(model_path)), card.to_json())
    print(f"stored in {card_path(Path(model_path)).name}")


if __name__ == "__main__":
    sys.exit(main())
