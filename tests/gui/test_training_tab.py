"""The training tab: dataset check, live plots, Stop, results, save, activate, classify.

The dataset comes from ``training_helpers``: 64-pixel networks, a dozen images per class and
two batches per epoch keep a real training run to seconds. The failure tests replace
``core.training.fit.train`` so they need no TensorFlow.
"""

from __future__ import annotations

import threading
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
from guitest_helpers import TIMEOUT_MS, wait_done
from PIL import Image
from PySide6.QtCore import Qt
from training_helpers import fake_train, write_dataset

from core.errors import StoppedBeforeFirstEpoch
from core.model.disk import slug
from gui.pages.train.page import TrainingTab, install
from gui.services.model_library import ModelLibrary

TRAIN_TIMEOUT_MS = 180_000


@pytest.fixture
def store(gui_settings, tmp_path: Path, tiny_model_path: Path) -> ModelLibrary:
    """A model store whose 'bundled' model is the tiny test model."""
    return ModelLibrary(gui_settings.q, tmp_path / "user_models", bundled=tiny_model_path)


@pytest.fixture
def make_tab(qtbot, store: ModelLibrary):
    tabs = []

    def make(**kwargs) -> TrainingTab:
        tab = TrainingTab(store, input_size=64, max_train_batches=2, **kwargs)
        qtbot.addWidget(tab)
        tabs.append(tab)
        return tab

    yield make
    for tab in tabs:
        tab.shutdown()


def load(qtbot, tab: TrainingTab, folder: Path) -> None:
    with qtbot.waitSignal(tab.datasetChecked, timeout=TIMEOUT_MS):
        tab.set_dataset(folder)


def shown_counts(tab: TrainingTab) -> dict[str, list]:
    m = tab.dataset_panel.counts_model
    return {m.data(m.index(r, 0)): [m.data(m.index(r, c)) for c in range(1, m.columnCount())]
            for r in range(m.rowCount())}


def problem_texts(tab: TrainingTab) -> list[str]:
    return [tab.dataset_panel.problems_list.item(i).text() for i in range(tab.dataset_panel.problems_list.count())]


