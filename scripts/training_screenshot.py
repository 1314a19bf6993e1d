"""Drive the training tab for its screenshot: a folder, "Start from: ImageNet backbone",
a short run, the results. Run under a display (Xvfb), as scripts/gui_screenshots.py:

    DISPLAY=:99 XDG_CONFIG_HOME=$(mktemp -d) .venv/bin/python scripts/training_screenshot.py \\
        --out /tmp/shots --epochs 6 /path/to/dataset

The PNG is the window's own grab (QWidget.grab). ``docs/screenshots/training.png`` comes
from this script.
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
    ap.add_argument("--out", type=Path, required=True, help="folder for the PNG")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--size", default="1400x900", help="window size, WxH")
    ap.add_argument("dataset", help="folder with one sub-folder per class")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QTimer

    from gui.pages.train.page import IMAGENET, TrainingTab
    from gui.shell.app import create

    app, window = create([])
    width, height = (int(v) for v in args.size.split("x"))
    window.resize(width, height)
    window.move(0, 0)
    tab = window.findChild(TrainingTab)
    window.tabs.setCurrentWidget(tab)
    tab.ensure_built()

    def start() -> None:
        tab.set_start_point(IMAGENET)
        tab.recipe_panel.epochs_spin.setValue(args.epochs)
        tab.run_panel.run_button.click()

    def shot() -> None:
        path = args.out / "training.png"
        window.grab().save(str(path))
        print(f"wrote {path}")
        window.close()

    def notice() -> None:
        box = getattr(window, "notice", None)
        if box is not None and box.isVisible():
            box.accept()
        tab.set_dataset(args.dataset)

    tab.datasetChecked.connect(lambda: QTimer.singleShot(500, start))
    tab.trainingFinished.connect(lambda _r: QTimer.singleShot(2000, shot))
    QTimer.singleShot(1500, notice)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
