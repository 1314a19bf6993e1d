"""The training recipe (:class:`TrainConfig`), the bundled model's transfer recipe, the callback types."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from core.model.card import ModelCard
from core.model.preprocess import PreprocessSpec

EpochFn = Callable[[dict], None]


BatchFn = Callable[[dict], None]


ProgressFn = Callable[[int, int, str], None]


StopFn = Callable[[], bool]


@dataclass
class TrainConfig:
    """The recipe. Defaults are the seed's; the bundled model's are in models/README.md."""

    architecture: str = "seed"
    input_size: int = 256
    epochs: int = 100
    batch_size: int = 32
    learning_rate: float = 1e-3
    patience: int = 10
    min_delta: float = 0.01
    flip: bool = True
    strong_augment: bool = False
    class_weights: bool = True
    crop: float = 1.0
    equalize: bool = False
    seed: int = 0
    positive: str | None = None
    init_from: str | None = None
    ignore_duplicates: bool = False
    skip_unreadable: bool = False
    min_sensitivity: float = 0.95
    max_train_batches: int | None = None  # cap per epoch (quick experiments, tests)
    # Off by default: on run d it lowered validation AUC from 0.914 to 0.902.
    reestimate_bn: bool = False
    #: Transfer learning (architecture lite0): start from the ImageNet backbone (else from
    #: random weights) and fine-tune from this block up; the blocks below stay frozen.
    start_from: str = "imagenet"
    unfreeze_from: str = "block5a"
    #: Where to train (core.training.distribute.STRATEGIES); batch_size is per replica, so the
    #: global batch grows with the number of devices.
    strategy: str = "auto"

    @property
    def spec(self) -> PreprocessSpec:
        return PreprocessSpec(size=self.input_size, crop=self.crop, equalize=self.equalize)

    def starting_from(self, card: ModelCard, path: str) -> TrainConfig:
        """Fine-tuning ``path`` inherits the starting model's contract, its card's
        architecture, input size and preprocessing, or its weights would see images they
        were not trained on. The one home of that rule (the command line and the training
        tab both build their recipe through it)."""
        spec = card.spec
        return replace(self, architecture=card.architecture, input_size=spec.size,
                       crop=spec.crop, equalize=spec.equalize, init_from=str(path))


def transfer_recipe(**overrides) -> TrainConfig:
    """The bundled model's recipe: the ImageNet EfficientNet-Lite0 backbone, head first on
    cached features, then blocks 5a-7a (``TrainConfig.unfreeze_from``) fine-tuned at a low
    learning rate under strong augmentation, on the central 80 % of the image, equalised,
    at 128 px (a resolution bottleneck; models/README.md measures each choice). The
    training tab's "Start from: ImageNet backbone" and ``covidcxr train --architecture
    lite0`` start from here."""
    base = TrainConfig(
        architecture="lite0",
        input_size=128,
        epochs=10,
        learning_rate=1e-4,
        patience=3,
        strong_augment=True,
        crop=0.8,
        equalize=True,
    )
    return replace(base, **overrides)

