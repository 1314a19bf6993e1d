"""The window's model load: the garbage collector paused during it and its objects frozen
after (long collections stalled the window), without keeping a replaced model alive."""

from __future__ import annotations

import gc
import weakref

from gui.pages.classify import jobs
from gui.services.workers import Control


def test_load_freezes_what_it_allocated_and_releases_a_replaced_model(tiny_model_path):
    control = Control(lambda *args: None, 0.0)
    first = jobs.load_model_job(control, tiny_model_path)
    assert gc.isenabled()
    assert gc.get_freeze_count() > 0  # later collections skip the loaded objects
    gone = weakref.ref(first.model)
    del first
    second = jobs.load_model_job(control, tiny_model_path)
    gc.collect()
    assert gone() is None  # the replaced model was released, not frozen for good
    assert second.model.card.weights_sha256
    gc.unfreeze()
