"""The Storage SCP behind ``covidcxr listen``: films sent to us are classified as they
arrive, ``predicted.csv`` grows, and each film's SR and heat-map SC go back to a PACS.

A thin adapter over the engine the window and ``classify`` call: the association handler
only checks and saves what arrives; a classifier thread hands the films to
:func:`core.answers.inference.classify` (the frontal-film check, views, evidence, the site
check, as everywhere), writes the rows through the same :class:`~core.output.journal.Journal`
as ``classify --resume`` and the results through :class:`~core.output.dicom_results.ResultWriter`;
a sender thread files the results and retries what a PACS did not take.

The spool folder is the node's memory, so a kill loses nothing it acknowledged:

- ``films/``: every film we answered "stored" for, named by SOP Instance UID. A film with
  no row in the journal is classified at the next start; a film sent again (the sender
  retries after a kill) is classified once.
- ``outbox/``: results waiting to be sent; ``sent/``: results the destination took.
- ``rejected/``: what arrived but could not be decoded, kept for a look, with its error
  row in ``predicted.csv``.

Safety: the node listens where it is told (127.0.0.1 by default), accepts only the calling
AE titles on its list, only the film SOP classes (anything else is refused at
negotiation), and a log line names a film by its UID unless the administrator chose more.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import CovidCXRError
from core.files.atomic import atomic_path, fsync_dir
from core.pacs.dimse import (
    CANNOT_UNDERSTAND,
    FILM_CLASSES,
    FILM_SYNTAXES,
    OUT_OF_RESOURCES,
    SUCCESS,
    VERIFICATION,
    describe_film,
    safe_uid,
    tls_context,
)
from core.pacs.scu import send
from core.pacs.settings import NodeSettings, PacsError

if TYPE_CHECKING:
    from core.answers.inference import Prediction
    from core.model.loading import LoadedModel

log = logging.getLogger("covidcxr.pacs")

#: Films classified per network call at most; fewer when fewer are waiting (no film
#: waits for a batch to fill).
BATCH = 8


@dataclass(frozen=True)
class Outcome:
    """One film's way through the node, for the log and for callers (tests, benchmarks)."""

    sop_instance_uid: str
    label: str
    probability: float | None
    #: Seconds from the film's arrival to its row in predicted.csv.
    classified_s: float
    #: Seconds from arrival to both results taken by the destination; None if not (yet).
    filed_s: float | None
    message: str = ""


