"""What decoding compressed DICOM in worker processes costs (issue 22), before and after.

    PYTHONPATH=. .venv/bin/python bench/bench_decoder_isolation.py        # ~2 min on 2 cores
    PYTHONPATH=. .venv/bin/python bench/bench_decoder_isolation.py --rounds 9

Two folders, read as ``classify`` reads them (``core.files.reader.read_xray`` on
``decode_threads()`` threads, which is the whole decode stage of the pipeline, so the
relative cost here is the most the network and the rest could dilute):

- compressed: the 24 NIH films of ``fullres/`` (1024 x 1024) as 12-bit DX DICOMs,
  compressed with GDCM as JPEG Lossless, JPEG-LS and JPEG 2000 (72 files);
- ordinary: the 40 ``fullres/`` originals (PNG and JPEG up to 1216 x 1564).

Each folder is read in alternating rounds with isolation off (``COVIDCXR_DECODE_IN_PROCESS=1``:
pydicom decodes in the reading thread, as before issue 22) and on (the worker pool), and
the medians of the rounds are reported: wall time, and CPU time of this process plus its
decoder processes (steadier than wall time on a shared machine). Also: the first decode of a fresh process (the
forkserver and a worker start) and what a crash costs (an aborting file, then a good one).
Target: at most 5 % extra on the ordinary folder.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from aborting_dicoms import plain_dicom, transcode, write_aborting  # noqa: E402

from core.errors import DicomError  # noqa: E402
from core.files import decoder_pool  # noqa: E402
from core.files.discovery import image_suffixes  # noqa: E402
from core.files.reader import decode_threads, read_xray  # noqa: E402

SYNTAXES = ("JPEGLosslessProcess14_1", "JPEGLSLossless", "JPEG2000Lossless")


def make_compressed(originals: list[Path], folder: Path) -> list[Path]:
    """Each 8-bit PNG as a 12-bit DICOM (grey x 16), then compressed by GDCM per syntax."""
    import numpy as np
    from PIL import Image

    out = []
    for src in originals:
        pixels = np.asarray(Image.open(src).convert("L")).astype(np.uint16) * 16
        plain = plain_dicom(folder / f".{src.stem}.dcm", pixels, bits_stored=12)
        for syntax in SYNTAXES:
            out.append(transcode(plain, syntax, folder / f"{src.stem}-{syntax}.dcm"))
        plain.unlink()
    return out


def _workers_cpu() -> float:
    """CPU seconds the live decoder processes have used (Linux /proc; 0 elsewhere)."""
    total = 0.0
    for pid in decoder_pool.worker_pids():
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def read_all(files: list[Path], threads: int) -> tuple[float, float]:
    """Wall and CPU seconds (this process and its decoder processes) to read every file on
    ``threads`` threads; any failure stops the bench."""
    w0, c0 = time.perf_counter(), time.process_time() + _workers_cpu()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for x in pool.map(read_xray, files):
            assert x.pixels.size
    return time.perf_counter() - w0, time.process_time() + _workers_cpu() - c0


def rounds(files: list[Path], threads: int, n: int) -> tuple[tuple[float, float], ...]:
    """Median (wall, CPU) seconds in process and isolated, alternating so that load drifts
    hit both."""
    inproc, isolated = [], []
    for i in range(2 * n):
        off = i % 2 == 0
        if off:
            os.environ[decoder_pool.IN_PROCESS_ENV] = "1"
        else:
            os.environ.pop(decoder_pool.IN_PROCESS_ENV, None)
        (inproc if off else isolated).append(read_all(files, threads))
    os.environ.pop(decoder_pool.IN_PROCESS_ENV, None)
    return tuple(
        (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
        for runs in (inproc, isolated)
    )


def line(name: str, files: list[Path], a: tuple[float, float], b: tuple[float, float]) -> str:
    n = len(files)
    return (
        f"{name:<27}: wall {1000 * a[0] / n:5.1f} -> {1000 * b[0] / n:5.1f} ms/file "
        f"({100 * (b[0] / a[0] - 1):+.1f} %), CPU {1000 * a[1] / n:5.1f} -> "
        f"{1000 * b[1] / n:5.1f} ms/file ({100 * (b[1] / a[1] - 1):+.1f} %)"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data/fullres"))
    ap.add_argument("--rounds", type=int, default=5, help="rounds per mode (median)")
    args = ap.parse_args()
    originals = sorted(p for p in args.data.iterdir()
                       if p.is_file() and p.suffix.lower() in image_suffixes())
    threads = decode_threads()
    with tempfile.TemporaryDirectory(prefix="covidcxr-isolation-") as tmp:
        compressed = make_compressed([p for p in originals if p.name[0].isdigit()], Path(tmp))
        size = sum(p.stat().st_size for p in compressed) / len(compressed) / 1e6

        t0 = time.perf_counter()
        read_xray(compressed[0])
        start = time.perf_counter() - t0
        t0 = time.perf_counter()
        read_xray(compressed[0])
        warm = time.perf_counter() - t0

        aborting = write_aborting(Path(tmp) / "aborting")
        good = Path(tmp) / "aborting" / "good" / "good-jpeg-ls.dcm"
        crash_costs, good_costs = [], []
        for _ in range(10):
            t0 = time.perf_counter()
            try:
                read_xray(aborting["jpeg-ls"])
            except DicomError:
                pass
            crash_costs.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            read_xray(good)  # starts the replacement worker
            good_costs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for _ in range(10):
            read_xray(good)
        steady = (time.perf_counter() - t0) / 10

        c_in, c_iso = rounds(compressed, threads, args.rounds)
        o_in, o_iso = rounds(originals, threads, args.rounds)

    print(f"{os.cpu_count()} CPU cores, {threads} decode threads, {args.rounds} rounds per mode "
          "(median), load average "
          + " ".join(f"{x:.1f}" for x in os.getloadavg()))
    print(f"compressed: {len(compressed)} DICOMs ({', '.join(SYNTAXES)}), 1024 x 1024 12-bit, "
          f"{size:.2f} MB each; ordinary: {len(originals)} fullres originals")
    print("in process -> isolated, medians:")
    print(line("compressed DICOM folder", compressed, c_in, c_iso))
    print(line("ordinary folder (PNG/JPEG)", originals, o_in, o_iso) + "  (target <= +5 %)")
    print(f"first compressed decode of a process: {1000 * start:.0f} ms (forkserver + worker "
          f"start), the same file again {1000 * warm:.0f} ms")
    print(f"a crash: the aborting file {1000 * statistics.median(crash_costs):.0f} ms, the next "
          f"good file {1000 * statistics.median(good_costs):.0f} ms (new worker) against "
          f"{1000 * steady:.0f} ms with a warm one (medians of 10)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
