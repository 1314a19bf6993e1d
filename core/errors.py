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
