"""A page of the main window whose widgets are built when it is first shown."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget


class LazyPage(QWidget):
    """Subclasses set their state, then call :meth:`ensure_built` unless lazy; ``build``
    makes the widgets (and may import pyqtgraph), so the window's start-up does not pay for
    a page the user may never open. ``self.layout()`` is an empty, margin-less column."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._built = False
        QVBoxLayout(self).setContentsMargins(0, 0, 0, 0)

    def build(self) -> None:
        raise NotImplementedError

    def ensure_built(self) -> None:
        if not self._built:
            self._built = True
            self.build()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        self.ensure_built()
        super().showEvent(event)
