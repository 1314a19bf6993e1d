"""GUI fixtures: isolated settings, a folder of synthetic radiographs, the window, and a
guard that fails any test leaving a QThread running (after napari's _dangling_qthreads)."""

from __future__ import annotations

import threading
import traceback
import weakref
from pathlib import Path

import pytest
from guitest_helpers import write_images
from PySide6.QtCore import QSettings, QThread

from gui.pages.classify import jobs
from gui.shell.settings import Settings


@pytest.fixture(autouse=True)
def _dangling_qthreads(monkeypatch: pytest.MonkeyPatch, qtbot):
    """Record where every QThread was started; fail the test if one is still running."""
    started: weakref.WeakKeyDictionary[QThread, str] = weakref.WeakKeyDictionary()
    base_start = QThread.start

    def start_and_remember(self, *args, **kwargs):
        started[self] = "".join(traceback.format_stack(limit=6)[:-1])
        return base_start(self, *args, **kwargs)

    monkeypatch.setattr(QThread, "start", start_and_remember)
    yield
    running = [(t, where) for t, where in list(started.items()) if t.isRunning()]
    if running:
        for t, _ in running:
            t.wait(5000)  # do not crash the next test
        details = "\n".join(f"{t.objectName() or t!r} started at:\n{where}" for t, where in running)
        pytest.fail(f"{len(running)} QThread(s) still running after the test:\n{details}")


@pytest.fixture
def gui_settings(tmp_path: Path) -> Settings:
    """Settings in a temporary INI file, with the research notice already acknowledged."""
    s = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    s.notice_acknowledged = True
    return s


@pytest.fixture
def xray_folder(tmp_path: Path) -> Path:
    """Six images (one in a subfolder), a truncated PNG and a text file to skip."""
    folder = tmp_path / "xrays"
    write_images(folder, 5)
    write_images(folder / "sub", 1, seed=7, prefix="deep")
    good = (folder / "cxr_000.png").read_bytes()
    (folder / "broken.png").write_bytes(good[: len(good) // 3])
    (folder / "notes.txt").write_text("not an image\n")
    return folder


@pytest.fixture
def make_window(qtbot, gui_settings: Settings, tiny_model_path: Path):
    """Build main windows (tiny model, temporary settings); all are closed at teardown,
    which stops their workers before the dangling-thread check runs."""
    from gui.shell.window import MainWindow

    windows = []

    def make(model_path: Path | str | None = tiny_model_path, settings: Settings | None = None,
             show: bool = True) -> MainWindow:
        w = MainWindow(settings or gui_settings, model_path=model_path)
        qtbot.addWidget(w)
        windows.append(w)
        if show:
            w.show()
            qtbot.waitExposed(w)
        return w

    yield make
    for w in windows:
        w.close()


@pytest.fixture
def window(make_window):
    return make_window()


@pytest.fixture
def model_gate(monkeypatch):
    """Hold the model load until the test sets the returned event."""
    gate = threading.Event()
    real = jobs.load_model_job

    def slow_load(control, path):
        gate.wait(30)
        return real(control, path)

    monkeypatch.setattr(jobs, "load_model_job", slow_load)
    yield gate
    gate.set()
