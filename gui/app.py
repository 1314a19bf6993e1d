"""Application start-up (placeholder until the classify window lands)."""

from __future__ import annotations

import sys


def run(argv: list[str]) -> int:
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication.instance() or QApplication(sys.argv[:1])
    label = QLabel("CovidCXR — research use only, not a medical device")
    label.setWindowTitle("CovidCXR")
    label.show()
    return app.exec()
