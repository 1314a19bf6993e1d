"""Screenshots of issue #20's and #21's answers in the real window: the site-check banner,
an INDETERMINATE film's band, and the film with the lowest lung-evidence share with its
heat map and lung outline.

Run under a display (Xvfb), on a folder of at least 20 films:

    Xvfb :99 -screen 0 1440x960x24 &
    DISPLAY=:99 XDG_CONFIG_HOME=$(mktemp -d) .venv/bin/python scripts/answer_screenshots.py \\
        --out docs/screenshots ../shared/data/ieee8023/test

Writes ``site_banner.png``, ``band.png`` and ``low_evidence.png`` (each the window's own
grab), and prints what each shows.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--model")
    ap.add_argument("--size", default="1400x900")
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QTimer

    from core.model.card import INDETERMINATE
    from gui.shell.app import create

    argv = [*(["--model", args.model] if args.model else []), *map(str, args.paths)]
    app, window = create(argv)
    w, h = (int(v) for v in args.size.split("x"))
    window.resize(w, h)
    window.move(0, 0)
    state = {"done": False}

    def later(ms: int, fn) -> None:
        QTimer.singleShot(ms, fn)

    def save(name: str) -> None:
        path = args.out / f"{name}.png"
        window.grab().save(str(path))
        print(f"wrote {path}", flush=True)

    def dismiss_notice() -> None:
        box = getattr(window, "notice", None)
        if box is not None and box.isVisible():
            box.accept()

    def finished() -> None:
        if state["done"]:
            return
        state["done"] = True
        rows = window.classify.results.rows
        check = window.classify.site_check
        print(f"site check: {check.line() if check else None}", flush=True)
        ind = [i for i, r in enumerate(rows) if r.prediction and r.prediction.label == INDETERMINATE]
        first = ind[0] if ind else 0
        print(f"{len(ind)} indeterminate of {len(rows)}", flush=True)
        window.classify.select_source_row(first)
        later(2500, lambda: (save("site_banner"), later(200, band)))

    def band() -> None:
        save("band")
        rows = window.classify.results.rows
        scored = [(r.prediction.lung_evidence, i) for i, r in enumerate(rows)
                  if r.prediction and r.prediction.lung_evidence is not None]
        if not scored:
            later(200, window.close)
            return
        ev, i = min(scored)
        print(f"lowest lung evidence {ev:.2f}: {rows[i].path.name}", flush=True)
        window.classify.select_source_row(i)
        later(3000, low)

    def low() -> None:
        window.classify.viewer_panel.viewer.set_heat_visible(True)
        window.classify.viewer_panel.heat_check.setChecked(True)
        if not window.classify.viewer_panel.viewer.lungs_visible:
            window.classify.viewer_panel.viewer.toggle_lungs()
        later(800, lambda: (save("low_evidence"), later(200, window.close)))

    later(1500, dismiss_notice)
    window.classify.classificationFinished.connect(lambda: later(500, finished))
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
