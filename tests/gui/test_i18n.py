"""The window in Spanish and English: every text through Qt's translation, the Linguist file
complete and compiled, the language chosen at start-up, numbers in the locale's form.

The message sets are compared with what ``pyside6-lupdate`` extracts from the sources now, so
a new user-visible string that is not in ``gui/i18n/covidcxr_es.ts`` fails here; a text given
to a Qt widget without ``translate`` fails :func:`test_no_widget_text_bypasses_translation`.
"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication, QLocale, QSettings

from gui import i18n
from gui.i18n.core_text import FIELDS, LABELS, SENTENCES, core_text

REPO = Path(__file__).resolve().parents[2]
GUI = REPO / "gui"
TS = GUI / "i18n" / "covidcxr_es.ts"
QM = GUI / "i18n" / "covidcxr_es.qm"
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} (PySide6-Essentials) is not installed")
    return found


def _messages(ts: Path) -> dict[tuple[str, str], ET.Element]:
    root = ET.parse(ts).getroot()
    return {(c.findtext("name") or "", m.findtext("source") or ""): m
            for c in root.iter("context") for m in c.iter("message")}


def _sources() -> list[str]:
    return sorted(str(p) for p in GUI.rglob("*.py") if "__pycache__" not in p.parts)


def test_ts_holds_exactly_the_messages_of_the_sources(tmp_path):
    fresh = tmp_path / "fresh.ts"
    subprocess.run([_tool("pyside6-lupdate"), *_sources(), "-ts", str(fresh), "-no-obsolete",
                    "-locations", "none"], check=True, capture_output=True, timeout=300)
    now, kept = set(_messages(fresh)), set(_messages(TS))
    assert not now - kept, (
        "texts in the window that gui/i18n/covidcxr_es.ts lacks (run pyside6-lupdate, "
        f"translate them, run pyside6-lrelease): {sorted(now - kept)[:20]}")
    assert not kept - now, f"obsolete messages in the .ts: {sorted(kept - now)[:20]}"
    assert ("", "") not in now and all(ctx for ctx, _ in now), "a message without a context"


def test_every_message_is_translated_with_the_same_placeholders():
    messages = _messages(TS)
    assert len(messages) > 500
    for (ctx, source), m in messages.items():
        tr = m.find("translation")
        assert tr is not None and tr.get("type") is None, f"unfinished: {ctx}: {source}"
        text = tr.text or ""
        assert text.strip(), f"empty translation: {ctx}: {source}"
        braces = re.compile(r"\{[^}]*\}")
        assert sorted(braces.findall(text)) == sorted(braces.findall(source)), (ctx, source)
        for tag in ("<b>", "</b>", "<br>", "\n", "&"):
            assert (tag in text) == (tag in source) or tag == "&" and "&" in source, (
                ctx, source, tag)


def test_committed_qm_is_the_compiled_ts(tmp_path):
    out = tmp_path / "es.qm"
    subprocess.run([_tool("pyside6-lrelease"), str(TS), "-qm", str(out)], check=True,
                   capture_output=True, timeout=120)
    assert out.read_bytes() == QM.read_bytes(), (
        "gui/i18n/covidcxr_es.qm is stale: run pyside6-lrelease gui/i18n/covidcxr_es.ts")


def test_core_words_the_window_translates_are_still_cores():
    from core.answers.evidence import LOW_EVIDENCE_MESSAGE
    from core.answers.gradcam import HEATMAP_NOTE
    from core.answers.inference import FEATURELESS, INDETERMINATE_MESSAGE
    from core.model.card import INDETERMINATE, INTENDED_USE, NEGATIVE, NOT_ASSESSED, POSITIVE
    from core.model.ood import OOD_MESSAGE, UNUSUAL_MESSAGE

    assert set(LABELS) == {POSITIVE, NEGATIVE, NOT_ASSESSED, INDETERMINATE}
    for sentence in (INTENDED_USE, HEATMAP_NOTE, FEATURELESS, INDETERMINATE_MESSAGE,
                     OOD_MESSAGE, UNUSUAL_MESSAGE, LOW_EVIDENCE_MESSAGE):
        assert sentence in SENTENCES, f"core's wording changed: update core_text: {sentence}"
    from core.model.frontal import REASONS

    for reason in REASONS.values():
        assert reason in SENTENCES, f"core's wording changed: update core_text: {reason}"
    from core.files.reader import describe
    from core.files.xray import ImageInfo

    info = ImageInfo("x.png", "PNG", 8, 8, 8, "L", 10)
    assert set(describe(info)) <= set(FIELDS)


# Qt calls whose first (or given) argument is text a person reads.
_TEXT_CALLS = {
    "QLabel": 0, "QPushButton": 0, "QCheckBox": 0, "QGroupBox": 0, "QAction": 0,
    "QRadioButton": 0, "setText": 0, "setToolTip": 0, "setPlaceholderText": 0,
    "setWindowTitle": 0, "setStatusTip": 0, "setTitle": 0, "addMenu": 0, "showMessage": 0,
    "addTab": 1, "setTabText": 1, "set_banner": 1, "addRow": 0, "addItem": 0,
    "information": 2, "warning": 2, "critical": 2, "question": 2,
}


def _has_words(node: ast.AST) -> bool:
    """A string literal (or f-string, or concatenation of them) with a word in it: HTML tags
    and all-capital acronyms (ROC, AUC, COVID) are the same in every language."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(re.search(r"[a-z]{2,}", re.sub(r"<[^>]*>", "", node.value)))
    if isinstance(node, ast.JoinedStr):
        return any(_has_words(v) for v in node.values)
    if isinstance(node, ast.BinOp):
        return _has_words(node.left) or _has_words(node.right)
    return False


