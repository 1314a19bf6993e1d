"""A long seeded mutation campaign over the single-file reader ``core.files.reader.read_xray``.

    PYTHONPATH=. nice -n 19 .venv/bin/python bench/fuzz_reader.py              # 100,000 inputs
    PYTHONPATH=. .venv/bin/python bench/fuzz_reader.py --inputs 5000 --seed 7 --workers 2
    PYTHONPATH=. .venv/bin/python bench/fuzz_reader.py --replay fuzz-crashes/X.bin

The same seeds (tiny PNG, 16-bit PNG, JPEG, BMP, TIFF, deflated TIFF, DICOM) and mutations
(bit flips, interesting bytes, truncations, insertions, deletions) as the quick fuzz test in
``tests/test_fuzz.py``, run for far longer in a pool of worker processes. Input ``i`` is a
pure function of ``(--seed, i)``, so any input can be regenerated alone. Each input is
written to a temporary file and read; anything escaping ``read_xray`` that is not a
``CovidCXRError`` or a ``MemoryError`` is counted by type and its bytes saved under
``--crashes``. Also reported: the slowest input and the highest peak RSS of a worker
(``ru_maxrss``, a high-water mark, attributed to the input that raised it).

Targets (issue 10): at least 100,000 inputs, 0 uncaught, no input over 2 s or 1 GB.
Exit status 1 when an input escapes or a target is missed.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

# One home for the seeds and the mutations: the quick fuzz test in the suite.
from test_fuzz import _mutate, _seeds  # noqa: E402

from core.errors import CovidCXRError, ImageReadError  # noqa: E402
from core.files.reader import read_xray  # noqa: E402

MAX_SECONDS = 2.0
MAX_RSS_BYTES = 1024**3
CHUNK = 250  # inputs per task sent to a worker

_SEEDS: dict[str, bytes] = {}
_NAMES: list[str] = []
_PATH: Path | None = None


@dataclass
class Escape:
    """An uncaught exception: its input and a one-line description."""

    index: int
    seed_name: str
    kind: str
    message: str
    data: bytes


@dataclass
class ChunkResult:
    done: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    escapes: list[Escape] = field(default_factory=list)
    # The reader's last-resort wrapper ("cannot decode this file: ..."): ours, so not a
    # failure, but a cause no specific check foresaw; kept to be given its own message.
    generic: list[Escape] = field(default_factory=list)
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


def _init_worker(tmp_dir: str) -> None:
    global _PATH
    _SEEDS.update(_seeds())
    _NAMES[:] = sorted(_SEEDS)
    _PATH = Path(tmp_dir) / f"input-{os.getpid()}"
    # Pillow and pydicom warn about odd files, libtiff prints to fd 2 for each damaged
    # directory: neither is a finding here, and 100,000 of them would bury the report.
    warnings.simplefilter("ignore")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)


def _run_chunk(args: tuple[int, int, int]) -> ChunkResult:
    seed, start, stop = args
    assert _PATH is not None
    result = ChunkResult()
    rss_before = _maxrss_bytes()
    for index in range(start, stop):
        name, data = make_input(seed, index)
        _PATH.write_bytes(data)
        t0 = time.perf_counter()
        try:
            read_xray(_PATH)
            outcome = "ok"
        except CovidCXRError as exc:
            outcome = type(exc).__name__
            if type(exc) is ImageReadError:
                result.generic.append(Escape(index, name, outcome, str(exc), data))
        except MemoryError:
            outcome = "MemoryError"
        except Exception as exc:
            outcome = "UNCAUGHT"
            where = traceback.extract_tb(exc.__traceback__)[-1]
            message = f"{exc} [{Path(where.filename).name}:{where.lineno}]"
            result.escapes.append(Escape(index, name, type(exc).__name__, message, data))
        seconds = time.perf_counter() - t0
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
    return result


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--inputs", type=int, default=100_000, help="inputs to run (100000)")
    p.add_argument("--seed", type=int, default=20261126, help="campaign seed (20261126)")
    p.add_argument("--seconds", type=float, default=0, help="stop after this long (0: no limit)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="worker processes")
    p.add_argument("--crashes", type=Path, default=Path("fuzz-crashes"), help="reproducers")
    p.add_argument("--replay", type=Path, help="read one saved input in this process and exit")
    return p.parse_args(argv)


def _replay(path: Path) -> int:
    try:
        xray = read_xray(path)
    except (CovidCXRError, MemoryError) as exc:
        print(f"{path}: {type(exc).__name__}: {exc}")
        return 0
    print(f"{path}: ok {xray.pixels.shape}")
    return 0  # anything else raises with its traceback


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.replay:
        return _replay(args.replay)
    total = ChunkResult()
    chunks = [
        (args.seed, start, min(start + CHUNK, args.inputs))
        for start in range(0, args.inputs, CHUNK)
    ]
    began = time.perf_counter()
    stopped_early = False
    with tempfile.TemporaryDirectory(prefix="covidcxr-fuzz-") as tmp:
        ctx = mp.get_context("spawn")  # a fresh interpreter per worker, as a user's process
        with ctx.Pool(args.workers, initializer=_init_worker, initargs=(tmp,)) as pool:
            results = pool.imap_unordered(_run_chunk, chunks)
            for _ in chunks:
                # A chunk that does not come back in time means an input hangs, or killed
                # its worker (the pool replaces the worker but the chunk is lost).
                try:
                    part = results.next(timeout=max(60.0, CHUNK * MAX_SECONDS))
                except mp.TimeoutError:
                    print("a chunk never came back: an input hangs or crashed its worker")
                    pool.terminate()
                    return 1
                _merge(total, part)
                elapsed = time.perf_counter() - began
                if total.done % 10_000 < CHUNK:
                    print(f"  {total.done:>7} inputs, {elapsed:6.0f} s", flush=True)
                if args.seconds and elapsed > args.seconds:
                    stopped_early = True
                    pool.terminate()
                    break
    elapsed = time.perf_counter() - began
    return _report(args, total, elapsed, stopped_early)


def _merge(total: ChunkResult, part: ChunkResult) -> None:
    total.done += part.done
    for key, count in part.outcomes.items():
        total.outcomes[key] = total.outcomes.get(key, 0) + count
    total.escapes.extend(part.escapes)
    total.generic.extend(part.generic)
    total.slowest = max(total.slowest, part.slowest)
    total.rss_peak = max(total.rss_peak, part.rss_peak)
    total.rss_jump = max(total.rss_jump, part.rss_jump)


def _report(args: argparse.Namespace, total: ChunkResult, elapsed: float, early: bool) -> int:
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
    print(f"last-resort msgs : {len(total.generic)} (ImageReadError 'cannot decode this file')")
    for generic in sorted(total.generic, key=lambda e: e.index)[:5]:
        args.crashes.mkdir(parents=True, exist_ok=True)
        keep = args.crashes / f"generic-{generic.seed_name}-{generic.index}.bin"
        keep.write_bytes(generic.data)
        print(f"  input {generic.index} ({generic.seed_name}): {generic.message[:160]}  -> {keep}")
    seconds, index, name = total.slowest
    print(f"slowest input    : {seconds:.3f} s (input {index}, {name})")
    rss, index, name = total.rss_peak
    where = f"input {index}, {name}" if index >= 0 else "worker start-up"
    print(f"peak worker RSS  : {rss / 2**20:.1f} MiB ({where})")
    jump, index, name = total.rss_jump
    print(f"largest RSS rise : {jump / 2**20:.1f} MiB (input {index}, {name})")
    missed = total.escapes or seconds > MAX_SECONDS or rss > MAX_RSS_BYTES
    print(
        "targets          : "
        + ("MISSED" if missed else "met")
        + f" (0 uncaught, <= {MAX_SECONDS:.0f} s and <= 1 GiB per input)"
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
