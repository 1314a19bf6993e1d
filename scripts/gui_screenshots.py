"""Drive the real window and save screenshots (main, heat map, error row, about, notice).

Run under a display, e.g. Xvfb (the notice appears because settings start empty):

    Xvfb :99 -screen 0 1440x960x24 &
    DISPLAY=:99 XDG_CONFIG_HOME=$(mktemp -d) .venv/bin/python scripts/gui_screenshots.py \\
        --out /tmp/shots --select covid-cxnet-868.jpg assets/samples /path/to/more

Each PNG is the widget's own grab (QWidget.grab), so it does not depend on a window
manager. ``docs/screenshots/main.png`` and ``heatmap.png`` come from this script.
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
    ap.add_argument("--out", type=Path, required=True, help="folder for the PNGs")
    ap.add_argument("--select", required=True, help="file name of the row to show")
    ap.add_argument("--model", help="model .keras file (default: the bundled one)")
    ap.add_argument("--size", default="1400x900", help="window size, WxH")
    ap.add_argument("paths", nargs="+", help="files and folders to open")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QTimer

    from gui.shell.app import create

    argv = [*(["--model", args.model] if args.model else []), *map(str, args.paths)]
    app, window = create(argv)
    width, height = (int(v) for v in args.size.split("x"))
    window.resize(width, height)
    window.move(0, 0)
    state = {"started": False}

    def later(ms: int, fn) -> None:
        QTimer.singleShot(ms, fn)

    def save(widget, name: str) -> None:
        path = args.out / f"{name}.png"
        widget.grab().save(str(path))
        print(f"wrote {path}")

    def notice() -> None:
        box = getattr(window, "notice", None)
        if box is not None and box.isVisible():
            save(box, "notice")
            box.accept()

    def results_ready() -> None:
        if state["started"]:
            return
        state["started"] = True
        rows = window.classify.results.rows
        try:
            row = next(i for i, r in enumerate(rows) if r.path.name == args.select)
        except StopIteration:
            print(f"no row named {args.select}", file=sys.stderr)
            window.close()
            return
        window.classify.select_source_row(row)
        later(2500, main_shot)

    def main_shot() -> None:
        save(window, "main")
        window.classify.viewer_panel.viewer.set_heat_visible(True)
        window.classify.viewer_panel.heat_check.setChecked(True)
        later(600, heat_shot)

    def heat_shot() -> None:
        save(window, "heatmap")
        bad = [i for i, r in enumerate(window.classify.results.rows)
               if r.prediction is not None and not r.prediction.ok]
        if bad:
            window.classify.select_source_row(bad[0])
        later(1500, error_shot)

    def error_shot() -> None:
        save(window, "error")
        dialog = window.about_dialog()
        dialog.show()
        state["about"] = dialog
        later(800, about_shot)

    def about_shot() -> None:
        save(state["about"], "about")
        state["about"].close()
        later(200, window.close)

    later(1500, notice)
    window.classify.classificationFinished.connect(lambda: later(500, results_ready))
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
