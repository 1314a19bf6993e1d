"""The Validate page's state, without widgets: the labelled folder, the model measured, the
analysis, the operating point, and the one task (reading labels, or validating) running.

The page's panels only show it: they call its methods and listen to its signals; the
texts it emits are the page's message line. Orange3's widgets (settings, compute,
``on_done``) and napari's controls over a layer model are the pattern.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from core.evaluation.validation import SiteAnalysis, SiteMetrics, provenance
from core.files.labelled import LabelledSet
from gui.i18n import integer, number, translate
from gui.i18n.core_text import core_text
from gui.pages.validate.jobs import scan_labels_job, validate_job
from gui.services.model_library import ModelLibrary
from gui.services.workers import TaskSlot, Worker, WorkerSet


class ValidateSession(QObject):
    """Read a labelled folder, validate the active model on it, move the operating point,
    save a site profile, write the report, hand the site to the Train page."""

    #: The labels were read (a LabelledSet) or could not be (None; see ``message``).
    labelsRead = Signal(object)
    #: A validation finished: its SiteAnalysis, or None (failed or cancelled).
    validated = Signal(object)
    #: The analysis shown changed (a SiteAnalysis, or None: cleared).
    analysisChanged = Signal(object)
    #: The operating point moved: the new SiteMetrics.
    pointChanged = Signal(object)
    profileSaved = Signal(str)
    #: The profiles on disk changed (saved, removed) or the active model did.
    profilesChanged = Signal()
    #: The user chose to classify with this model or profile (its path).
    model_activated = Signal(str)
    reportWritten = Signal(str)
    #: "Fine-tune on this site": (folder, positive class, model path).
    fineTuneRequested = Signal(str, str, str)
    #: The message line: (text, level) with level "info", "ok", "warning" or "error".
    message = Signal(str, str)
    #: The running task's progress: (done, total, what), and (0, 0, "") when it ends.
    progress = Signal(int, int, str)
    #: Something the controls depend on changed (running, labels, analysis, model).
    stateChanged = Signal()

    def __init__(self, library: ModelLibrary, workers: WorkerSet, model: Any = None,
                 model_path: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.library = library
        self.model, self.model_path = model, model_path
        self.folder = ""
        self.labels_csv: str | None = None
        self.labelled: LabelledSet | None = None
        self.analysis: SiteAnalysis | None = None
        self.metrics: SiteMetrics | None = None
        self.threshold = 0.5
        #: The expected prevalence typed by the user, or None: the folder's own.
        self.prevalence: float | None = None
        # The model (path and card) behind the results, which may no longer be the active
        # one: profiles and reports name what was measured.
        self.run_model_path: Path | None = None
        self.run_card: Any = None
        self._pending: tuple[Path | None, Any] = (None, None)
        self._task = TaskSlot(workers, self)
        self._on_cancel: Any = None

    # ---------------------------------------------------------------- model
    def set_model(self, model: Any, path: Path | None) -> None:
        """The model the classify page uses (None while it loads)."""
        changed = path != self.model_path
        self.model, self.model_path = model, path
        if changed and self.analysis is not None:
            self.message.emit(translate(
                "ValidateTab", "The results below were measured with {0}; the active model is "
                "now {1}. Validate again to measure it.").format(
                    self.analysis.run.model_name, getattr(model, "display_name", path)),
                "warning")
        self.profilesChanged.emit()
        self.stateChanged.emit()

    # ---------------------------------------------------------------- data
    def set_folder(self, folder: str | Path, labels_csv: str | Path | None = None,
                   positive: str | None = None) -> None:
        """Read the labels of ``folder`` (on a worker); nothing is classified yet."""
        self.folder = str(folder)
        self.labels_csv = str(labels_csv) if labels_csv else None
        self.labelled = None
        self.set_analysis(None)
        self._start(Worker(scan_labels_job, self.folder, self.labels_csv, positive,
                           parent=self), self._on_labels_read,
                    translate("ValidateTab", "reading the labels…"))

    def choose_positive(self, name: str) -> None:
        """Read the labels again with ``name`` as the COVID class."""
        if self.labelled is not None and name and name != self.labelled.positive:
            self.set_folder(self.folder, self.labels_csv, name)

    def _on_labels_read(self, labelled: LabelledSet) -> None:
        self.labelled = labelled
        counts = ", ".join(f"{k} {integer(v)}" for k, v in labelled.counts().items())
        text = (translate("ValidateTab", "{0} labelled images ({1}; {2}, patients named).")
                if labelled.grouped else
                translate("ValidateTab", "{0} labelled images ({1}; {2}).")).format(
            integer(len(labelled.files)), counts, core_text(labelled.layout))
        if labelled.subgroup_keys:
            text += " " + translate("ValidateTab", "Sub-groups: {0}.").format(
                ", ".join(labelled.subgroup_keys))
        if labelled.warnings:
            self.message.emit(text + "<br>" + "<br>".join(map(core_text, labelled.warnings)),
                              "warning")
        else:
            self.message.emit(text + " " + translate("ValidateTab", "Press Validate."), "info")
        self.labelsRead.emit(labelled)

    # ---------------------------------------------------------------- running
    @property
    def running(self) -> bool:
        return self._task.busy()

    def start(self) -> bool:
        """Validate the model on the labelled films (on a worker); False when either is
        missing."""
        if self.labelled is None or self.model is None:
            return False
        self.set_analysis(None)
        self._pending = (self.model_path, self.model.card)
        self._start(Worker(validate_job, self.model, self.labelled, low_priority=True,
                           parent=self), self._on_validated,
                    translate("ValidateTab", "classifying…"),
                    on_cancel=lambda: self._on_validated(None))
        self.progress.emit(0, len(self.labelled.files), translate("ValidateTab", "classifying…"))
        return True

    def cancel(self) -> None:
        """Stop the task; a validation stopped before its result says nothing was measured."""
        if not self._task.busy():
            return
        self._task.cancel()
        on_cancel, self._on_cancel = self._on_cancel, None
        if on_cancel is not None:
            on_cancel()
        self._ended()

    def _start(self, worker: Worker, on_result: Any, what: str, on_cancel: Any = None) -> None:
        """One task at a time: the slot cancels the last and cuts its signals off.
        ``on_cancel`` runs when the user cancels this task before it returns a result."""
        self._on_cancel = on_cancel
        self._task.start(worker, returned=lambda r: self._got(r, on_result),
                         errored=self._on_error, progress=self.progress.emit,
                         finished=self._ended)
        self.progress.emit(0, 0, what)
        self.stateChanged.emit()

    def _got(self, result: Any, on_result: Any) -> None:
        self._on_cancel = None  # it finished: a late cancel has nothing to undo
        on_result(result)

    def _on_validated(self, analysis: SiteAnalysis | None) -> None:
        if analysis is None:
            self.message.emit(translate("ValidateTab",
                                        "Validation cancelled; nothing was measured."), "info")
        else:
            self.run_model_path, self.run_card = self._pending
        self.set_analysis(analysis)
        self.validated.emit(analysis)

    def _on_error(self, exc: BaseException) -> None:
        self.message.emit(str(exc), "error")
        # Reading the labels failed, or (with labels read) the validation did.
        (self.labelsRead if self.labelled is None else self.validated).emit(None)

    def _ended(self) -> None:
        """The task ended by itself, failed, or was cancelled."""
        self._on_cancel = None
        self.progress.emit(0, 0, "")
        self.stateChanged.emit()

    def shutdown(self) -> None:
        """Stop the task and wait for it (the window is closing)."""
        current = self._task.current
        self._task.cancel()
        if current is not None:
            current.wait()

    # ---------------------------------------------------------------- results
    def set_analysis(self, analysis: SiteAnalysis | None) -> None:
        """Show ``analysis`` at the model's own threshold (None clears the results)."""
        self.analysis = analysis
        self.metrics = None
        if analysis is not None:
            self.threshold = float(analysis.run.threshold)
            self._recompute()
            m = self.metrics
            assert m is not None
            text = (translate("ValidateTab", "Measured {0} on {1} assessed films (95% intervals "
                              "from {2} bootstrap resamples of patients).") if m.grouped else
                    translate("ValidateTab", "Measured {0} on {1} assessed films (95% intervals "
                              "from {2} bootstrap resamples of images).")).format(
                analysis.run.model_name, integer(m.assessed), integer(m.resamples))
            if m.warnings:
                text += "<br>" + "<br>".join(map(core_text, m.warnings))
            self.message.emit(text, "warning" if m.warnings else "ok")
        self.analysisChanged.emit(analysis)
        self.stateChanged.emit()

    def _recompute(self) -> None:
        if self.analysis is None:
            return
        self.metrics = self.analysis.metrics(self.threshold, self.prevalence)
        self.pointChanged.emit(self.metrics)

    def set_threshold(self, threshold: float) -> None:
        """Move the operating point (spin box, ROC drag, threshold line, targets)."""
        self.threshold = float(threshold)
        self._recompute()
        self.stateChanged.emit()

    def set_prevalence(self, prevalence: float | None) -> None:
        """PPV and NPV at this prevalence (None: the folder's own share)."""
        self.prevalence = prevalence
        self._recompute()

    def meet_target(self, sensitivity: float | None = None,
                    specificity: float | None = None) -> None:
        if self.analysis is not None:
            self.set_threshold(self.analysis.threshold_for(sensitivity, specificity))

    def reset_threshold(self) -> None:
        if self.analysis is not None:
            self.set_threshold(self.analysis.run.threshold)

    # ---------------------------------------------------------------- profiles
    def _rule(self) -> str:
        a, m = self.analysis, self.metrics
        if a is None or m is None:
            return ""
        if abs(m.point.threshold - a.run.threshold) < 1e-12:
            # Kept in the profile (a file other sites read): English, as the CSV.
            return "the model's own threshold, confirmed on the site's films"
        return (f"threshold {m.point.threshold:.4f} chosen on the site's films (sensitivity "
                f"{m.point.sensitivity.value:.3f}, specificity {m.point.specificity.value:.3f})")

    def save_profile(self, site: str, recalibrate: bool = False) -> Path | None:
        """Write a site profile of the model that was validated (not of whichever model is
        active now) with the current operating point."""
        from core.model.calibration import fit_platt
        from core.model.disk import make_profile, profile_path, save_profile

        a, m = self.analysis, self.metrics
        if a is None or m is None or self.run_model_path is None:
            return None
        try:
            card = make_profile(self.run_model_path, site, m.point.threshold,
                                provenance(a, m, self._rule()),
                                fit_platt(a.y, a.p) if recalibrate else None)
            # the films validated here become the site check's reference for this profile
            ref = a.run.site.as_reference(f"site profile {site.strip()}") if a.run.site else None
            path = save_profile(card, profile_path(self.library.profiles_dir, site), ref)
        except Exception as exc:  # a disk or model problem: say it, keep the results
            self.message.emit(translate("ValidateTab", "Could not save the profile: {0}")
                              .format(exc), "error")
            return None
        self.message.emit(translate(
            "ValidateTab", "Saved site profile “{0}” (threshold {1}). Press Use to classify "
            "with it.").format(card.name, number(card.threshold, 4)), "ok")
        self.profilesChanged.emit()
        self.profileSaved.emit(str(path))
        return path

    def use_profile(self, path: str) -> None:
        """Classify with the profile (or model) at ``path`` from now on."""
        entry = self.library.entry(path)
        if not entry.usable:
            self.message.emit(translate("ValidateTab", "Cannot use {0}: {1}")
                              .format(entry.name, core_text(entry.problem)), "error")
            return
        self.library.set_active(path)
        self.message.emit(translate("ValidateTab", "Classifying with “{0}” from now on.")
                          .format(entry.name), "ok")
        self.model_activated.emit(str(path))

    def remove_profile(self, path: str) -> None:
        from core.model.disk import remove_profile

        if self.model_path is not None and Path(path) == self.model_path:
            self.message.emit(translate("ValidateTab", "This profile is in use: choose another "
                                        "model or profile first."), "warning")
            return
        remove_profile(path)
        self.profilesChanged.emit()

    # ---------------------------------------------------------------- report & adapt
    def write_report(self, path: str | Path) -> Path | None:
        """The PDF report of the results shown; None when there are none. Raises OSError
        when it cannot be written (the previous file, if any, is left as it was)."""
        from gui.pages.validate.report import write_report

        a, m = self.analysis, self.metrics
        if a is None or m is None or self.run_card is None:
            return None
        out = write_report(path, a, m, self.run_card, self.run_model_path or "")
        self.message.emit(translate("ValidateTab", "Wrote the report to {0}.").format(out), "ok")
        self.reportWritten.emit(str(out))
        return out

    def request_fine_tune(self) -> None:
        if self.labelled is None or self.run_model_path is None:
            return
        self.fineTuneRequested.emit(str(self.labelled.root), self.labelled.positive,
                                    str(self.run_model_path))
