"""The one look for a page's news line: info, ok, warning or error (never a traceback)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel

COLORS = {
    "info": ("palette(window-text)", "transparent"),
    "ok": ("#0b5d1e", "#e3f4e6"),
    "warning": ("#6b4a00", "#fff4d6"),
    "error": ("#8a1010", "#fde4e4"),
}


def set_banner(label: QLabel, text: str, level: str = "info") -> None:
    fg, bg = COLORS.get(level, COLORS["info"])
    label.setStyleSheet(f"QLabel {{ color: {fg}; background: {bg}; "
                        "border-radius: 4px; padding: 6px; }")
    label.setText(text)
    label.setProperty("level", level)