@pytest.mark.slow
def test_train_stop_save_use_and_classify(qtbot, make_window, store, tiny_model_path, tmp_path):
    data = write_dataset(tmp_path / "hospital")
    window = make_window()
    tab = install(window, store, input_size=64, max_train_batches=2)
    assert not hasattr(tab, "run_button")  # built when first shown, not at start-up
    window.tabs.setCurrentWidget(tab)
    assert tab.run_panel.run_button.text() == "Start training"
    assert tab.models_panel.models_combo.itemText(0).startswith("✓ Bundled model (tiny-test)")

    # Pick the folder: classes, counts per split, the positive class, no problems.
    load(qtbot, tab, data)
    assert shown_counts(tab) == {
        "COVID": ["positive", 8, 2, 2, 12],
        "Normal": ["negative", 8, 2, 2, 12],
        "All classes": ["", 16, 4, 4, 24],
    }
    assert tab.dataset_panel.positive_combo.currentText() == "COVID"
    assert tab.problems() == ([], [])
    assert "no problems" in problem_texts(tab)[0]
    assert tab.run_panel.run_button.isEnabled()

    # The recipe starts at the seed's values; this run starts from scratch at 64 px.
    assert (tab.recipe_panel.epochs_spin.value(), tab.recipe_panel.batch_spin.value(), tab.recipe_panel.patience_spin.value()) == (
        100, 32, 10)
    tab.set_start_point(None)
    tab.recipe_panel.batch_spin.setValue(4)
    tab.recipe_panel.patience_spin.setValue(50)
    assert tab.config().input_size == 64 and tab.config().init_from is None

    # Start, receive one epoch, and find its values in the curves.
    with qtbot.waitSignal(tab.epochFinished, timeout=TRAIN_TIMEOUT_MS) as first:
        qtbot.mouseClick(tab.run_panel.run_button, Qt.MouseButton.LeftButton)
    assert tab.training and tab.run_panel.run_button.text() == "Stop"
    e = first.args[0]
    assert e["epoch"] == 0
    for curve, key in ((tab.live_panel.plots.loss, "loss"), (tab.live_panel.plots.val_loss, "val_loss"),
                       (tab.live_panel.plots.accuracy, "accuracy"),
                       (tab.live_panel.plots.val_accuracy, "val_accuracy")):
        x, y = curve.getData()
        assert x[0] == 1.0 and y[0] == pytest.approx(e[key]), key
    bx, by = tab.live_panel.plots.batch_loss.getData()
    assert len(bx) >= 1 and 0 < bx[0] <= 1.0 and np.isfinite(by).all()
    assert tab.live_panel.plots.best_lines[0].isVisible() and tab.live_panel.plots.best_lines[0].value() == 1

    # Stop: the run ends with the best weights so far; nothing is written or activated.
    with qtbot.waitSignal(tab.trainingFinished, timeout=TRAIN_TIMEOUT_MS) as stopped:
        qtbot.mouseClick(tab.run_panel.run_button, Qt.MouseButton.LeftButton)
    result = stopped.args[0]
    assert result is not None and result.stopped_by_user
    assert len(result.history["loss"]) < 100
    assert window.classify.model_path == tiny_model_path
    assert store.active_path() == tiny_model_path
    assert not (tmp_path / "user_models").exists()
    assert tab.run_panel.run_button.text() == "Start training"

    # Train to completion.
    tab.recipe_panel.epochs_spin.setValue(2)
    with qtbot.waitSignal(tab.trainingFinished, timeout=TRAIN_TIMEOUT_MS) as done:
        qtbot.mouseClick(tab.run_panel.run_button, Qt.MouseButton.LeftButton)
    result = done.args[0]
    assert result is not None and not result.stopped_by_user
    assert len(result.history["loss"]) == 2
    assert list(tab.live_panel.plots.loss.getData()[0]) == [1.0, 2.0]
    # Results: the test split's confusion matrix, ROC and metrics are on screen.
    assert tab.results_panel.split_combo.currentData() == "test"
    assert tab.results_panel.confusion.counts == asdict(result.test.confusion)
    assert sum(tab.results_panel.confusion.counts.values()) == 4
    assert tab.results_panel.roc.auc == pytest.approx(result.test.auc)
    assert tab.results_panel.metrics_model.value("Threshold", "Test") == f"{result.card.threshold:.3f}"
    assert "Unusual-film cut-offs" in tab.results_panel.summary_label.text()
    assert window.classify.model_path == tiny_model_path  # still nothing activated

    # Save as… (name + notes), through the dialog.
    assert tab.results_panel.save_button.isEnabled() and not tab.results_panel.use_button.isEnabled()
    qtbot.mouseClick(tab.results_panel.save_button, Qt.MouseButton.LeftButton)
    dialog = tab.save_dialog
    dialog.name_edit.setText("Ward 7 retrain")
    dialog.notes_edit.setPlainText("two epochs, test run")
    with qtbot.waitSignal(tab.modelSaved, timeout=TIMEOUT_MS) as saved:
        dialog.accept()
    path = Path(saved.args[0])
    assert path.parent == tmp_path / "user_models" and path.is_file()
    from core.model.disk import read_card

    card = read_card(path)
    assert (card.name, card.notes) == ("Ward 7 retrain", "two epochs, test run")
    assert card.ood["feature_cutoff"] > 0
    assert window.classify.model_path == tiny_model_path

    # Use this model: the classify window loads it; the old one stays in the list.
    with qtbot.waitSignal(window.classify.modelChanged, timeout=TIMEOUT_MS) as changed:
        qtbot.mouseClick(tab.results_panel.use_button, Qt.MouseButton.LeftButton)
    assert changed.args[0] is not None and changed.args[0].card.name == "Ward 7 retrain"
    assert window.classify.model_path == path and store.active_path() == path
    listed = [tab.models_panel.models_combo.itemData(i) for i in range(tab.models_panel.models_combo.count())]
    assert listed == [str(tiny_model_path), str(path)]
    assert tab.models_panel.models_combo.itemText(1).startswith("✓ ")
    assert tab.models_panel.restore_button.isEnabled()

    # Classify one image with the new model: the same probability core gives.
    image = data / "COVID" / "COVID_00.png"
    wait_done(qtbot, window, lambda: window.open_paths([str(image)]))
    pred = window.classify.results.row(0).prediction
    assert pred is not None and pred.ok
    from core.answers.inference import classify
    from core.model.loading import load_model

    expected = next(classify([image], load_model(path)))
    assert pred.probability == pytest.approx(expected.probability, abs=1e-5)
    assert pred.threshold == pytest.approx(card.threshold)

    # The bundled model can always be restored.
    with qtbot.waitSignal(window.classify.modelChanged, timeout=TIMEOUT_MS):
        qtbot.mouseClick(tab.models_panel.restore_button, Qt.MouseButton.LeftButton)
    assert window.classify.model_path == tiny_model_path and store.active_path() == tiny_model_path


