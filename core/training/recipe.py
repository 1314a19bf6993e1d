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
    """The bundled model's recipe (issue #19): the ImageNet EfficientNet-Lite0 backbone
    stays frozen (``unfreeze_from="none"``); the head is fitted on its pooled features,
    then refined for a few epochs under strong augmentation at a low learning rate; the
    central 80 % of the image, equalised, at 224 px. Fine-tuning the backbone on
    collections whose labels follow the hospital taught it the hospital: within one
    collection it fell from 0.74 to 0.53 AUC, and 128 px lost what the frozen features
    could read (models/README.md). The training tab's "Start from: ImageNet backbone" and
    ``covidcxr train --architecture lite0`` start from here; ``--unfreeze-from block5a``
    brings fine-tuning back. The bundled model's head is also balanced by collection and
    its threshold chosen within one collection (scripts/build_model.py)."""
    base = TrainConfig(
        architecture="lite0",
        input_size=224,
        epochs=5,
        learning_rate=1e-4,
        patience=2,
        strong_augment=True,
        crop=0.8,
        equalize=True,
        unfreeze_from="none",
    )
    return replace(base, **overrides)

