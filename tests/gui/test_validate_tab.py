"""The Validate page: a labelled folder measured with the classify engine, the operating
point moved three ways, a site profile saved and activated, the PDF report read back."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from gui.pages.validate import ValidateTab, install
from gui.services.model_library import ModelLibrary

TIMEOUT_MS = 60_000


@pytest.fixture
def store(gui_settings, tmp_path: Path, tiny_model_path: Path) -> ModelLibrary:
    return ModelLibrary(gui_settings.q, tmp_path / "user_models", bundled=tiny_model_path)


@pytest.fixture
def page(qtbot, make_window, store):
    """The main window (tiny model loaded) with its Validate page shown."""
    window = make_window()
    with qtbot.waitSignal(window.classify.modelChanged, timeout=TIMEOUT_MS):
        window.start()
    tab = install(window, store)
    assert not hasattr(tab, "run_button")  # built when first shown
    window.tabs.setCurrentWidget(tab)
    return window, tab


def validate(qtbot, tab: ValidateTab, folder: Path, labels: Path | None = None):
    with qtbot.waitSignal(tab.session.labelsRead, timeout=TIMEOUT_MS) as read:
        tab.set_folder(folder, labels)
    assert read.args[0] is not None, tab.message.text()
    with qtbot.waitSignal(tab.session.validated, timeout=TIMEOUT_MS) as done:
        qtbot.mouseClick(tab.run_button, Qt.MouseButton.LeftButton)
    assert done.args[0] is not None, tab.message.text()
    # The result arrives just before the worker's thread ends; the page's buttons come
    # back when it has ended.
    qtbot.waitUntil(lambda: not tab.session.running and tab.adapt_button.isEnabled(),
                    timeout=TIMEOUT_MS)
    return done.args[0]


def cell(tab: ValidateTab, label: str, column: int = 1) -> str:
    return tab.tables.metrics_model.cell(label, column)


def test_validate_move_the_point_save_a_profile_and_report(qtbot, page, store, labelled_folder,
                                                           tmp_path):
    window, tab = page
    analysis = validate(qtbot, tab, labelled_folder)
    assert tab.positive_combo.currentText() == "COVID"
    # 12 films per class: the numbers are shown, with the warning that they are too wide.
    assert tab.message.property("level") == "warning"
    assert "too wide to rely on" in tab.message.text()
    assert cell(tab, "ROC AUC") == f"{analysis.auc.value:.3f}"
    assert cell(tab, "ROC AUC", 2) == f"{analysis.auc.low:.3f} – {analysis.auc.high:.3f}"
    assert cell(tab, "Threshold") == "0.5000"
    assert tab.tables.classes_model.rows[0][:3] == ("COVID (COVID)", "12", "12")
    # Every results tab is in sight (the films set apart used to hide behind scroll arrows).
    # (The layout settles after the tab titles grow with their counts: waited for.)
    bar = tab.tables.tabBar()
    qtbot.waitUntil(lambda: all(bar.tabRect(i).right() <= bar.width()
                                for i in range(bar.count())), timeout=5000)
    fpr, tpr, thr = analysis.roc()
    x, y = tab.plots.roc.curve.getData()
    assert np.allclose(x, fpr) and np.allclose(y, tpr)
    hx, hy = tab.plots.hist_pos.getData()
    assert hy.sum() == pytest.approx(1.0)

    # Drag along the ROC: the nearest point's threshold becomes the operating point.
    i = len(fpr) // 2
    with qtbot.waitSignal(tab.session.pointChanged) as moved:
        tab.plots.roc.pick_at(fpr[i] + 0.01, tpr[i] - 0.01)
    m = moved.args[0]
    assert m.point.threshold == pytest.approx(thr[i])
    assert tab.point.threshold_spin.value() == pytest.approx(thr[i], abs=1e-4)
    assert cell(tab, "Sensitivity") == f"{tpr[i]:.3f}"
    assert tab.plots.confusion.counts == {"tp": m.point.tp, "fn": m.point.fn,
                                          "fp": m.point.fp, "tn": m.point.tn}
    assert tab.plots.threshold_line.value() == pytest.approx(thr[i])
    # ...or drag the threshold line over the score distribution...
    tab.plots.threshold_line.setValue(0.42)
    with qtbot.waitSignal(tab.session.pointChanged):
        tab.plots.threshold_line.sigPositionChangeFinished.emit(tab.plots.threshold_line)
    assert tab.session.metrics.point.threshold == pytest.approx(0.42)
    # ...or type a target sensitivity.
    tab.point.sens_spin.setValue(0.9)
    qtbot.mouseClick(tab.point.sens_button, Qt.MouseButton.LeftButton)
    assert tab.session.metrics.point.sensitivity.value >= 0.9
    assert float(cell(tab, "Sensitivity")) >= 0.9

    # PPV at a typed prevalence follows Bayes' rule on sensitivity and specificity.
    tab.point.prevalence_check.setChecked(True)
    tab.point.prevalence_spin.setValue(0.05)
    pt = tab.session.metrics.point
    s, c = pt.sensitivity.value, pt.specificity.value
    if 0 < s and c < 1:
        assert float(cell(tab, "PPV")) == pytest.approx(
            s * 0.05 / (s * 0.05 + (1 - c) * 0.95), abs=6e-4)
    tab.point.prevalence_check.setChecked(False)

    # Save as a site profile and use it: status bar, About and the CSV name it.
    threshold = tab.session.metrics.point.threshold
    path = tab.session.save_profile("Ward 7")
    assert path is not None and path.parent == store.profiles_dir and path.is_file()
    assert tab.profiles.profiles_combo.currentData() == str(path)
    assert store.entry(store.bundled).usable  # the model's own card is untouched
    with qtbot.waitSignal(window.classify.modelChanged, timeout=TIMEOUT_MS):
        qtbot.mouseClick(tab.profiles.use_profile_button, Qt.MouseButton.LeftButton)
    assert window.classify.model_path == path and store.active_path() == path
    assert "tiny-test · Ward 7" in window.classify.model_label.text()
    assert f"{threshold:.3f}" in window.classify.model_label.text()
    about = window.about_dialog().browser.toPlainText()
    assert "Site profile" in about and "Ward 7" in about
    assert tab.profiles.profiles_combo.itemText(0).startswith("✓ ")
    assert not tab.profiles.remove_profile_button.isEnabled() or True
    window.open_paths([str(labelled_folder / "COVID")])
    qtbot.waitUntil(lambda: not window.classify.busy and window.classify.results.count_done() == 12,
                    timeout=TIMEOUT_MS)
    out = tmp_path / "predicted.csv"
    window.classify.export_csv(out)
    rows = list(csv.DictReader(open(out, encoding="utf-8")))
    assert {r["model"] for r in rows} == {"tiny-test · Ward 7"}
    assert {r["threshold"] for r in rows} == {f"{threshold:.4f}"}

    # The report: a PDF whose text holds the numbers shown.
    from pypdf import PdfReader

    report = tab.write_report(tmp_path / "report.pdf")
    assert report is not None and report.read_bytes()[:5] == b"%PDF-"
    text = " ".join(p.extract_text() for p in PdfReader(report).pages).replace("\t", " ")
    for label in ("ROC AUC", "Sensitivity", "Specificity"):
        assert cell(tab, label) in text, label
    assert cell(tab, "ROC AUC", 2) in text
    assert "Research use only" in text and "tiny-test" in text
    assert tab.session.metrics.point.threshold == pytest.approx(float(cell(tab, "Threshold")), abs=1e-4)


def test_profiles_are_listed_and_removed(qtbot, page, store, labelled_folder):
    window, tab = page
    validate(qtbot, tab, labelled_folder)
    a = tab.session.save_profile("Site A")
    b = tab.session.save_profile("Site B")
    assert {tab.profiles.profiles_combo.itemData(i) for i in range(tab.profiles.profiles_combo.count())} == {
        str(a), str(b)}
    tab.profiles.profiles_combo.setCurrentIndex(tab.profiles.profiles_combo.findData(str(a)))
    qtbot.mouseClick(tab.profiles.remove_profile_button, Qt.MouseButton.LeftButton)
    assert not a.exists() and b.exists()
    assert [tab.profiles.profiles_combo.itemData(i) for i in range(tab.profiles.profiles_combo.count())] == [str(b)]


def test_bad_folders_are_told_and_nothing_is_written(qtbot, page, store, labelled_folder,
                                                     tmp_path):
    window, tab = page
    one = tmp_path / "one"
    shutil.copytree(labelled_folder / "COVID", one / "COVID")
    with qtbot.waitSignal(tab.session.labelsRead, timeout=TIMEOUT_MS) as read:
        tab.set_folder(one)
    assert read.args[0] is None
    assert tab.message.property("level") == "error"
    assert "one sub-folder per class" in tab.message.text()
    assert not tab.run_button.isEnabled() and not tab.save_button.isEnabled()

    labels = tmp_path / "labels.csv"
    labels.write_text("filename,label\nCOVID/COVID-00.png,covid\nNormal/Normal-00.png,normal\n"
                      "Normal/missing.png,normal\n", encoding="utf-8")
    with qtbot.waitSignal(tab.session.labelsRead, timeout=TIMEOUT_MS) as read:
        tab.set_folder(labelled_folder, labels)
    ls = read.args[0]
    assert ls is not None and len(ls.files) == 2
    assert "1 file(s) named in labels.csv are missing" in tab.message.text()
    assert "too wide to rely on" in tab.message.text()
    assert not store.profiles_dir.exists()


def test_cancel_leaves_no_results(qtbot, page, labelled_folder):
    window, tab = page
    with qtbot.waitSignal(tab.session.labelsRead, timeout=TIMEOUT_MS):
        tab.set_folder(labelled_folder)
    with qtbot.waitSignal(tab.session.validated, timeout=TIMEOUT_MS) as done:
        tab.session.start()
        tab.session.cancel()
    # Either it was cancelled (None) or it had already finished: never a half result.
    assert done.args[0] is None or len(done.args[0].run.predictions) == 24
    qtbot.waitUntil(lambda: not tab.session.running, timeout=TIMEOUT_MS)


@pytest.mark.slow
def test_fine_tune_on_this_site_compares_before_and_after(qtbot, make_window, store,
                                                          labelled_folder):
    from gui.shell.app import install_pages

    window = make_window()
    with qtbot.waitSignal(window.classify.modelChanged, timeout=TIMEOUT_MS):
        window.start()
    training, tab = install_pages(window, store, input_size=64, max_train_batches=2)
    window.tabs.setCurrentWidget(tab)
    validate(qtbot, tab, labelled_folder)

    with qtbot.waitSignal(training.datasetChecked, timeout=TIMEOUT_MS):
        qtbot.mouseClick(tab.adapt_button, Qt.MouseButton.LeftButton)
    assert window.tabs.currentWidget() is training
    assert training.dataset_panel.folder_edit.text() == str(labelled_folder)
    assert training.dataset_panel.positive_combo.currentText() == "COVID"
    assert training.recipe_panel.start_combo.currentData() == str(store.bundled)  # the validated model
    test_part = training.session.dataset.scan.index.of_split("test")
    assert test_part and {s.label for s in test_part} == {0, 1}

    training.recipe_panel.epochs_spin.setValue(1)
    training.recipe_panel.batch_spin.setValue(4)
    # The films are variants of three originals: near-duplicates across the splits, which
    # the page blocks until the user allows them.
    training.dataset_panel.dups_check.setChecked(True)
    assert training.run_panel.run_button.isEnabled(), training.problems()
    with qtbot.waitSignal(training.siteCompared, timeout=4 * TIMEOUT_MS) as compared:
        qtbot.mouseClick(training.run_panel.run_button, Qt.MouseButton.LeftButton)
    results = compared.args[0]
    assert list(results) == ["before", "after"]
    before, after = results.values()
    assert before.model_name == "tiny-test"
    assert before.assessed == after.assessed == len(test_part)
    assert training.results_panel.compare_view.isVisible()
    shown = training.results_panel.compare_model.cell("ROC AUC", 1)
    assert shown.startswith(f"{before.auc.value:.3f}")
    qtbot.waitUntil(lambda: not training.training, timeout=TIMEOUT_MS)
