"""The node's settings, in one place: our AE title, where we listen, who may call us, the
PACS we query and where results go. A small JSON file that ``covidcxr listen``, the
``covidcxr pacs`` commands and the window's PACS dialog all read (the window edits it), so
a PACS administrator configures one thing.

Safe defaults: we listen on 127.0.0.1 only, and no calling AE title is accepted until one
is listed.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from core.errors import CovidCXRError
from core.files.atomic import write_text_atomic

DEFAULT_AE_TITLE = "COVIDCXR"
DEFAULT_PORT = 11112
LOOPBACK = "127.0.0.1"
#: C-GET needs no port open on our side; C-MOVE has the PACS connect back to us.
RETRIEVE_METHODS = ("get", "move")
#: Header fields a log line may name when the administrator asks for them (``log_fields``);
#: by default a log line names a film by its SOP Instance UID only.
LOGGABLE_FIELDS = ("PatientID", "AccessionNumber", "StudyID", "StudyDate", "PatientName")

# PS3.5 6.2: an AE title is 1-16 characters of the default repertoire, no backslash or
# control character; leading and trailing spaces are not significant.
_AE_TITLE = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")


class PacsError(CovidCXRError):
    """A PACS setting that cannot be used, or a DICOM exchange that failed as a whole."""


def check_ae_title(title: str, what: str = "AE title") -> str:
    """``title`` stripped, or :class:`PacsError` saying why it is not an AE title."""
    t = title.strip()
    if not t or not _AE_TITLE.match(t):
        raise PacsError(f"{what} {title!r} is not a DICOM AE title (1 to 16 characters, "
                        "letters, digits, spaces or punctuation, no backslash)")
    return t


def check_port(port: int | str, what: str = "port") -> int:
    try:
        p = int(port)
    except (TypeError, ValueError):
        raise PacsError(f"{what} {port!r} is not a number") from None
    if not 1 <= p <= 65535:
        raise PacsError(f"{what} {p} is not between 1 and 65535")
    return p


@dataclass(frozen=True)
class Peer:
    """Another DICOM node: its AE title, host and port."""

    ae_title: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.ae_title}@{self.host}:{self.port}"


def parse_peer(text: str, what: str = "peer") -> Peer:
    """``"AE@HOST:PORT"`` -> :class:`Peer`; an IPv6 host goes in brackets (``AE@[::1]:104``)."""
    m = re.match(r"^(?P<ae>[^@]+)@(?P<host>\[[^\]]+\]|[^:]+):(?P<port>\d+)$", text.strip())
    if not m:
        raise PacsError(f"{what} {text!r} must look like AE@HOST:PORT (e.g. PACS@10.0.0.5:104)")
    host = m["host"].strip("[]")
    return Peer(check_ae_title(m["ae"], f"{what}'s AE title"), host,
                check_port(m["port"], f"{what}'s port"))


def parse_titles(text: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """``"A,B"`` (or a list) -> the AE titles, checked, in order, without repeats."""
    items = text.split(",") if isinstance(text, str) else list(text)
    out: list[str] = []
    for item in items:
        if item.strip():
            t = check_ae_title(item, "calling AE title")
            if t not in out:
                out.append(t)
    return tuple(out)


@dataclass(frozen=True)
class NodeSettings:
    """Everything the node needs to know about itself and its peers."""

    ae_title: str = DEFAULT_AE_TITLE
    #: Where ``listen`` (and a C-MOVE's incoming association) binds; loopback unless told.
    host: str = LOOPBACK
    port: int = DEFAULT_PORT
    #: Calling AE titles whose associations we accept; empty refuses everyone.
    allowed: tuple[str, ...] = ()
    #: The PACS the window and ``covidcxr pacs`` query and retrieve from.
    pacs: Peer | None = None
    #: Where results are sent; None sends them to ``pacs``.
    destination: Peer | None = None
    retrieve_method: str = "get"
    #: Header fields a log line may add to the SOP Instance UID (see LOGGABLE_FIELDS).
    log_fields: tuple[str, ...] = ()
    #: The node's working folder (received films, results on their way, sent results);
    #: empty: the user's data folder (:func:`default_spool`).
    spool: str = ""
    #: TLS (optional): our certificate and key, and the CA that signs our peers'.
    tls_cert: str = ""
    tls_key: str = ""
    tls_ca: str = ""
    #: Seconds between two tries of results that could not be sent.
    retry_seconds: float = 30.0
    extra: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def send_to(self) -> Peer | None:
        return self.destination or self.pacs

    @property
    def spool_path(self) -> Path:
        return Path(self.spool) if self.spool else default_spool()

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert or self.tls_key or self.tls_ca)

    def checked(self) -> NodeSettings:
        """These settings with every value checked (:class:`PacsError` on the first bad)."""
        if self.retrieve_method not in RETRIEVE_METHODS:
            raise PacsError(f"retrieve method must be one of {', '.join(RETRIEVE_METHODS)}, "
                            f"not {self.retrieve_method!r}")
        bad = [f for f in self.log_fields if f not in LOGGABLE_FIELDS]
        if bad:
            raise PacsError(f"log field {bad[0]!r} is not one of {', '.join(LOGGABLE_FIELDS)}")
        if self.tls and not (self.tls_cert and self.tls_key):
            raise PacsError("TLS needs both a certificate and its key")
        if not self.host.strip():
            raise PacsError("the address to listen on is empty")
        return replace(self, ae_title=check_ae_title(self.ae_title, "our AE title"),
                       port=check_port(self.port), allowed=parse_titles(self.allowed),
                       host=self.host.strip())

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("extra")
        for key in ("pacs", "destination"):
            peer = getattr(self, key)
            d[key] = str(peer) if peer else ""
        d["allowed"] = list(self.allowed)
        d["log_fields"] = list(self.log_fields)
        return {**self.extra, **d}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NodeSettings:
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        values: dict[str, Any] = {k: v for k, v in data.items() if k in known}
        for key in ("pacs", "destination"):
            text = values.get(key) or ""
            values[key] = parse_peer(text, key) if text else None
        values["allowed"] = parse_titles(values.get("allowed", ()))
        values["log_fields"] = tuple(values.get("log_fields", ()))
        extra = {k: v for k, v in data.items() if k not in known}
        return cls(**values, extra=extra).checked()


def _config_home() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or ""
    return Path(base) if base else Path.home() / ".config"


def _data_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or ""
    return Path(base) if base else Path.home() / ".local" / "share"


def settings_path() -> Path:
    """``$COVIDCXR_PACS_SETTINGS``, else ``$XDG_CONFIG_HOME/covidcxr/pacs.json``."""
    named = os.environ.get("COVIDCXR_PACS_SETTINGS")
    return Path(named) if named else _config_home() / "covidcxr" / "pacs.json"


def default_spool() -> Path:
    return _data_home() / "covidcxr" / "pacs"


def load_settings(path: str | os.PathLike[str] | None = None) -> NodeSettings:
    """The saved settings, or the defaults when none were saved."""
    p = Path(path) if path else settings_path()
    if not p.is_file():
        return NodeSettings()
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PacsError(f"cannot read the PACS settings {p}: {exc}") from None
    if not isinstance(data, dict):
        raise PacsError(f"the PACS settings {p} are not a JSON object")
    return NodeSettings.from_json(data)


def save_settings(settings: NodeSettings, path: str | os.PathLike[str] | None = None) -> Path:
    """Check and write ``settings`` atomically; returns the file."""
    p = Path(path) if path else settings_path()
    write_text_atomic(p, json.dumps(settings.checked().to_json(), indent=2) + "\n")
    return p
