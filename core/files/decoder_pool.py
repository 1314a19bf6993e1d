"""Compressed DICOM decoded in long-lived worker processes: a decoder that aborts costs one
file, not the run.

GDCM (python-gdcm, pydicom's decoder for JPEG, JPEG Lossless, JPEG-LS and JPEG 2000) throws
C++ exceptions that nothing catches on some damaged files: a JPEG-LS frame smaller than
Rows x Columns, a JPEG Lossless file whose Bits Stored differs from Bits Allocated, a JPEG
2000 codestream with one byte changed. The process then aborts (SIGABRT, exit 134): in
process, one such file in an archive ended ``covidcxr classify`` with no CSV and closed the
window. Here it kills a worker; the caller gets :class:`DecoderCrashed` for that one file
and the next file starts a fresh worker.

Workers start on demand, at most one per decode thread, and are kept for the next file:
starting one costs tens of milliseconds, a decode through one about a millisecond more
than in process. Each serves one request at a time over its own pipe, so a death is pinned
on exactly the file it was decoding. They use the ``forkserver`` start method where there is
one (forked from a small server that has pydicom and GDCM imported, so a replacement is
cheap, and never a fork of a process running TensorFlow's or Qt's threads), ``spawn``
elsewhere; a frozen application needs ``multiprocessing.freeze_support()`` in its entry
point for both (``gui/shell/launcher.py``). As with any use of multiprocessing, a script that
reads compressed DICOM must keep its work under ``if __name__ == "__main__":``: a worker
imports the main module. Inside a daemonic process (a ``multiprocessing.Pool`` worker),
which may not start children, decoding stays in process as before.
"""

from __future__ import annotations

import atexit
import multiprocessing as mp
import os
import threading
from multiprocessing.connection import Connection
from typing import Any

import numpy as np
import pydicom

from core.files.xray import decode_threads

#: Set to 1 to decode in this process (as before isolation): for benchmarks that measure
#: what the isolation costs, and a way out should worker processes be unavailable.
IN_PROCESS_ENV = "COVIDCXR_DECODE_IN_PROCESS"

#: How long a new worker may take to start (a cold start imports numpy, pydicom and GDCM).
START_TIMEOUT_S = 60.0

#: What the forkserver imports once, so that each worker it forks starts with them loaded.
_PRELOAD = ["core.files.decoder_pool", "gdcm", "pydicom.pixels.decoders.gdcm"]


class DecoderCrashed(Exception):
    """The worker decoding this file died (an abort in native code, or a kill)."""

    def __init__(self, exitcode: int | None) -> None:
        super().__init__(f"decoder process ended with exit code {exitcode}")
        self.exitcode = exitcode


class DecodeFailed(Exception):
    """The decoder refused the file with an ordinary Python exception (its message here)."""


class DecoderUnavailable(Exception):
    """No worker process could be started (e.g. the process limit was reached)."""


def isolation_enabled() -> bool:
    """Whether compressed DICOM goes to a worker: not when the environment asks for the old
    in-process decode, nor inside a daemonic process, which may not start children (a
    ``multiprocessing.Pool`` worker)."""
    if os.environ.get(IN_PROCESS_ENV, "") not in ("", "0"):
        return False
    return not mp.current_process().daemon


def decode_pixels(path: str | os.PathLike[str]) -> np.ndarray:
    """``pixel_array(pydicom.dcmread(path))``, computed in a worker process.

    Raises :class:`DecoderCrashed` when the worker dies on this file, :class:`DecodeFailed`
    with the decoder's message when it refuses the file, ``MemoryError`` when the worker ran
    out of memory, :class:`DecoderUnavailable` when no worker can be started.
    """
    return _pool().decode(os.fspath(path))


def shutdown() -> None:
    """Stop every worker (idle ones are asked, busy ones terminated). Called at exit; the
    next decode starts a new pool."""
    global _POOL
    with _POOL_LOCK:
        pool, _POOL = _POOL, None
    if pool is not None:
        pool.close()


def worker_pids() -> list[int]:
    """Process ids of the workers alive now (for tests and diagnostics)."""
    pool = _POOL
    return pool.pids() if pool is not None else []


# --- which decoder ------------------------------------------------------------------------