class StorageNode:
    """Listen, classify, file the results; :meth:`start` and :meth:`stop` (or ``with``)."""

    def __init__(self, settings: NodeSettings, model: LoadedModel, output: str | os.PathLike[str],
                 *, threshold: float | None = None, device: str = "",
                 on_outcome: Callable[[Outcome], None] | None = None) -> None:
        from core.answers.inference import resolve_threshold
        from core.output.journal import Journal

        self.settings = settings.checked()
        if not self.settings.allowed:
            raise PacsError("no calling AE title is allowed: name the nodes that may send "
                            "films (--allow AE[,AE...])")
        self.model = model
        self.threshold = resolve_threshold(model, threshold)
        self.device = device
        self.on_outcome = on_outcome
        spool = self.settings.spool_path
        self.films, self.outbox = spool / "films", spool / "outbox"
        self.sent, self.rejected = spool / "sent", spool / "rejected"
        for d in (self.films, self.outbox, self.sent, self.rejected):
            d.mkdir(parents=True, exist_ok=True)
        # The same journal as ``classify --resume``: rows of earlier runs are kept, and a
        # different model or threshold is refused rather than mixed into one CSV.
        self.journal = Journal(output, model.display_name, self.threshold, device, resume=True)
        self._done = {p for p, n in self.journal.done.items() if n > 0}
        self._queue: queue.Queue[tuple[Path, float, str] | None] = queue.Queue()
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._wake_sender = threading.Event()
        self._stopping = threading.Event()
        self._server: Any = None
        self._threads: list[threading.Thread] = []
        #: Films whose results are not all filed yet: by film UID, the result files left
        #: and the outcome so far; and the film each result file belongs to.
        self._filing: dict[str, tuple[set[str], float, Outcome]] = {}
        self._film_of: dict[str, str] = {}
        self._finished = False
        self.site: Any = None
        if model.site is not None:
            from core.model.site import SiteAccumulator

            self.site = SiteAccumulator(model.site)
        from core.output.dicom_results import ResultWriter, threshold_origin

        self.results = ResultWriter(model, self.outbox,
                                    threshold_origin(model.card, threshold))

    # ---------------------------------------------------------------- life
    def __enter__(self) -> StorageNode:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        """Where the node listens (the port the system gave when asked for port 0)."""
        if self._server is None:
            return self.settings.host, self.settings.port
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> None:
        """Queue the films a kill left unclassified, start the threads, then listen."""
        from pynetdicom import AE, build_context, evt

        backlog = sorted(p for p in _objects(self.films) if str(p) not in self._done)
        for p in backlog:
            self._enqueue(p, time.monotonic(), "")
        if backlog:
            log.info("%d films received before a restart and not yet classified: queued",
                     len(backlog))
        for name, target in (("classifier", self._classify_loop), ("sender", self._send_loop)):
            t = threading.Thread(target=target, name=f"covidcxr-{name}", daemon=True)
            t.start()
            self._threads.append(t)
        ae = AE(ae_title=self.settings.ae_title)
        ae.require_calling_aet = list(self.settings.allowed)
        ae.network_timeout = ae.acse_timeout = ae.dimse_timeout = 60.0
        contexts = [build_context(c, list(FILM_SYNTAXES)) for c in FILM_CLASSES]
        contexts.append(build_context(VERIFICATION))
        handlers: list[Any] = [(evt.EVT_C_STORE, self._on_store),
                    (evt.EVT_REJECTED, self._on_rejected),
                    (evt.EVT_ABORTED, self._on_aborted)]
        try:
            self._server = ae.start_server(
                (self.settings.host, self.settings.port), block=False, evt_handlers=handlers,
                contexts=contexts, ssl_context=tls_context(self.settings, server=True))
        except OSError as exc:
            self.stop()
            raise PacsError(f"cannot listen on {self.settings.host}:{self.settings.port}: "
                            f"{exc.strerror or exc}") from None
        host, port = self.address
        log.info("listening as %s on %s:%d%s; accepting %s; results to %s",
                 self.settings.ae_title, host, port, " (TLS)" if self.settings.tls else "",
                 ", ".join(self.settings.allowed), self.settings.send_to or "nowhere (kept)")

    def stop(self) -> None:
        """Stop listening, finish the films already taken, publish predicted.csv."""
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        self._queue.put(None)
        self._stopping.set()
        self._wake_sender.set()
        for t in self._threads:
            t.join()
        self._threads.clear()
        if not self._finished:
            self._finished = True
            self.journal.finish()
        if self.site is not None:
            log.info("%s", self.site.result().line())

    def wait(self) -> None:
        """Block until :meth:`stop` is called from another thread (or a signal)."""
        self._stopping.wait()

    # ---------------------------------------------------------------- the association
    def _on_rejected(self, event: Any) -> None:
        calling = event.assoc.requestor.ae_title
        log.warning("refused an association from %r at %s: not on the list of calling AE "
                    "titles", calling, event.assoc.requestor.address)

    def _on_aborted(self, event: Any) -> None:
        log.warning("association from %r aborted: objects it completed are kept, any in "
                    "flight was not acknowledged", event.assoc.requestor.ae_title)

    def _on_store(self, event: Any) -> int:
        """Check and save one film; what is classified, and how, is not decided here."""
        arrived = time.monotonic()
        calling = event.assoc.requestor.ae_title
        uid = safe_uid(event.request.AffectedSOPInstanceUID)
        if uid is None:
            return self._reject(event, None, "its SOP Instance UID is not a UID")
        try:
            raw = event.encoded_dataset()
        except Exception as exc:
            return self._reject(event, uid, f"a malformed dataset: {exc}")
        try:
            import pydicom

            ds = pydicom.dcmread(BytesIO(raw), force=False)
            for _elem in ds:  # values are decoded lazily: a broken one raises here
                pass
            if "PixelData" not in ds:
                raise ValueError("it holds no pixel data")
            if safe_uid(ds.get("SOPInstanceUID")) != uid:
                raise ValueError("its SOP Instance UID differs from the one it was sent as")
        except Exception as exc:
            return self._reject(event, uid, f"a malformed dataset: {exc}", raw)
        target = self.films / f"{uid}.dcm"
        name = describe_film(ds, uid, self.settings.log_fields)
        with self._lock:
            if str(target) in self._done or str(target) in self._pending:
                log.info("film %s from %s again: already taken, answered without a second "
                         "row", name, calling)
                return SUCCESS
        try:
            with atomic_path(target) as tmp:
                tmp.write_bytes(raw)
        except OSError as exc:
            log.error("cannot save film %s: %s", name, exc.strerror or exc)
            return OUT_OF_RESOURCES
        log.info("film %s from %s", name, calling)
        self._enqueue(target, arrived, name)
        return SUCCESS

    def _reject(self, event: Any, uid: str | None, why: str, raw: bytes | None = None) -> int:
        """Keep what arrived in ``rejected/`` and give it its one error row."""
        from core.answers.inference import error_record

        calling = event.assoc.requestor.ae_title
        stem = uid or f"unknown-{time.time_ns()}"
        target = self.rejected / f"{stem}.dcm"
        try:
            with atomic_path(target) as tmp:
                tmp.write_bytes(raw if raw is not None else
                                bytes(event.request.DataSet.getvalue()))
        except Exception as exc:  # the bytes themselves are unavailable
            log.error("cannot keep the rejected object %s: %s", stem, exc)
        log.warning("object %s from %s not stored: %s", stem, calling, why)
        with self._lock:
            self._append([error_record(target, why)])
        return CANNOT_UNDERSTAND

    def _enqueue(self, path: Path, arrived: float, name: str) -> None:
        with self._lock:
            self._pending.add(str(path))
        self._queue.put((path, arrived, name or path.stem))

    # ---------------------------------------------------------------- classification
    def _append(self, preds: list[Prediction]) -> None:
        """Rows into the journal, then predicted.csv replaced by it as a whole (under
        ``self._lock``): a reader always sees a complete CSV, one row longer."""
        self.journal.append(preds)
        with atomic_path(self.journal.output) as tmp:
            shutil.copyfile(self.journal.path, tmp)

    def _classify_loop(self) -> None:
        from core.answers.inference import classify

        stop = False
        while not stop:
            item = self._queue.get()
            batch = []
            if item is None:
                break
            batch.append(item)
            while len(batch) < BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            by_path = {str(p): (arrived, name) for p, arrived, name in batch}
            try:
                preds = list(classify([p for p, _, _ in batch], self.model,
                                      threshold=self.threshold, batch_size=BATCH,
                                      site=self.site))
            except Exception as exc:  # the engine failed as a whole: these films wait
                log.error("classification failed, %d films kept for the next start: %s",
                          len(batch), exc)
                continue
            for pred in preds:
                arrived, name = by_path[pred.path]
                self._finish(pred, arrived, name)
        self._wake_sender.set()  # the sender's last round

    def _finish(self, pred: Prediction, arrived: float, name: str) -> None:
        """Results first, then the row: a film with a row always has its results."""
        written = None
        try:
            written = self.results.add(pred)
        except OSError as exc:
            log.error("cannot write the results of %s: %s", name, exc.strerror or exc)
        with self._lock:
            self._append([pred])
            self._done.add(pred.path)
            self._pending.discard(pred.path)
        classified = time.monotonic() - arrived
        if not pred.ok:
            log.warning("film %s: not read: %s", name, pred.message)
        else:
            p = f" P(COVID) {pred.probability:.3f}" if pred.probability is not None else ""
            log.info("film %s: %s%s%s", name, pred.label, p,
                     f" ({pred.message})" if pred.message else "")
        if written is None:
            if self.results.summary.failed and self.results.summary.failed[-1][0] == pred.path:
                log.warning("film %s: no DICOM result: %s", name,
                            self.results.summary.failed[-1][1])
            self._report(Outcome(Path(pred.path).stem, pred.label, pred.probability,
                                 classified, None, pred.message))
            return
        uid = Path(pred.path).stem
        outcome = Outcome(uid, pred.label, pred.probability, classified, None, pred.message)
        with self._lock:
            left = {str(written.report), str(written.capture)}
            self._filing[uid] = (left, arrived, outcome)
            self._film_of.update(dict.fromkeys(left, uid))
        self._wake_sender.set()

    def _report(self, outcome: Outcome) -> None:
        if self.on_outcome is not None:
            try:
                self.on_outcome(outcome)
            except Exception:
                log.exception("on_outcome failed")

    # ---------------------------------------------------------------- filing the results
    def _send_loop(self) -> None:
        """Send the outbox whenever results arrive, and retry what failed every
        ``retry_seconds``; whatever is still unsent at the end stays in the outbox."""
        while True:
            self._wake_sender.wait(self.settings.retry_seconds)
            self._wake_sender.clear()
            self.send_outbox()
            if self._stopping.is_set() and not self._threads[0].is_alive():
                self.send_outbox()
                return

    def send_outbox(self) -> None:
        peer = self.settings.send_to
        files = _objects(self.outbox)
        if peer is None or not files:
            return
        try:
            report = send(files, peer, self.settings)
        except CovidCXRError as exc:
            log.warning("results not sent to %s, kept in %s for a retry: %s",
                        peer, self.outbox, exc)
            return
        now = time.monotonic()
        for obj in report.objects:
            path = Path(obj.path)
            if obj.ok:
                try:
                    os.replace(path, self.sent / path.name)
                except OSError as exc:
                    log.error("sent %s but cannot move it to %s: %s", path.name, self.sent, exc)
                self._filed(obj.path, now, str(peer))
            else:
                log.warning("result %s not taken by %s (%s%s): kept in the outbox for a retry",
                            path.name, peer, obj.status, f": {obj.message}" if obj.message
                            else "")
        fsync_dir(self.sent)

    def _filed(self, path: str, now: float, peer: str) -> None:
        """One result taken; when both of a film's are, say how long the film took."""
        with self._lock:
            uid = self._film_of.pop(path, None)
            if uid is None or uid not in self._filing:
                return
            left, arrived, outcome = self._filing[uid]
            left.discard(path)
            if left:
                return
            del self._filing[uid]
        elapsed = now - arrived
        log.info("results of film %s in %s %.2f s after it arrived", uid, peer, elapsed)
        self._report(replace(outcome, filed_s=elapsed))


def _objects(folder: Path) -> list[Path]:
    """The DICOM objects in a spool folder, without the temporary files of a write in
    progress (or one a kill left behind): those start with a dot."""
    return sorted(p for p in folder.glob("*.dcm") if not p.name.startswith("."))
