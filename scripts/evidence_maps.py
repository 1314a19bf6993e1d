"""Which heat map makes the better "is the score resting outside the lungs?" measure (#30)?

(History: this ran at 9f41628, when the lean runtime's map was the 14 x 14 class activation
map described below; its result, in models/README and core/model/convert.py, is why the
converted network computes LayerCAM since e9e51cd. Run today, "old" and "new" are the same
LayerCAM from Keras and from LiteRT, and the two columns agree.)

The lung-evidence share (core.answers.evidence.lung_evidence: the share of a map's positive
mass inside the lung fields grown by one cell; below LOW_EVIDENCE the film is flagged) was
taken on a LayerCAM map from a Keras gradient pass at block3b (28 x 28 at 224 px, "old");
since #30 it is taken on the linear head's class activation map from the LiteRT forward
pass (14 x 14, "new"). A third variant, "new@28", is the new map resized (bilinear) to
28 x 28 and measured against the 28 x 28 lung grid: it tells apart what the map changes
from what the coarser grid (a lung field grown by 16 px instead of 8 px) changes. A
fourth, "new-med", is exploratory: the same pass's raw activation map less its own median
over the grid (clipped at 0), i.e. the class activation map measured from the film's floor
rather than from zero (a flat region's features still give the head a positive term).

Per film (cxr/test: a seeded sample stratified by source; ieee8023/test: all of it;
films the anatomy check refuses are left out, as the app measures none there):

* real: the share of each map on the film as it is;
* marker probe: one or two burned-in labels (words, dates, times in the fonts and sizes of
  core.evaluation.markers) drawn where the film's lung pixels are not, inside the crop the
  network sees; the film is prepared again from the altered pixels. For films whose
  logit(P) the marker moves much, a good measure's share falls (the mass moves onto the
  marker). Reported: correlations of |dlogit| (and dlogit) with dshare, the AUC of the
  fall of the share (before - after) for the top quartile of |dlogit| against the bottom
  quartile, how often the map's maximum lies on a marker cell (against the chance of a
  random cell), and the map's mass on the marker cells before and after;
* lungs-blanked probe: every pixel counted as lung by either grid (the lung pixels and
  both grown grid masks brought back to the film) set to the median of the rest of the
  crop: what evidence is left lies outside the lungs by construction; a good measure's
  share is near 0.

Shares of the altered films use the original film's lung mask (the marker lies outside
the lungs; the blanked film has none to find), so a change of share is a change of map.
Cuts for the new map: the one that flags as many cxr/test films as the old map at 0.5;
the one that best agrees (Cohen's kappa) with the old flag on the real films; the one
that best separates blanked films from real ones (Youden); the one that best separates
the marked films of the top |dlogit| quartile from those of the bottom quartile (Youden).

Run: ``.venv/bin/python scripts/evidence_maps.py --json /tmp/evidence_maps.json
--sheet /tmp/evidence_maps_sheet.png`` (defaults: all 599 cxr/test films and all 135 of
ieee8023/test, seed 0; about 8 minutes on two busy CPU cores; ``--per-set 300`` for a
stratified half of cxr/test).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from core.answers.evidence import LOW_EVIDENCE, heat_maps, lung_evidence, lungs_on_grid  # noqa: E402
from core.answers.inference import judge_pending, prepare_pixels  # noqa: E402
from core.evaluation.markers import INSIDE, marker_text  # noqa: E402
from core.files.reader import read_xray  # noqa: E402
from core.model.anatomy import grow  # noqa: E402
from core.model.loading import load_model  # noqa: E402
from core.model.preprocess import PreprocessSpec, crop_box, prepare, resize_gray, to_network  # noqa: E402

MAPS = ("old", "new", "new@28", "new-med")
KINDS = ("real", "marker", "blank")


# ---------------------------------------------------------------- films


def film_list(data: Path, per_set: int, seed: int) -> list[tuple[str, str, str, str]]:
    """(set, source, label, path): a sample of cxr/test stratified by source, and
    ieee8023/test (each capped at ``per_set``)."""
    rng = np.random.default_rng(seed)
    out: list[tuple[str, str, str, str]] = []
    with open(data / "cxr" / "manifest.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == "test"]
    by_src: dict[str, list[dict]] = {}
    for r in rows:
        by_src.setdefault(r["dataset"], []).append(r)
    take = min(per_set, len(rows))
    for src, group in sorted(by_src.items()):
        k = round(take * len(group) / len(rows))
        for j in sorted(rng.choice(len(group), size=min(k, len(group)), replace=False)):
            r = group[j]
            out.append(("cxr/test", src, r["label"], str(data / "cxr" / r["file"])))
    with open(data / "ieee8023" / "manifest.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == "test"]
    idx = sorted(rng.choice(len(rows), size=min(per_set, len(rows)), replace=False))
    for j in idx:
        r = rows[j]
        out.append(("ieee8023/test", "ieee8023", r["label"], str(data / "ieee8023" / r["file"])))
    return out


# ---------------------------------------------------------------- masks and alterations


def lung_pixels(lungs_u8: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The segmenter's probability (over the whole film) at the film's size, > 0.5."""
    img = Image.fromarray(lungs_u8.astype(np.float32) / 255.0, mode="F")
    big = np.asarray(img.resize((shape[1], shape[0]), Image.Resampling.BILINEAR), np.float32)
    return big > 0.5


