"""A long seeded mutation campaign over the single-file reader ``core.files.reader.read_xray``.

    PYTHONPATH=. nice -n 19 .venv/bin/python bench/fuzz_reader.py              # 100,000 inputs
    PYTHONPATH=. .venv/bin/python bench/fuzz_reader.py --inputs 5000 --seed 7 --workers 2
    PYTHONPATH=. .venv/bin/python bench/fuzz_reader.py --replay fuzz-crashes/X.bin

The same seeds (tiny PNG, 16-bit PNG, JPEG, BMP, TIFF, deflated TIFF, DICOM, and compressed
DICOMs: JPEG Lossless, JPEG baseline, JPEG-LS, JPEG 2000) and mutations (bit flips,
interesting bytes, truncations, insertions, deletions) as the quick fuzz tests in
``tests/test_fuzz.py``, run for far longer in a pool of worker processes. Input ``i`` is a
pure function of ``(--seed, i)``, so any input can be regenerated alone. Each input is
written to a temporary file and read; anything escaping ``read_xray`` that is not a
``CovidCXRError`` or a ``MemoryError`` is counted by type and its bytes saved under
``--crashes``. A worker process that dies (a native decoder aborting the reader's own
process, as GDCM did before issue 22) is a defect too: its input is found by running the
inputs it was reading alone, counted and saved, and the campaign goes on. Decoder
processes that died inside the reader (a contained crash: the file's row says "the decoder
crashed") are counted apart, as outcomes. Also reported: the slowest input and the highest
peak RSS of a worker (``ru_maxrss``, a high-water mark, attributed to the input that raised
it; the decoder processes' own memory is not in it).

Two more kinds of failure since issue 33: a "good" read whose pixels are not all finite
(NaN or infinite: the network would score them as a film), and an input over the per-input
time limit (``--limit``, 2 s), each counted and saved. An input still running after
``--hard-limit`` is interrupted where Python regains control (a signal in the worker; the
reader's decoder process is then killed like any interrupted one) and counted as timed out;
native code that never returns is left to the chunk's own deadline.

The workers are ``concurrent.futures`` processes, not a ``multiprocessing.Pool``'s: a
pool's workers are daemonic and may not start the reader's decoder processes.

Targets (issues 10, 22 and 33): at least 100,000 inputs, 0 uncaught, 0 worker deaths, 0
non-finite good reads, no input over 2 s or 1 GB. Exit status 1 when an input escapes or
kills its worker, or a target is missed.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import signal
import sys
import tempfile
import time
import traceback
import warnings
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

# One home for the seeds and the mutations: the quick fuzz tests in the suite.
from test_fuzz import _compressed_seeds, _mutate, _seeds  # noqa: E402

from core.errors import CovidCXRError, ImageReadError  # noqa: E402
from core.files.reader import read_xray  # noqa: E402

MAX_SECONDS = 2.0
#: An input still running after this long is interrupted (where Python regains control).
HARD_SECONDS = 30.0
MAX_RSS_BYTES = 1024**3
CHUNK = 250  # inputs per task sent to a worker

_SEEDS: dict[str, bytes] = {}
_NAMES: list[str] = []
_PATH: Path | None = None
_MARK: Path | None = None  # holds the index of the input being read, for a death's post-mortem
#: How a contained decoder crash reads (core.files.dicom): an outcome, not a defect.
_DECODER_CRASHED = "the decoder crashed on this file"


@dataclass
class Escape:
    """An uncaught exception: its input and a one-line description."""

    index: int
    seed_name: str
    kind: str
    message: str
    data: bytes

    def outcome_text(self) -> str:
        return f"{self.kind}, {self.message}"


@dataclass
class ChunkResult:
    """What a worker brings back for a list of inputs."""

    done: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    escapes: list[Escape] = field(default_factory=list)
    # The reader's last-resort wrapper ("cannot decode this file: ..."): ours, so not a
    # failure, but a cause no specific check foresaw; kept to be given its own message.
    generic: list[Escape] = field(default_factory=list)
    #: Read as "ok" with a NaN or infinite pixel: a failure (issue 33).
    nonfinite: list[Escape] = field(default_factory=list)
    #: Over the per-input time limit (each a failure), or interrupted at the hard limit.
    overtime: list[Escape] = field(default_factory=list)
    slowest: tuple[float, int, str] = (0.0, -1, "")
    rss_peak: tuple[int, int, str] = (0, -1, "")  # bytes, input index, seed name
    rss_jump: tuple[int, int, str] = (0, -1, "")  # biggest single rise of the high-water mark


def make_input(seed: int, index: int) -> tuple[str, bytes]:
    """Input ``index`` of the campaign ``seed``: a seed file cycled by index, then mutated."""
    name = _NAMES[index % len(_NAMES)]
    rng = np.random.default_rng((seed, index))
    return name, _mutate(_SEEDS[name], rng)


def _maxrss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024  # Linux reports KiB


def all_seeds() -> dict[str, bytes]:
    return {**_seeds(), **_compressed_seeds()}


class _TimedOut(BaseException):
    """Raised in a worker when one input runs past the hard limit. A BaseException, so that
    the reader's own ``except Exception`` cannot turn it into one file's error."""


def _interrupt(signum: int, frame: object) -> None:
    raise _TimedOut()


_LIMITS = (MAX_SECONDS, HARD_SECONDS)


def _init_worker(tmp_dir: str, limits: tuple[float, float] = (MAX_SECONDS, HARD_SECONDS)
                 ) -> None:
    global _PATH, _MARK, _LIMITS
    _LIMITS = limits
    signal.signal(signal.SIGALRM, _interrupt)
    _SEEDS.update(all_seeds())
    _NAMES[:] = sorted(_SEEDS)
    _PATH = Path(tmp_dir) / f"input-{os.getpid()}"
    _MARK = Path(tmp_dir) / f"reading-{os.getpid()}"
    # Pillow and pydicom warn about odd files, libtiff prints to fd 2 for each damaged
    # directory: neither is a finding here, and 100,000 of them would bury the report.
    warnings.simplefilter("ignore")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)


def _run_chunk(args: tuple[int, list[int]]) -> ChunkResult:
    seed, indices = args
    assert _PATH is not None and _MARK is not None
    result = ChunkResult()
    rss_before = _maxrss_bytes()
    for index in indices:
        name, data = make_input(seed, index)
        _PATH.write_bytes(data)
        _MARK.write_text(str(index))
        t0 = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, _LIMITS[1])
        try:
            xray = read_xray(_PATH)
            signal.setitimer(signal.ITIMER_REAL, 0)
            outcome = "ok"
            if not np.isfinite(xray.pixels).all():
                outcome = "NON-FINITE OK"
                result.nonfinite.append(Escape(index, name, outcome, "pixels not all finite",
                                               data))
        except _TimedOut:
            outcome = "TIMED OUT"
        except CovidCXRError as exc:
            outcome = type(exc).__name__
            if str(exc).startswith(_DECODER_CRASHED):
                outcome = "decoder crashed (contained)"
            elif type(exc) is ImageReadError:
                result.generic.append(Escape(index, name, outcome, str(exc), data))
        except MemoryError:
            outcome = "MemoryError"
        except Exception as exc:
            outcome = "UNCAUGHT"
            where = traceback.extract_tb(exc.__traceback__)[-1]
            message = f"{exc} [{Path(where.filename).name}:{where.lineno}]"
            result.escapes.append(Escape(index, name, type(exc).__name__, message, data))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        seconds = time.perf_counter() - t0
        if seconds > _LIMITS[0]:
            result.overtime.append(Escape(index, name, outcome, f"{seconds:.2f} s", data))
        result.done += 1
        result.outcomes[outcome] = result.outcomes.get(outcome, 0) + 1
        if seconds > result.slowest[0]:
            result.slowest = (seconds, index, name)
        rss = _maxrss_bytes()
        if rss > rss_before and rss - rss_before > result.rss_jump[0]:
            result.rss_jump = (rss - rss_before, index, name)
        if rss > result.rss_peak[0]:
            result.rss_peak = (rss, index, name) if rss > rss_before else (rss, -1, "")
        rss_before = rss
    _MARK.write_text("")  # nothing being read
    return result


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--inputs", type=int, default=100_000, help="inputs to run (100000)")
    p.add_argument("--seed", type=int, default=20261126, help="campaign seed (20261126)")
    p.add_argument("--seconds", type=float, default=0, help="stop after this long (0: no limit)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes")
    p.add_argument("--limit", type=float, default=MAX_SECONDS,
                   help=f"seconds one input may take; longer is a failure ({MAX_SECONDS:g})")
    p.add_argument("--hard-limit", type=float, default=HARD_SECONDS,
                   help=f"seconds after which an input is interrupted ({HARD_SECONDS:g})")
    p.add_argument("--crashes", type=Path, default=Path("fuzz-crashes"), help="reproducers")
    p.add_argument("--replay", type=Path, help="read one saved input in this process and exit")
    return p.parse_args(argv)


def _replay(path: Path) -> int:
    try:
        xray = read_xray(path)
    except (CovidCXRError, MemoryError) as exc:
        print(f"{path}: {type(exc).__name__}: {exc}")
        return 0
    finite = bool(np.isfinite(xray.pixels).all())
    print(f"{path}: ok {xray.pixels.shape}" + ("" if finite else ", NaN or infinite pixels"))
    return 0  # anything else raises with its traceback


def _executor(workers: int, tmp: str, limits: tuple[float, float]) -> ProcessPoolExecutor:
    ctx = mp.get_context("spawn")  # a fresh interpreter per worker, as a user's process
    return ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                               initargs=(tmp, limits))


def _read_alone(tmp: str, seed: int, index: int) -> None:
    _init_worker(tmp)
    _run_chunk((seed, [index]))


def _culprits(seed: int, suspects: list[int], tmp: str) -> dict[int, int | None]:
    """Which of the inputs being read when a worker died kill a process again, each read
    alone in a fresh one (not daemonic, so the reader may start its decoder processes),
    with the exit code of the process each one killed."""
    ctx = mp.get_context("spawn")
    killers: dict[int, int | None] = {}
    for index in suspects:
        alone = ctx.Process(target=_read_alone, args=(tmp, seed, index))
        alone.start()
        alone.join(300)
        if alone.is_alive():
            alone.kill()
            alone.join()
        if alone.exitcode != 0:
            killers[index] = alone.exitcode
    return killers


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.replay:
        return _replay(args.replay)
    total = ChunkResult()
    _SEEDS.update(all_seeds())  # make_input here too, for the inputs that kill a worker
    _NAMES[:] = sorted(_SEEDS)
    todo: deque[list[int]] = deque(
        list(range(start, min(start + CHUNK, args.inputs)))
        for start in range(0, args.inputs, CHUNK)
    )
    deaths: list[Escape] = []
    began = time.perf_counter()
    stopped_early = False
    reported = 0
    with tempfile.TemporaryDirectory(prefix="covidcxr-fuzz-") as tmp:
        while todo and not stopped_early:
            pool = _executor(args.workers, tmp, (args.limit, args.hard_limit))
            running: dict[Future[ChunkResult], list[int]] = {}
            try:
                while (todo or running) and not stopped_early:
                    while todo and len(running) < 2 * args.workers:
                        chunk = todo.popleft()
                        try:
                            running[pool.submit(_run_chunk, (args.seed, chunk))] = chunk
                        except BrokenProcessPool:
                            todo.appendleft(chunk)
                            raise
                    # A chunk that does not come back in time means an input hangs.
                    finished, _ = wait(running, timeout=max(60.0, CHUNK * args.limit,
                                                            2 * args.hard_limit),
                                       return_when=FIRST_COMPLETED)
                    if not finished:
                        print("a chunk never came back: an input hangs")
                        pool.shutdown(wait=False, cancel_futures=True)
                        return 1
                    for future in finished:
                        part = future.result()  # a dead worker: BrokenProcessPool, below
                        del running[future]
                        _merge(total, part)
                    elapsed = time.perf_counter() - began
                    if total.done // 10_000 > reported:
                        reported = total.done // 10_000
                        print(f"  {total.done:>7} inputs, {elapsed:6.0f} s", flush=True)
                    if args.seconds and elapsed > args.seconds:
                        stopped_early = True
            except BrokenProcessPool:
                # A worker died: every chunk in flight is lost with the pool. The inputs the
                # workers were reading are the suspects; the ones that kill again are counted
                # and left out, the lost chunks run again without them.
                suspects = sorted({int(m.read_text() or -1) for m in Path(tmp).glob("reading-*")}
                                  - {-1})
                killers = _culprits(args.seed, suspects, tmp)
                for m in Path(tmp).glob("reading-*"):  # the dead ones' (the culprits' too)
                    m.unlink()
                for index, code in killers.items():
                    name, data = make_input(args.seed, index)
                    deaths.append(Escape(index, name, "WORKER DIED", f"exit code {code}", data))
                print(f"  a worker died: {len(killers)} input(s) kill a worker "
                      f"({', '.join(map(str, killers)) or 'none found'})", flush=True)
                for chunk in running.values():
                    todo.appendleft([i for i in chunk if i not in killers])
                total.done += len(killers)
                total.outcomes["WORKER DIED"] = total.outcomes.get("WORKER DIED", 0) + len(killers)
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
    elapsed = time.perf_counter() - began
    return _report(args, total, elapsed, stopped_early, deaths)


def _merge(total: ChunkResult, part: ChunkResult) -> None:
    total.done += part.done
    for key, count in part.outcomes.items():
        total.outcomes[key] = total.outcomes.get(key, 0) + count
    total.escapes.extend(part.escapes)
    total.generic.extend(part.generic)
    total.nonfinite.extend(part.nonfinite)
    total.overtime.extend(part.overtime)
    total.slowest = max(total.slowest, part.slowest)
    total.rss_peak = max(total.rss_peak, part.rss_peak)
    total.rss_jump = max(total.rss_jump, part.rss_jump)


def _report(args: argparse.Namespace, total: ChunkResult, elapsed: float, early: bool,
            deaths: list[Escape]) -> int:
    print(
        f"seed {args.seed}, {args.workers} workers, {elapsed:.0f} s"
        + (" (time limit)" if early else "")
    )
    print(f"inputs run       : {total.done}")
    print("outcomes         : " + ", ".join(f"{k} {v}" for k, v in sorted(total.outcomes.items())))
    by_kind: dict[str, list[Escape]] = {}
    for escape in sorted(total.escapes, key=lambda e: e.index):
        by_kind.setdefault(escape.kind, []).append(escape)
    print(f"uncaught         : {len(total.escapes)}")
    if by_kind:
        args.crashes.mkdir(parents=True, exist_ok=True)
    for kind, escapes in sorted(by_kind.items()):
        first = escapes[0]
        keep = args.crashes / f"{kind}-{first.seed_name}-{first.index}.bin"
        keep.write_bytes(first.data)
        print(
            f"  {kind:<18} {len(escapes):>5}  e.g. input {first.index} ({first.seed_name}):"
            f" {first.message[:160]}  -> {keep}"
        )
    print(f"worker deaths    : {len(deaths)} (the reading process itself killed)")
    for death in sorted(deaths, key=lambda e: e.index):
        args.crashes.mkdir(parents=True, exist_ok=True)
        keep = args.crashes / f"died-{death.seed_name}-{death.index}.bin"
        keep.write_bytes(death.data)
        print(f"  input {death.index} ({death.seed_name}): {death.message}  -> {keep}")
    contained = total.outcomes.get("decoder crashed (contained)", 0)
    print(f"decoder crashes  : {contained} contained (a decoder process died; one error row)")
    print(f"last-resort msgs : {len(total.generic)} (ImageReadError 'cannot decode this file')")
    for generic in sorted(total.generic, key=lambda e: e.index)[:5]:
        args.crashes.mkdir(parents=True, exist_ok=True)
        keep = args.crashes / f"generic-{generic.seed_name}-{generic.index}.bin"
        keep.write_bytes(generic.data)
        print(f"  input {generic.index} ({generic.seed_name}): {generic.message[:160]}  -> {keep}")
    print(f"non-finite 'ok'  : {len(total.nonfinite)} (read as good with NaN or infinite pixels)")
    _list(args, total.nonfinite, "nonfinite")
    print(f"over time limit  : {len(total.overtime)} (> {args.limit:g} s each; "
          f"{total.outcomes.get('TIMED OUT', 0)} interrupted at {args.hard_limit:g} s)")
    _list(args, sorted(total.overtime, key=lambda e: -float(e.message.split()[0])), "slow")
    seconds, index, name = total.slowest
    print(f"slowest input    : {seconds:.3f} s (input {index}, {name})")
    rss, index, name = total.rss_peak
    where = f"input {index}, {name}" if index >= 0 else "worker start-up"
    print(f"peak worker RSS  : {rss / 2**20:.1f} MiB ({where})")
    jump, index, name = total.rss_jump
    print(f"largest RSS rise : {jump / 2**20:.1f} MiB (input {index}, {name})")
    missed = (total.escapes or deaths or total.nonfinite or total.overtime
              or seconds > args.limit or rss > MAX_RSS_BYTES)
    print(
        "targets          : "
        + ("MISSED" if missed else "met")
        + f" (0 uncaught, 0 worker deaths, 0 non-finite good reads, <= {args.limit:g} s and"
        " <= 1 GiB per input)"
    )
    return 1 if missed else 0


def _list(args: argparse.Namespace, found: list[Escape], kind: str) -> None:
    """The first five of ``found``, each saved under ``--crashes``."""
    for item in found[:5]:
        args.crashes.mkdir(parents=True, exist_ok=True)
        keep = args.crashes / f"{kind}-{item.seed_name}-{item.index}.bin"
        keep.write_bytes(item.data)
        print(f"  input {item.index} ({item.seed_name}): {item.outcome_text()}  -> {keep}")


if __name__ == "__main__":
    sys.exit(main())