def test_problems_are_listed_before_training(qtbot, make_tab, tmp_path):
    data = write_dataset(tmp_path / "d", per_class=12)
    write_dataset(tmp_path / "d", per_class=3, seed=5, classes=("Pneumonia",))
    good = (data / "COVID" / "COVID_00.png").read_bytes()
    (data / "Normal" / "truncated.png").write_bytes(good[: len(good) // 3])
    (data / "Empty").mkdir()
    tab = make_tab()
    load(qtbot, tab, data)

    blocking, _ = tab.problems()
    text = "\n".join(blocking)
    assert "Class 'Empty' has no images" in text
    assert "Class 'Pneumonia' has only 3 images" in text
    assert "1 unreadable file(s)" in text
    assert any("truncated.png" in t for t in problem_texts(tab))
    assert tab.dataset_panel.skip_check.isVisibleTo(tab) and not tab.run_panel.run_button.isEnabled()
    assert shown_counts(tab)["Empty"] == ["negative", 0, 0, 0, 0]

    # Skipping the unreadable file turns it into a warning; the empty class still blocks.
    tab.dataset_panel.skip_check.setChecked(True)
    blocking, notes = tab.problems()
    assert not any("unreadable" in b for b in blocking)
    assert any("will be skipped" in n for n in notes)
    assert not tab.can_start()
    assert tab.message_level == "warning"


def test_near_duplicates_across_splits_block_until_allowed(qtbot, make_tab, tmp_path):
    data = write_dataset(tmp_path / "d")
    for split in ("train", "val", "test"):
        for c in ("COVID", "Normal"):
            (data / split / c).mkdir(parents=True)
    for c in ("COVID", "Normal"):
        files = sorted((data / c).glob("*.png"))
        for i, f in enumerate(files):
            split = "test" if i < 2 else "val" if i < 4 else "train"
            f.rename(data / split / c / f.name)
        (data / c).rmdir()
    # The same picture, re-encoded as JPEG, in train and in test.
    src = data / "test" / "COVID" / "COVID_00.png"
    Image.open(src).save(data / "train" / "COVID" / "copy.jpg", quality=90)
    tab = make_tab()
    load(qtbot, tab, data)
    assert tab.dataset_panel.split_label.text() == "Splits: train/val/test folders."
    blocking, _ = tab.problems()
    assert any("1 near-duplicate image pair(s)" in b for b in blocking)
    assert any("copy.jpg" in t and "COVID_00.png" in t for t in problem_texts(tab))
    tab.dataset_panel.dups_check.setChecked(True)
    assert tab.problems()[0] == [] and tab.can_start()
    assert tab.config().ignore_duplicates


def test_positive_class_is_asked_when_no_folder_says_covid(qtbot, make_tab, tmp_path):
    data = write_dataset(tmp_path / "d", classes=("Normal", "Sick"))
    tab = make_tab()
    load(qtbot, tab, data)
    assert tab.dataset_panel.positive_combo.currentIndex() == -1
    assert any("choose the positive class" in b for b in tab.problems()[0])
    assert shown_counts(tab)["Sick"][0] == "?"
    with qtbot.waitSignal(tab.datasetChecked, timeout=TIMEOUT_MS):
        tab.set_positive("Sick")
    assert tab.problems() == ([], [])
    assert shown_counts(tab)["Sick"][0] == "positive"
    assert tab.config().positive == "Sick"
    # The decoded images were relabelled, not decoded again.
    labels = tab.session.dataset.check.decoded.splits["train"].labels
    paths = tab.session.dataset.check.decoded.splits["train"].paths
    assert [int(p.parent.name == "Sick") for p in paths] == labels.tolist()


def test_out_of_memory_is_told_in_the_tab(qtbot, make_tab, tmp_path, monkeypatch):
    def oom(**_):
        raise MemoryError

    monkeypatch.setattr("core.training.fit.train", fake_train(oom))
    tab = make_tab()
    load(qtbot, tab, write_dataset(tmp_path / "d"))
    with qtbot.waitSignal(tab.trainingFinished, timeout=TIMEOUT_MS) as fin:
        tab.start()
    assert fin.args[0] is None
    assert tab.message_level == "error" and "Out of memory" in tab.run_panel.message.text()
    assert "batch size" in tab.run_panel.message.text()
    assert tab.run_panel.run_button.text() == "Start training" and tab.run_panel.run_button.isEnabled()


def test_vanished_folder_is_told_in_the_tab(qtbot, make_tab, tmp_path, monkeypatch):
    import shutil

    def vanish(index, **_):
        shutil.rmtree(index.root)
        raise FileNotFoundError(2, "No such file or directory", str(index.root / "x.png"))

    monkeypatch.setattr("core.training.fit.train", fake_train(vanish))
    data = write_dataset(tmp_path / "d")
    tab = make_tab()
    load(qtbot, tab, data)
    with qtbot.waitSignal(tab.trainingFinished, timeout=TIMEOUT_MS):
        tab.start()
    assert tab.message_level == "error"
    assert "is no longer there" in tab.run_panel.message.text() and str(data) in tab.run_panel.message.text()
    # And a second Start says so at once instead of failing on a worker.
    assert not tab.start()
    assert "no longer there" in tab.run_panel.message.text()


def test_stop_before_the_first_epoch_cancels_and_keeps_the_model(qtbot, make_tab, store,
                                                                 tmp_path, monkeypatch,
                                                                 tiny_model_path):
    started = threading.Event()

    def wait_for_stop(should_stop, on_batch, **_):
        started.set()
        on_batch({"epoch": 0, "batch": 0, "loss": 0.7, "batch_loss": 0.7})
        while not should_stop():
            threading.Event().wait(0.01)
        raise StoppedBeforeFirstEpoch  # what core.training.fit.train raises then

    monkeypatch.setattr("core.training.fit.train", fake_train(wait_for_stop))
    tab = make_tab()
    load(qtbot, tab, write_dataset(tmp_path / "d"))
    tab.start()
    qtbot.waitUntil(started.is_set, timeout=TIMEOUT_MS)
    assert tab.run_panel.run_button.text() == "Stop"
    with qtbot.waitSignal(tab.trainingFinished, timeout=TIMEOUT_MS) as fin:
        tab.toggle_run()
        assert tab.run_panel.run_button.text() == "Stopping…" and not tab.run_panel.run_button.isEnabled()
    assert fin.args[0] is None
    assert tab.message_level == "warning" and "active model is unchanged" in tab.run_panel.message.text()
    assert store.active_path() == tiny_model_path
    assert not tab.results_panel.save_button.isEnabled()


def test_model_store_names_and_fallback(store, tmp_path, tiny_model_path):
    assert slug(" Ward 7 / v2 ") == "Ward-7-v2" and slug("///") == "model"
    (tmp_path / "user_models").mkdir()
    (tmp_path / "user_models" / "a.keras").write_bytes(b"")
    assert store.new_path("a").name == "a-2.keras"
    entries = store.entries()
    assert entries[0].bundled and entries[0].usable
    assert not entries[1].usable and "card" in entries[1].problem
    # A remembered model that has gone falls back to the bundled one.
    store.set_active(tmp_path / "gone.keras")
    assert store.active_path() == tiny_model_path


def test_a_folder_that_is_not_a_dataset_is_told_in_the_tab(qtbot, make_tab, tmp_path):
    tab = make_tab()
    load(qtbot, tab, tmp_path / "gone")
    assert tab.problems()[0] == [f"dataset folder not found: {tmp_path / 'gone'}"]
    assert problem_texts(tab) == tab.problems()[0]
    assert not tab.run_panel.run_button.isEnabled() and tab.message_level == "warning"
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "only").mkdir()
    load(qtbot, tab, tmp_path / "flat")
    assert "need at least two class sub-folders" in tab.problems()[0][0]


def test_imagenet_start_point_brings_the_transfer_recipe(make_tab):
    """'Start from: ImageNet backbone' is the bundled model's recipe: lite0 at its own
    input and crop, a low learning rate and strong augmentation; switching back restores
    the seed's values."""
    from core.training.recipe import TrainConfig, transfer_recipe
    from gui.pages.train.page import IMAGENET

    tab = make_tab()
    tab.ensure_built()
    want = transfer_recipe()
    tab.set_start_point(IMAGENET)
    cfg = tab.config()
    assert (cfg.architecture, cfg.input_size, cfg.crop, cfg.equalize) == (
        "lite0", want.input_size, want.crop, want.equalize)
    assert cfg.init_from is None and cfg.start_from == "imagenet"
    assert cfg.unfreeze_from == want.unfreeze_from
    assert cfg.learning_rate == pytest.approx(want.learning_rate)
    assert cfg.strong_augment and cfg.epochs == want.epochs
    assert "ImageNet transfer recipe" in tab.recipe_panel.input_label.text()
    tab.set_start_point(None)
    seed = TrainConfig()
    cfg = tab.config()
    assert cfg.architecture == seed.architecture and cfg.input_size == 64
    assert cfg.learning_rate == pytest.approx(seed.learning_rate)
    assert not cfg.strong_augment and cfg.epochs == seed.epochs


def test_devices_field_sets_the_strategy(make_tab):
    tab = make_tab()
    assert tab.recipe_panel.strategy_combo.currentData() == "auto" and tab.config().strategy == "auto"
    tab.recipe_panel.strategy_combo.setCurrentIndex(tab.recipe_panel.strategy_combo.findData("mirrored"))
    assert tab.config().strategy == "mirrored"
