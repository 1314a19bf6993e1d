"""A push button with its action and tooltip, in one call (the pages make many)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QPushButton


def push_button(text: str, clicked: Callable[..., Any] | None = None,
                tip: str = "") -> QPushButton:
    """A button labelled ``text`` that calls ``clicked`` and explains itself with ``tip``."""
    button = QPushButton(text)
    if tip:
        button.setToolTip(tip)
    if clicked is not None:
        button.clicked.connect(clicked)
    return button
