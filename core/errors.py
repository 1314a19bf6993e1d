"""Errors a clinician can act on. Each is carried into the result record of one file."""

from __future__ import annotations


class CovidCXRError(Exception):
    """Base class: the message is shown to the user as is."""


class ImageReadError(CovidCXRError):
    """A file could not be turned into an X-ray image."""


class EmptyFileError(ImageReadError):
    pass


class TruncatedFileError(ImageReadError):
    pass


class NotAnImageError(ImageReadError):
    pass


class ImageTooLargeError(ImageReadError):
    pass


class NotARadiographError(ImageReadError):
    pass


class DicomError(ImageReadError):
    pass


class MissingCodecError(DicomError):
    pass


class ModelError(CovidCXRError):
    """A model file or its card is missing, tampered with or inconsistent."""


class DatasetError(CovidCXRError):
    """A training or evaluation folder cannot be used as it is."""


class Cancelled(DatasetError):
    """A long task stopped on request before it had a result (reading a dataset, or a
    training run stopped before its first epoch finished). A :class:`DatasetError`, as
    which these were raised before they had a type of their own."""


class StoppedBeforeFirstEpoch(Cancelled):
    """Training was stopped before one epoch finished: there is no model to keep."""

    def __init__(self) -> None:
        super().__init__(
            "training was stopped before the first epoch finished: there is no model to "
            "keep, and the active model is unchanged"
        )


class OutOfMemory(CovidCXRError):
    """The machine (or the GPU) ran out of memory; the message says what to try."""

    def __init__(self, what: str = "training") -> None:
        super().__init__(
            f"Out of memory during {what}: try a smaller batch size (or fewer images); "
            "nothing was saved and the active model is unchanged"
        )


def is_out_of_memory(exc: BaseException) -> bool:
    """True for Python's MemoryError and TensorFlow's ResourceExhaustedError (recognised
    by name and text, so that this module never imports TensorFlow)."""
    if isinstance(exc, (MemoryError, OutOfMemory)):
        return True
    text = str(exc)
    return (
        type(exc).__name__ == "ResourceExhaustedError"
        or "OOM when allocating" in text
        or "out of memory" in text.lower()
    )


def user_message(exc: BaseException) -> str:
    """The one sentence the command line and the window show for a failed task."""
    if isinstance(exc, CovidCXRError):
        return str(exc)
    if is_out_of_memory(exc):
        return str(OutOfMemory("this task"))
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"
