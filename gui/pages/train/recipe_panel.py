"""The Recipe box of the training page: the start point and the schedule. It shows the
session's recipe (``session.setup``) and hands it every change; the values come from core."""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QPushButton,
    QSpinBox,
    QWidget,
)

from gui.i18n import percent, translate
from gui.pages.train.recipe_choice import IMAGENET, Recipe
from gui.pages.train.session import TrainingSession

TIPS = {
    "start": QT_TRANSLATE_NOOP(
        "RecipePanel", "Start from the weights of an existing model (fine-tuning: fastest, needs fewer "
        "images; its input size and preprocessing are kept), from the ImageNet backbone "
        "(EfficientNet-Lite0 at 224 px: the backbone stays frozen and only the head is "
        "fitted; the recipe of the bundled model), or from random weights."),
    "epochs": QT_TRANSLATE_NOOP(
        "RecipePanel", "The most passes over the training images. Early stopping usually ends sooner."),
    "batch": QT_TRANSLATE_NOOP(
        "RecipePanel", "Images per training step. Smaller uses less memory (try it after an out-of-"
        "memory error); larger is smoother but may generalise worse."),
    "lr": QT_TRANSLATE_NOOP(
        "RecipePanel", "Adam learning rate: how big each weight update is. Too high and the loss "
        "jumps about; too low and training crawls."),
    "patience": QT_TRANSLATE_NOOP(
        "RecipePanel", "Early stopping: stop after this many epochs without the validation loss "
        "improving by at least the minimum change. The best epoch's weights are kept."),
    "delta": QT_TRANSLATE_NOOP(
        "RecipePanel", "Early stopping: the smallest drop in validation loss that counts as progress."),
    "augment": QT_TRANSLATE_NOOP(
        "RecipePanel", "Random changes to the training images so the network learns the lungs, not "
        "one scanner's look. Flips: the seed's left-right flips. Strong: flips plus "
        "contrast, gamma, blur, noise, JPEG, crop/scale and small rotations."),
    "strategy": QT_TRANSLATE_NOOP(
        "RecipePanel", "Where to train (TensorFlow's tf.distribute). The batch size is per device, "
        "so with two GPUs each step sees twice as many images. Several machines: "
        "covidcxr train --strategy multiworker (see the README)."),
    "weights": QT_TRANSLATE_NOOP(
        "RecipePanel", "Weight each class by its rarity so an imbalanced dataset does not teach the "
        "network to always answer the larger class."),
}