def test_no_widget_text_bypasses_translation():
    """A literal handed straight to a widget would show in English in every language."""
    offenders = []
    for path in _sources():
        tree = ast.parse(Path(path).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.attr if isinstance(node.func, ast.Attribute) else \
                node.func.id if isinstance(node.func, ast.Name) else ""
            if name == "translate" and len(node.args) >= 2 and isinstance(
                    node.args[1], ast.JoinedStr):
                offenders.append(f"{path}:{node.lineno}: f-string inside translate()")
            index = _TEXT_CALLS.get(name)
            if index is None or len(node.args) <= index:
                continue
            if _has_words(node.args[index]):
                offenders.append(f"{path}:{node.lineno}: {name}({ast.unparse(node.args[index])})")
    assert not offenders, "untranslated widget text:\n" + "\n".join(offenders)


@pytest.fixture
def spanish(qapp, tmp_path):
    """The window's translations in Spanish, as at a start with View > Language: Español;
    English again afterwards."""
    settings = QSettings(str(tmp_path / "lang.ini"), QSettings.Format.IniFormat)
    i18n.choose(settings, i18n.SPANISH)
    assert i18n.install(qapp, settings, QLocale(QLocale.Language.English)) == "es"
    yield settings
    i18n.choose(settings, i18n.ENGLISH)
    i18n.install(qapp, settings, QLocale(QLocale.Language.English))
    QLocale.setDefault(QLocale.c())


def test_spanish_window_numbers_and_core_words(spanish, make_window, gui_settings):
    assert i18n.language() == "es"
    assert i18n.number(0.4126, 3) == "0,413"
    assert i18n.integer(12345) == "12.345"
    assert core_text("NOT ASSESSED") == "NO EVALUADA"
    assert core_text("does not look like a frontal chest X-ray (only one lung field found)") \
        == "no parece una radiografía frontal de tórax (solo se encontró un campo pulmonar)"
    assert core_text("one lung field is too small (3.1% of the image)") == \
        "un campo pulmonar es demasiado pequeño (3.1% de la imagen)"
    assert core_text("a message core has never said") == "a message core has never said"
    window = make_window()
    menus = [a.text() for a in window.menuBar().actions()]
    assert menus == ["&Archivo", "&Ver", "Ay&uda"]
    assert window.classify.export_dicom_action.text() == "Exportar resultados &DICOM…"
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == ["Clasificar"]
    assert "solo para investigación" in window.windowTitle()
    # Qt's own buttons come from Qt's Spanish catalogue.
    assert QCoreApplication.translate("QPlatformTheme", "Cancel") == "Cancelar"


def test_language_menu_keeps_the_choice_for_the_next_start(make_window, gui_settings, qapp):
    window = make_window()
    actions = window.language_actions
    assert actions[i18n.SYSTEM].isChecked()
    actions[i18n.SPANISH].trigger()
    assert gui_settings.language == "es"
    assert "starts again" in window.statusBar().currentMessage()
    # The next start speaks Spanish whatever the system's language...
    assert i18n.locale_for(gui_settings.language, QLocale("en_US")).name() == "es_ES"
    # ...keeps the system's own Spanish formats when it speaks Spanish...
    assert i18n.locale_for(i18n.SPANISH, QLocale("es_MX")).name() == "es_MX"
    # ...and "System" follows the system.
    assert i18n.locale_for(i18n.SYSTEM, QLocale("es_AR")).name() == "es_AR"
    actions[i18n.ENGLISH].trigger()
    assert gui_settings.language == "en"


def test_system_language_spanish_loads_the_translation(qapp, tmp_path):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    try:
        assert i18n.install(qapp, settings, QLocale("es_ES")) == "es"
        assert QCoreApplication.translate("MainWindow", "&File") == "&Archivo"
        assert i18n.install(qapp, settings, QLocale("de_DE")) == "en"  # no German: English
        assert QCoreApplication.translate("MainWindow", "&File") == "&File"
    finally:
        i18n.install(qapp, settings, QLocale(QLocale.Language.English))
        QLocale.setDefault(QLocale.c())
