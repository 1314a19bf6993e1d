"""What the window remembers between runs, stored with QSettings.

One typed wrapper so keys are spelled once. Tests pass their own ``QSettings`` (an INI file
in a temporary folder) so they never touch the user's settings.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from gui.i18n import choose, chosen

ORGANIZATION = "CovidCXR"
APPLICATION = "CovidCXR"


def default_qsettings() -> QSettings:
    return QSettings(ORGANIZATION, APPLICATION)


class Settings:
    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.q = qsettings if qsettings is not None else default_qsettings()

    def _bytes(self, key: str) -> QByteArray | None:
        value = self.q.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    # Window layout -------------------------------------------------------------------
    def geometry(self) -> QByteArray | None:
        return self._bytes("window/geometry")

    def window_state(self) -> QByteArray | None:
        return self._bytes("window/state")

    def splitter(self, name: str) -> QByteArray | None:
        return self._bytes(f"window/splitter_{name}")

    def save_window(self, geometry: QByteArray, state: QByteArray,
                    splitters: dict[str, QByteArray]) -> None:
        self.q.setValue("window/geometry", geometry)
        self.q.setValue("window/state", state)
        for name, value in splitters.items():
            self.q.setValue(f"window/splitter_{name}", value)

    # Files ---------------------------------------------------------------------------
    @property
    def last_folder(self) -> str:
        folder = str(self.q.value("files/last_folder", "") or "")
        return folder if folder and Path(folder).is_dir() else str(Path.home())

    @last_folder.setter
    def last_folder(self, folder: str) -> None:
        self.q.setValue("files/last_folder", folder)

    # Viewer --------------------------------------------------------------------------
    @property
    def overlay_opacity(self) -> float:
        try:
            value = float(self.q.value("viewer/overlay_opacity", 0.5))
        except (TypeError, ValueError):
            return 0.5
        return min(max(value, 0.0), 1.0)

    @overlay_opacity.setter
    def overlay_opacity(self, value: float) -> None:
        self.q.setValue("viewer/overlay_opacity", float(value))

    # Notices -------------------------------------------------------------------------
    @property
    def notice_acknowledged(self) -> bool:
        value = self.q.value("notice/research_use_acknowledged", False)
        return value in (True, "true", "1", 1)

    @notice_acknowledged.setter
    def notice_acknowledged(self, value: bool) -> None:
        self.q.setValue("notice/research_use_acknowledged", bool(value))

    # Language ------------------------------------------------------------------------
    @property
    def language(self) -> str:
        """View > Language: "" (the system's), "en" or "es" (``gui.i18n``)."""
        return chosen(self.q)

    @language.setter
    def language(self, value: str) -> None:
        choose(self.q, value)

    def sync(self) -> None:
        self.q.sync()
