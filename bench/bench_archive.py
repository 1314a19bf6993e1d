"""Archive-scale classification: 10,000 files end to end, and what --resume costs.

Lists N files (symlinks to real films, default the 40 full-resolution originals of
``fullres/`` repeated) in a ``--files-from`` list and runs ``covidcxr classify`` as users
run it, in a subprocess, timing in one run:

1. the whole archive uninterrupted (and the peak RSS of the process);
2. ``--resume`` with half the rows already in the journal (as after a kill half-way):
   should take about half of 1;
3. ``--resume`` of a finished CSV: nothing left to classify, so this is the whole
   overhead of resuming (start-up, reading N rows, listing and skipping N files);
4. the uninterrupted run at N/5 files, for memory: peak RSS should not grow with N.

Usage: ``PYTHONPATH=. python bench/bench_archive.py [--files 10000] [--data DIR]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def run(args: list[str], cwd: Path) -> tuple[float, float]:
    """Seconds and the child's peak RSS (MiB) of one ``covidcxr`` command."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    code = (
        "import resource, subprocess, sys; p = subprocess.run(sys.argv[1:]); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
        "sys.exit(p.returncode)"
    )
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", code, sys.executable, "-m", "gui.shell.launcher",
                           *args], cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - t0
    if proc.returncode:
        sys.exit(f"failed: {' '.join(args)}\n{proc.stderr[-2000:]}")
    rss_kib = int(proc.stderr.strip().splitlines()[-1])
    return seconds, rss_kib / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--data", type=Path, default=Path("/work/shared/data/fullres"))
    args = ap.parse_args()

    from core.files.discovery import image_suffixes

    originals = sorted(p for p in args.data.iterdir()
                       if p.is_file() and p.suffix.lower() in image_suffixes())
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        links = tmp / "archive"
        links.mkdir()
        listing = tmp / "files.txt"
        with open(listing, "w", encoding="utf-8") as fh:
            for i in range(args.files):
                src = originals[i % len(originals)]
                dst = links / f"{i:06d}{src.suffix}"
                dst.symlink_to(src)
                fh.write(f"{dst}\n")
        small = tmp / "small.txt"
        small.write_text("".join(open(listing).readlines()[: args.files // 5]))
        out = tmp / "predicted.csv"
        base = ["classify", "--files-from", str(listing), "-o", str(out)]

        t_whole, rss_whole = run(base, tmp)
        whole = out.read_bytes()
        lines = whole.split(b"\r\n")
        half = len(lines) // 2
        partial = out.with_name(out.name + ".partial")
        partial.write_bytes(b"\r\n".join(lines[:half]) + b"\r\n")
        out.unlink()
        t_half, _ = run([*base, "--resume"], tmp)
        same = out.read_bytes() == whole
        t_done, _ = run([*base, "--resume"], tmp)
        t_small, rss_small = run(["classify", "--files-from", str(small), "-o",
                                  str(tmp / "small.csv")], tmp)
    n = args.files
    print(f"files: {n} ({len(originals)} originals of {args.data}, repeated)")
    print(f"1. uninterrupted           : {t_whole:7.1f} s ({n / t_whole:.1f} img/s), "
          f"peak RSS {rss_whole:.0f} MiB")
    print(f"2. --resume from half      : {t_half:7.1f} s = {t_half / t_whole:.2f} of 1 "
          f"(ideal 0.50); final CSV identical to 1: {same}")
    print(f"3. --resume, nothing left  : {t_done:7.1f} s (start-up + reading {n} rows + "
          f"skipping {n} files)")
    print(f"4. uninterrupted, {n // 5} files: {t_small:7.1f} s, peak RSS {rss_small:.0f} MiB "
          f"(x{rss_whole / rss_small:.2f} for x5 files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
