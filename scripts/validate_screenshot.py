"""Drive the real window's Validate page on a labelled folder and save what a user sees:
the page after validation (with a site profile saved and an operating point typed) and the
PDF report. Run under a display (Xvfb) with a throw-away settings folder:

    Xvfb :99 -screen 0 1600x1000x24 &
    DISPLAY=:99 XDG_CONFIG_HOME=$(mktemp -d) XDG_DATA_HOME=$(mktemp -d) \\
        .venv/bin/python scripts/validate_screenshot.py --out /tmp/shots /path/to/labelled

``docs/screenshots/validate.png`` comes from this script; ``validate-report.png`` is the
report's first page (``gs -sDEVICE=png16m -r80 -dFirstPage=1 -dLastPage=1``).
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
    ap.add_argument("--size", default="1500x950")
    ap.add_argument("--target-sensitivity", type=float, default=0.95)
    ap.add_argument("--site", default="Example site")
    ap.add_argument("folder", type=Path)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from gui.pages.validate.page import ValidateTab
    from gui.shell.app import create

    app, window = create([])
    window.settings.notice_acknowledged = True
    w, h = (int(v) for v in args.size.split("x"))
    window.resize(w, h)
    tab = next(window.tabs.widget(i) for i in range(window.tabs.count())
               if isinstance(window.tabs.widget(i), ValidateTab))

    def save(widget, name: str) -> None:
        path = args.out / f"{name}.png"
        widget.grab().save(str(path))
        print(f"wrote {path}", flush=True)

    def validated(analysis) -> None:
        if analysis is None:
            print("validation failed:", tab.message.text(), file=sys.stderr)
            app.exit(1)
            return
        # The result arrives before the task's end, which enables the buttons: act after it,
        # as a user would (a click on a disabled button does nothing).
        QTimer.singleShot(300, act)

    def act() -> None:
        tab.point.sens_spin.setValue(args.target_sensitivity)
        tab.point.sens_button.click()
        tab.session.save_profile(args.site)
        tab.write_report(args.out / "validate-report.pdf")
        QTimer.singleShot(500, lambda: (save(window, "validate"), app.exit(0)))

    def model_ready(model) -> None:
        if model is None:
            app.exit(1)
            return
        window.tabs.setCurrentWidget(tab)
        tab.session.labelsRead.connect(lambda ls: ls is not None and tab.session.start())
        tab.session.validated.connect(validated)
        tab.set_folder(args.folder)

    window.classify.modelChanged.connect(model_ready)
    QTimer.singleShot(600_000, lambda: app.exit(2))
    return QApplication.exec()


if __name__ == "__main__":
    sys.exit(main())
