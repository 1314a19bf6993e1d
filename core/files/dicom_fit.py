"""A film's header values made to fit their value representations before they are copied.

Headers in the wild break the rules of PS3.5 6.2: an 83-byte patient name where a component
group holds 64, a date written 2020-03-01, a lower-case code string. An object that copies
them (a DICOM result in the film's study copies its patient and study modules) inherits the
errors, and a validator or a PACS refuses it. :func:`fit_header` shortens, rewrites or clears
each such value in place and says what it changed, so that the result can say so too.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from typing import Any

import pydicom
from pydicom.charset import convert_encodings, encode_string
from pydicom.multival import MultiValue
from pydicom.valuerep import format_number_as_ds

#: Most characters in one value (PN: in one component group), PS3.5 Table 6.2-1. Counted
#: as characters and as bytes in the header's character set, so that a checker counting
#: either way agrees.
MAX_LENGTH = {"AE": 16, "CS": 16, "LO": 64, "LT": 10240, "PN": 64, "SH": 16, "ST": 1024}

#: The value representations looked at; the others (binary, numbers, UIDs) are left alone.
_FITTED = frozenset({*MAX_LENGTH, "DA", "TM", "DS", "IS", "AS"})

#: Elements whose code strings are an enumerated list (PS3.3), with the spelled-out words
#: films write instead; any other value is cleared (both are Type 2 where results copy them).
_ENUMERATED = {
    "PatientSex": {"M": "M", "F": "F", "O": "O", "MALE": "M", "FEMALE": "F", "OTHER": "O"},
    "Laterality": {"R": "R", "L": "L", "RIGHT": "R", "LEFT": "L"},
}

#: Never changed: the character set decides how every other value reads.
_LEFT_ALONE = frozenset({"SpecificCharacterSet"})

# Control characters a value may not hold (ESC starts an ISO 2022 code extension); LT and
# ST texts may also hold TAB, LF, FF and CR.
_CONTROL = re.compile("[\x00-\x1a\x1c-\x1f\x7f]")
_TEXT_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")
_CS_OUTSIDE = re.compile("[^A-Z0-9 _]")
_DATE_SEPARATED = re.compile(r"(\d{4})[-./](\d{2})[-./](\d{2})")
_TIME = re.compile(r"(\d{2})(?:(\d{2})(?:(\d{2})(?:\.(\d+))?)?)?")
_DS = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_AS = re.compile(r"\d{3}[DWMY]")
_AGE_LOOSE = re.compile(r"0*(\d{1,3}) ?([DWMY])")


def fit_header(ds: pydicom.Dataset) -> list[str]:
    """Make every value of ``ds`` (inside sequences too) fit its value representation, in
    place; one line per element changed, naming it and what was done (never its value)."""
    notes: list[str] = []
    _fit(ds, convert_encodings(ds.get("SpecificCharacterSet") or "ISO_IR 6"), "", notes)
    return notes


def _fit(ds: pydicom.Dataset, encodings: list[str], prefix: str, notes: list[str]) -> None:
    for elem in ds:
        name = prefix + (elem.keyword or str(elem.tag))
        if elem.VR == "SQ":
            for i, item in enumerate(elem.value or ()):
                _fit(item, encodings, f"{name}[{i + 1}] > ", notes)
            continue
        if elem.VR not in _FITTED or elem.keyword in _LEFT_ALONE or elem.value in (None, ""):
            continue
        multi = isinstance(elem.value, (list, tuple, MultiValue))
        values = list(elem.value) if multi else [elem.value]
        fitted, whys = [], []
        for value in values:
            new, why = _fit_value(elem.VR, value, encodings)
            if elem.keyword in _ENUMERATED and new:
                new, why = _fit_enumerated(elem.keyword, new, why)
            fitted.append(new)
            if why and why not in whys:
                whys.append(why)
        if whys:
            elem.value = fitted if multi else fitted[0]
            notes.append(f"{name}: {'; '.join(whys)}")


def _fit_value(vr: str, value: Any, encodings: list[str]) -> tuple[Any, str]:
    """``value`` fitted to ``vr`` and why it changed ("" when it did not)."""
    if vr == "PN":
        return _fit_name(str(value), encodings)
    if vr in MAX_LENGTH:
        return _fit_text(vr, str(value), encodings)
    if vr == "DA":
        return _fit_date(str(value).strip())
    if vr == "TM":
        return _fit_time(str(value).strip())
    if vr == "DS":
        return _fit_decimal(value)
    if vr == "IS":
        return _fit_integer(value)
    if vr == "AS":
        return _fit_age(str(value).strip())
    return value, ""


def _fit_text(vr: str, text: str, encodings: list[str]) -> tuple[str, str]:
    whys = []
    clean = (_TEXT_CONTROL if vr in ("LT", "ST") else _CONTROL).sub("", text)
    if clean != text:
        whys.append("control characters removed")
    if vr == "CS":
        upper = _CS_OUTSIDE.sub("_", clean.upper())
        if upper != clean:
            whys.append("written in capitals, digits, space and underscore (CS)")
        clean = upper
    short = clean
    if _too_long(clean, MAX_LENGTH[vr], encodings):
        short = _shorten(clean, MAX_LENGTH[vr], encodings)
        whys.append(f"shortened from {_length(clean, encodings)} to {len(short)} characters "
                    f"(limit {MAX_LENGTH[vr]} for {vr})")
    return short, "; ".join(whys)


def _fit_name(text: str, encodings: list[str]) -> tuple[str, str]:
    """A person name: each of its (up to three) component groups fitted on its own."""
    whys = []
    clean = _CONTROL.sub("", text)
    if clean != text:
        whys.append("control characters removed")
    groups = clean.split("=")
    short = [_shorten(g, MAX_LENGTH["PN"], encodings).rstrip("^ ") if
             _too_long(g, MAX_LENGTH["PN"], encodings) else g for g in groups]
    if short != groups:
        longest = max(_length(g, encodings) for g in groups)
        whys.append(f"shortened from {longest} to at most {MAX_LENGTH['PN']} characters "
                    "(limit 64 per component group for PN)")
    return "=".join(short).rstrip("="), "; ".join(whys)


def _fit_enumerated(keyword: str, value: str, why: str) -> tuple[str, str]:
    allowed = _ENUMERATED[keyword]
    known = allowed.get(value.strip())
    if known == value:
        return value, why
    if known:
        return known, f"written as {known} (its enumerated values)"
    listed = ", ".join(sorted(set(allowed.values())))
    return "", f"not one of {listed}: left empty"


def _fit_date(text: str) -> tuple[str, str]:
    if len(text) == 8 and text.isdigit() and _is_date(text):
        return text, ""
    m = _DATE_SEPARATED.fullmatch(text)
    if m and _is_date("".join(m.groups())):
        return "".join(m.groups()), "rewritten as YYYYMMDD (DA)"
    return "", "not a date (DA): left empty"


def _is_date(digits: str) -> bool:
    try:
        _dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return False
    return True


def _fit_time(text: str) -> tuple[str, str]:
    bare = text.replace(":", "")
    m = _TIME.fullmatch(bare)
    if not m or int(m[1]) > 23 or (m[2] and int(m[2]) > 59) or (m[3] and int(m[3]) > 60):
        return "", "not a time (TM): left empty"
    fitted = "".join(p for p in m.groups()[:3] if p) + (f".{m[4][:6]}" if m[4] else "")
    if fitted == text:
        return text, ""
    return fitted, "rewritten as HHMMSS.FFFFFF (TM)"


def _fit_age(text: str) -> tuple[str, str]:
    if _AS.fullmatch(text):
        return text, ""
    m = _AGE_LOOSE.fullmatch(text.upper())
    if m:
        return f"{int(m[1]):03d}{m[2]}", "written as nnnD/W/M/Y (AS)"
    return "", "not an age (AS): left empty"


def _fit_decimal(value: Any) -> tuple[Any, str]:
    text = str(value).strip()
    if len(text) <= 16 and _DS.fullmatch(text):
        return value, ""
    try:
        number = float(text)
    except ValueError:
        return "", "not a decimal number (DS): left empty"
    if not math.isfinite(number):
        return "", "not a finite number (DS): left empty"
    return format_number_as_ds(number), "written in at most 16 characters (DS)"


def _fit_integer(value: Any) -> tuple[Any, str]:
    text = str(value).strip()
    try:
        number = int(text)
    except ValueError:
        return "", "not a whole number (IS): left empty"
    if len(text) > 12 or not -(2**31) <= number < 2**31:
        return "", "out of range for IS: left empty"
    return value, ""


def _length(text: str, encodings: list[str]) -> int:
    """How long ``text`` counts: in characters, or in bytes when more."""
    try:
        size = len(encode_string(text, encodings))
    except Exception:  # not encodable in the declared set: the writer's own problem
        size = len(text.encode("utf-8"))
    return max(len(text), size)


def _too_long(text: str, limit: int, encodings: list[str]) -> bool:
    return _length(text, encodings) > limit


def _shorten(text: str, limit: int, encodings: list[str]) -> str:
    """``text`` cut at the end until it fits ``limit`` characters and bytes."""
    text = text[:limit]
    while text and _too_long(text, limit, encodings):
        text = text[:-1]
    return text.rstrip(" ")
