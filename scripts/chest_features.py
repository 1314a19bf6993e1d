"""Issue #29's experiments: tune the top of the backbone on within-collection labels
(:mod:`core.training.chest`) and measure what it learned, each variant against the frozen
ImageNet features (``--variant frozen``) in the same harness.

1. ``cache``: every film is read and prepared once by the product's own path (the bundled
   recipe's 224 px, central 80 %, equalised); the frozen lower blocks run once per film and
   per altered copy; the result is stored in ``runs/chest/cache.npz`` for every variant.
2. ``--variant NAME``: train (or not) and measure on the pooled features:
   - **selection** (nothing here reads ``ieee8023/test``): out-of-fold AUC on
     ``ieee8023/train`` of the product's collection-balanced linear head (5 folds by
     patient, :func:`core.training.head.choose_l2`), ``rsna-lungs/val`` probes (fitted on
     ``rsna-lungs/train``), NIH pneumonia vs no finding on ``cxr/val`` (fitted on
     ``cxr/train``'s NIH films; the split is by patient);
   - **reported only**: ``ieee8023/test`` AUC of that head, ``cxr/test`` AUC (an upper
     bound), ``rsna-lungs/test`` probes (fitted on train + val), the marker shift on test
     negatives (uncalibrated head), the collection probe within class.

The tuned network is saved as ``runs/chest/NAME.weights.h5``; ``scripts/build_model.py
--backbone`` builds the bundled model from it.

Run: ``.venv/bin/python scripts/chest_features.py --variant tasks [--epochs 6]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DEFAULT_DATA = REPO.parent / "shared" / "data"
OUT = REPO / "runs" / "chest"
NIH_LABELS = ("Pneumonia", "Infiltration", "Edema", "Effusion", "Consolidation",
              "Atelectasis", "No Finding")
RSNA_CLASSES = ("opacity", "normal", "not-normal")
SPLIT_AT = "block5c_add"

#: Variants: which tasks (and how much each weighs), the invariance, L2-SP.
VARIANTS: dict[str, dict] = {
    "frozen": {"epochs": 0},
    "tasks": {"tasks": {"rsna": 1.0, "nih": 1.0}},
    "tasks_covid": {"tasks": {"rsna": 1.0, "nih": 1.0, "covid": 0.5}},
    "tasks_noinv": {"tasks": {"rsna": 1.0, "nih": 1.0}, "invariance": 0.0},
    # COVID-19 against the rest with ieee8023/train inside the backbone's own task: the
    # one collection holding both classes. Its selection figure is cross-fitted (the
    # backbone retrained without each fold's patients), see ``crossfit``.
    "tasks_covid_ieee": {"tasks": {"rsna": 1.0, "nih": 1.0, "covid": 1.0}, "covid_ieee": True,
                         "steps_per_epoch": 103},
    "covid_ieee": {"tasks": {"covid": 1.0}, "covid_ieee": True, "steps_per_epoch": 103},
    # the same, held closer to ImageNet: a quarter of the learning rate, ten times L2-SP
    "gentle_covid_ieee": {"tasks": {"rsna": 1.0, "nih": 1.0, "covid": 1.0}, "covid_ieee": True,
                          "steps_per_epoch": 103, "learning_rate": 5e-5, "l2sp": 0.1},
}


def _rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def films(data: Path) -> list[dict]:
    """Every film the experiments use, with what each measure needs to know of it."""
    out: list[dict] = []
    nih = {r["file"]: r for r in _rows(data / "cxr" / "nih_findings.csv")}
    for r in _rows(data / "cxr" / "manifest.csv"):
        f = nih.get(r["file"])
        out.append({"path": str(data / "cxr" / r["file"]), "set": "cxr", "split": r["split"],
                    "label": r["label"], "collection": r["dataset"], "group": r["group"],
                    "findings": f["finding_labels"] if f else "", "view": f["view_position"]
                    if f else ""})
    for r in _rows(data / "ieee8023" / "manifest.csv"):
        out.append({"path": str(data / "ieee8023" / r["file"]), "set": "ieee8023",
                    "split": r["split"], "label": r["label"], "collection": "ieee8023",
                    "group": r["patient"], "findings": r["finding"], "view": r["view"]})
    for r in _rows(data / "rsna-lungs" / "manifest.csv"):
        out.append({"path": str(data / "rsna-lungs" / r["file"]), "set": "rsna-lungs",
                    "split": r["split"], "label": r["label"], "collection": "rsna-lungs",
                    "group": r["rsna_id"], "findings": "", "view": ""})
    for p in sorted((data / "newsite" / "COVID").iterdir()):
        if p.is_file():
            out.append({"path": str(p), "set": "newsite", "split": "test", "label": "COVID",
                        "collection": "newsite", "group": p.stem, "findings": "", "view": ""})
    return out


def _altered_wanted(f: dict) -> str:
    """'alter' for training films (the invariance copy), 'mark' for test negatives (the
    marker test: markers only), '' otherwise."""
    if f["split"] == "train" and f["set"] in ("cxr", "rsna-lungs", "ieee8023"):
        return "alter"
    if f["split"] == "test" and f["set"] in ("cxr", "ieee8023") and f["label"] != "COVID":
        return "mark"
    return ""


def build_cache(data: Path, path: Path) -> None:
    from core.evaluation.markers import draw_markers
    from core.files.reader import read_xray
    from core.model.lite0 import IMAGENET_WEIGHTS, load_backbone_weights
    from core.model.networks import build
    from core.model.preprocess import prepare
    from core.training.chest import altered_copy, cache_activations, split_network
    from core.training.recipe import transfer_recipe

    spec = transfer_recipe().spec
    rng = np.random.default_rng(29)
    meta, plain, other, other_row = [], [], [], []
    t0 = time.monotonic()
    for k, f in enumerate(films(data)):
        try:
            px = read_xray(f["path"]).pixels
        except Exception as exc:  # noqa: BLE001 - an unreadable film is left out, said so
            print(f"skipped {f['path']}: {exc}", flush=True)
            continue
        row = len(meta)
        meta.append(f)
        plain.append(prepare(px, spec))
        want = _altered_wanted(f)
        if want:
            other.append(prepare(altered_copy(px, rng) if want == "alter"
                                 else draw_markers(px, rng), spec))
            other_row.append(row)
        if k % 500 == 0:
            print(f"read {k} films ({time.monotonic() - t0:.0f} s)", flush=True)
    net = build("lite0", spec.size)
    load_backbone_weights(net, IMAGENET_WEIGHTS)
    lower, _ = split_network(net, SPLIT_AT)
    u8 = np.stack(plain)
    act = cache_activations(lower, u8)
    print(f"plain activations {act.shape} ({time.monotonic() - t0:.0f} s)", flush=True)
    act_other = cache_activations(lower, np.stack(other))
    print(f"altered activations {act_other.shape} ({time.monotonic() - t0:.0f} s)", flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, act=act, act_other=act_other, other_row=np.array(other_row),
             meta=np.array(json.dumps(meta)))
    os.replace(tmp, path)


def _col(meta: list[dict], key: str) -> np.ndarray:
    return np.array([m[key] for m in meta])


def tasks_for(meta: list[dict], weights: dict[str, float], covid_ieee: bool = False,
              leave_out: np.ndarray | None = None):
    """The tasks of a variant; with ``covid_ieee`` the COVID-19 task also holds
    ``ieee8023/train``, but for the rows in ``leave_out``."""
    from core.training.chest import Task, balanced_weights
    from core.training.head import sample_weights

    sets, splits = _col(meta, "set"), _col(meta, "split")
    tasks = []
    if "rsna" in weights:
        rows = np.flatnonzero((sets == "rsna-lungs") & (splits == "train"))
        y = np.array([[meta[r]["label"] == c for c in RSNA_CLASSES] for r in rows], np.float32)
        tasks.append(Task("rsna", "softmax", RSNA_CLASSES, rows, y,
                          np.ones((len(rows), 1), np.float32)))
    if "nih" in weights:
        rows = np.flatnonzero((sets == "cxr") & (splits == "train") & (_col(meta, "findings") != ""))
        y = np.array([[lab in meta[r]["findings"].split("|") for lab in NIH_LABELS]
                      for r in rows], np.float32)
        w = balanced_weights(y, _col(meta, "view")[rows])
        tasks.append(Task("nih", "multilabel", NIH_LABELS, rows, y, w))
    if "covid" in weights:
        # cxr/train only: ieee8023/train stays out of the backbone, so that the head's
        # out-of-fold AUC on it (the selection) is not read from films the features saw
        keep = (sets == "cxr") & (splits == "train")
        if covid_ieee:
            keep |= (sets == "ieee8023") & (splits == "train")
        if leave_out is not None:
            keep[leave_out] = False
        rows = np.flatnonzero(keep)
        y = (_col(meta, "label")[rows] == "COVID").astype(np.float32)[:, None]
        w = sample_weights(y[:, 0], _col(meta, "collection")[rows], "collection")
        tasks.append(Task("covid", "binary", ("COVID",), rows, y,
                          w.astype(np.float32)[:, None]))
    return tasks


def _probe(x_tr, y_tr, x_te, y_te) -> float:
    from core.evaluation.metrics import held_out_auc
    return held_out_auc(x_tr, y_tr, x_te, y_te, l2=10.0)


def crossfit(meta: list[dict], act: np.ndarray, altered: np.ndarray, recipe, covid_ieee: bool,
             folds: int = 3, l2: float = 10.0) -> dict:
    """Out-of-fold AUC on ``ieee8023/train`` when its films also train the backbone: for
    each of ``folds`` folds by patient, backbone and head are trained without that fold's
    patients and score them."""
    from core.evaluation.metrics import roc_auc
    from core.model.lite0 import IMAGENET_WEIGHTS, load_backbone_weights
    from core.model.networks import build
    from core.training.chest import pooled_from_cache, split_network, train_chest
    from core.training.head import HeadRecipe, fit_linear_head

    sets, splits, labels = _col(meta, "set"), _col(meta, "split"), _col(meta, "label")
    colls, groups = _col(meta, "collection"), _col(meta, "group")
    ie = np.flatnonzero((sets == "ieee8023") & (splits == "train"))
    pats = np.unique(groups[ie])
    rng = np.random.default_rng(0)
    fold_of = {p: k % folds for k, p in enumerate(rng.permutation(pats))}
    fold = np.array([fold_of[g] for g in groups[ie]])
    oof = np.zeros(len(ie))
    tr_all = np.flatnonzero(((sets == "cxr") | (sets == "ieee8023")) & (splits == "train"))
    for k in range(folds):
        out_rows = ie[fold == k]
        net = build("lite0", 224)
        load_backbone_weights(net, IMAGENET_WEIGHTS)
        _, upper = split_network(net, SPLIT_AT)
        train_chest(upper, act, altered,
                    tasks_for(meta, recipe.task_weights, covid_ieee, leave_out=out_rows), recipe)
        tr = np.setdiff1d(tr_all, out_rows)
        feats_tr = pooled_from_cache(upper, act[tr])
        head = fit_linear_head(feats_tr, (labels[tr] == "COVID").astype(int), colls[tr], None,
                               l2, HeadRecipe())
        oof[fold == k] = head.logit(pooled_from_cache(upper, act[out_rows]))
        print(f"crossfit fold {k}: {len(out_rows)} films", flush=True)
    return {"selection_ieee8023_train_crossfit_auc": roc_auc(labels[ie] == "COVID", oof),
            "crossfit_folds": folds, "crossfit_l2": l2}


def measure(meta: list[dict], feats: np.ndarray, marked: np.ndarray, marked_rows: np.ndarray
            ) -> dict:
    from core.evaluation.metrics import roc_auc
    from core.evaluation.shortcuts import collection_probe
    from core.model.calibration import sigmoid
    from core.training.head import HeadRecipe, choose_l2, fit_linear_head

    sets, splits, labels = _col(meta, "set"), _col(meta, "split"), _col(meta, "label")
    colls, groups = _col(meta, "collection"), _col(meta, "group")
    out: dict = {}
    # the product's head: cxr/train + ieee8023/train, chosen out of fold on ieee8023/train
    tr = np.flatnonzero(((sets == "cxr") | (sets == "ieee8023")) & (splits == "train"))
    y = (labels[tr] == "COVID").astype(int)
    recipe = HeadRecipe()
    l2, cv, _ = choose_l2(feats[tr], y, colls[tr], None, sets[tr] == "ieee8023",
                          groups[tr], recipe)
    head = fit_linear_head(feats[tr], y, colls[tr], None, l2, recipe)
    out["selection_ieee8023_train_oof_auc"] = cv
    out["head_l2"] = l2
    for name, where in (("ieee8023/test", (sets == "ieee8023") & (splits == "test")),
                        ("cxr/test", (sets == "cxr") & (splits == "test"))):
        r = np.flatnonzero(where)
        out[f"report_{name}_auc"] = roc_auc(labels[r] == "COVID", head.logit(feats[r]))
    p_clean = sigmoid(head.logit(feats[marked_rows]))
    p_marked = sigmoid(head.logit(marked))
    out["report_marker_shift_uncalibrated"] = float(np.mean(np.abs(p_marked - p_clean)))
    # rsna-lungs probes: selection on val (fitted on train), report on test (train + val)
    rl = sets == "rsna-lungs"
    for a, b in (("opacity", "normal"), ("opacity", "not-normal"), ("not-normal", "normal")):
        def pick(split_ok, a=a, b=b):
            r = np.flatnonzero(rl & split_ok & np.isin(labels, [a, b]))
            return feats[r], (labels[r] == a).astype(int)
        xtr, ytr = pick(splits == "train")
        xva, yva = pick(splits == "val")
        xtv, ytv = pick(np.isin(splits, ["train", "val"]))
        xte, yte = pick(splits == "test")
        out[f"selection_rsna_val_{a}_vs_{b}"] = _probe(xtr, ytr, xva, yva)
        out[f"report_rsna_test_{a}_vs_{b}"] = _probe(xtv, ytv, xte, yte)
    # NIH pneumonia vs no finding, held out by patient (cxr/val)
    nih = (sets == "cxr") & (colls == "nih-cxr14")
    def nih_pick(split):
        r = np.flatnonzero(nih & (splits == split))
        return feats[r], (labels[r] == "Pneumonia").astype(int)
    out["selection_nih_val_pneumonia"] = _probe(*nih_pick("train"), *nih_pick("val"))
    # collection probe within class on test films (lower is better)
    test_like = (splits == "test") & (sets != "rsna-lungs")
    cov = np.flatnonzero(test_like & (labels == "COVID"))
    neg = np.flatnonzero(test_like & (labels != "COVID"))
    out["report_collection_probe_covid"] = collection_probe(feats[cov], list(colls[cov])).mean_auc
    out["report_collection_probe_negative"] = collection_probe(
        feats[neg], list(colls[neg])).mean_auc
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--variant", default="tasks", choices=sorted(VARIANTS))
    ap.add_argument("--epochs", type=int)
    ap.add_argument("--l2sp", type=float)
    ap.add_argument("--lr", type=float)
    ap.add_argument("--tag", default="", help="suffix of the output names")
    args = ap.parse_args()
    cache = OUT / "cache.npz"
    if not cache.exists():
        build_cache(Path(args.data), cache)
    from core.model.lite0 import IMAGENET_WEIGHTS, load_backbone_weights
    from core.model.networks import build
    from core.training.chest import (
        ChestRecipe,
        pooled_from_cache,
        split_network,
        train_chest,
    )

    t0 = time.monotonic()
    with np.load(cache) as z:
        act, act_other, other_row = z["act"], z["act_other"], z["other_row"]
        meta = json.loads(str(z["meta"]))
    altered = act.copy()  # rows without an altered copy pair with themselves
    alt_rows = np.array([r for r in other_row if _altered_wanted(meta[r]) == "alter"])
    is_alt = np.isin(other_row, alt_rows)
    altered[other_row[is_alt]] = act_other[is_alt]
    marked_rows = other_row[~is_alt]
    v = VARIANTS[args.variant]
    recipe = ChestRecipe(
        split_at=SPLIT_AT,
        epochs=args.epochs if args.epochs is not None else v.get("epochs", 6),
        invariance=v.get("invariance", 1.0),
        l2sp=args.l2sp if args.l2sp is not None else v.get("l2sp", ChestRecipe.l2sp),
        learning_rate=args.lr or v.get("learning_rate", ChestRecipe.learning_rate),
        task_weights=v.get("tasks", {}),
        steps_per_epoch=v.get("steps_per_epoch"),
    )
    covid_ieee = bool(v.get("covid_ieee"))
    net = build("lite0", 224)
    load_backbone_weights(net, IMAGENET_WEIGHTS)
    _, upper = split_network(net, SPLIT_AT)
    fit = None
    if recipe.epochs:
        tasks = tasks_for(meta, recipe.task_weights, covid_ieee)
        print("tasks: " + ", ".join(f"{t.name} {len(t.rows)}" for t in tasks), flush=True)
        fit = train_chest(upper, act, altered, tasks, recipe,
                          on_progress=lambda d, n, m: print(f"  {d}/{n} {m} "
                                                            f"({time.monotonic() - t0:.0f} s)",
                                                            flush=True))
    feats = pooled_from_cache(upper, act)
    marked = pooled_from_cache(upper, act_other[~is_alt])
    measures = measure(meta, feats, marked, marked_rows)
    if covid_ieee:
        # the backbone saw ieee8023/train: the head's out-of-fold figure above is not a
        # selection figure any more; the cross-fitted one is
        measures["leaky_ieee8023_train_oof_auc"] = measures.pop("selection_ieee8023_train_oof_auc")
        measures.update(crossfit(meta, act, altered, recipe, covid_ieee))
    result = {"variant": args.variant, "recipe": recipe.to_dict(),
              "fit": fit.to_dict() if fit else None,
              "measures": measures,
              "seconds": round(time.monotonic() - t0)}
    name = args.variant + args.tag
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(result, indent=2, default=float) + "\n")
    if fit:
        net.save_weights(str(OUT / f"{name}.weights.h5"))
    for k, val in result["measures"].items():
        print(f"{k}: {val:.4f}" if isinstance(val, float) else f"{k}: {val}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