def grid_to_film(mask: np.ndarray, shape: tuple[int, int], crop: float) -> np.ndarray:
    """A bool grid over the network's crop, back on the film's pixels (nearest)."""
    top, left, bottom, right = crop_box(shape[0], shape[1], crop)
    out = np.zeros(shape, bool)
    g = mask.shape[0]
    rows = np.minimum((np.arange(bottom - top) * g) // max(1, bottom - top), g - 1)
    cols = np.minimum((np.arange(right - left) * g) // max(1, right - left), g - 1)
    out[top:bottom, left:right] = mask[np.ix_(rows, cols)]
    return out


def on_grid(pixmask: np.ndarray, grid: int, crop: float) -> np.ndarray:
    """Share of each grid cell (over the network's crop) that ``pixmask`` covers."""
    return prepare(pixmask.astype(np.float32), PreprocessSpec(grid, crop, False)) / 255.0


def draw_outside(pixels: np.ndarray, lungs: np.ndarray, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray] | None:
    """``pixels`` with one or two burned-in labels (core.evaluation.markers' words, sizes
    and inks), each placed at random among the places inside the network's crop (the
    markers' ``INSIDE`` band) where it covers no lung pixel (lungs grown by 2 px); and the
    marker's pixels. None when no label fits anywhere."""
    height, width = pixels.shape
    base = np.clip(np.rint(pixels * 255), 0, 255).astype(np.uint8)
    img = Image.fromarray(base, mode="L")
    draw = ImageDraw.Draw(img)
    keep_out = grow(lungs, 2, diagonal=True)
    # integral image of the keep-out mask: any lung pixel in a box in O(1)
    integ = np.pad(keep_out.astype(np.int32).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    x0, y0 = int(width * (1 - INSIDE) / 2), int(height * (1 - INSIDE) / 2)
    placed = 0
    for _ in range(int(rng.integers(1, 3))):
        for _try in range(4):
            size = max(6, int(height * rng.uniform(0.04, 0.08)))
            font = ImageFont.load_default(size=size)
            text = marker_text(rng)
            left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
            w, h = int(right - left) + 6, int(bottom - top) + 6
            xs = np.arange(x0, max(x0 + 1, width - x0 - w), 2)
            ys = np.arange(y0, max(y0 + 1, height - y0 - h), 2)
            if xs.size == 0 or ys.size == 0:
                continue
            yy, xx = np.meshgrid(ys, xs, indexing="ij")
            hits = (integ[yy + h, xx + w] - integ[yy, xx + w] - integ[yy + h, xx]
                    + integ[yy, xx])
            free = np.flatnonzero(hits.ravel() == 0)
            if free.size == 0:
                continue  # a smaller label may fit
            k = int(rng.choice(free))
            x, y = int(xx.ravel()[k]), int(yy.ravel()[k])
            ink = 255 if rng.random() < 0.8 else 0
            if rng.random() < 0.25:
                draw.rectangle([x + 1, y + 1, x + w - 2, y + h - 2], fill=255 - ink)
            draw.text((x + 3 - left, y + 3 - top), text, fill=ink, font=font)
            placed += 1
            break
    if not placed:
        return None
    out = np.asarray(img, np.uint8)
    return out.astype(np.float32) / 255.0, out != base


def blank_lungs(pixels: np.ndarray, region: np.ndarray, crop: float) -> np.ndarray:
    """``pixels`` with ``region`` set to the median of the rest of the network's crop."""
    top, left, bottom, right = crop_box(pixels.shape[0], pixels.shape[1], crop)
    inside = np.zeros(pixels.shape, bool)
    inside[top:bottom, left:right] = True
    rest = pixels[inside & ~region]
    fill = float(np.median(rest)) if rest.size else float(np.median(pixels))
    out = pixels.copy()
    out[region] = fill
    return out


# ---------------------------------------------------------------- statistics


def ranks(x: np.ndarray) -> np.ndarray:
    """Ranks from 1, ties averaged."""
    order = np.argsort(x, kind="mergesort")
    r = np.empty(len(x), np.float64)
    xs = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and xs[j + 1] == xs[i]:
            j += 1
        r[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return r


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return math.nan
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return math.nan
    return pearson(ranks(a[ok]), ranks(b[ok]))


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """P(a positive scores above a negative), ties half."""
    pos, neg = pos[np.isfinite(pos)], neg[np.isfinite(neg)]
    if not len(pos) or not len(neg):
        return math.nan
    r = ranks(np.concatenate([pos, neg]))
    return float((r[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def kappa(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(bool), b.astype(bool)
    po = float(np.mean(a == b))
    pe = float(a.mean() * b.mean() + (1 - a.mean()) * (1 - b.mean()))
    return (po - pe) / (1 - pe) if pe < 1 else math.nan


CUTS = np.round(np.arange(0.20, 0.901, 0.01), 2)


def best_kappa_cut(share: np.ndarray, flag: np.ndarray) -> tuple[float, float]:
    ok = np.isfinite(share)
    best = max(((kappa(share[ok] < c, flag[ok]), c) for c in CUTS), key=lambda t: t[0])
    return float(best[1]), float(best[0])


def youden_cut(low: np.ndarray, high: np.ndarray) -> tuple[float, float]:
    """The cut c maximising P(low < c) - P(high < c) (``low``: should be flagged)."""
    low, high = low[np.isfinite(low)], high[np.isfinite(high)]
    best = max((((low < c).mean() - (high < c).mean(), c) for c in CUTS), key=lambda t: t[0])
    return float(best[1]), float(best[0])


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


# ---------------------------------------------------------------- the run


def share_or_nan(heat: np.ndarray, lungs: np.ndarray) -> float:
    s = lung_evidence(heat, lungs)
    return math.nan if s is None else s


def up28(m14: np.ndarray) -> np.ndarray:
    return np.clip(resize_gray(m14, 28), 0, None)


def run(args: argparse.Namespace) -> dict:
    t0 = time.time()
    lean = load_model(REPO / "models" / "covidcxr.keras")
    keras_model = lean.keras_model  # the same network, unconverted: LayerCAM's gradient pass
    spec = lean.card.spec
    films = film_list(Path(args.data), args.per_set, args.seed)
    print(f"{len(films)} films; model loaded in {time.time() - t0:.1f} s", flush=True)
    recs: list[dict] = []
    sheet: list[dict] = []
    skipped = {"refused": 0, "no_marker_place": 0}
    for b in range(0, len(films), args.batch):
        chunk = films[b:b + args.batch]
        pix = [read_xray(f[3]).pixels for f in chunk]
        items = judge_pending(lean, [prepare_pixels(p, spec, lean.anatomy) for p in pix])
        work = []
        for k, (film, p, item) in enumerate(zip(chunk, pix, items, strict=True)):
            if item.refusal is not None or item.lungs is None:
                skipped["refused"] += 1
                continue
            rng = np.random.default_rng([args.seed, b + k])
            lp = lung_pixels(item.lungs, p.shape)
            l14 = lungs_on_grid(item.lungs / 255.0, spec, 14)
            l28 = lungs_on_grid(item.lungs / 255.0, spec, 28)
            marked = draw_outside(p, lp, rng)
            if marked is None:
                skipped["no_marker_place"] += 1
                continue
            region = lp | grid_to_film(l14, p.shape, spec.crop) | grid_to_film(l28, p.shape,
                                                                                spec.crop)
            blank = blank_lungs(p, region, spec.crop)
            work.append((film, p, item, l14, l28, marked, blank, region))
        if not work:
            continue
        alt = judge_pending(lean, [prepare_pixels(w[5][0], spec, lean.anatomy) for w in work]
                            + [prepare_pixels(w[6], spec, None) for w in work])
        n = len(work)
        net = np.stack([w[2].net_input for w in work] + [a.net_input for a in alt])
        x = to_network(net)
        probs, _, m14 = lean.forward_with_map(x)
        raw_cam = lean.runtime.forward(x)[2]
        med = np.maximum(raw_cam - np.median(raw_cam.reshape(len(x), -1), axis=1)[:, None, None],
                         0.0)
        med = med / np.where(med.max(axis=(1, 2)) > 0, med.max(axis=(1, 2)), 1.0)[:, None, None]
        m28 = heat_maps(keras_model, x)
        assert m14 is not None and m14.shape[1] == 14 and m28.shape[1] == 28, (m14.shape,
                                                                                m28.shape)
        for j, (film, _p, item, l14, l28, (_mpix, mmask), _blank, region) in enumerate(work):
            cells = {"old": on_grid(mmask, 28, spec.crop) > 0,
                     "new": on_grid(mmask, 14, spec.crop) > 0}
            cells["new@28"] = cells["old"]
            cells["new-med"] = cells["new"]
            lungs = {"old": l28, "new": l14, "new@28": l28, "new-med": l14}
            rec: dict = {"set": film[0], "source": film[1], "label": film[2],
                         "file": os.path.relpath(film[3], args.data),
                         "p": {kind: float(probs[j + i * n]) for i, kind in enumerate(KINDS)},
                         "marker_refused": alt[j].refusal is not None,
                         "marker_px_in_lungs": {m: float((on_grid(mmask, lungs[m].shape[0],
                                                                  spec.crop)
                                                          * lungs[m]).sum()
                                                         / max(1e-9, on_grid(
                                                             mmask, lungs[m].shape[0],
                                                             spec.crop).sum()))
                                                for m in ("old", "new")},
                         "crop_blanked": float(on_grid(region, 28, spec.crop).mean()),
                         "share": {}, "share_own_mask": {}, "marker_mass": {},
                         "max_on_marker": {}, "marker_cells": {}}
            own = alt[j].lungs
            for m in MAPS:
                rec["share"][m] = {}
                rec["marker_mass"][m] = {}
                rec["max_on_marker"][m] = {}
                rec["marker_cells"][m] = float(cells[m].mean())
                for i, kind in enumerate(KINDS):
                    h = {"old": m28[j + i * n], "new": m14[j + i * n],
                         "new@28": up28(m14[j + i * n]), "new-med": med[j + i * n]}[m]
                    rec["share"][m][kind] = share_or_nan(h, lungs[m])
                    if kind != "blank":
                        tot = float(np.clip(h, 0, None).sum())
                        rec["marker_mass"][m][kind] = (float(np.clip(h, 0, None)[cells[m]].sum()
                                                             / tot) if tot > 0 else math.nan)
                        rec["max_on_marker"][m][kind] = bool(cells[m].ravel()[int(np.argmax(h))])
                    if kind == "marker" and own is not None:
                        g = lungs[m].shape[0]
                        rec["share_own_mask"][m] = share_or_nan(
                            h, lungs_on_grid(own / 255.0, spec, g))
            recs.append(rec)
            sheet.append({"rec": rec, "real": item.net_input, "marker": alt[j].net_input,
                          "blank": alt[j + n].net_input,
                          "maps": {"old": (m28[j], m28[j + n], m28[j + 2 * n]),
                                   "new": (m14[j], m14[j + n], m14[j + 2 * n])},
                          "l14": l14, "l28": l28,
                          "mcells": (cells["old"], cells["new"])})
        done = min(b + args.batch, len(films))
        print(f"  {done}/{len(films)} films, {time.time() - t0:.0f} s", flush=True)
    summary = summarise(recs, lean.threshold)
    summary["skipped"] = skipped
    summary["seconds"] = round(time.time() - t0, 1)
    if args.sheet:
        contact_sheet(sheet, Path(args.sheet), args.sheet_n)
    return {"summary": summary, "films": recs}


# ---------------------------------------------------------------- summary


def col(recs: list[dict], *keys: str) -> np.ndarray:
    out = []
    for r in recs:
        v = r
        for k in keys:
            v = v[k]
        out.append(np.nan if v is None else float(v))
    return np.asarray(out, np.float64)


def summarise(recs: list[dict], threshold: float) -> dict:
    out: dict = {"real": {}, "marker": {}, "blank": {}, "cuts": {}}
    groups: dict[str, list[dict]] = {}
    for r in recs:
        groups.setdefault(r["set"], []).append(r)
        groups.setdefault(f"  {r['source']}", []).append(r)
    groups["all"] = recs
    for name, g in groups.items():
        sh = {m: col(g, "share", m, "real") for m in MAPS}
        old, new = sh["old"], sh["new"]
        out["real"][name.strip() if name.startswith("  ") else name] = {
            "n": len(g),
            "mean": {m: float(np.nanmean(v)) for m, v in sh.items()},
            "flag<0.5": {m: float(np.nanmean(v < LOW_EVIDENCE)) for m, v in sh.items()},
            "mean|old-new|": float(np.nanmean(np.abs(old - new))),
            "spearman(old,new)": spearman(old, new),
            "kappa(flags)": kappa(old < LOW_EVIDENCE, new < LOW_EVIDENCE),
        }
    # marker probe, all films pooled
    dl = logit(col(recs, "p", "marker")) - logit(col(recs, "p", "real"))
    adl = np.abs(dl)
    q25, q75 = np.quantile(adl, [0.25, 0.75])
    top, bot = adl >= q75, adl <= q25
    out["marker"]["n"] = len(recs)
    out["marker"]["|dlogit| median, q75"] = [float(np.median(adl)), float(q75)]
    out["marker"]["marker refused by anatomy"] = float(np.mean(col(recs, "marker_refused")))
    for m in MAPS:
        s0, s1 = col(recs, "share", m, "real"), col(recs, "share", m, "marker")
        ds = s1 - s0
        mm0, mm1 = col(recs, "marker_mass", m, "real"), col(recs, "marker_mass", m, "marker")
        out["marker"][m] = {
            "pearson(|dl|,dshare)": pearson(adl, ds),
            "spearman(|dl|,dshare)": spearman(adl, ds),
            "spearman(dl,dshare)": spearman(dl, ds),
            "AUC fall top-vs-bottom q": auc(-ds[top], -ds[bot]),
            "AUC fall top-vs-bottom q, dl>0": auc(-ds[top & (dl > 0)], -ds[bot]),
            "mean dshare top q": float(np.nanmean(ds[top])),
            "mean dshare bottom q": float(np.nanmean(ds[bot])),
            "max on marker (after)": float(np.mean(col(recs, "max_on_marker", m, "marker"))),
            "max on marker (before)": float(np.mean(col(recs, "max_on_marker", m, "real"))),
            "max on marker top q": float(np.mean(col(recs, "max_on_marker", m, "marker")[top])),
            "chance (marker cells)": float(np.mean(col(recs, "marker_cells", m))),
            "marker mass before": float(np.nanmean(mm0)),
            "marker mass after": float(np.nanmean(mm1)),
            "marker mass after top q": float(np.nanmean(mm1[top])),
            "spearman(|dl|,dmarker mass)": spearman(adl, mm1 - mm0),
            "flag<0.5 after, top q": float(np.nanmean(s1[top] < LOW_EVIDENCE)),
            "flag<0.5 before, top q": float(np.nanmean(s0[top] < LOW_EVIDENCE)),
        }
        if m in ("old", "new"):
            out["marker"][m]["marker px counted as lung"] = float(
                np.mean(col(recs, "marker_px_in_lungs", m)))
    # blank probe
    out["blank"]["crop blanked"] = float(np.mean(col(recs, "crop_blanked")))
    pb = col(recs, "p", "blank")
    out["blank"]["median P real, blank"] = [float(np.median(col(recs, "p", "real"))),
                                            float(np.median(pb))]
    still = pb >= threshold
    out["blank"]["n called COVID when blanked"] = int(still.sum())
    for m in MAPS:
        s = col(recs, "share", m, "blank")
        out["blank"][m] = {"median": float(np.nanmedian(s)),
                           "p10,p90": [float(np.nanquantile(s, 0.1)),
                                       float(np.nanquantile(s, 0.9))],
                           "flag<0.5": float(np.nanmean(s < LOW_EVIDENCE)),
                           "AUC real>blank": auc(col(recs, "share", m, "real"), s),
                           "median, P>=thr": float(np.nanmedian(s[still])) if still.any()
                           else math.nan}
    # cuts for the new map
    cxr = groups.get("cxr/test", recs)
    old_c = col(cxr, "share", "old", "real")
    rate = float(np.nanmean(old_c < LOW_EVIDENCE))
    out["cuts"]["old flag rate cxr/test"] = rate
    for m in ("new", "new@28", "new-med"):
        s_c = col(cxr, "share", m, "real")
        s_all = col(recs, "share", m, "real")
        s1 = col(recs, "share", m, "marker")
        old_all = col(recs, "share", "old", "real") < LOW_EVIDENCE
        out["cuts"][m] = {
            "same flag rate as old on cxr/test": float(np.nanquantile(s_c, rate)),
            "best kappa with old flag (all real)": best_kappa_cut(s_all, old_all),
            "Youden blank vs real": youden_cut(col(recs, "share", m, "blank"), s_all),
            "Youden marked top q vs bottom q": youden_cut(s1[top], s1[bot]),
        }
    out["cuts"]["old"] = {"Youden blank vs real": youden_cut(col(recs, "share", "old", "blank"),
                                                             col(recs, "share", "old", "real")),
                          "Youden marked top q vs bottom q": youden_cut(
                              col(recs, "share", "old", "marker")[top],
                              col(recs, "share", "old", "marker")[bot])}
    return out


def print_table(s: dict) -> None:
    f = "{:.2f}".format
    print("\nREAL FILMS: share of the map's positive mass inside the grown lungs")
    names = "/".join(MAPS)
    print(f"{'group':<18}{'n':>4} | mean {names:<27}| flag<0.5 {names:<23}| old vs new: "
          "mean|diff| rho kappa")
    for name, g in s["real"].items():
        me, fl = g["mean"], g["flag<0.5"]
        print(f"{name:<18}{g['n']:>4} | " + "".join(f"{f(me[m]):>6}" for m in MAPS)
              + "     | " + "".join(f"{f(fl[m]):>6}" for m in MAPS) + "       | "
              f"{f(g['mean|old-new|']):>6} {f(g['spearman(old,new)']):>5} "
              f"{f(g['kappa(flags)']):>5}")
    mk = s["marker"]
    print(f"\nMARKER PROBE (n={mk['n']}, |dlogit| median {f(mk['|dlogit| median, q75'][0])}, "
          f"q75 {f(mk['|dlogit| median, q75'][1])}; marked film refused: "
          f"{f(mk['marker refused by anatomy'])})")
    keys = ["pearson(|dl|,dshare)", "spearman(|dl|,dshare)", "spearman(dl,dshare)",
            "AUC fall top-vs-bottom q", "AUC fall top-vs-bottom q, dl>0", "mean dshare top q",
            "mean dshare bottom q", "max on marker (after)", "max on marker (before)",
            "max on marker top q", "chance (marker cells)", "marker mass before",
            "marker mass after", "marker mass after top q", "spearman(|dl|,dmarker mass)",
            "flag<0.5 before, top q", "flag<0.5 after, top q", "marker px counted as lung"]
    print(f"{'':<32}" + "".join(f"{m:>8}" for m in MAPS))
    for k in keys:
        vals = [mk[m].get(k) for m in MAPS]
        print(f"{k:<32}" + "".join(f"{'-' if v is None else f(v):>8}" for v in vals))
    bl = s["blank"]
    pr, pbl = bl["median P real, blank"]
    print(f"\nLUNGS-BLANKED PROBE (share of crop blanked {f(bl['crop blanked'])}; median P "
          f"{f(pr)} real, {f(pbl)} blanked; {bl['n called COVID when blanked']} blanked "
          "films still at or above the threshold)")
    print(f"{'':<20}{'median':>8}{'p10':>7}{'p90':>7}{'flag<0.5':>9}{'AUC real>blank':>15}"
          f"{'median if P>=thr':>17}")
    for m in MAPS:
        b = bl[m]
        print(f"{m:<20}{f(b['median']):>8}{f(b['p10,p90'][0]):>7}{f(b['p10,p90'][1]):>7}"
              f"{f(b['flag<0.5']):>9}{f(b['AUC real>blank']):>15}{f(b['median, P>=thr']):>17}")
    c = s["cuts"]
    print(f"\nCUTS (old flag rate on cxr/test at 0.5: {f(c['old flag rate cxr/test'])})")
    for m in ("old", "new", "new@28", "new-med"):
        for k, v in c[m].items():
            txt = f(v) if isinstance(v, float) else f"{f(v[0])} (score {f(v[1])})"
            print(f"  {m:<7} {k:<38} {txt}")
    print(f"\nskipped: {s['skipped']}; {s['seconds']} s")


# ---------------------------------------------------------------- contact sheet


def colour(m: np.ndarray, size: int) -> np.ndarray:
    """A map in [0, 1] as RGB (dark blue - red - yellow), resized to size."""
    v = np.clip(resize_gray(np.asarray(m, np.float32), size), 0, 1)
    r = np.clip(2 * v, 0, 1)
    g = np.clip(2 * v - 1, 0, 1)
    b = np.clip(0.5 - v, 0, 1)
    return np.stack([r, g, b], -1)


def outline(mask: np.ndarray, size: int) -> np.ndarray:
    """Cell-boundary pixels of a bool grid mask, at size x size."""
    g = mask.shape[0]
    idx = np.minimum(np.arange(size) * g // size, g - 1)
    big = mask[np.ix_(idx, idx)]
    edge = np.zeros_like(big)
    edge[1:] |= big[1:] != big[:-1]
    edge[:, 1:] |= big[:, 1:] != big[:, :-1]
    return edge


def panel(film: np.ndarray, heat: np.ndarray | None, lungs: np.ndarray | None,
          cells: np.ndarray | None) -> np.ndarray:
    size = film.shape[0]
    grey = np.repeat((film.astype(np.float32) / 255.0)[..., None], 3, -1)
    rgb = grey if heat is None else 0.5 * grey + 0.5 * colour(heat, size)
    if lungs is not None:
        rgb[outline(lungs, size)] = (0.0, 1.0, 0.0)
    if cells is not None:
        rgb[outline(cells, size)] = (0.0, 0.9, 1.0)
    return (np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def contact_sheet(sheet: list[dict], path: Path, n: int) -> None:
    """``n`` films, a row each: the marked film with the 28 x 28 grown lungs (green) and
    the marker cells (cyan); the old map and the new map on the marked film with their
    own grown lungs; the old and new map of the lungs-blanked film. The films whose
    logit the marker moved most, then two of the least moved."""
    if not sheet:
        return
    dl = np.array([abs(logit(e["rec"]["p"]["marker"]) - logit(e["rec"]["p"]["real"]))
                   for e in sheet])
    order = np.argsort(-dl)
    pick = list(order[:max(1, n - 2)]) + list(order[-2:])
    size, head = 224, 30
    cols = 5
    canvas = Image.new("RGB", (cols * size, len(pick) * (size + head) + head), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=13)
    titles = ["marked film, lungs@28 green, marker cyan", "old LayerCAM 28, marked",
              "new CAM 14, marked", "old, lungs blanked", "new, lungs blanked"]
    for c, t in enumerate(titles):
        draw.text((c * size + 4, 8), t, fill="black", font=font)
    for row, k in enumerate(pick):
        e = sheet[k]
        r = e["rec"]
        sh = r["share"]
        panels = [
            panel(e["marker"], None, e["l28"], e["mcells"][0]),
            panel(e["marker"], e["maps"]["old"][1], e["l28"], e["mcells"][0]),
            panel(e["marker"], e["maps"]["new"][1], e["l14"], e["mcells"][1]),
            panel(e["blank"], e["maps"]["old"][2], e["l28"], None),
            panel(e["blank"], e["maps"]["new"][2], e["l14"], None),
        ]
        y = head + row * (size + head)
        for c, p in enumerate(panels):
            canvas.paste(Image.fromarray(p), (c * size, y + head))
        txt = (f"{r['file'][-34:]}  P {r['p']['real']:.2f}->{r['p']['marker']:.2f} "
               f"(|dlogit| {dl[k]:.2f})  share old {sh['old']['real']:.2f}->"
               f"{sh['old']['marker']:.2f} blank {sh['old']['blank']:.2f} | new "
               f"{sh['new']['real']:.2f}->{sh['new']['marker']:.2f} blank "
               f"{sh['new']['blank']:.2f}")
        draw.text((4, y + 8), txt, fill="black", font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)
    print(f"contact sheet: {path}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--per-set", type=int, default=600,
                    help="films per set at most (cxr/test has 599, sampled by source when "
                         "fewer; ieee8023/test has 135)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--json", help="write the summary and the per-film numbers here")
    ap.add_argument("--sheet", help="write a contact sheet PNG here")
    ap.add_argument("--sheet-n", type=int, default=8)
    args = ap.parse_args(argv)
    result = run(args)
    print_table(result["summary"])
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, allow_nan=True))
        print(f"json: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
