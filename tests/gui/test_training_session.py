"""The training session alone, without a widget: a folder is scanned and checked, a newer
folder replaces an older one still being read, and a run reports epochs, its result and
its failures (each failure once, through ``failed``).

The runs replace ``core.training.fit.train`` (as the tab's failure tests do), so they need
no TensorFlow.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from guitest_helpers import TIMEOUT_MS
from training_helpers import fake_train, write_dataset

from core.errors import StoppedBeforeFirstEpoch
from gui.pages.train import jobs
from gui.pages.train.session import TrainingSession
from gui.services.model_library import ModelLibrary
from gui.services.workers import Worker, WorkerSet


@pytest.fixture
def make_session(gui_settings, tmp_path: Path, tiny_model_path: Path):
    """Sessions over their own WorkerSet (64-pixel input); each is shut down and its
    threads waited for at teardown, before the dangling-thread check."""
    made: list[tuple[TrainingSession, WorkerSet]] = []

    def make() -> TrainingSession:
        workers = WorkerSet()
        store = ModelLibrary(gui_settings.q, tmp_path / "user_models", bundled=tiny_model_path)
        session = TrainingSession(store, workers, scratch_size=64, max_train_batches=2)
        made.append((session, workers))
        return session

    yield make
    for session, workers in made:
        session.shutdown()
        workers.stop_all()


def checked(qtbot, session: TrainingSession, folder: Path) -> None:
    with qtbot.waitSignal(session.datasetChecked, timeout=TIMEOUT_MS):
        session.set_dataset(folder)


def recorder(signal) -> list:
    got: list = []
    signal.connect(lambda *args: got.append(args))
    return got


def test_scanning_a_folder_emits_its_counts(qtbot, make_session, tmp_path):
    session = make_session()
    data = write_dataset(tmp_path / "d", per_class=12)
    with qtbot.waitSignal(session.datasetScanned, timeout=TIMEOUT_MS) as scanned:
        session.set_dataset(data)
    index = scanned.args[0].index
    assert index.root == data and index.classes == ["COVID", "Normal"]
    assert index.positive == "COVID" and not scanned.args[0].positive_guessed
    counts = index.counts()
    assert {s: dict(counts[s]) for s in ("train", "val", "test")} == {
        "train": {"COVID": 8, "Normal": 8},
        "val": {"COVID": 2, "Normal": 2},
        "test": {"COVID": 2, "Normal": 2},
    }
    qtbot.waitSignal(session.datasetChecked, timeout=TIMEOUT_MS).wait()
    check = session.dataset.check
    assert check.index is index and sum(len(s.labels) for s in check.decoded.splits.values()) == 24
    assert session.problems() == ([], []) and session.can_start()


def test_a_newer_folder_replaces_one_still_being_read(qtbot, make_session, tmp_path,
                                                      monkeypatch):
    first = write_dataset(tmp_path / "first", classes=("COVID", "Normal"))
    second = write_dataset(tmp_path / "second", classes=("COVID", "Other"))
    reading, release = threading.Event(), threading.Event()
    real_scan = jobs.scan_job

    def slow_scan(control, root, positive=None):
        if root == str(first):  # held until the second folder has been read and checked
            reading.set()
            release.wait(TIMEOUT_MS / 1000)
        return real_scan(control, root, positive)

    monkeypatch.setattr(jobs, "scan_job", slow_scan)
    session = make_session()
    scanned = recorder(session.datasetScanned)
    session.set_dataset(first)
    qtbot.waitUntil(reading.is_set, timeout=TIMEOUT_MS)
    checked(qtbot, session, second)
    release.set()
    # Both scans have ended; had the first one delivered anything, it would have arrived.
    qtbot.waitUntil(lambda: not any(w.isRunning() for w in session.findChildren(Worker)),
                    timeout=TIMEOUT_MS)
    qtbot.wait(50)
    assert [args[0].index.root for args in scanned] == [second]
    assert session.dataset.folder == second
    assert session.dataset.check.index.classes == ["COVID", "Other"]


def _result() -> SimpleNamespace:
    """What the session needs of a ``TrainResult`` (it passes the object on untouched)."""
    return SimpleNamespace(best_epoch=0, stopped_by_user=False)


def test_a_run_reports_its_epochs_and_result(qtbot, make_session, tmp_path, monkeypatch):
    result = _result()
    epoch = {"epoch": 0, "loss": 0.6, "val_loss": 0.5, "accuracy": 0.7, "val_accuracy": 0.75,
             "best_epoch": 0}

    def one_epoch(on_batch, on_epoch, **_):
        on_batch({"epoch": 0, "batch": 0, "loss": 0.7, "batch_loss": 0.7})
        on_epoch(epoch)
        return result

    monkeypatch.setattr("core.training.fit.train", fake_train(one_epoch))
    session = make_session()
    checked(qtbot, session, write_dataset(tmp_path / "d"))
    epochs, batches = recorder(session.epochEnded), recorder(session.batchesArrived)
    failures = recorder(session.failed)
    with qtbot.waitSignal(session.trained, timeout=TIMEOUT_MS) as trained:
        assert session.start()
    assert trained.args[0] is result
    qtbot.waitUntil(lambda: not session.training, timeout=TIMEOUT_MS)
    assert epochs == [(epoch,)]
    assert batches == [([(0, 0, 0.7)],)]
    # 16 training images in batches of 32: one step per epoch, at most 100 epochs.
    assert (session.plan.epochs, session.plan.steps) == (100, 1)
    assert (session.position.done, session.position.total) == (1, 100)
    assert session.result is result and session.outcome == "trained"
    assert failures == []


def test_a_failed_run_is_told_once_as_an_error(qtbot, make_session, tmp_path, monkeypatch):
    def oom(**_):
        raise MemoryError

    monkeypatch.setattr("core.training.fit.train", fake_train(oom))
    session = make_session()
    checked(qtbot, session, write_dataset(tmp_path / "d"))
    failures = recorder(session.failed)
    with qtbot.waitSignal(session.runFinished, timeout=TIMEOUT_MS) as finished:
        session.start()
    assert finished.args[0] is None and session.outcome == "failed"
    assert len(failures) == 1
    text, level = failures[0]
    assert level == "error" and text.startswith("Out of memory") and "batch size" in text
    assert session.result is None and not session.training and session.can_start()


def test_a_stop_before_the_first_epoch_is_told_as_a_warning(qtbot, make_session, tmp_path,
                                                            monkeypatch):
    started = threading.Event()

    def wait_for_stop(should_stop, **_):
        started.set()
        while not should_stop():
            threading.Event().wait(0.01)
        raise StoppedBeforeFirstEpoch  # what core.training.fit.train raises then

    monkeypatch.setattr("core.training.fit.train", fake_train(wait_for_stop))
    session = make_session()
    checked(qtbot, session, write_dataset(tmp_path / "d"))
    failures = recorder(session.failed)
    session.start()
    qtbot.waitUntil(started.is_set, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(session.runFinished, timeout=TIMEOUT_MS) as finished:
        session.stop()
        assert session.stopping
    assert finished.args[0] is None and session.outcome == "cancelled"
    assert len(failures) == 1
    text, level = failures[0]
    assert level == "warning" and "active model is unchanged" in text
