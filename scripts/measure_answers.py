"""Issue #21's figures for a model: the INDETERMINATE band and the lung-evidence share.

For ``cxr/test`` (per source), ``ieee8023/test`` and ``newsite``, every film is assessed as
``covidcxr classify`` assesses it; reported:

- the share INDETERMINATE, and accuracy, sensitivity and specificity of the definite calls
  against those of every call (the single-pass decision of every assessed film);
- the distribution of ``lung_evidence`` (quantiles, share below 0.5) per set;
- with ``--sheets DIR``: a contact sheet per set of the 10 films with the lowest and the
  10 with the highest share, heat map and lung outline drawn, to look at.

Run: ``.venv/bin/python scripts/measure_answers.py [MODEL] [--sheets /tmp/sheets]
[--json out.json]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DEFAULT_DATA = REPO.parent / "shared" / "data"


def sets(data: Path) -> dict[str, list[tuple[Path, int | None]]]:
    out: dict[str, list[tuple[Path, int | None]]] = {}
    with open(data / "cxr" / "manifest.csv", newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["split"] == "test":
                out.setdefault(f"cxr/test {r['dataset']}", []).append(
                    (data / "cxr" / r["file"], int(r["label"] == "COVID")))
    with open(data / "ieee8023" / "manifest.csv", newline="", encoding="utf-8") as fh:
        out["ieee8023/test"] = [(data / "ieee8023" / r["file"], int(r["label"] == "COVID"))
                                for r in csv.DictReader(fh) if r["split"] == "test"]
    out["newsite"] = [(p, 1) for p in sorted((data / "newsite" / "COVID").iterdir())]
    return out


def rates(y: np.ndarray, called: np.ndarray) -> dict[str, float]:
    pos, neg = y == 1, y == 0
    return {
        "n": int(len(y)),
        "accuracy": float((called == y).mean()) if len(y) else float("nan"),
        "sensitivity": float(called[pos].mean()) if pos.any() else float("nan"),
        "specificity": float((~called[neg].astype(bool)).mean()) if neg.any() else float("nan"),
    }


def main() -> int:
    from core.answers.inference import assess, load_one
    from core.model.card import INDETERMINATE, NOT_ASSESSED
    from core.model.loading import load_model
    from core.resources import default_model_path

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", nargs="?", default=str(default_model_path()))
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--sheets")
    ap.add_argument("--json")
    args = ap.parse_args()
    model = load_model(args.model)
    thr = model.threshold
    report: dict = {}
    pooled: dict[str, list] = {"y": [], "p": [], "ind": []}
    for name, items in sets(Path(args.data)).items():
        rows = []
        for i in range(0, len(items), 32):
            chunk, labels = [], []
            for path, y in items[i:i + 32]:
                try:
                    chunk.append(load_one(path, model.card.spec, model.anatomy))
                    labels.append((path, y))
                except Exception:
                    continue
            for (path, y), a in zip(labels, assess(model, chunk, thr), strict=True):
                if a.label != NOT_ASSESSED:
                    rows.append((path, y, a.probability, a.label == INDETERMINATE,
                                 a.lung_evidence))
        y = np.array([r[1] for r in rows])
        p = np.array([r[2] for r in rows])
        ind = np.array([r[3] for r in rows], bool)
        ev = np.array([np.nan if r[4] is None else r[4] for r in rows])
        called = (p >= thr).astype(int)
        entry = {
            "assessed": int(len(rows)),
            "indeterminate": float(ind.mean()) if len(rows) else float("nan"),
            "all_calls": rates(y, called),
            "definite_calls": rates(y[~ind], called[~ind]),
            "lung_evidence_quantiles": {q: float(np.nanquantile(ev, q))
                                        for q in (0.05, 0.25, 0.5, 0.75, 0.95)},
            "lung_evidence_below_0.5": float(np.nanmean(ev < 0.5)),
        }
        report[name] = entry
        if name.startswith("cxr/test") or name == "ieee8023/test":
            pooled["y"] += list(y)
            pooled["p"] += list(p)
            pooled["ind"] += list(ind)
        a, d = entry["all_calls"], entry["definite_calls"]
        q = entry["lung_evidence_quantiles"]
        print(f"| {name} | {len(rows)} | {entry['indeterminate']:.1%} | "
              f"{a['accuracy']:.3f} / {d['accuracy']:.3f} | {a['sensitivity']:.3f} / "
              f"{d['sensitivity']:.3f} | {a['specificity']:.3f} / {d['specificity']:.3f} | "
              f"{q[0.05]:.2f} {q[0.5]:.2f} {q[0.95]:.2f} | "
              f"{entry['lung_evidence_below_0.5']:.1%} |", flush=True)
        if args.sheets:
            contact_sheet(model, rows, Path(args.sheets) / f"{name.replace('/', '_')}.png")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


def contact_sheet(model, rows: list, out: Path, k: int = 10, tile: int = 192) -> None:
    """The k lowest and k highest lung-evidence films, heat map over the film and the lung
    outline, in two rows."""
    from PIL import Image, ImageDraw

    from core.answers.gradcam import explain
    from core.files.reader import read_xray

    have = [r for r in rows if r[4] is not None]
    have.sort(key=lambda r: r[4])
    picks = have[:k] + have[-k:]
    tiles = []
    for path, _y, _p, _ind, ev in picks:
        px = read_xray(path).pixels
        hm = explain(model, px)
        small = Image.fromarray((px * 255).astype(np.uint8)).convert("RGB").resize((tile, tile))
        top, left, bottom, right = hm.box
        h, w = px.shape
        heat = np.zeros((tile, tile), np.float32)
        y0, y1 = int(top / h * tile), int(bottom / h * tile)
        x0, x1 = int(left / w * tile), int(right / w * tile)
        heat[y0:y1, x0:x1] = np.asarray(Image.fromarray(hm.heat).resize(
            (max(1, x1 - x0), max(1, y1 - y0))))
        rgb = np.asarray(small, np.float32)
        rgb[..., 0] = np.clip(rgb[..., 0] * (1 - 0.6 * heat) + 255 * 0.6 * heat, 0, 255)
        rgb[..., 1] *= 1 - 0.4 * heat
        rgb[..., 2] *= 1 - 0.4 * heat
        img = Image.fromarray(rgb.astype(np.uint8))
        if hm.lungs is not None:
            m = np.asarray(Image.fromarray(hm.lungs).resize((tile, tile))) > 0.5
            edge = m & ~(np.roll(m, 1, 0) & np.roll(m, -1, 0) & np.roll(m, 1, 1) & np.roll(m, -1, 1))
            arr = np.asarray(img).copy()
            arr[edge] = (0, 230, 118)
            img = Image.fromarray(arr)
        ImageDraw.Draw(img).text((4, 4), f"{ev:.2f}", fill=(255, 255, 0))
        tiles.append(np.asarray(img))
    while len(tiles) < 2 * k:
        tiles.append(np.zeros((tile, tile, 3), np.uint8))
    sheet = np.vstack([np.hstack(tiles[:k]), np.hstack(tiles[k:2 * k])])
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sheet).save(out)


if __name__ == "__main__":
    sys.exit(main())
