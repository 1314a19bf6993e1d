"""The window's language: Qt Linguist translations loaded at start-up, locale-aware numbers.

Every string the window shows goes through :func:`translate` (Qt's
``QCoreApplication.translate`` under the name ``lupdate`` looks for) with an explicit
context, never ``self.tr``: PySide's ``tr`` takes its context from the object's run-time
class, so a subclass would lose its base class's translations. ``covidcxr_es.ts`` holds the
Spanish text; ``pyside6-lrelease`` compiles it to the ``.qm`` beside it, which is committed
(the frozen app and a source checkout load the same file; tests/gui/test_i18n.py checks that
it matches the ``.ts`` and that the ``.ts`` holds every message of the sources).

The language is the system's unless View > Language chose one (kept in QSettings); it
applies at the next start. The command line, the CSV, the DICOM results and log messages
stay English: scripts and other sites read them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QCoreApplication,
    QDateTime,
    QLibraryInfo,
    QLocale,
    QSettings,
    Qt,
    QTranslator,
)

#: ``translate(context, text, disambiguation=None, n=-1)``; named so that lupdate finds it.
translate = QCoreApplication.translate

HERE = Path(__file__).resolve().parent
SETTING = "ui/language"
#: What View > Language offers: "" follows the system.
SYSTEM, ENGLISH, SPANISH = "", "en", "es"
LANGUAGES = (SYSTEM, ENGLISH, SPANISH)
#: Languages with a translation of the window (English is the source text).
TRANSLATED = (SPANISH,)


def chosen(settings: QSettings) -> str:
    """The language View > Language chose ("" for the system's)."""
    value = str(settings.value(SETTING, SYSTEM) or SYSTEM)
    return value if value in LANGUAGES else SYSTEM


def choose(settings: QSettings, language: str) -> None:
    settings.setValue(SETTING, language if language in LANGUAGES else SYSTEM)


def locale_for(language: str, system: QLocale | None = None) -> QLocale:
    """The locale numbers and dates follow: the system's when it speaks ``language`` (so
    es_MX keeps its own formats), else that language's main country."""
    system = system if system is not None else QLocale.system()
    if language == SYSTEM:
        return system
    wanted = QLocale(language)
    if system.language() == wanted.language():
        return system
    return wanted


_installed: list[QTranslator] = []


def install(app: QCoreApplication, settings: QSettings, system: QLocale | None = None) -> str:
    """Load the chosen language's translations into ``app`` and make its locale the
    default (for :func:`number` and Qt's own widgets); returns the language code used.

    Qt's own strings (dialog buttons, file dialogs) come from Qt's ``qtbase_xx.qm``."""
    locale = locale_for(chosen(settings), system)
    QLocale.setDefault(locale)
    code = QLocale.languageToCode(locale.language())
    while _installed:  # a second start in one process (tests) replaces the first's
        app.removeTranslator(_installed.pop())
    translators = _installed
    if code in TRANSLATED:
        for name, folders in ((f"covidcxr_{code}", [str(HERE)]),
                              (f"qtbase_{code}", _qt_translation_folders())):
            translator = QTranslator(app)
            if any(translator.load(name, folder) for folder in folders):
                app.installTranslator(translator)
                translators.append(translator)
    app.setProperty("covidcxr_language", code if translators else ENGLISH)
    return code if translators else ENGLISH


def _qt_translation_folders() -> list[str]:
    """Where Qt's own catalogues may be: where Qt says, and inside the PySide6 package (a
    frozen build keeps that layout, PySide6/Qt/translations, without Qt's path settings)."""
    import PySide6

    package = Path(PySide6.__file__).resolve().parent
    return [QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath),
            str(package / "Qt" / "translations"), str(package / "translations")]


def language() -> str:
    """The language the window speaks now ("en" until :func:`install` loaded another)."""
    app = QCoreApplication.instance()
    value = app.property("covidcxr_language") if app is not None else None
    return str(value) if value else ENGLISH


def number(value: float, decimals: int = 3) -> str:
    """``value`` with the locale's decimal separator (0,412 in Spanish)."""
    return QLocale().toString(float(value), "f", decimals)


def percent(fraction: float, decimals: int = 1) -> str:
    """A fraction as a percentage in the locale's style ("95.0 %" / "95,0 %")."""
    return f"{number(100.0 * float(fraction), decimals)} %"


def integer(value: int) -> str:
    """A count with the locale's digit grouping (12,345 / 12.345)."""
    return QLocale().toString(int(value))


def date_time(iso: str) -> str:
    """An ISO 8601 time stamp (from a model card) in the locale's short format, or the text
    as given when it is not one."""
    when = QDateTime.fromString(iso, Qt.DateFormat.ISODate)
    if not when.isValid():
        return iso
    return QLocale().toString(when.toLocalTime(), QLocale.FormatType.ShortFormat)


def interval_texts(iv: Any, digits: int = 3) -> tuple[str, str]:
    """A value with its 95 % interval (``core.evaluation.bootstrap.Interval``) as the
    validation page and report show it, ("0,952", "0,921 – 0,976") in Spanish: the locale's
    form of ``Interval.texts``."""
    if not math.isfinite(iv.value):
        return translate("Numbers", "n/a"), ""
    if not math.isfinite(iv.low):
        return number(iv.value, digits), ""
    return number(iv.value, digits), f"{number(iv.low, digits)} – {number(iv.high, digits)}"


def interval_text(iv: Any, digits: int = 3) -> str:
    """"0,952 (0,921 – 0,976)" in one cell or line."""
    value, span = interval_texts(iv, digits)
    return f"{value} ({span})" if span else value
