"""The Validate page's work on worker threads: read a labelled folder's labels, and
classify its films and analyse them (``core.evaluation.validation``)."""

from __future__ import annotations

from typing import Any

from core.evaluation.validation import SiteAnalysis, analyse, run_validation
from core.files.labelled import LabelledSet, open_labelled
from gui.i18n import translate
from gui.services.workers import Control


def scan_labels_job(control: Control, folder: str, labels_csv: str | None,
                    positive: str | None) -> LabelledSet:
    return open_labelled(folder, labels_csv, positive)


def validate_job(control: Control, model: Any, labelled: LabelledSet) -> SiteAnalysis | None:
    run = run_validation(model, labelled, on_progress=control.progress,
                         should_stop=control.should_stop)
    if run is None:
        return None
    control.progress(len(labelled.files), len(labelled.files),
                     translate("ValidateTab", "drawing the bootstrap…"))
    return analyse(run)
