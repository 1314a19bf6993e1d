"""Heads on frozen ImageNet Lite0 features, chosen by the shortcut measures (issue #19).

Reads the features ``scripts/lung_features.py`` stored and, for every combination of
features (pooled top, plus earlier stages, pooled inside the lungs), training films
(``cxr/train``, plus ``ieee8023/train``, balanced by collection), marker augmentation and
a nuisance projection (iterative null-space projection of the directions that tell
collections apart within a class, Ravfogel et al. 2020), fits an L2 logistic head and
reports:

- **selection**: AUC on ``ieee8023/train`` out of fold (5 folds by patient; heads that do
  not train on it simply score it); the L2 strength is chosen the same way;
- ``ieee8023/test`` AUC with a patient bootstrap interval, sensitivity and specificity at
  a threshold chosen on the out-of-fold ``ieee8023/train`` scores plus ``cxr/val``;
- ``cxr/test`` AUC (an upper bound: its collections are the training ones);
- **score gap**: how well the head's score tells collections apart within a class
  (negatives: rsna / nih / ieee8023; COVID: radiography-covid / newsite / ieee8023);
- **marker shift**: mean |change of P| when markers are drawn on test negatives;
- **outside / inside**: ``cxr/test`` AUC with the lungs blanked / only the lungs shown.

Selection is by the first measure and the shortcut measures only; ``ieee8023/test`` is
reported for every row, the losers too, and chooses nothing.

Run: ``.venv/bin/python scripts/lung_heads.py --variant c80eq224 [--out /tmp/lx]``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import pickle
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from core.evaluation.metrics import choose_threshold, fit_logistic, roc_auc  # noqa: E402
from core.evaluation.shortcuts import auc_interval, collection_probe  # noqa: E402
from core.model.calibration import sigmoid  # noqa: E402

L2S = (10.0, 100.0, 1000.0, 10000.0)
FOLDS = 5
SENSITIVITY = 0.90
def _bilateral(part: dict, left: str, right: str) -> list[np.ndarray]:
    """Both sides at once (the smaller response: is it in both lungs?) and how much they
    differ: COVID-19 pneumonia is typically bilateral, a lobar pneumonia one-sided."""
    a, b = part[left], part[right]
    return [np.minimum(a, b), np.abs(a - b)]


FEATURES = {
    "top": lambda f: [f["top"]],
    "top+stages": lambda f: [f["top"], f["block5c_add"], f["block6d_add"],
                             f["block7a_project_bn"]],
    "lung": lambda f: [f["top_lung"]],
    "top+lung": lambda f: [f["top"], f["top_lung"]],
    "top+bilat": lambda f: [f["top"], *_bilateral(f, "half_left", "half_right")],
    "top+zones": lambda f: [f["top"], f["half_upper"], f["half_lower"]],
    "lung+bilat": lambda f: [f["top_lung"], *_bilateral(f, "lung_left", "lung_right")],
    "stages+bilat": lambda f: [f["top"], f["block5c_add"], f["block6d_add"],
                               f["block7a_project_bn"],
                               *_bilateral(f, "half_left", "half_right")],
}


@dataclass
class Data:
    rows: list[dict]
    feats: dict[str, dict[str, np.ndarray]]
    probe_index: np.ndarray

    def col(self, key: str) -> np.ndarray:
        return np.array([r[key] for r in self.rows])


def stack(part: dict[str, np.ndarray], names) -> np.ndarray:
    return np.concatenate(names(part), axis=1).astype(np.float64)


def inlp(x: np.ndarray, groups: list[tuple[np.ndarray, np.ndarray]], steps: int) -> np.ndarray:
    """Iterative null-space projection: ``steps`` times, fit a linear classifier for the
    collection within each class and project its direction out. Returns the (d, d)
    projection (applied as ``x @ P``)."""
    d = x.shape[1]
    proj = np.eye(d)
    for _ in range(steps):
        dirs = []
        for idx, y in groups:
            w, _ = fit_logistic(x[idx] @ proj, y, l2=10.0, iters=30)
            if np.linalg.norm(w) > 0:
                dirs.append(w / np.linalg.norm(w))
        if not dirs:
            break
        q, _ = np.linalg.qr(np.array(dirs).T)
        proj = proj @ (np.eye(d) - q @ q.T)
    return proj


def weights_for(collection: np.ndarray, label: np.ndarray, scheme: str) -> np.ndarray:
    w = np.ones(len(label))
    if scheme == "cell":  # every (collection, label) cell the same total weight
        cells = collection.astype(object) + ":" + label.astype(str)
        names, inv, counts = np.unique(cells, return_inverse=True, return_counts=True)
        w = (len(label) / len(names)) / counts[inv]
    elif scheme == "ieee4":
        w[collection == "ieee8023"] = 4.0
    # then balance the classes
    for c in (0, 1):
        w[label == c] *= 0.5 * w.sum() / w[label == c].sum()
    return w


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", default="c80eq224")
    ap.add_argument("--out", default="/tmp/lx")
    ap.add_argument("--quick", action="store_true", help="fewer combinations")
    ap.add_argument("--features", nargs="*", default=list(FEATURES))
    ap.add_argument("--train", nargs="*", default=["cxr", "cxr+ieee", "ieee"])
    ap.add_argument("--components", type=int, default=256)
    ap.add_argument("--tag", default="")
    ap.add_argument("--marker-proj", type=int, default=0,
                    help="project out this many marker directions")
    ap.add_argument("--markers", nargs="*", type=int, default=[0, 1])
    ap.add_argument("--nuisance", nargs="*", type=int, default=[0, 8])
    ap.add_argument("--weights", nargs="*", default=["none", "cell"])
    args = ap.parse_args()
    raw = pickle.loads((Path(args.out) / f"feats_{args.variant}{args.tag}.pkl").read_bytes())
    data = Data(raw["rows"], {k: raw[k] for k in ("plain", "marked", "outside", "inside")},
                raw["probe_index"])
    setn, split, label = data.col("set"), data.col("split"), data.col("label").astype(int)
    coll, patient, finding = data.col("collection"), data.col("patient"), data.col("finding")
    is_cxr, is_ieee = setn == "cxr", setn == "ieee8023"
    cxr_tr, cxr_va, cxr_te = (is_cxr & (split == s) for s in ("train", "val", "test"))
    ie_tr, ie_te = is_ieee & (split == "train"), is_ieee & (split == "test")
    news = setn == "newsite"
    pi = data.probe_index
    probe_cxr = is_cxr[pi]
    # folds over ieee8023/train patients
    ie_idx = np.flatnonzero(ie_tr)
    pats = np.unique(patient[ie_idx])
    rng = np.random.default_rng(0)
    fold_of_pat = dict(zip(rng.permutation(pats), itertools.cycle(range(FOLDS)), strict=False))
    fold = np.array([fold_of_pat[p] for p in patient[ie_idx]])

    combos = []
    for fname, train_set, scheme, marked, nuis in itertools.product(
        args.features, args.train, args.weights, [bool(m) for m in args.markers], args.nuisance
    ):
        if train_set != "cxr+ieee" and scheme == "cell":
            continue
        if args.quick and (nuis and marked):
            continue
        combos.append((fname, train_set, scheme, marked, nuis))
    results = []
    for fname, train_set, scheme, marked, nuis in combos:
        names = FEATURES[fname]
        X = stack(data.feats["plain"], names)
        Xm = stack(data.feats["marked"], names)
        Xo = stack(data.feats["outside"], names)
        Xi = stack(data.feats["inside"], names)
        mu, sd = X[cxr_tr].mean(0), X[cxr_tr].std(0) + 1e-6
        Z, Zm, Zo, Zi = ((a - mu) / sd for a in (X, Xm, Xo, Xi))
        # principal components of the training films: a Newton fit on 256 columns instead
        # of up to 1904 (the head maps back to the features exactly: it stays linear)
        _, _, vt = np.linalg.svd(Z[cxr_tr | ie_tr], full_matrices=False)
        V = vt[:args.components].T
        Z, Zm, Zo, Zi = (a @ V for a in (Z, Zm, Zo, Zi))
        if train_set == "cxr":
            base = np.flatnonzero(cxr_tr)
        elif train_set == "ieee":
            base = np.array([], int)
        else:
            base = np.flatnonzero(cxr_tr)

        def fit(ie_use: np.ndarray, l2: float, Z=Z, Zm=Zm, base=base, train_set=train_set,
                scheme=scheme, marked=marked, nuis=nuis):
            idx = np.r_[base, ie_use] if train_set != "cxr" else base
            P = np.eye(Z.shape[1])
            if nuis:
                groups = []
                for c in (0, 1):
                    sel = idx[label[idx] == c]
                    cs = np.unique(coll[sel])
                    if len(cs) >= 2:
                        for a, b in itertools.combinations(cs, 2):
                            s2 = sel[np.isin(coll[sel], (a, b))]
                            groups.append((s2, (coll[s2] == a).astype(float)))
                P = inlp(Z, groups, nuis)
            if args.marker_proj:
                # the directions burned-in markers move the features along (training films,
                # each against its marked copy), projected out: the head cannot read them
                diff = (Zm[idx] - Z[idx]) @ P
                _, _, vt = np.linalg.svd(diff, full_matrices=False)
                U = vt[:args.marker_proj].T
                P = P @ (np.eye(P.shape[1]) - U @ U.T)
            xtr, ytr = Z[idx] @ P, label[idx]
            w = weights_for(coll[idx], ytr, scheme)
            if marked:
                xtr = np.r_[xtr, Zm[idx] @ P]
                ytr = np.r_[ytr, ytr]
                w = np.r_[w, w]
            beta, b = fit_logistic(xtr, ytr, l2=l2, sample_weight=w)
            return P @ beta, b

        # L2 and selection by out-of-fold AUC on ieee8023/train
        best = None
        for l2 in L2S:
            oof = np.zeros(len(ie_idx))
            if train_set == "cxr":
                beta, b = fit(np.array([], int), l2)
                oof = Z[ie_idx] @ beta + b
            else:
                for f in range(FOLDS):
                    beta, b = fit(ie_idx[fold != f], l2)
                    oof[fold == f] = Z[ie_idx[fold == f]] @ beta + b
            # pooled out-of-fold AUC; fold offsets differ little with a shared base
            cv = roc_auc(label[ie_idx], oof)
            if best is None or cv > best[0]:
                best = (cv, l2, oof)
        cv, l2, oof = best
        beta, b = fit(ie_idx if train_set != "cxr" else np.array([], int), l2)
        s = Z @ beta + b
        p = sigmoid(s)
        # threshold: out-of-fold ieee8023/train + cxr/val, sensitivity first
        yv = np.r_[label[ie_idx], label[cxr_va]]
        sv = np.r_[sigmoid(oof), p[cxr_va]]
        thr = choose_threshold(yv, sv, SENSITIVITY)
        te = np.flatnonzero(ie_te)
        auc_te = auc_interval(label[te], p[te], np.unique(patient[te], return_inverse=True)[1])
        sens = float((p[te][label[te] == 1] >= thr).mean())
        spec = float((p[te][label[te] == 0] < thr).mean())
        neg = np.flatnonzero(label == 0)
        gap_neg = collection_probe(s[neg][:, None], list(coll[neg]), l2=1e-3).mean_auc
        pos = np.flatnonzero((label == 1) & (split == "test") | news | (is_ieee & (label == 1)))
        gap_pos = collection_probe(s[pos][:, None], list(coll[pos]), l2=1e-3).mean_auc
        negt = np.flatnonzero((label == 0) & (split == "test"))
        pmk = sigmoid(Zm @ beta + b)
        shift = float(np.mean(np.abs(pmk[negt] - p[negt])))
        po, pin = sigmoid(Zo @ beta + b), sigmoid(Zi @ beta + b)
        yprobe = label[pi]
        res = {
            "features": fname, "train": train_set, "weights": scheme, "markers": marked,
            "nuisance_steps": nuis, "l2": l2, "cv_ieee_train": round(cv, 4),
            "ieee_test_auc": auc_te.to_dict(), "threshold": thr,
            "ieee_test_sens": sens, "ieee_test_spec": spec,
            "cxr_test_auc": roc_auc(label[cxr_te], p[cxr_te]),
            "newsite_sens": float((p[news] >= thr).mean()),
            "score_gap_neg": gap_neg, "score_gap_pos": gap_pos, "marker_shift": shift,
            "outside_auc": roc_auc(yprobe[probe_cxr], po[probe_cxr]),
            "inside_auc": roc_auc(yprobe[probe_cxr], pin[probe_cxr]),
            "mean_p": {f: float(p[te][finding[te] == f].mean()) for f in
                       ("COVID", "Pneumonia", "Normal")},
        }
        results.append(res)
        a = res["ieee_test_auc"]
        res["marker_proj"] = args.marker_proj
        print(f"mp={args.marker_proj} {fname:10s} {train_set:8s} {scheme:4s} mk={int(marked)} nu={nuis} l2={l2:<6g} "
              f"cv={cv:.3f} | ieee test {a['value']:.3f} ({a['low']:.2f}-{a['high']:.2f}) "
              f"sens {sens:.2f} spec {spec:.2f} | cxr {res['cxr_test_auc']:.3f} "
              f"news {res['newsite_sens']:.2f} | gap -{gap_neg:.2f} +{gap_pos:.2f} "
              f"mark {shift:.3f} out {res['outside_auc']:.2f} in {res['inside_auc']:.2f}",
              flush=True)
    (Path(args.out) / f"heads_{args.variant}{args.tag}_{'_'.join(args.features)}.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
