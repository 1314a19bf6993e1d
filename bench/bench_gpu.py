"""The network on the GPU against the CPU, in one run: model only, and end to end.

Prints, for each device the backend sees (the CPU always; the GPU when there is one):

- model only: the bundled ``.keras`` network on random inputs of its size, batches of
  ``--batch`` (after a warm-up call), img/s;
- end to end: ``core.answers.inference.classify`` over ``--files`` films of
  ``../shared/data/fullres`` (every check on: the lung check, the evidence pass, the views),
  in a fresh process per device (``CUDA_VISIBLE_DEVICES=`` hides the GPU for the CPU run),
  img/s; and the ratio GPU / CPU of each.

The backend is Keras 3's (``KERAS_BACKEND``, tensorflow by default) and is printed with
every figure. Under ``KERAS_BACKEND=jax`` (a machine where TensorFlow's CUDA build cannot be
installed) the model-only figures come from the same ``.keras`` file through
``jax.jit``; the end-to-end pipeline is written on TensorFlow (``tf.function`` in
``core.model.loading`` and ``core.model.lungs``), so that row is printed as not measured.

Usage: ``python bench/bench_gpu.py [--files 160] [--batch 16] [--rounds 3]``; on a machine
without a GPU it prints the CPU rows and says that no GPU was found (that is how it was
tested).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench_classify import DEFAULT_DATA  # noqa: E402  (the films every bench reads)


def backend() -> str:
    import keras

    return str(keras.backend.backend())


def devices() -> list[tuple[str, str]]:
    """(kind, device name) for the CPU and, when present, the first GPU."""
    name = backend()
    if name == "jax":
        import jax

        found = [("CPU", str(jax.devices("cpu")[0]))]
        try:
            found.append(("GPU", str(jax.devices("gpu")[0])))
        except RuntimeError:
            pass
        return found
    import tensorflow as tf

    found = [("CPU", "/CPU:0")]
    if tf.config.list_physical_devices("GPU"):
        found.append(("GPU", "/GPU:0"))
    return found


def model_only(model_path: Path, batch: int, rounds: int, steps: int) -> dict[str, float]:
    """img/s of the network alone on each device, best of ``rounds``."""
    import keras
    import numpy as np

    net = keras.saving.load_model(model_path, compile=False, safe_mode=True)
    size = int(net.input_shape[1])
    x = np.random.default_rng(0).random((batch, size, size, 1), dtype=np.float32)
    out: dict[str, float] = {}
    for kind, dev in devices():
        if backend() == "jax":
            import jax

            put = jax.device_put(x, jax.devices(dev.split(":")[0].lower())[0]
                                 if ":" in dev else None)
            fn = jax.jit(lambda v: net(v, training=False))

            def call(fn=fn, put=put):
                return fn(put).block_until_ready()
        else:
            import tensorflow as tf

            with tf.device(dev):
                xt = tf.constant(x)
            fn = tf.function(lambda v: net(v, training=False))

            def call(fn=fn, xt=xt, dev=dev):
                with tf.device(dev):
                    return fn(xt).numpy()
        call()  # trace and warm up
        best = float("inf")
        for _ in range(rounds):
            t0 = time.perf_counter()
            for _ in range(steps):
                call()
            best = min(best, (time.perf_counter() - t0) / (steps * batch))
        out[kind] = 1.0 / best
    return out


def end_to_end_child(listing: Path, model_path: Path) -> None:
    from core.answers.inference import classify
    from core.model.loading import device_name, load_model

    files = listing.read_text(encoding="utf-8").split()
    model = load_model(model_path)
    list(classify(files[:16], model))  # warm up: graphs traced, segmenter loaded
    t0 = time.perf_counter()
    preds = list(classify(files, model))
    seconds = time.perf_counter() - t0
    print(json.dumps({"img_s": len(preds) / seconds, "device": device_name()}))


def end_to_end(model_path: Path, files: list[Path], workdir: Path) -> dict[str, tuple[float, str]]:
    """img/s of classify in a fresh process per device (TensorFlow backend only)."""
    listing = workdir / "files.txt"
    listing.write_text("\n".join(str(p) for p in files) + "\n", encoding="utf-8")
    out = {}
    for kind, _ in devices():
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        if kind == "CPU":
            env["CUDA_VISIBLE_DEVICES"] = ""
        proc = subprocess.run([sys.executable, __file__, "--e2e-child", str(listing),
                               "--model", str(model_path)], capture_output=True, text=True,
                              env=env, check=False)
        if proc.returncode:
            sys.exit(f"bench_gpu: end-to-end child failed:\n{proc.stderr[-2000:]}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        out[kind] = (float(result["img_s"]), str(result["device"]))
    return out


def main() -> int:
    import tempfile

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=REPO / "models" / "covidcxr.keras")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--files", type=int, default=160)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=5, help="batches per timed round")
    ap.add_argument("--e2e-child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.e2e_child:
        end_to_end_child(args.e2e_child, args.model)
        return 0

    name = backend()
    found = devices()
    print(f"Keras backend: {name}; devices: " + ", ".join(f"{k} {d}" for k, d in found))
    if len(found) == 1:
        print("no GPU found by this backend: CPU rows only (the GPU figure is not measured)")
    rates = model_only(args.model, args.batch, args.rounds, args.steps)
    for kind, rate in rates.items():
        print(f"model only, {kind}, batch {args.batch:3d} ({name}): {rate:8.1f} img/s")
    if "GPU" in rates:
        print(f"model only, GPU / CPU        : {rates['GPU'] / rates['CPU']:8.2f}x")
    if name != "tensorflow":
        print(f"end to end ({name}): not measured: the pipeline runs on TensorFlow only")
        return 0
    pool = sorted(p for p in args.data.rglob("*") if p.is_file()
                  and p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    files = [pool[i % len(pool)] for i in range(args.files)]
    with tempfile.TemporaryDirectory(prefix="cxr-gpu-") as tmp:
        e2e = end_to_end(args.model, files, Path(tmp))
    for kind, (rate, dev) in e2e.items():
        print(f"end to end, {kind} ({name}, {dev}): {rate:8.1f} img/s ({args.files} files)")
    if "GPU" in e2e:
        print(f"end to end, GPU / CPU        : {e2e['GPU'][0] / e2e['CPU'][0]:8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
