"""The Train page: ``install`` adds it to the main window."""

from gui.pages.train.page import TrainingTab, install

__all__ = ["TrainingTab", "install"]
