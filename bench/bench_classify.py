"""Throughput and memory of batch classification, against its bound and a naive loop.

Classifies the full-resolution files of the data folder (NIH 1024x1024 PNGs and
COVID-CXNet JPEG/PNG of assorted sizes), repeated through symlinks to a few hundred files,
and prints in one run:

- the decode stage alone on one thread (``core.answers.inference.load_one``: reading, reduced
  where the format allows, the network's input, the thumbnail and the film at the
  segmenter's size), img/s;
- the inference stage alone on those prepared films, in batches
  (``core.answers.inference.assess``: the frontal-film check's segmenter pass and anatomy
  measures, the network with its evidence pass, the test-time views of the films near the
  threshold, the OOD scores), img/s, and the CPU time of each of its parts;
- the pipeline bound 1 / (decode_time / cores + inference_time): what perfect overlap of
  decoding on every core with the inference stage would reach;
- end to end, ``core.answers.inference.classify``, img/s;
- a naive loop as tutorials write it: per file PIL open, convert("L"), resize to the
  network's size, ``model.predict`` on a batch of one (no check, no views, no evidence);
- the ratios end-to-end / bound and end-to-end / naive, and the CPU time per file;
- the RSS of fresh processes classifying two different file counts, to show that memory
  does not grow with the number of files;
- with ``--compare-keras``, the same end-to-end run and RSS on the Keras network (the path
  before the lean runtime, ``load_model(lean=False)``), for the ratio in one run.

Usage: ``python bench/bench_classify.py [--data DIR] [--files 520] [--model M.keras]``.
Without ``--model`` it uses models/covidcxr.keras when present, else a freshly built seed
network (random weights: speed does not depend on them).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DEFAULT_DATA = Path("/work/shared/data/fullres")
SUFFIXES = {".png", ".jpg", ".jpeg", ".jfif"}


def source_files(data: Path) -> list[Path]:
    files = sorted(p for p in data.iterdir() if p.suffix.lower() in SUFFIXES)
    if not files:
        sys.exit(f"bench: no images in {data}")
    return files


def repeated(files: list[Path], count: int, folder: Path) -> list[Path]:
    """``count`` symlinks cycling through ``files`` (the OS cache holds the few originals)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k in range(count):
        src = files[k % len(files)]
        link = folder / f"{k:05d}_{src.name}"
        if not link.exists():
            link.symlink_to(src.resolve())
        out.append(link)
    return out


def bench_model_path(arg: str | None, workdir: Path) -> Path:
    """The model to time: the given one, the bundled one, or a fresh random seed network."""
    if arg:
        return Path(arg)
    from core.resources import default_model_path

    bundled = default_model_path()
    if bundled.is_file():
        return bundled
    import keras
    import numpy as np

    from core.model.card import ModelCard
    from core.model.disk import save_model
    from core.model.networks import build
    from core.model.ood import fit_ood
    from core.model.preprocess import THUMB_SIZE, PreprocessSpec

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    ood = fit_ood(
        rng.normal(size=(300, 64)), rng.normal(size=(300, THUMB_SIZE**2)), structure_percentile=None
    )
    card = ModelCard(name="bench-seed-random", preprocess=PreprocessSpec(size=256).to_dict())
    path = workdir / "bench.keras"
    save_model(build("seed", 256), card, path, ood=ood)
    return path


def peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mib() -> float:
    """Resident set size now (Linux /proc; falls back to the peak elsewhere)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return peak_rss_mib()


def child_rss(
    model_path: Path, files: list[Path], count: int, batch: int, workdir: Path,
    keras: bool = False,
) -> tuple[float, float, float]:
    """A fresh process classifies ``count`` files: RSS once warm, highest RSS sampled at
    every record during the run, and the process's peak RSS (MiB)."""
    listing = workdir / f"files_{count}.txt"
    listing.write_text("\n".join(str(p) for p in files[:count]) + "\n", encoding="utf-8")
    proc = subprocess.run(
        [
            sys.executable,
            __file__,
            "--rss-child",
            str(listing),
            "--model",
            str(model_path),
            "--batch-size",
            str(batch),
            *(["--keras"] if keras else []),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    if proc.returncode != 0:
        sys.exit(f"bench: RSS child failed:\n{proc.stderr[-2000:]}")
    warm, during, peak, n = proc.stdout.split()[-4:]
    assert int(n) == count
    return float(warm), float(during), float(peak)


def rss_child(listing: Path, model_path: Path, batch: int, lean: bool = True) -> None:
    import numpy as np

    from core.answers.inference import classify
    from core.model.loading import load_model

    files = listing.read_text(encoding="utf-8").split()
    model = load_model(model_path, lean=lean)
    size = model.input_size
    model.forward(np.zeros((batch, size, size, 1), np.float32))  # network at full batch
    warm = rss_mib()
    during = warm
    preds = []  # kept, as the CLI keeps them for the CSV
    for pred in classify(iter(files), model, batch_size=batch):
        preds.append(pred)
        during = max(during, rss_mib())
    print(f"{warm:.1f} {during:.1f} {peak_rss_mib():.1f} {len(preds)}")


def stage_parts(model, loaded: list, batch: int, thr: float) -> dict[str, float]:
    """CPU ms per film of each part of the inference stage, run apart on the same films:
    the frontal-film check (segmenter pass and anatomy measures), the network with its
    evidence pass, the test-time views (averaged over all films, viewed or not)."""
    from core.answers.inference import judge_pending, network_pass, view_intervals

    spent = {"lung check": 0.0, "network + evidence": 0.0, "views": 0.0}
    for i in range(0, len(loaded), batch):
        c = time.process_time()
        items = judge_pending(model, loaded[i : i + batch])
        spent["lung check"] += time.process_time() - c
        c = time.process_time()
        probs, _, _ = network_pass(model, items, True)
        spent["network + evidence"] += time.process_time() - c
        c = time.process_time()
        view_intervals(model, items, probs, thr, [it.refusal is not None for it in items])
        spent["views"] += time.process_time() - c
    return {k: v / len(loaded) * 1e3 for k, v in spent.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--files", type=int, default=520, help="files to classify (>= 500)")
    parser.add_argument("--naive-files", type=int, default=80, help="files for the naive loop")
    parser.add_argument("--batch-size", type=int, help="default: core.answers.inference.DEFAULT_BATCH")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=2, help="best of N interleaved rounds")
    parser.add_argument("--rss-counts", default="250,1000", help="file counts for peak RSS")
    parser.add_argument("--model")
    parser.add_argument("--oversample", type=int, default=None,
                        help="decode films reduced (core.answers.inference.DECODE_OVERSAMPLE)")
    parser.add_argument("--compare-keras", action="store_true",
                        help="also time the Keras path (before the lean runtime), same run")
    parser.add_argument("--keras", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rss-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    import numpy as np

    from core.answers.inference import DEFAULT_BATCH, assess, classify, load_one

    batch = args.batch_size or DEFAULT_BATCH
    if args.oversample:
        import core.answers.inference

        core.answers.inference.DECODE_OVERSAMPLE = args.oversample
    if args.rss_child:
        rss_child(args.rss_child, Path(args.model), batch, lean=not args.keras)
        return

    from PIL import Image

    from core.model.loading import device_name, load_model

    cores = os.cpu_count() or 1
    originals = source_files(args.data)
    with tempfile.TemporaryDirectory(prefix="cxr-bench-") as tmp:
        workdir = Path(tmp)
        rss_counts = [int(c) for c in args.rss_counts.split(",") if c]
        files = repeated(originals, max([args.files, *rss_counts]), workdir / "files")
        run_files = files[: args.files]
        model_path = bench_model_path(args.model, workdir)
        model = load_model(model_path)
        spec = model.card.spec
        size = model.input_size
        for n in {batch, len(run_files) % batch or batch}:  # every batch shape, once
            model.forward(np.zeros((n, size, size, 1), np.float32))

        print(
            f"device: {device_name(model)}; {cores} CPU cores; model {model.display_name} "
            f"({model_path.name}), input {size}x{size}, batch {batch}"
        )
        print(f"files: {len(run_files)} (the {len(originals)} originals of {args.data}, repeated)")
        print(f"best of {args.rounds} interleaved rounds (other processes share the machine)")

        # Wall time and CPU time (all threads) per image, best of the rounds. CPU time shows
        # the work the pipeline adds, whatever share of the cores other processes take.
        inf = float("inf")
        decode_s = model_s = e2e_s = decode_cpu = model_cpu = e2e_cpu = inf
        parts: dict[str, float] = {}
        errors = 0
        thr = model.threshold
        for _ in range(args.rounds):
            # 1. The decode stage, per file as classify's decode threads run it, one thread.
            t0, c0 = time.perf_counter(), time.process_time()
            loaded = [load_one(p, spec, model.anatomy) for p in run_files]
            decode_s = min(decode_s, (time.perf_counter() - t0) / len(run_files))
            decode_cpu = min(decode_cpu, (time.process_time() - c0) / len(run_files))

            # 2. The inference stage alone, on the prepared films, in batches.
            t0, c0 = time.perf_counter(), time.process_time()
            for i in range(0, len(loaded), batch):
                assess(model, loaded[i : i + batch], thr)
            model_s = min(model_s, (time.perf_counter() - t0) / len(loaded))
            model_cpu = min(model_cpu, (time.process_time() - c0) / len(loaded))
            for name, ms in stage_parts(model, loaded, batch, thr).items():
                parts[name] = min(parts.get(name, inf), ms)
            del loaded

            # 3. End to end.
            t0, c0 = time.perf_counter(), time.process_time()
            preds = list(classify(run_files, model, batch_size=batch, workers=args.workers))
            e2e_s = min(e2e_s, (time.perf_counter() - t0) / len(preds))
            e2e_cpu = min(e2e_cpu, (time.process_time() - c0) / len(preds))
            errors = sum(not p.ok for p in preds)
        viewed = sum(p.p_low is not None for p in preds)
        keras_e2e_s = keras_cpu = inf
        if args.compare_keras:  # the path before the lean runtime, same files, same run
            before = load_model(model_path, lean=False)
            for n in {batch, len(run_files) % batch or batch}:
                before.forward(np.zeros((n, size, size, 1), np.float32))
            for _ in range(args.rounds):
                t0, c0 = time.perf_counter(), time.process_time()
                kp = list(classify(run_files, before, batch_size=batch, workers=args.workers))
                keras_e2e_s = min(keras_e2e_s, (time.perf_counter() - t0) / len(kp))
                keras_cpu = min(keras_cpu, (time.process_time() - c0) / len(kp))

        bound = 1.0 / (decode_s / cores + model_s)
        e2e = 1.0 / e2e_s

        # 4. Naive tutorial loop: one file at a time through model.predict.
        naive_files = run_files[: args.naive_files]
        net = model.keras_model
        net.predict(np.zeros((1, size, size, 1), np.float32), verbose=0)  # warm up
        t0 = time.perf_counter()
        for p in naive_files:
            img = Image.open(p).convert("L").resize((size, size))
            x = (np.asarray(img, dtype=np.float32) / 255.0)[None, :, :, None]
            net.predict(x, verbose=0)
        naive = len(naive_files) / (time.perf_counter() - t0)

        print()
        print(f"decode stage, 1 thread      : {1 / decode_s:7.1f} img/s ({decode_s * 1e3:.1f} ms/img)")
        print(
            f"inference stage, batch {batch:<4d}: {1 / model_s:7.1f} img/s "
            f"({model_s * 1e3:.1f} ms/img; {viewed} of {len(preds)} films given views)"
        )
        print(f"pipeline bound              : {bound:7.1f} img/s (1 / (decode/{cores} + inference))")
        print(
            f"end to end (classify)       : {e2e:7.1f} img/s "
            f"({len(run_files)} files, {errors} errors)"
        )
        print(f"naive loop (predict, bs 1)  : {naive:7.1f} img/s ({len(naive_files)} files)")
        print(f"end-to-end / bound          : {e2e / bound:7.2f}   (target >= 0.90)")
        print(f"end-to-end / naive          : {e2e / naive:7.2f}x  (target >= 4x)")
        print(
            f"CPU ms per image            : decode {decode_cpu * 1e3:.1f} + inference "
            f"{model_cpu * 1e3:.1f} = {(decode_cpu + model_cpu) * 1e3:.1f} apart; "
            f"{e2e_cpu * 1e3:.1f} end to end (target <= 40)"
        )
        if args.compare_keras:
            print(
                f"Keras path, end to end      : {1 / keras_e2e_s:7.1f} img/s, "
                f"{keras_cpu * 1e3:.1f} CPU ms per image; lean / Keras: "
                f"{keras_e2e_s / e2e_s:.2f}x the speed, {e2e_cpu / keras_cpu:.2f}x the CPU"
            )
        print("CPU ms per image, inference : " + ", ".join(
            f"{name} {ms:.1f}" for name, ms in parts.items()))
        print(f"load average now            : {' '.join(f'{x:.1f}' for x in os.getloadavg())}")

        # 5. Memory against file count, each in a fresh process.
        if rss_counts:
            print()
            for count in rss_counts:
                warm, during, peak = child_rss(model_path, files, count, batch, workdir)
                print(
                    f"RSS, {count:5d} files           : {during:7.1f} MiB highest during "
                    f"the run (warm model {warm:.1f} MiB, +{during - warm:.1f}; "
                    f"process peak {peak:.1f} MiB)"
                )
                if args.compare_keras:
                    warm, during, peak = child_rss(model_path, files, count, batch, workdir,
                                                   keras=True)
                    print(f"RSS, {count:5d} files, Keras    : {during:7.1f} MiB highest during "
                          f"the run (warm model {warm:.1f} MiB; process peak {peak:.1f} MiB)")


if __name__ == "__main__":
    main()
