"""One set of errors for the command line and the window: what they say and their exit codes."""

from __future__ import annotations

import pytest

from core.cli.main import exit_code, main
from core.errors import (
    Cancelled,
    DatasetError,
    OutOfMemory,
    StoppedBeforeFirstEpoch,
    is_out_of_memory,
    user_message,
)


class ResourceExhaustedError(Exception):
    """Stands in for TensorFlow's, which core recognises by name without importing it."""


def test_out_of_memory_is_recognised_in_its_three_forms():
    assert is_out_of_memory(MemoryError())
    assert is_out_of_memory(ResourceExhaustedError("OOM when allocating tensor"))
    assert is_out_of_memory(RuntimeError("CUDA_ERROR_OUT_OF_MEMORY: out of memory"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    assert "batch size" in user_message(MemoryError())


def test_training_turns_every_out_of_memory_into_one_error(monkeypatch):
    import core.training.fit as fit

    for exc in (MemoryError(), ResourceExhaustedError("OOM when allocating")):
        def fail(*args, exc=exc, **kwargs):
            raise exc

        monkeypatch.setattr(fit, "_train", fail)
        with pytest.raises(OutOfMemory, match="Out of memory during training"):
            fit.train("anywhere", fit.TrainConfig())
    monkeypatch.setattr(fit, "_train", lambda *a, **k: (_ for _ in ()).throw(KeyError("x")))
    with pytest.raises(KeyError):  # a bug stays a bug
        fit.train("anywhere", fit.TrainConfig())


def test_stopping_is_a_cancel_and_a_dataset_error():
    exc = StoppedBeforeFirstEpoch()
    assert isinstance(exc, Cancelled) and isinstance(exc, DatasetError)
    assert "active model is unchanged" in user_message(exc)


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (KeyboardInterrupt(), 130),
        (Cancelled("cancelled while reading the dataset"), 130),
        (DatasetError("no images"), 1),
        (OutOfMemory(), 1),
        (MemoryError(), 1),
        (FileNotFoundError(2, "No such file", "x.png"), 1),
        (ResourceExhaustedError("OOM when allocating"), 1),
        (ValueError("a bug"), None),
    ],
)
def test_one_map_from_errors_to_exit_codes(exc, code):
    assert exit_code(exc) == code


def test_the_command_line_prints_one_line_per_error(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "missing"), "--model", str(tmp_path / "m.keras")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("covidcxr: error: ")
