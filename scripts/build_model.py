"""Build the bundled classifier: the frozen ImageNet Lite0 backbone and a head that reads the
film, not its collection (issue #19; the recipe is :mod:`core.training.head`).

1. Features of the frozen backbone for ``cxr/train`` and ``ieee8023/train`` (the one
   collection that holds both classes), each film also with burned-in markers drawn.
2. The head's L2 strength is chosen by out-of-fold AUC on ``ieee8023/train`` (5 folds by
   patient, every other film always in training); the head is then fitted on all of them.
3. Calibration (Platt) on ``cxr/val`` plus the out-of-fold ``ieee8023/train`` scores; the
   threshold on the out-of-fold ``ieee8023/train`` scores alone (sensitivity >= 0.90):
   a threshold chosen where collections tell the classes apart does not hold at a site
   whose films share one (measured: specificity 0.03 within ieee8023 for the old model).
4. The rest of finalising as for every model (:func:`core.training.finalise.finalize`:
   the unusual-film statistics, test figures, card), then the test-time-view margin
   (``scripts/fit_interval.py``) on the same validation films. The site check's reference
   is fitted afterwards by ``scripts/fit_site_reference.py``.

``ieee8023/test`` is never read here. Measure the result with
``scripts/measure_model.py OUT --write-card``.

With ``--backbone W.weights.h5`` the backbone is not ImageNet's as it is but the one
tuned on within-collection labels by ``scripts/chest_features.py`` (issue #29,
:mod:`core.training.chest`), whose record ``W.json`` goes into the card.

Run: ``.venv/bin/python scripts/build_model.py --output models/covidcxr.keras
[--backbone runs/chest/tasks.weights.h5] [--data ../shared/data] [--size 224]``.
"""

from __future__ import annotations

import argparse
import csv
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

from fit_interval import fit_interval  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data"
SENSITIVITY = 0.90
NAME = "covidcxr-lite0-v2"
NAME_CHEST = "covidcxr-lite0-v3"


