"""What a training run starts from and with: the model list (one model in use), the start
point and its card, and the recipe, kept apart from any widget."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from core.errors import CovidCXRError, ModelError
from core.model.disk import read_card
from core.training.recipe import TrainConfig
from gui.i18n import translate
from gui.i18n.core_text import core_text
from gui.pages.train.recipe_choice import DEFAULTS, IMAGENET, SCRATCH, Recipe
from gui.services.model_library import ModelLibrary


class RunSetup(QObject):
    """The models and the recipe. ``scratch_size`` is the input size from scratch (tests
    and quick trials use a smaller one), ``max_train_batches`` caps the batches per epoch.

    Signals: ``recipeChanged(Recipe)`` and ``modelsChanged()`` (the list or the active
    model; the list is read by :meth:`refresh`, first when the page is built).
    """

    recipeChanged = Signal(object)
    modelsChanged = Signal()

    def __init__(self, store: ModelLibrary, scratch_size: int | None = None,
                 max_train_batches: int | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self._scratch_size = scratch_size or DEFAULTS.input_size
        self._max_train_batches = max_train_batches
        self._recipe = Recipe(start="")  # no start point until the model list is read
        self._start_card: Any = None
        self._entries: list[Any] | None = None
        self._active = store.active_path()

    @property
    def recipe(self) -> Recipe:
        return self._recipe

    @property
    def start_card(self) -> Any:
        """The card of the chosen starting model, or None (from scratch / unreadable)."""
        return self._start_card

    @property
    def entries(self) -> list[Any]:
        """The models one can classify with (``gui.services.model_library.ModelEntry``)."""
        return self._entries or []

    @property
    def active(self) -> Path:
        """The model the classify page uses."""
        return self._active

    def config(self, **dataset: Any) -> TrainConfig:
        """The recipe as ``core.training.recipe.TrainConfig``; ``dataset`` gives the
        positive class and the dataset switches (see :meth:`Recipe.config`)."""
        return self._recipe.config(card=self._start_card, scratch_size=self._scratch_size,
                                   max_train_batches=self._max_train_batches, **dataset)

    # ---------------------------------------------------------------- the recipe
    def update(self, **values: Any) -> None:
        """Change schedule values (``Recipe`` fields other than ``start``)."""
        self._recipe = replace(self._recipe, **values)
        self.recipeChanged.emit(self._recipe)

    def reset(self) -> None:
        """The seed's values (``core.training.recipe.TrainConfig`` defaults)."""
        self._recipe = self._recipe.with_defaults()
        self.recipeChanged.emit(self._recipe)

    def use_schedule_of(self, cfg: TrainConfig) -> None:
        """The learning rate, epochs, patience and augmentation of a core recipe."""
        self._recipe = self._recipe.with_schedule_of(cfg)
        self.recipeChanged.emit(self._recipe)

    def start_points(self) -> list[tuple[str, str]]:
        """(label, key) of each start point: the usable models, the ImageNet backbone and
        random weights."""
        models = [(e.label, str(e.path)) for e in self.entries if e.usable]
        return [*models,
                (translate("RunSetup", "ImageNet backbone (EfficientNet-Lite0)"), IMAGENET),
                (translate("RunSetup", "Scratch (random weights)"), SCRATCH)]

    def set_start_point(self, key: str) -> None:
        """Start from this model's weights (its path), ``IMAGENET`` or ``SCRATCH``."""
        if key not in [k for _, k in self.start_points()]:
            raise ValueError(f"{key} is not a usable starting point")
        self._apply_start(key)
        self.recipeChanged.emit(self._recipe)

    def _apply_start(self, key: str) -> None:
        self._recipe = self._recipe.with_start(key)
        self._start_card = None
        if key not in (SCRATCH, IMAGENET):
            try:
                self._start_card = read_card(key)
            except CovidCXRError:
                pass  # unreadable: trains like scratch; the model list says why

    # ---------------------------------------------------------------- the models
    def refresh(self) -> None:
        """Read the model list again; the start point stays if it is still there (the
        bundled model by default, else scratch)."""
        self._entries = self.store.entries()
        keys = [k for _, k in self.start_points()]
        start = self._recipe.start
        if start not in keys:
            bundled = str(self.store.bundled)
            start = bundled if bundled in keys else SCRATCH
        self._apply_start(start)
        self.modelsChanged.emit()
        self.recipeChanged.emit(self._recipe)

    def usable(self, path: str | Path) -> bool:
        return self.store.entry(path).usable

    def activate(self, path: str | Path) -> Any:
        """Make ``path`` the active model (remembered); its ``ModelEntry``. Raises
        :class:`core.errors.ModelError` when it cannot be used."""
        entry = self.store.entry(path)
        if not entry.usable:
            raise ModelError(translate("RunSetup", "Cannot use {0}: {1}").format(
                entry.name, core_text(entry.problem)))
        self.store.set_active(entry.path)
        self._active = entry.path
        self.refresh()
        return entry

    def set_active_path(self, path: str | Path) -> None:
        """Show which model the classify page uses (without activating anything)."""
        self._active = Path(path)
        if self._entries is not None:
            self.refresh()
