"""The recipe the training page shows, as a value: what the user may change, and how it
becomes a ``core.training.recipe.TrainConfig``.

Every number comes from core: the seed's recipe (``TrainConfig`` defaults) and the bundled
model's (``transfer_recipe``); a starting model brings its own architecture, input size and
preprocessing from its card (``TrainConfig.starting_from``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from core.training.recipe import TrainConfig, transfer_recipe

DEFAULTS = TrainConfig()  # the seed's recipe
TRANSFER = transfer_recipe()  # the bundled model's recipe (ImageNet backbone)
#: Start points besides a model file's path.
SCRATCH = "scratch"
IMAGENET = "imagenet"


def augment_key(cfg: TrainConfig) -> str:
    """The augmentation choice ("none", "flip", "strong") of a core recipe."""
    return "strong" if cfg.strong_augment else "flip" if cfg.flip else "none"


@dataclass(frozen=True)
class Recipe:
    """The values the Recipe panel shows: the start point (a model's path, ``IMAGENET`` or
    ``SCRATCH``) and the schedule. The seed's values by default."""

    start: str = SCRATCH
    epochs: int = DEFAULTS.epochs
    batch_size: int = DEFAULTS.batch_size
    learning_rate: float = DEFAULTS.learning_rate
    patience: int = DEFAULTS.patience
    min_delta: float = DEFAULTS.min_delta
    augment: str = augment_key(DEFAULTS)
    class_weights: bool = DEFAULTS.class_weights
    strategy: str = DEFAULTS.strategy

    def with_defaults(self) -> Recipe:
        """The seed's schedule (the start point and the devices stay)."""
        return replace(self, epochs=DEFAULTS.epochs, batch_size=DEFAULTS.batch_size,
                       learning_rate=DEFAULTS.learning_rate, patience=DEFAULTS.patience,
                       min_delta=DEFAULTS.min_delta, augment=augment_key(DEFAULTS),
                       class_weights=DEFAULTS.class_weights)

    def with_schedule_of(self, cfg: TrainConfig) -> Recipe:
        """The learning rate, epochs, patience and augmentation of a core recipe."""
        return replace(self, learning_rate=cfg.learning_rate, epochs=cfg.epochs,
                       patience=cfg.patience, augment=augment_key(cfg))

    def with_start(self, start: str) -> Recipe:
        """Another start point. The ImageNet backbone has its own schedule (low learning
        rate, strong augmentation, few epochs); switching away restores the seed's."""
        imagenet = start == IMAGENET
        recipe = replace(self, start=start)
        if imagenet != (self.start == IMAGENET):
            recipe = recipe.with_schedule_of(TRANSFER if imagenet else DEFAULTS)
        return recipe

    def config(self, *, card: Any = None, scratch_size: int = DEFAULTS.input_size,
               positive: str | None = None, ignore_duplicates: bool = False,
               skip_unreadable: bool = False,
               max_train_batches: int | None = None) -> TrainConfig:
        """The core recipe; ``card`` is the starting model's card (None: the ImageNet
        backbone or scratch, at ``scratch_size``)."""
        imagenet = self.start == IMAGENET
        base = TRANSFER if imagenet else DEFAULTS
        cfg = TrainConfig(
            architecture=base.architecture,
            input_size=TRANSFER.input_size if imagenet else scratch_size,
            epochs=self.epochs, batch_size=self.batch_size, learning_rate=self.learning_rate,
            patience=self.patience, min_delta=self.min_delta,
            flip=self.augment != "none", strong_augment=self.augment == "strong",
            class_weights=self.class_weights, crop=base.crop, equalize=base.equalize,
            start_from=DEFAULTS.start_from, unfreeze_from=TRANSFER.unfreeze_from,
            positive=positive, ignore_duplicates=ignore_duplicates,
            skip_unreadable=skip_unreadable, max_train_batches=max_train_batches,
            strategy=self.strategy or DEFAULTS.strategy)
        if card is not None:
            cfg = cfg.starting_from(card, self.start)
        return cfg