def pixel_array(ds: pydicom.Dataset) -> np.ndarray:
    """``ds.pixel_array``, decoded by GDCM alone wherever pydicom would try GDCM first.

    pydicom tries each installed decoder in turn. After GDCM had refused a damaged
    JPEG-LS file at once, pyjpegls (installed with highdicom) spent 4-7 s refusing it too,
    on 2.7 KB (issue 33); no file in pydicom's own test set decodes with a second decoder
    after GDCM refused it. The variants GDCM declines by design (:func:`_gdcm_declines`)
    still go to the others, as before.
    """
    from pydicom.pixels import get_decoder

    tsyntax = ds.file_meta.TransferSyntaxUID
    try:
        plugins = get_decoder(tsyntax).available_plugins if tsyntax.is_compressed else ()
    except NotImplementedError:  # no decoder at all: pydicom says so itself
        plugins = ()
    if not plugins or plugins[0] != "gdcm" or _gdcm_declines(ds, tsyntax):
        return ds.pixel_array
    ds.pixel_array_options(decoding_plugin="gdcm")
    try:
        return ds.pixel_array
    except RuntimeError as exc:
        # pydicom's "exceptions were raised by all available plugins:\n  gdcm: ...". GDCM
        # returns no buffer at all for data it cannot decode, which pydicom's plugin
        # reports as "'NoneType' object has no attribute 'encode'".
        reason = str(exc).rpartition("gdcm: ")[2] or str(exc)
        if "'NoneType'" in reason:
            reason = "no image came out of its compressed data"
        raise ValueError(f"GDCM refused it ({reason})") from None


def _gdcm_declines(ds: pydicom.Dataset, tsyntax: Any) -> bool:
    """The variants pydicom's GDCM plugin refuses before it decodes anything (its own
    checks, ``pydicom.pixels.decoders.gdcm``): another decoder may read them."""
    from pydicom import uid

    try:
        bits = int(ds.get("BitsStored", 0) or 0)
        signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
    except (TypeError, ValueError):
        return True  # a damaged header: leave the choice to pydicom, as before
    if tsyntax == uid.JPEGExtended12Bit:
        return bits != 8
    if tsyntax in uid.JPEGLSTransferSyntaxes:
        return bits in (6, 7) or (tsyntax == uid.JPEGLSNearLossless and signed and bits < 8)
    return False


# --- the worker side -----------------------------------------------------------------------


def _serve(conn: Connection) -> None:
    """A worker's loop: decode each path sent until told to stop or the parent is gone.

    Replies ``("ok", dtype, shape)`` followed by the raw pixel bytes (no pickling of the
    array), ``("error", message)`` or ``("memory", "")``.
    """
    try:
        conn.send("ready")  # started: from here a death is the next file's doing
    except OSError:
        return
    while True:
        try:
            path = conn.recv()
        except (EOFError, OSError):
            return  # the parent closed the pipe or died
        if path is None:
            return
        try:
            pixels = np.ascontiguousarray(pixel_array(pydicom.dcmread(path)))
        except MemoryError:
            reply: tuple[Any, ...] = ("memory", "")
        except Exception as exc:
            reply = ("error", f"{exc}")
        else:
            reply = ("ok", pixels.dtype.str, pixels.shape)
        try:
            conn.send(reply)
            if reply[0] == "ok":
                conn.send_bytes(pixels.reshape(-1).data.cast("B"))
        except OSError:
            return  # the parent is gone (killed, or it gave up on this worker)


# --- the parent side -----------------------------------------------------------------------


class _DiedIdle(Exception):
    """The worker was already gone before it was given the file: not the file's doing."""