class RecipePanel(QGroupBox):
    """Start point, epochs, batch size, learning rate, early stopping, augmentation,
    class weights and devices."""

    def __init__(self, session: TrainingSession, parent: QWidget | None = None) -> None:
        super().__init__(translate("RecipePanel", "Recipe"), parent)
        self.session = session
        self.start_combo = QComboBox()
        self.input_label = QLabel("")
        self.input_label.setWordWrap(True)
        self.input_label.setStyleSheet("color: palette(placeholder-text);")
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setRange(1, 10_000)
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(1, 4096)
        self.lr_spin = QDoubleSpinBox()
        self.lr_spin.setDecimals(6)
        self.lr_spin.setRange(1e-6, 1.0)
        self.lr_spin.setSingleStep(1e-4)
        self.patience_spin = QSpinBox()
        self.patience_spin.setRange(1, 10_000)
        self.delta_spin = QDoubleSpinBox()
        self.delta_spin.setDecimals(4)
        self.delta_spin.setRange(0.0, 10.0)
        self.delta_spin.setSingleStep(0.001)
        self.augment_combo = QComboBox()
        self.augment_combo.addItem(translate("RecipePanel", "Off"), "none")
        self.augment_combo.addItem(translate("RecipePanel", "Left-right flips"), "flip")
        self.augment_combo.addItem(translate("RecipePanel", "Strong (flips, contrast, blur, noise…)"), "strong")
        self.weights_check = QCheckBox(translate("RecipePanel", "Balance classes"))
        self.strategy_combo = QComboBox()
        self.strategy_combo.addItem(translate("RecipePanel", "Automatic (every GPU when there are several)"), "auto")
        self.strategy_combo.addItem(translate("RecipePanel", "One device"), "one")
        self.strategy_combo.addItem(translate("RecipePanel", "Every GPU of this computer (mirrored)"), "mirrored")
        self.defaults_button = QPushButton(translate("RecipePanel", "Seed defaults"))
        self.defaults_button.setToolTip(translate("RecipePanel", "Put back the seed recipe's values"))
        form = QFormLayout(self)
        for label, widget, tip in (
            (translate("RecipePanel", "Start from:"), self.start_combo, "start"),
            ("", self.input_label, "start"),
            (translate("RecipePanel", "Epochs (at most):"), self.epochs_spin, "epochs"),
            (translate("RecipePanel", "Batch size:"), self.batch_spin, "batch"),
            (translate("RecipePanel", "Learning rate:"), self.lr_spin, "lr"),
            (translate("RecipePanel", "Early-stop patience:"), self.patience_spin, "patience"),
            (translate("RecipePanel", "Early-stop min change:"), self.delta_spin, "delta"),
            (translate("RecipePanel", "Augmentation:"), self.augment_combo, "augment"),
            (translate("RecipePanel", "Class weights:"), self.weights_check, "weights"),
            (translate("RecipePanel", "Devices:"), self.strategy_combo, "strategy"),
        ):
            widget.setToolTip(translate("RecipePanel", TIPS[tip]))
            if label:
                lab = QLabel(label)
                lab.setToolTip(translate("RecipePanel", TIPS[tip]))
                form.addRow(lab, widget)
            else:
                form.addRow(widget)
        form.addRow(self.defaults_button)
        self._show_values(session.setup.recipe)
        self._connect()

    def _connect(self) -> None:
        """Every change goes to the session; what the session says comes back."""
        session, setup = self.session, self.session.setup
        self.start_combo.currentIndexChanged.connect(self._on_start_chosen)
        self.epochs_spin.valueChanged.connect(lambda v: setup.update(epochs=v))
        self.batch_spin.valueChanged.connect(lambda v: setup.update(batch_size=v))
        self.lr_spin.valueChanged.connect(lambda v: setup.update(learning_rate=v))
        self.patience_spin.valueChanged.connect(lambda v: setup.update(patience=v))
        self.delta_spin.valueChanged.connect(lambda v: setup.update(min_delta=v))
        self.augment_combo.currentIndexChanged.connect(
            lambda _i: setup.update(augment=self.augment_combo.currentData()))
        self.weights_check.toggled.connect(lambda on: setup.update(class_weights=on))
        self.strategy_combo.currentIndexChanged.connect(
            lambda _i: setup.update(strategy=self.strategy_combo.currentData()))
        self.defaults_button.clicked.connect(setup.reset)
        session.modelsChanged.connect(self._show_start_points)
        session.recipeChanged.connect(self.show_recipe)
        session.stateChanged.connect(self.update_controls)

    @Slot(int)
    def _on_start_chosen(self, _index: int) -> None:
        key = self.start_combo.currentData()
        if key:
            self.session.setup.set_start_point(key)

    @Slot()
    def _show_start_points(self) -> None:
        combo = self.start_combo
        combo.blockSignals(True)
        combo.clear()
        for label, key in self.session.setup.start_points():
            combo.addItem(label, key)
        combo.setCurrentIndex(combo.findData(self.session.setup.recipe.start))
        combo.blockSignals(False)

    @Slot(object)
    def show_recipe(self, recipe: Recipe) -> None:
        """Show the recipe, and the input the network will get (from the start point)."""
        self._show_values(recipe)
        self.start_combo.blockSignals(True)
        self.start_combo.setCurrentIndex(self.start_combo.findData(recipe.start))
        self.start_combo.blockSignals(False)
        cfg = self.session.config()
        source = (
            translate("RecipePanel", "the starting model's card") if cfg.init_from
            else translate("RecipePanel", "the ImageNet transfer recipe")
            if recipe.start == IMAGENET else translate("RecipePanel", "the seed recipe")
        )
        crop = translate("RecipePanel", "whole image") if cfg.crop >= 1.0 else \
            translate("RecipePanel", "central {0}").format(percent(cfg.crop, 0))
        eq = translate("RecipePanel", ", histogram equalised") if cfg.equalize else ""
        self.input_label.setText(translate(
            "RecipePanel", "{0} network, {1} × {1} px input, {2}{3} (from {4})").format(
                cfg.architecture, cfg.input_size, crop, eq, source))

    def _show_values(self, r: Recipe) -> None:
        for widget, set_value, value in (
            (self.epochs_spin, self.epochs_spin.setValue, r.epochs),
            (self.batch_spin, self.batch_spin.setValue, r.batch_size),
            (self.lr_spin, self.lr_spin.setValue, r.learning_rate),
            (self.patience_spin, self.patience_spin.setValue, r.patience),
            (self.delta_spin, self.delta_spin.setValue, r.min_delta),
            (self.augment_combo, self.augment_combo.setCurrentIndex,
             self.augment_combo.findData(r.augment)),
            (self.weights_check, self.weights_check.setChecked, r.class_weights),
            (self.strategy_combo, self.strategy_combo.setCurrentIndex,
             self.strategy_combo.findData(r.strategy)),
        ):
            widget.blockSignals(True)
            set_value(value)
            widget.blockSignals(False)

    @Slot()
    def update_controls(self) -> None:
        enabled = not self.session.training
        for w in (self.start_combo, self.epochs_spin, self.batch_spin, self.lr_spin,
                  self.patience_spin, self.delta_spin, self.augment_combo,
                  self.weights_check, self.strategy_combo, self.defaults_button):
            w.setEnabled(enabled)
