"""One place that knows where bundled files live, from source and from a PyInstaller build."""

from __future__ import annotations

import sys
from pathlib import Path


def app_root() -> Path:
    """Directory that holds ``assets/`` and ``models/``.

    From source it is the repository root; in a frozen PyInstaller build it is the bundle's
    data directory (``sys._MEIPASS``), where the spec copies the same two folders.
    """
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen)
    return Path(__file__).resolve().parent.parent


def resource_path(*parts: str) -> Path:
    """Path of a bundled resource, e.g. ``resource_path("models", "covidcxr.keras")``."""
    return app_root().joinpath(*parts)


def models_dir() -> Path:
    return resource_path("models")


def samples_dir() -> Path:
    return resource_path("assets", "samples")


def default_model_path() -> Path:
    """The bundled model that ships with the application."""
    return models_dir() / "covidcxr.keras"