def _read(paths: list[Path], spec, rng) -> tuple[np.ndarray, np.ndarray]:
    """Network inputs of ``paths`` as they are and with markers drawn (uint8 caches)."""
    from core.evaluation.markers import draw_markers
    from core.files.reader import read_xray
    from core.model.preprocess import prepare

    plain, marked = [], []
    for p in paths:
        px = read_xray(p).pixels
        plain.append(prepare(px, spec))
        marked.append(prepare(draw_markers(px, rng), spec))
    return np.stack(plain), np.stack(marked)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--output", required=True)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--backbone", help="tuned backbone weights (scripts/chest_features.py)")
    args = ap.parse_args()
    data = Path(args.data)
    t0 = time.monotonic()

    from dataclasses import replace

    from core.evaluation.evaluate import evaluate_decoded
    from core.evaluation.metrics import choose_threshold
    from core.files.dataset import scan
    from core.model.cache import decode
    from core.model.calibration import apply_platt, fit_platt, sigmoid
    from core.model.disk import save_model
    from core.model.lite0 import IMAGENET_WEIGHTS, load_backbone_weights
    from core.model.loading import LoadedModel, bundled_anatomy
    from core.model.networks import build
    from core.training.finalise import finalize
    from core.training.fit import check_dataset
    from core.training.head import HeadRecipe, choose_l2, fit_linear_head
    from core.training.recipe import transfer_recipe
    from core.training.transfer import pooled_features

    cfg = transfer_recipe(input_size=args.size)
    spec = cfg.spec
    recipe = HeadRecipe()
    rng = np.random.default_rng(19)
    # cxr/: train (with marker copies), val, test, through the product's own dataset code
    index = scan(data / "cxr", positive="COVID", seed=cfg.seed)
    decoded = decode(index, spec)
    warnings = check_dataset(index, decoded, cfg)
    with open(data / "cxr" / "manifest.csv", newline="", encoding="utf-8") as fh:
        collection_of = {(data / "cxr" / r["file"]).resolve(): r["dataset"]
                         for r in csv.DictReader(fh)}
    tr = decoded.splits["train"]
    tr_coll = np.array([collection_of[Path(p).resolve()] for p in tr.paths])
    _, tr_marked = _read(list(tr.paths), spec, rng) if recipe.marker_copies or \
        recipe.marker_directions else (None, tr.images)
    # ieee8023/train: both classes from one collection, by patient
    with open(data / "ieee8023" / "manifest.csv", newline="", encoding="utf-8") as fh:
        ieee = [r for r in csv.DictReader(fh) if r["split"] == "train"]
    ie_u8, ie_marked = _read([data / "ieee8023" / r["file"] for r in ieee], spec, rng)
    ie_y = np.array([r["label"] == "COVID" for r in ieee], int)
    print(f"read in {time.monotonic() - t0:.0f} s", flush=True)

    net = build("lite0", spec.size)
    load_backbone_weights(net, IMAGENET_WEIGHTS)
    chest = None
    if args.backbone:
        import json

        net.load_weights(args.backbone)
        chest = json.loads(Path(args.backbone.replace(".weights.h5", ".json")).read_text())
    f_tr, f_ie = pooled_features(net, tr.images), pooled_features(net, ie_u8)
    marked = None
    if recipe.marker_copies or recipe.marker_directions:
        marked = np.r_[pooled_features(net, tr_marked), pooled_features(net, ie_marked)]
    print(f"features in {time.monotonic() - t0:.0f} s", flush=True)
    feats = np.r_[f_tr, f_ie]
    labels = np.r_[tr.labels, ie_y]
    colls = np.r_[tr_coll, np.array(["ieee8023"] * len(ie_y))]
    folded = np.r_[np.zeros(len(tr_coll), bool), np.ones(len(ie_y), bool)]
    groups = np.r_[np.array([str(p) for p in tr.paths]), np.array([r["patient"] for r in ieee])]
    l2, cv_auc, oof = choose_l2(feats, labels, colls, marked, folded, groups, recipe)
    head = fit_linear_head(feats, labels, colls, marked, l2, recipe)
    net.get_layer("prob").set_weights(
        [head.weights.reshape(-1, 1).astype(np.float32), np.array([head.bias], np.float32)])
    print(f"head: l2 {l2:g}, out-of-fold AUC on ieee8023/train {cv_auc:.3f} "
          f"({time.monotonic() - t0:.0f} s)", flush=True)

    result = finalize(net, index, decoded, cfg, history={}, best_epoch=0,
                      stopped_by_user=False, warnings=warnings,
                      seconds=time.monotonic() - t0)
    card = result.card
    # calibration on cxr/val + ieee8023/train out of fold; threshold within the collection
    va = decoded.splits["val"]
    from core.model.loading import predict_u8

    va_raw, _ = predict_u8(net, va.images)
    cal_y = np.r_[va.labels, ie_y]
    cal_raw = np.r_[va_raw, sigmoid(oof)]
    a, b = fit_platt(cal_y, cal_raw)
    ie_p = apply_platt(sigmoid(oof), a, b)
    threshold = choose_threshold(ie_y, ie_p, SENSITIVITY)
    card = replace(
        card,
        name=NAME if chest is None else NAME_CHEST,
        threshold=float(threshold),
        threshold_rule=(
            f"lowest false-positive rate with sensitivity >= {SENSITIVITY} on ieee8023/train "
            "out of fold (5 folds by patient; COVID-19 and other films from one collection), "
            "after calibration"
        ),
        calibration={"method": "platt", "a": a, "b": b,
                     "fitted_on": "cxr validation split + ieee8023/train out of fold"},
    )
    backbone_record = {"recipe": "frozen ImageNet Lite0 backbone, linear head (core.training.head)"}
    if chest is not None:
        backbone_record = {
            "recipe": "Lite0 backbone tuned from block6a up on within-collection labels "
                      "(core.training.chest), linear head (core.training.head)",
            "chest_features": {"variant": chest["variant"], "recipe": chest["recipe"],
                               "fit": chest["fit"], "measures": chest["measures"]},
        }
    card.training.update({
        **backbone_record,
        "head": {**recipe.to_dict(), "l2": l2, "ieee8023_train_out_of_fold_auc": cv_auc},
        "extra_training_data": "ieee8023/train (176 films: 135 COVID-19, 41 other; by patient)",
        "history": {},
        "epochs_run": 0,
    })
    # the test-time-view margin, on the same validation films (scripts/fit_interval.py)
    model = LoadedModel(net, card, result.ood, anatomy=bundled_anatomy())
    card = replace(card, interval=fit_interval(model, np.r_[va.images, ie_u8]))
    model = replace(model, card=card)
    test = evaluate_decoded(model, decoded.splits["test"], index)
    card.metrics = {
        "validation_ieee8023_train_out_of_fold": {"auc": cv_auc, "n": int(len(ie_y))},
        "test": test.to_dict(roc=False),
    }
    save_model(net, card, args.output, result.ood)
    print(f"threshold {threshold:.4f}, margin {card.interval['margin_logit']:.2f} logit; "
          "cxr/test AUC "
          f"{test.auc:.3f}; wrote {args.output} in {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
