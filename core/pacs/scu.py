"""Our end of a call to a PACS: verify (C-ECHO), send results (C-STORE), find studies
(C-FIND) and retrieve their films (C-GET, or C-MOVE back to us).

Every function opens its own association and closes it; a network failure is a
:class:`PacsError` (the whole call) or a per-object status (one object), never a hang:
pynetdicom's timeouts bound every wait. Long calls take ``on_progress(done, total,
message)`` and ``should_stop()`` like the rest of core.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.files.atomic import atomic_path
from core.pacs.dimse import (
    FILM_CLASSES,
    FILM_SYNTAXES,
    PENDING,
    STUDY_FIND,
    STUDY_GET,
    STUDY_MOVE,
    SUCCESS,
    VERIFICATION,
    WARNINGS,
    safe_uid,
    status_text,
    tls_context,
)
from core.pacs.settings import NodeSettings, PacsError, Peer

log = logging.getLogger("covidcxr.pacs")

ProgressFn = Callable[[int, int, str], None]
StopFn = Callable[[], bool]

#: Seconds to wait for a peer to answer at each step; a PACS that goes away costs this.
TIMEOUT = 30.0
#: Study-level C-FIND: the modalities of a chest film.
FILM_MODALITIES = ("CR", "DX")


def _ae(settings: NodeSettings) -> Any:
    from pynetdicom import AE

    ae = AE(ae_title=settings.ae_title)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT
    ae.connection_timeout = 10.0
    return ae


def _associate(ae: Any, peer: Peer, settings: NodeSettings, **kwargs: Any) -> Any:
    ctx = tls_context(settings, server=False)
    assoc = ae.associate(peer.host, peer.port, ae_title=peer.ae_title,
                         tls_args=(ctx, "") if ctx is not None else None, **kwargs)
    if assoc.is_established:
        return assoc
    if assoc.is_rejected:
        why = "it rejected the association (is our AE title on its list of known nodes?)"
    elif assoc.is_aborted:
        why = "it aborted the association"
    else:
        why = "no answer (is the address right, and is it running?)"
    raise PacsError(f"cannot reach {peer}: {why}")


def echo(peer: Peer, settings: NodeSettings) -> float:
    """C-ECHO ``peer``; the round trip in seconds, or :class:`PacsError`."""
    import time

    ae = _ae(settings)
    ae.add_requested_context(VERIFICATION)
    t0 = time.monotonic()
    assoc = _associate(ae, peer, settings)
    try:
        status = assoc.send_c_echo()
    finally:
        assoc.release()
    if not status or status.Status != SUCCESS:
        raise PacsError(f"{peer} did not answer the echo")
    return time.monotonic() - t0


# ----------------------------------------------------------------------------- C-STORE
@dataclass(frozen=True)
class Sent:
    """What became of one object we sent."""

    path: str
    sop_instance_uid: str
    ok: bool
    #: The status word as the standard names it, or what stopped the send.
    status: str
    message: str = ""


@dataclass
class SendReport:
    """Every object of one send, in order."""

    peer: str
    objects: list[Sent] = field(default_factory=list)

    @property
    def sent(self) -> list[Sent]:
        return [o for o in self.objects if o.ok]

    @property
    def failed(self) -> list[Sent]:
        return [o for o in self.objects if not o.ok]

    def describe(self) -> str:
        line = f"{len(self.sent)} of {len(self.objects)} objects sent to {self.peer}"
        return line + (f"; {len(self.failed)} failed" if self.failed else "")


def _header(path: Path) -> tuple[str, str, str]:
    """(SOP Class UID, SOP Instance UID, transfer syntax) of a DICOM file, from its meta."""
    import pydicom

    ds = pydicom.dcmread(path, stop_before_pixels=True)
    return (str(ds.SOPClassUID), str(ds.SOPInstanceUID),
            str(ds.file_meta.TransferSyntaxUID))


def send(paths: Iterable[str | os.PathLike[str]], peer: Peer, settings: NodeSettings, *,
         on_progress: ProgressFn | None = None, should_stop: StopFn | None = None
         ) -> SendReport:
    """C-STORE each file to ``peer`` on one association; a status per object.

    A file that cannot be read, a refusal by the peer, or an association that breaks
    (the PACS goes away) costs the objects it touches, each reported with the reason; the
    files themselves are never moved or removed, so a failed send can be retried."""
    files = [Path(p) for p in paths]
    report = SendReport(str(peer))
    headers: dict[Path, tuple[str, str, str]] = {}
    for f in files:
        try:
            headers[f] = _header(f)
        except Exception as exc:  # not DICOM, truncated: this object only
            report.objects.append(Sent(str(f), "", False, "unreadable", str(exc)))
    wanted = sorted({(c, ts) for c, _, ts in headers.values()})
    if not wanted:
        return report
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

    ae = _ae(settings)
    for sop_class in sorted({c for c, _ in wanted}):
        syntaxes = sorted({ts for c, ts in wanted if c == sop_class}
                          | {ExplicitVRLittleEndian, ImplicitVRLittleEndian})
        ae.add_requested_context(sop_class, syntaxes)
    todo = [f for f in files if f in headers]
    assoc: Any = None
    try:
        for i, f in enumerate(todo):
            if should_stop and should_stop():
                break
            sop_class, uid, _ = headers[f]
            if on_progress:
                on_progress(i, len(todo), f.name)
            if assoc is None or not assoc.is_established:
                try:
                    assoc = _associate(ae, peer, settings)
                except PacsError as exc:
                    # The peer is gone: every object left costs the same reason.
                    for g in todo[i:]:
                        report.objects.append(Sent(str(g), headers[g][1], False,
                                                   "not sent", str(exc)))
                    break
            report.objects.append(_store_one(assoc, f, uid))
        if on_progress:
            on_progress(len(todo), len(todo), "")
    finally:
        if assoc is not None and assoc.is_established:
            assoc.release()
    return report


def _store_one(assoc: Any, path: Path, uid: str) -> Sent:
    try:
        status = assoc.send_c_store(path)
    except Exception as exc:  # no accepted context for this class, a file gone
        return Sent(str(path), uid, False, "not sent", str(exc))
    if not status or "Status" not in status:
        why = "the association broke before the peer answered"
        return Sent(str(path), uid, False, "no answer", why)
    code = int(status.Status)
    comment = str(status.get("ErrorComment", "") or "")
    ok = code == SUCCESS or code in WARNINGS
    return Sent(str(path), uid, ok, status_text(code), comment)


# ----------------------------------------------------------------------------- C-FIND
@dataclass(frozen=True)
class StudyQuery:
    """What the PACS dialog asks: any field left empty matches everything. Names take
    DICOM wildcards (``*``, ``?``); dates are YYYYMMDD."""

    patient_name: str = ""
    patient_id: str = ""
    date_from: str = ""
    date_to: str = ""
    modalities: tuple[str, ...] = FILM_MODALITIES
    accession_number: str = ""

    def date_range(self) -> str:
        if not self.date_from and not self.date_to:
            return ""
        if self.date_from == self.date_to:
            return self.date_from
        return f"{self.date_from}-{self.date_to}"


@dataclass(frozen=True)
class Study:
    """One study a PACS found."""

    study_instance_uid: str
    patient_name: str
    patient_id: str
    study_date: str
    description: str
    modalities: tuple[str, ...]
    accession_number: str
    instances: int | None


def _text(ds: Any, name: str) -> str:
    value = ds.get(name, "")
    return "" if value is None else str(value)


def _study_from(ds: Any) -> Study:
    mods = ds.get("ModalitiesInStudy", "") or ""
    modalities = tuple(str(m) for m in (mods if not isinstance(mods, str) else [mods]) if m)
    count = ds.get("NumberOfStudyRelatedInstances", None)
    try:
        instances = int(count) if count not in (None, "") else None
    except (TypeError, ValueError):
        instances = None
    return Study(_text(ds, "StudyInstanceUID"), _text(ds, "PatientName"),
                 _text(ds, "PatientID"), _text(ds, "StudyDate"),
                 _text(ds, "StudyDescription"), modalities,
                 _text(ds, "AccessionNumber"), instances)


def find_studies(peer: Peer, settings: NodeSettings, query: StudyQuery,
                 should_stop: StopFn | None = None, limit: int = 500) -> list[Study]:
    """Study-root C-FIND on ``peer``: the studies matching ``query``, at most ``limit``."""
    from pydicom.dataset import Dataset

    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    ds.StudyInstanceUID = ""
    ds.PatientName = query.patient_name
    ds.PatientID = query.patient_id
    ds.StudyDate = query.date_range()
    ds.StudyDescription = ""
    ds.AccessionNumber = query.accession_number
    ds.ModalitiesInStudy = list(query.modalities) if query.modalities else ""
    ds.NumberOfStudyRelatedInstances = ""
    ae = _ae(settings)
    ae.add_requested_context(STUDY_FIND)
    assoc = _associate(ae, peer, settings)
    out: list[Study] = []
    try:
        for status, ident in assoc.send_c_find(ds, STUDY_FIND):
            if not status:
                raise PacsError(f"{peer} stopped answering the query")
            code = int(status.Status)
            if code in PENDING and ident is not None:
                out.append(_study_from(ident))
                if len(out) >= limit or (should_stop and should_stop()):
                    assoc.send_c_cancel(1, query_model=STUDY_FIND)
                    break
            elif code not in PENDING and code != SUCCESS:
                raise PacsError(f"{peer} refused the query: {status_text(code)}")
    finally:
        if assoc.is_established:
            assoc.release()
    return out


def film_series(peer: Peer, settings: NodeSettings, study_uid: str) -> list[str]:
    """The Series Instance UIDs of the CR and DX series of one study (C-FIND, series
    level): what a retrieve fetches, so a study's CT or our own results stay behind."""
    from pydicom.dataset import Dataset

    ae = _ae(settings)
    ae.add_requested_context(STUDY_FIND)
    assoc = _associate(ae, peer, settings)
    series: list[str] = []
    try:
        for modality in FILM_MODALITIES:
            ds = Dataset()
            ds.QueryRetrieveLevel = "SERIES"
            ds.StudyInstanceUID = study_uid
            ds.SeriesInstanceUID = ""
            ds.Modality = modality
            for status, ident in assoc.send_c_find(
                    ds, STUDY_FIND):
                if not status:
                    raise PacsError(f"{peer} stopped answering the query")
                if int(status.Status) in PENDING and ident is not None:
                    uid = safe_uid(ident.get("SeriesInstanceUID"))
                    if uid and uid not in series:
                        series.append(uid)
    finally:
        if assoc.is_established:
            assoc.release()
    return series