def _context() -> Any:
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        # Takes effect when the server first starts; modules that fail to import are skipped.
        ctx.set_forkserver_preload(_PRELOAD)
        return ctx
    return mp.get_context("spawn")


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, ctx: Any) -> None:
        here, there = ctx.Pipe(duplex=True)
        self.process = ctx.Process(
            target=_serve, args=(there,), name="covidcxr-decoder", daemon=True
        )
        try:
            self.process.start()
        finally:
            there.close()  # only the worker holds it now: its death reads as EOF here
        self.conn: Connection = here
        # Wait for its "ready": a worker that cannot start (a frozen build without
        # freeze_support, a script that runs its work on import) must not be mistaken for
        # one that a file killed.
        if not here.poll(START_TIMEOUT_S):
            self.kill()
            raise DecoderUnavailable(
                f"the decoder process did not start within {START_TIMEOUT_S:.0f} s"
            )
        try:
            started = here.recv() == "ready"
        except (EOFError, OSError):
            started = False
        if not started:
            self.process.join(timeout=5)
            code = self.process.exitcode
            self.kill()
            raise DecoderUnavailable(f"the decoder process ended as it started (exit code {code})")

    def decode(self, path: str) -> np.ndarray:
        try:
            self.conn.send(path)
        except OSError:
            raise _DiedIdle() from None
        try:
            head = self.conn.recv()
            if head[0] == "ok":
                _, dtype, shape = head
                pixels = np.empty(shape, dtype=np.dtype(dtype))
                self.conn.recv_bytes_into(pixels.reshape(-1).view(np.uint8))
                return pixels
        except (EOFError, OSError):
            self.process.join(timeout=5)
            raise DecoderCrashed(self.process.exitcode) from None
        if head[0] == "memory":
            raise MemoryError("the decoder process ran out of memory")
        raise DecodeFailed(head[1])

    def stop(self, wait: float = 1.0) -> None:
        """Ask the worker to end (it may already be gone), then make sure it has."""
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.conn.close()
        self.process.join(timeout=wait)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=wait)

    def kill(self) -> None:
        self.conn.close()
        self.process.kill()
        self.process.join(timeout=5)


class _Pool:
    """Up to ``size`` workers, each serving one caller at a time."""

    def __init__(self, size: int) -> None:
        self._size = max(1, size)
        self._ctx = _context()
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._starting = 0
        self._cond = threading.Condition()
        self._closed = False
        self._broken = ""  # why workers cannot be started here, once that is known

    def decode(self, path: str) -> np.ndarray:
        # A worker found dead before it took the file (killed while idle) is replaced and
        # the file tried again; a death while decoding is the file's.
        for _ in range(3):
            worker = self._acquire()
            try:
                pixels = worker.decode(path)
            except _DiedIdle:
                self._release(worker, keep=False)
                worker.kill()
                continue
            except (DecodeFailed, MemoryError):
                self._release(worker, keep=True)  # the exchange finished: still usable
                raise
            except BaseException:
                # Crashed, or interrupted mid-exchange (a reply may still be on its way).
                self._release(worker, keep=False)
                worker.kill()
                raise
            self._release(worker, keep=True)
            return pixels
        raise DecoderUnavailable("decoder processes keep ending before they are given a file")

    def _acquire(self) -> _Worker:
        with self._cond:
            while True:
                if self._closed:
                    raise DecoderUnavailable("the decoder pool has been shut down")
                if self._broken:
                    raise DecoderUnavailable(self._broken)
                if self._idle:
                    worker = self._idle.pop()
                    self._busy.add(worker)
                    return worker
                if len(self._busy) + self._starting < self._size:
                    self._starting += 1  # holds the slot while the process starts, unlocked
                    break
                self._cond.wait()
        try:
            worker = _Worker(self._ctx)
        except Exception as exc:
            reason = str(exc) if isinstance(exc, DecoderUnavailable) else (
                f"cannot start a decoder process: {exc}")
            with self._cond:
                self._starting -= 1
                # Remembered: every later file would wait for the same failure. A new pool
                # (after shutdown()) tries again.
                self._broken = reason
                self._cond.notify_all()
            raise DecoderUnavailable(reason) from None
        with self._cond:
            self._starting -= 1
            self._busy.add(worker)
        return worker

    def _release(self, worker: _Worker, keep: bool) -> None:
        with self._cond:
            self._busy.discard(worker)
            if keep and not self._closed:
                self._idle.append(worker)
            self._cond.notify()
        if keep and self._closed:
            worker.stop()

    def pids(self) -> list[int]:
        with self._cond:
            workers = [*self._idle, *self._busy]
        return [w.process.pid for w in workers if w.process.pid and w.process.is_alive()]

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            busy = list(self._busy)
            self._cond.notify_all()
        for worker in idle:
            worker.stop()
        for worker in busy:  # at exit no caller is left waiting on them
            worker.kill()


_POOL: _Pool | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> _Pool:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = _Pool(decode_threads())
        return _POOL


def _forget_in_child() -> None:
    """A forked copy of this process must not talk to its parent's workers."""
    global _POOL, _POOL_LOCK
    _POOL, _POOL_LOCK = None, threading.Lock()


# Before multiprocessing's own exit handler (atexit runs last-registered first), which
# would otherwise terminate the workers without asking.
atexit.register(shutdown)
os.register_at_fork(after_in_child=_forget_in_child)
