"""Application start-up: show the window first, then load TensorFlow and the model on a
worker (after the first paint), then classify whatever was named on the command line."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from gui.shell.settings import APPLICATION, ORGANIZATION, Settings  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="covidcxr", description="CovidCXR window")
    parser.add_argument("--model", help="model .keras file (default: the bundled model)")
    parser.add_argument("paths", nargs="*", help="image files and folders to classify")
    args, _qt_args = parser.parse_known_args(argv)
    return args


def create(argv: list[str]) -> tuple[QApplication, object]:
    """The application and its shown main window; files in ``argv`` are queued."""
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "covidcxr", *argv])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("CovidCXR")
    app.setDesktopFileName("covidcxr")  # Wayland matches the window to the menu entry
    app.setWindowIcon(_icon())
    # Qt has taken its own options (-platform, -style...) out of the arguments.
    args = parse_args(app.arguments()[1:])
    # Before any widget exists: every text is translated when it is made.
    from gui.i18n import install as install_language

    settings = Settings()
    install_language(app, settings.q)

    from gui.services.model_library import ModelLibrary
    from gui.shell.window import MainWindow

    library = ModelLibrary(settings.q)  # the model chosen in the training tab is remembered
    window = MainWindow(settings, model_path=args.model or library.active_path())
    install_pages(window, library)
    window.show()
    paths = args.paths
    if paths:
        # After the first paint, like the model load, so the window shows at once.
        window.firstPainted.connect(lambda: QTimer.singleShot(0, lambda: window.open_paths(paths)))
    if not settings.notice_acknowledged:
        window.firstPainted.connect(lambda: QTimer.singleShot(0, lambda: show_notice(window)))
    return app, window


def install_pages(window: Any, library: Any, **train_options: Any) -> tuple[Any, Any]:
    """Add the Train and Validate pages to the window, and link them: "Fine-tune on this
    site" on the Validate page hands its folder to the Train page (the pages know nothing
    of each other). ``train_options`` go to the Train page (tests use a small input)."""
    from gui.pages.train import install as install_train
    from gui.pages.validate import install as install_validate

    training = install_train(window, library, **train_options)
    validate = install_validate(window, library)

    def fine_tune(folder: str, positive: str, model_path: str) -> None:
        training.prefill_site(folder, positive, model_path)
        window.tabs.setCurrentWidget(training)

    validate.session.fineTuneRequested.connect(fine_tune)
    return training, validate


def _icon():
    from PySide6.QtGui import QIcon

    from core.resources import resource_path

    icon = QIcon()
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        path = resource_path("assets", "icons", f"covidcxr-{size}.png")
        if path.is_file():
            icon.addFile(str(path))
    return icon


def show_notice(window) -> None:
    """The once-only "research use only, not a medical device" notice (window-modal)."""
    from gui.shell.about import research_notice

    box = research_notice(window)

    def acknowledged() -> None:
        window.settings.notice_acknowledged = True
        window.settings.sync()

    box.accepted.connect(acknowledged)
    box.open()
    window.notice = box


def run(argv: list[str]) -> int:
    app, _window = create(argv)
    return app.exec()