# ----------------------------------------------------------------------------- C-GET / C-MOVE
@dataclass
class Retrieved:
    """The films a retrieve brought, and what it could not."""

    files: list[Path] = field(default_factory=list)
    failed: int = 0
    messages: list[str] = field(default_factory=list)


def _save_film(ds: Any, folder: Path) -> Path | None:
    uid = safe_uid(ds.get("SOPInstanceUID"))
    if uid is None:
        return None
    target = folder / f"{uid}.dcm"
    with atomic_path(target) as tmp:
        ds.save_as(tmp, enforce_file_format=True)
    return target


class _Receiver:
    """The C-STORE handler of a retrieve: each film saved into the folder as it comes."""

    def __init__(self, folder: Path, on_progress: ProgressFn | None) -> None:
        self.folder, self.on_progress = folder, on_progress
        self.files: list[Path] = []
        self.lock = threading.Lock()

    def __call__(self, event: Any) -> int:
        from core.pacs.dimse import CANNOT_UNDERSTAND, OUT_OF_RESOURCES

        try:
            ds = event.dataset
            ds.file_meta = event.file_meta
        except Exception as exc:
            log.warning("retrieve: an object could not be decoded, skipped: %s", exc)
            return CANNOT_UNDERSTAND
        try:
            path = _save_film(ds, self.folder)
        except OSError as exc:
            log.error("retrieve: cannot save a film: %s", exc)
            return OUT_OF_RESOURCES
        if path is None:
            return CANNOT_UNDERSTAND
        with self.lock:
            self.files.append(path)
            n = len(self.files)
        if self.on_progress:
            self.on_progress(n, -1, path.name)
        return SUCCESS


