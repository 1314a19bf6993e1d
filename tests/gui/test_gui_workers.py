"""The one worker abstraction: results, progress, errors, cancel, one task at a time, and
no thread left."""

from __future__ import annotations

import os
import threading

import pytest

from gui.services.workers import TaskSlot, Worker, WorkerSet


def test_function_result_and_order_of_signals(qtbot):
    events: list[str] = []
    w = Worker(lambda control, a, b=0: a + b, 2, b=3)
    w.started.connect(lambda: events.append("started"))
    w.returned.connect(lambda v: events.append(f"result {v}"))
    w.yielded.connect(lambda v: events.append(f"yielded {v}"))
    w.finished.connect(lambda: events.append("finished"))
    with qtbot.waitSignal(w.finished, timeout=5000):
        w.start()
    w.wait()
    assert events == ["started", "result 5", "finished"]


def test_generator_results_arrive_one_by_one(qtbot):
    gate = threading.Event()

    def job(control):
        yield 1
        gate.wait(5)  # the GUI sees the first result while the job is still running
        yield 2

    got: list[int] = []
    returned: list[object] = []
    w = Worker(job)
    w.yielded.connect(got.append)
    w.returned.connect(returned.append)
    w.start()
    qtbot.waitUntil(lambda: got == [1], timeout=5000)
    assert w.isRunning()
    with qtbot.waitSignal(w.finished, timeout=5000):
        gate.set()
    w.wait()
    assert got == [1, 2]
    assert returned == []  # a generator's values are yielded, not returned


def test_error_is_reported_not_raised(qtbot):
    def job(control):
        raise ValueError("bad input")

    w = Worker(job)
    with qtbot.waitSignal(w.errored, timeout=5000) as blocker:
        w.start()
    w.wait()
    assert isinstance(blocker.args[0], ValueError)
    assert str(blocker.args[0]) == "bad input"


def test_cancel_stops_a_generator_cooperatively(qtbot):
    def job(control):
        i = 0
        while not control.should_stop():
            yield i
            i += 1
            threading.Event().wait(0.01)

    got: list[int] = []
    w = Worker(job)
    w.yielded.connect(got.append)
    w.start()
    qtbot.waitUntil(lambda: len(got) >= 3, timeout=5000)
    w.cancel()
    assert w.wait(5000)
    assert w.cancelled


def test_progress_is_throttled_but_last_step_gets_through(qtbot):
    def job(control):
        for i in range(1, 1001):
            control.progress(i, 1000, "")
        return "done"

    seen: list[tuple[int, int]] = []
    w = Worker(job, progress_interval=10.0)
    w.progress.connect(lambda d, t, m: seen.append((d, t)))
    with qtbot.waitSignal(w.finished, timeout=5000):
        w.start()
    w.wait()
    qtbot.waitUntil(lambda: (1000, 1000) in seen, timeout=2000)
    assert len(seen) <= 3


def test_worker_set_stops_everything(qtbot):
    def job(control):
        while not control.should_stop():
            threading.Event().wait(0.01)
        return None

    ws = WorkerSet()
    workers = [ws.start(Worker(job)) for _ in range(3)]
    qtbot.waitUntil(lambda: all(w.isRunning() for w in workers), timeout=5000)
    assert ws.busy()
    ws.stop_all()
    assert not any(w.isRunning() for w in workers)
    assert len(ws) == 0


@pytest.mark.parametrize("value", [None, 0, "x"])
def test_any_return_value_is_a_result(qtbot, value):
    w = Worker(lambda control: value)
    with qtbot.waitSignal(w.returned, timeout=5000) as blocker:
        w.start()
    w.wait()
    assert blocker.args == [value]


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="per-thread nice is a Unix feature")
def test_low_priority_lowers_only_the_worker_thread(qtbot):
    def nice(control):
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    here = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    got = {}
    for low in (False, True):
        w = Worker(nice, low_priority=low)
        with qtbot.waitSignal(w.returned, timeout=5000) as blocker:
            w.start()
        w.wait()
        got[low] = blocker.args[0]
    assert got[False] == here
    assert got[True] == min(here + Worker.LOW_PRIORITY_NICE, 19)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == here


def _until_stopped(control, name):
    while not control.should_stop():
        threading.Event().wait(0.01)
    return name


def test_task_slot_runs_one_task_and_drops_the_stale_result(qtbot):
    ws = WorkerSet()
    slot = TaskSlot(ws)
    got, finished, errors = [], [], []
    gate = threading.Event()

    def first(control):
        gate.wait(5)  # finishes *after* it was replaced, and returns a value anyway
        return "stale"

    old = slot.start(Worker(first), returned=got.append, errored=errors.append,
                     finished=lambda: finished.append("first"))
    new = slot.start(Worker(lambda control: "fresh"), returned=got.append,
                     finished=lambda: finished.append("second"))
    assert old.cancelled and slot.current is new
    qtbot.waitUntil(lambda: finished == ["second"], timeout=5000)
    gate.set()
    assert old.wait(5000)
    qtbot.wait(50)  # let any signal the old thread queued be delivered (it must be dropped)
    assert got == ["fresh"] and finished == ["second"] and errors == []
    assert not slot.busy()
    ws.stop_all()


def test_task_slot_cancel_forgets_the_task_at_once(qtbot):
    ws = WorkerSet()
    slot = TaskSlot(ws)
    busy, finished, got = [], [], []
    slot.busyChanged.connect(busy.append)
    w = slot.start(Worker(_until_stopped, "x"), returned=got.append,
                   finished=lambda: finished.append(1))
    assert slot.busy() and busy == [True]
    slot.cancel()
    assert not slot.busy() and busy == [True, False]
    assert w.wait(5000)
    qtbot.wait(50)
    assert finished == [] and got == []
    assert len(ws) <= 1  # kept alive until its thread ended
    ws.stop_all()


def test_task_slot_reports_errors_and_progress_of_the_current_task(qtbot):
    ws = WorkerSet()
    slot = TaskSlot(ws)
    errors, steps = [], []

    def job(control):
        control.progress(1, 1, "one")
        raise ValueError("broken")

    with qtbot.waitSignal(slot.busyChanged, timeout=5000, check_params_cb=lambda b: not b):
        slot.start(Worker(job), errored=errors.append,
                   progress=lambda d, t, m: steps.append((d, t, m)))
    assert [str(e) for e in errors] == ["broken"] and steps == [(1, 1, "one")]
    ws.stop_all()
