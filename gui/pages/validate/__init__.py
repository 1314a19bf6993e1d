"""The Validate page: ``install`` adds it to the main window."""

from __future__ import annotations

from typing import Any

from gui.i18n import translate
from gui.pages.validate.page import ValidateTab
from gui.services.model_library import ModelLibrary

__all__ = ["ValidateTab", "install"]


def install(window: Any, library: ModelLibrary) -> ValidateTab:
    """Add the Validate page to the main window (built when first shown): it measures the
    model the classify page uses, and a profile it activates is loaded there. The shell
    connects its ``fineTuneRequested`` to the Train page."""
    classify = window.classify
    tab = ValidateTab(library, window.workers, classify.model, classify.model_path, lazy=True,
                      parent=window)
    window.add_tab(tab, translate("ValidateTab", "Validate"))
    classify.modelChanged.connect(lambda model: tab.session.set_model(model, classify.model_path))
    tab.session.model_activated.connect(classify.set_model_path)

    def validate_here(folder: str) -> None:  # the site check's "Validate on these films…"
        window.tabs.setCurrentWidget(tab)
        if folder:
            tab.set_folder(folder)

    classify.validateRequested.connect(validate_here)
    return tab