def _storage_contexts(role: bool) -> tuple[list[Any], list[Any]]:
    from pynetdicom import build_context, build_role

    contexts = [build_context(c, list(FILM_SYNTAXES)) for c in FILM_CLASSES]
    roles = [build_role(c, scp_role=True) for c in FILM_CLASSES] if role else []
    return contexts, roles


def retrieve(peer: Peer, settings: NodeSettings, study_uid: str, folder: str | os.PathLike[str],
             *, method: str | None = None, on_progress: ProgressFn | None = None,
             should_stop: StopFn | None = None) -> Retrieved:
    """Fetch the CR and DX films of one study into ``folder``, named by SOP Instance UID.

    ``get`` (C-GET) brings them on our own association; ``move`` (C-MOVE) has the PACS
    send them to us: we listen on ``settings.host:port`` for the time it takes, and the
    PACS must know our AE title at that address."""
    from pydicom.dataset import Dataset
    from pynetdicom import evt

    uid = safe_uid(study_uid)
    if uid is None:
        raise PacsError(f"{study_uid!r} is not a Study Instance UID")
    method = method or settings.retrieve_method
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    receiver = _Receiver(folder, on_progress)
    result = Retrieved()
    series = film_series(peer, settings, uid)
    if not series:
        result.messages.append("the study holds no CR or DX series")
        return result
    ae = _ae(settings)
    handlers: list[Any] = [(evt.EVT_C_STORE, receiver)]
    server = None
    if method == "get":
        model = STUDY_GET
        ae.add_requested_context(model)
        contexts, roles = _storage_contexts(role=True)
        for c in contexts:
            ae.add_requested_context(c.abstract_syntax, c.transfer_syntax)
        assoc = _associate(ae, peer, settings, ext_neg=roles, evt_handlers=handlers)
    elif method == "move":
        model = STUDY_MOVE
        ae.add_requested_context(model)
        contexts, _ = _storage_contexts(role=False)
        ae.require_calling_aet = [peer.ae_title]
        ctx = tls_context(settings, server=True)
        try:
            server = ae.start_server((settings.host, settings.port), block=False,
                                     evt_handlers=handlers, contexts=contexts,
                                     ssl_context=ctx)
        except OSError as exc:
            raise PacsError(f"cannot listen on {settings.host}:{settings.port} for the "
                            f"C-MOVE: {exc.strerror or exc} (is `covidcxr listen` running "
                            "there? use C-GET, or stop it)") from None
        try:
            assoc = _associate(ae, peer, settings)
        except PacsError:
            server.shutdown()
            raise
    else:
        raise PacsError(f"retrieve method must be get or move, not {method!r}")
    try:
        for s in series:
            if should_stop and should_stop():
                break
            ds = Dataset()
            ds.QueryRetrieveLevel = "SERIES"
            ds.StudyInstanceUID = uid
            ds.SeriesInstanceUID = s
            replies = (assoc.send_c_get(ds, model) if method == "get"
                       else assoc.send_c_move(ds, settings.ae_title, model))
            for status, _ident in replies:
                if not status:
                    result.messages.append(f"{peer} stopped answering the retrieve")
                    break
                code = int(status.Status)
                if code not in PENDING:
                    failed = int(status.get("NumberOfFailedSubOperations", 0) or 0)
                    result.failed += failed
                    if code != SUCCESS:
                        result.messages.append(f"{peer} ended the retrieve with "
                                               f"{status_text(code)}")
    finally:
        if assoc.is_established:
            assoc.release()
        if server is not None:
            server.shutdown()
    result.files = sorted(receiver.files)
    return result
