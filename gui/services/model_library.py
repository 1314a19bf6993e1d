"""The models a user can choose from: the bundled one, always, and the ones they trained.

Trained models live in the user's data folder (``QStandardPaths.AppDataLocation``/models),
each as ``.keras`` + ``.card.json`` + ``.ood.npz`` written by :func:`core.model.loading.save_model`.
Which one is active is remembered in ``QSettings``; the bundled model is the fallback, so
it can always be restored. Reading the list needs only the cards (no TensorFlow).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, QStandardPaths

from core.errors import ModelError
from core.model.disk import free_path, read_card
from core.resources import default_model_path
from gui.i18n import date_time, number, translate
from gui.i18n.core_text import core_text

ACTIVE_KEY = "models/active"


@dataclass(frozen=True)
class ModelEntry:
    path: Path
    name: str
    created: str = ""
    notes: str = ""
    bundled: bool = False
    problem: str = ""  # why it cannot be used (missing, unreadable card)

    @property
    def usable(self) -> bool:
        return not self.problem

    @property
    def label(self) -> str:
        """What a combo box shows."""
        text = translate("ModelLibrary", "Bundled model ({0})").format(self.name) \
            if self.bundled else self.name
        if self.created and not self.bundled:
            text += f" ({date_time(self.created)})"
        return text + (f" — {core_text(self.problem)}" if self.problem else "")


def default_user_dir() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base) / "models"


class ModelLibrary:
    """The bundled model plus the user's trained models, and which one is active."""

    def __init__(self, qsettings: QSettings | None = None, user_dir: Path | None = None,
                 bundled: Path | None = None) -> None:
        self.q = qsettings if qsettings is not None else QSettings()
        self.user_dir = Path(user_dir) if user_dir is not None else default_user_dir()
        self.bundled = Path(bundled) if bundled is not None else default_model_path()

    # The list ------------------------------------------------------------------------
    def entries(self) -> list[ModelEntry]:
        """The bundled model first (even when missing, so the user sees why), then the
        user's models, newest first."""
        out = [_entry(self.bundled, bundled=True)]
        if self.user_dir.is_dir():
            # Hidden names are a save's temporaries (core.files.atomic, core.model.disk), never
            # a model of the user's.
            mine = [
                _entry(p) for p in self.user_dir.glob("*.keras") if not p.name.startswith(".")
            ]
            out += sorted(mine, key=lambda e: e.created, reverse=True)
        return out

    def entry(self, path: str | Path) -> ModelEntry:
        path = Path(path)
        return _entry(path, bundled=path == self.bundled)

    @property
    def profiles_dir(self) -> Path:
        """Where site profiles made in the window are kept (core.model.disk)."""
        return self.user_dir / "site-profiles"

    def profiles(self) -> list[ModelEntry]:
        """Every site profile, newest first (usable or not, so the user sees why)."""
        from core.model.disk import list_profiles

        found = [_entry(p) for p in list_profiles(self.profiles_dir)]
        return sorted(found, key=lambda e: e.created, reverse=True)

    # Active model --------------------------------------------------------------------
    def active_path(self) -> Path:
        """The model the classify window should use: the remembered one if it still
        exists, else the bundled model."""
        value = str(self.q.value(ACTIVE_KEY, "") or "")
        if value and Path(value).is_file():
            return Path(value)
        return self.bundled

    def set_active(self, path: str | Path) -> None:
        path = Path(path)
        if path == self.bundled:
            self.q.remove(ACTIVE_KEY)
        else:
            self.q.setValue(ACTIVE_KEY, str(path))
        self.q.sync()

    # Saving --------------------------------------------------------------------------
    def new_path(self, name: str) -> Path:
        """A free ``.keras`` path in the user folder for a model called ``name``."""
        return free_path(self.user_dir, name, ".keras")

    def save(self, keras_model: Any, card: Any, ood: Any, name: str, notes: str = "") -> Path:
        """Write a trained model and its card (atomically, via ``core.model.loading.save_model``).

        Imports TensorFlow: call it from a worker."""
        from core.model.disk import save_model

        self.user_dir.mkdir(parents=True, exist_ok=True)
        card.name = name.strip() or card.name
        card.notes = notes
        return save_model(keras_model, card, self.new_path(card.name), ood)


def _entry(path: Path, bundled: bool = False) -> ModelEntry:
    from core.model.disk import base_weights, is_profile, read_profile

    if not path.is_file():
        return ModelEntry(path, path.stem, bundled=bundled,
                          problem=translate("ModelLibrary", "not found"))
    try:
        if is_profile(path):
            card = read_profile(path)
            base_weights(path, card, check_hash=False)  # loading checks the sha256
            site = card.site
            notes = translate("ModelLibrary", "threshold {0}, {1}; validated on {2} ({3})").format(
                number(card.threshold, 4), site.get("rule", ""), site.get("folder", "?"),
                _counts(site.get("images_per_class")))
            return ModelEntry(path, card.name, site.get("created", ""), notes)
        card = read_card(path)
    except ModelError as exc:
        return ModelEntry(path, path.stem, bundled=bundled, problem=str(exc))
    return ModelEntry(path, card.name or path.stem, card.created, card.notes, bundled)


def _counts(per_class: Any) -> str:
    if not isinstance(per_class, dict):
        return ""
    return ", ".join(f"{k} {v}" for k, v in per_class.items())
