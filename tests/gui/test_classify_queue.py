"""The classify queue alone, without a window: files classified in order, cancel, a new
model, no model."""

from __future__ import annotations

import pytest
from guitest_helpers import write_images

from core.answers.inference import classify
from core.files.discovery import iter_inputs
from core.model.card import NOT_ASSESSED
from gui.pages.classify.results import CANCELLED, NO_MODEL, WAITING
from gui.pages.classify.session import (
    COUNTING,
    IDLE,
    LOADING_MODEL,
    MISSING,
    READY,
    ClassifySession,
    QueueProgress,
)
from gui.services.workers import WorkerSet

TIMEOUT = 60_000


@pytest.fixture
def make_queue(tiny_model_path):
    """Build queues over their own WorkerSet; each is shut down and its threads waited
    for at teardown (before the dangling-thread check)."""
    made: list[tuple[ClassifySession, WorkerSet]] = []

    def make(model_path=tiny_model_path) -> ClassifySession:
        workers = WorkerSet()
        queue = ClassifySession(workers, model_path)
        made.append((queue, workers))
        return queue

    yield make
    for queue, workers in made:
        queue.shutdown()
        workers.stop_all()


def test_files_are_classified_in_order_as_the_core_does(make_queue, qtbot, xray_folder,
                                                       tiny_model):
    queue = make_queue()
    progress: list[QueueProgress] = []
    classified: list[int] = []
    messages: list[str] = []
    queue.progressChanged.connect(progress.append)
    queue.classified.connect(classified.append)
    queue.message.connect(lambda text, _ms: messages.append(text))
    with qtbot.waitSignal(queue.idle, timeout=TIMEOUT):
        queue.open_paths([str(xray_folder)])

    expected = list(iter_inputs([xray_folder]))
    rows = queue.results.rows
    assert [r.path for r in rows] == expected
    assert classified == list(range(len(expected)))  # results arrive in input order
    reference = {p.path: p for p in classify(expected, tiny_model)}
    for r in rows:
        ref = reference[str(r.path)]
        assert r.prediction.label == ref.label
        if ref.ok:
            assert r.prediction.probability == pytest.approx(ref.probability, abs=1e-5)
    assert queue.model_state == READY and queue.model.display_name == "tiny-test"
    assert not queue.busy
    assert messages == ["7 files found; 1 skipped (not images)"]
    counted = [p for p in progress if p.phase == COUNTING]
    assert counted[-1].done == counted[-1].total == len(expected)
    assert progress[-1] == QueueProgress(IDLE)


def test_cancel_marks_the_waiting_files_cancelled(make_queue, qtbot, xray_folder, model_gate):
    queue = make_queue()
    progress: list[QueueProgress] = []
    queue.progressChanged.connect(progress.append)
    queue.open_paths([str(xray_folder)])
    qtbot.waitUntil(lambda: len(queue.results.rows) == 7 and not queue.discovering,
                    timeout=TIMEOUT)
    assert {r.state for r in queue.results.rows} == {WAITING}
    assert progress[-1] == QueueProgress(LOADING_MODEL, waiting=7, cancellable=True)

    with qtbot.waitSignal(queue.idle, timeout=TIMEOUT):
        queue.cancel()
    assert {r.state for r in queue.results.rows} == {CANCELLED}
    assert {r.label for r in queue.results.rows} == {NOT_ASSESSED}
    assert progress[-1] == QueueProgress(IDLE)
    assert not queue.busy

    with qtbot.waitSignal(queue.modelChanged, timeout=TIMEOUT):
        model_gate.set()
    assert queue.model is not None
    assert queue.results.count_done() == 0  # a cancelled file is not classified later


def test_cancel_mid_run_drops_the_results_still_on_their_way(make_queue, qtbot, tmp_path):
    folder = tmp_path / "many"
    write_images(folder, 60, seed=3)
    queue = make_queue()
    done_at_cancel: list[int] = []

    def cancel_on_first(_row: int) -> None:
        if not done_at_cancel:
            queue.cancel()
            done_at_cancel.append(queue.results.count_done())

    queue.classified.connect(cancel_on_first)
    with qtbot.waitSignal(queue.idle, timeout=TIMEOUT):
        queue.open_paths([str(folder)])
    # Once every thread has ended, every signal it sent has been delivered.
    qtbot.waitUntil(lambda: len(queue.workers) == 0, timeout=TIMEOUT)
    done = queue.results.count_done()
    assert done == done_at_cancel[0]
    assert 0 < done < 60
    assert {r.state for r in queue.results.rows if r.prediction is None} == {CANCELLED}


def test_a_new_model_classifies_every_row_again(make_queue, qtbot, xray_folder,
                                                tiny_model_path, tmp_path):
    from core.model.disk import copy_model

    queue = make_queue()
    with qtbot.waitSignal(queue.idle, timeout=TIMEOUT):
        queue.open_paths([str(xray_folder)])
    before = [r.prediction.probability for r in queue.results.rows]
    old = queue.model
    other = copy_model(tiny_model_path, tmp_path / "other.keras")

    with qtbot.waitSignal(queue.idle, timeout=TIMEOUT):
        queue.set_model_path(other)
        # At once: every row has lost its result and waits for the new model.
        assert queue.model is None and queue.results.count_done() == 0
        assert {r.state for r in queue.results.rows} == {WAITING}
        assert queue.progress() == QueueProgress(LOADING_MODEL, waiting=7, cancellable=True)
    assert queue.model.path == other and queue.model is not old
    assert queue.results.count_done() == 7
    after = [r.prediction.probability for r in queue.results.rows]
    assert after == pytest.approx(before, abs=1e-5)  # same weights, new model object


def test_without_a_model_files_are_not_assessed(make_queue, qtbot, xray_folder, tmp_path):
    queue = make_queue(tmp_path / "missing.keras")
    with qtbot.waitSignal(queue.modelChanged, timeout=TIMEOUT) as changed:
        queue.load_model()
    assert changed.args == [None]
    assert queue.model_state == MISSING
    assert queue.model_note.endswith("missing.keras not found")

    with qtbot.waitSignal(queue.idle, timeout=TIMEOUT):
        queue.open_paths([str(xray_folder)])
    rows = queue.results.rows
    assert len(rows) == 7
    for r in rows:
        assert r.state == NO_MODEL and r.label == NOT_ASSESSED
        assert r.status_text.endswith("missing.keras not found")
