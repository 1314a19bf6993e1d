"""Candidate inference runtimes for the three networks, measured in one run (issue #30).

For ``models/covidcxr.tflite`` (P, pooled features, 14 x 14 activation map; the last
stride dilated), ``models/covidcxr.views.tflite`` (P, ordinary strides) and
``models/lungs.tflite`` (128 px U-Net) it measures, on the same 16 real films (every k-th
file of ``/work/shared/data/cxr/test``, PIL ``convert("L")``, bilinear resize to 224 / 128,
/ 255):

- LiteRT (``ai_edge_litert.interpreter.Interpreter``, XNNPACK, ``num_threads``) on the
  .tflite files;
- ONNX Runtime (CPU EP, ``intra_op_num_threads``) on ONNX files that ``tf2onnx`` converts
  from the same .tflite files (``python -m tf2onnx.convert --tflite``) into a temporary
  folder or ``--onnx-dir`` (never committed);
- OpenVINO (CPU plugin, ``INFERENCE_NUM_THREADS``, latency hint, f32 precision hint) reading
  the .tflite files directly and the converted .onnx files;
- Keras (the baseline): the Keras source of each converted file
  (``core.model.convert.runtime_networks`` of ``models/covidcxr.keras``; ``models/lungs.keras``)
  under ``tf.function``, at batch 1 and batch 16.

Each (runtime, network, threads) runs in a fresh subprocess, which reports the import time,
the load time (file to a network ready to run), the first call, ms per film at batch 1
over ``--rounds`` rounds of the 16 films (median and min), the RSS increase over the same
process before the runtime was imported (python + numpy + the inputs), after loading and
after running, and every output; the parent compares each output with Keras's (eager, batch
16, default threads) as max |difference|. ONNX Runtime and OpenVINO rows appear only where
the worker interpreter (``--python``) imports them.

Reproduce (the project's .venv has LiteRT and TensorFlow; the others go elsewhere)::

    python3.11 -m venv /tmp/rtvenv
    /tmp/rtvenv/bin/pip install numpy pillow onnxruntime openvino ai-edge-litert==2.3.0
    .venv/bin/pip install --target /tmp/t2o --no-deps tf2onnx onnx   # converter, outside .venv
    .venv/bin/python bench/bench_runtime.py --python /tmp/rtvenv/bin/python --tf2onnx-path /tmp/t2o

Without the options (``.venv/bin/python bench/bench_runtime.py``) it compares LiteRT with
Keras alone. ``--keras-python`` (default: the repository's .venv) runs the Keras rows and the
conversion; ``--convert-python`` overrides the latter.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = Path("/work/shared/data/cxr/test")
NETWORKS = {  # name: (converted file, input size)
    "covidcxr": ("models/covidcxr.tflite", 224),
    "covidcxr.views": ("models/covidcxr.views.tflite", 224),
    "lungs": ("models/lungs.tflite", 128),
}
RANK_NAMES = {1: "P", 2: "feat", 3: "map", 4: "mask"}
RUNTIMES = ("litert", "onnxruntime", "openvino-tflite", "openvino-onnx", "keras")
MODULES = {"litert": "ai_edge_litert", "onnxruntime": "onnxruntime",
           "openvino-tflite": "openvino", "openvino-onnx": "openvino"}
N_FILMS = 16
MIB = 1024 * 1024


# --------------------------------------------------------------------------- worker side

def _rss() -> tuple[int, int]:
    """(current RSS, peak RSS) in bytes, from /proc (Linux)."""
    cur = peak = 0
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                cur = int(line.split()[1]) * 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - not Linux
        import resource
        peak = cur = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return cur, peak


def _du(paths: list[str]) -> int:
    total = 0
    for p in paths:
        for root, _, files in os.walk(p):
            for f in files:
                try:
                    total += os.lstat(os.path.join(root, f)).st_size
                except OSError:
                    pass
    return total


def _package_bytes(names: list[str]) -> int:
    import importlib.util
    dirs = []
    for n in names:
        spec = importlib.util.find_spec(n)
        if spec and spec.submodule_search_locations:
            dirs.extend(spec.submodule_search_locations)
    return _du(dirs)


def _load(task: dict):
    """Import the runtime and load the network: (import s, load s, run(x) -> {rank: array},
    version, package bytes, batch run or None)."""
    rt, path, n = task["runtime"], task["file"], task["threads"]
    t0 = time.perf_counter()
    if rt == "litert":
        from ai_edge_litert.interpreter import Interpreter
        t1 = time.perf_counter()
        it = Interpreter(model_path=path, num_threads=n)
        it.allocate_tensors()
        inp = it.get_input_details()[0]["index"]
        outs = {len(d["shape"]): d["index"] for d in it.get_output_details()}

        def run(x):
            it.set_tensor(inp, x)
            it.invoke()
            return {r: it.get_tensor(i).copy() for r, i in outs.items()}
        from importlib.metadata import version
        return t1 - t0, time.perf_counter() - t1, run, version("ai-edge-litert"), \
            _package_bytes(["ai_edge_litert"]), None
    if rt == "onnxruntime":
        import onnxruntime as ort
        t1 = time.perf_counter()
        so = ort.SessionOptions()
        so.intra_op_num_threads = n
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name

        def run(x):
            return {o.ndim: o for o in sess.run(None, {name: x})}
        return t1 - t0, time.perf_counter() - t1, run, ort.__version__, \
            _package_bytes(["onnxruntime"]), None
    if rt.startswith("openvino"):
        import openvino as ov
        t1 = time.perf_counter()
        core = ov.Core()
        compiled = core.compile_model(core.read_model(path), "CPU", {
            "INFERENCE_NUM_THREADS": n, "PERFORMANCE_HINT": "LATENCY",
            "INFERENCE_PRECISION_HINT": "f32"})
        req = compiled.create_infer_request()
        n_out = len(compiled.outputs)

        def run(x):
            req.infer({0: x})
            got = (req.get_output_tensor(i).data.copy() for i in range(n_out))
            return {o.ndim: o for o in got}
        return t1 - t0, time.perf_counter() - t1, run, ov.get_version().split("-")[0], \
            _package_bytes(["openvino"]), None
    if rt == "keras":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        sys.path.insert(0, str(REPO))
        import tensorflow as tf
        if n:
            tf.config.threading.set_intra_op_parallelism_threads(n)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        import keras
        if task["net"].startswith("covidcxr"):
            from core.model.convert import runtime_networks
        t1 = time.perf_counter()
        if task["net"].startswith("covidcxr"):
            net = keras.saving.load_model(task["keras_file"], compile=False, safe_mode=True)
            model = runtime_networks(net)[0 if task["net"] == "covidcxr" else 1]
        else:
            model = keras.saving.load_model(task["keras_file"], compile=False, safe_mode=True)
        fn = tf.function(lambda x: model(x, training=False))

        def run(x):
            out = fn(tf.constant(x))
            out = out if isinstance(out, (list, tuple)) else [out]
            return {o.ndim: o for o in (np.asarray(t) for t in out)}

        def eager(x):
            out = model(x, training=False)
            out = out if isinstance(out, (list, tuple)) else [out]
            return {o.ndim: o for o in (np.asarray(t) for t in out)}
        run.eager = eager
        return t1 - t0, time.perf_counter() - t1, run, f"TF {tf.__version__}, Keras " \
            f"{keras.__version__}", _package_bytes(["tensorflow", "keras"]), run
    raise ValueError(rt)


def worker(task: dict) -> None:
    """One subprocess: one runtime, one network, one thread count; writes JSON + npz."""
    x = np.load(task["inputs"])["x"]
    rss0, _ = _rss()
    import_s, load_s, run, ver, pkg, batch_run = _load(task)
    rss_load, _ = _rss()
    if task.get("reference"):
        outs = run.eager(x)
        np.savez(task["out"] + ".npz", **{str(k): v for k, v in outs.items()})
        Path(task["out"] + ".json").write_text(json.dumps({"version": ver}))
        return
    films = [x[i:i + 1] for i in range(len(x))]
    t = time.perf_counter()
    first = run(films[0])
    first_ms = (time.perf_counter() - t) * 1e3
    outs = {r: [] for r in first}
    for f in films:  # the outputs compared with Keras's, and a warm-up round
        for r, v in run(f).items():
            outs[r].append(v)
    per_film = []
    for _ in range(task["rounds"]):
        t = time.perf_counter()
        for f in films:
            run(f)
        per_film.append((time.perf_counter() - t) * 1e3 / len(films))
    res = {"version": ver, "import_s": import_s, "load_s": load_s, "first_ms": first_ms,
           "ms": per_film, "pkg_bytes": pkg}
    if batch_run is not None:  # Keras: batch 16 as one call
        batch_run(x)
        b16 = []
        for _ in range(task["rounds"]):
            t = time.perf_counter()
            batch_run(x)
            b16.append((time.perf_counter() - t) * 1e3 / len(x))
        res["b16_ms"] = b16
    rss_run, peak = _rss()
    res.update(rss0=rss0, rss_load=rss_load, rss_run=rss_run, rss_peak=peak)
    np.savez(task["out"] + ".npz", **{str(k): np.concatenate(v) for k, v in outs.items()})
    Path(task["out"] + ".json").write_text(json.dumps(res))


# --------------------------------------------------------------------------- parent side

def films(data: Path, n: int) -> list[Path]:
    files = sorted(p for p in data.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    if len(files) < n:
        raise SystemExit(f"{data}: {len(files)} films, need {n}")
    step = len(files) // n
    return files[::step][:n]


def make_inputs(paths: list[Path], size: int, out: Path) -> None:
    from PIL import Image
    x = []
    for p in paths:
        with Image.open(p) as im:
            g = im.convert("L").resize((size, size), Image.BILINEAR)
        x.append(np.asarray(g, np.float32) / 255.0)
    np.savez(out, x=np.stack(x)[..., None].astype(np.float32))


def spawn(python: str, task: dict, env: dict | None = None, timeout: int = 900) -> str | None:
    """Run one worker; None when it succeeded, else the tail of its error."""
    cmd = [python, str(Path(__file__).resolve()), "--worker", json.dumps(task)]
    e = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **(env or {}))
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=e)
    if r.returncode != 0:
        return (r.stderr.strip().splitlines() or ["?"])[-1][:200]
    return None


def importable(python: str, modules: list[str]) -> set[str]:
    code = ("import importlib.util, sys\n"
            "print(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m)))")
    r = subprocess.run([python, "-c", code, *modules], capture_output=True, text=True)
    return set(r.stdout.split())


def bare_rss(python: str) -> float:
    code = ("import numpy, pathlib\n"
            "print([int(l.split()[1]) for l in pathlib.Path('/proc/self/status').read_text()"
            ".splitlines() if l.startswith('VmRSS:')][0])")
    r = subprocess.run([python, "-c", code], capture_output=True, text=True)
    try:
        return int(r.stdout.strip()) / 1024
    except ValueError:
        return float("nan")


def convert_onnx(python: str, pythonpath: str | None, tflite: Path, onnx: Path) -> str:
    """Convert with ``tf2onnx --tflite``; returns what happened, for the report."""
    if onnx.exists():
        return f"reused {onnx}"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [pythonpath, env.get("PYTHONPATH")]))
    t = time.perf_counter()
    r = subprocess.run([python, "-m", "tf2onnx.convert", "--tflite", str(tflite), "--output",
                        str(onnx), "--opset", "17"], capture_output=True, text=True, env=env)
    if r.returncode != 0 or not onnx.exists():
        tail = [ln for ln in r.stderr.splitlines() if "Error" in ln or "error" in ln]
        return f"FAILED ({(tail or r.stderr.splitlines() or ['?'])[-1][:160]})"
    return f"tf2onnx --tflite, opset 17, {time.perf_counter() - t:.1f} s"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--python", default=sys.executable,
                    help="interpreter of the LiteRT / ONNX Runtime / OpenVINO workers")
    default_keras = REPO / ".venv" / "bin" / "python"
    ap.add_argument("--keras-python",
                    default=str(default_keras) if default_keras.exists() else sys.executable,
                    help="interpreter with TensorFlow and the project (Keras rows, reference)")
    ap.add_argument("--convert-python", help="interpreter running tf2onnx (default: "
                    "--keras-python)")
    ap.add_argument("--tf2onnx-path", help="prepended to PYTHONPATH for the conversion "
                    "(a `pip install --target` folder with tf2onnx and onnx)")
    ap.add_argument("--onnx-dir", help="where ONNX files are written / reused "
                    "(default: a temporary folder, deleted)")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--rounds", type=int, default=7, help="rounds of the 16 films per row")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--networks", default=",".join(NETWORKS))
    ap.add_argument("--runtimes", default=",".join(RUNTIMES))
    args = ap.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return 0

    threads = [int(t) for t in args.threads.split(",")]
    nets = args.networks.split(",")
    wanted = args.runtimes.split(",")
    have = importable(args.python, sorted(set(MODULES.values())))
    runtimes = [r for r in wanted if r == "keras" or MODULES[r] in have]
    missing = sorted({MODULES[r] for r in wanted if r != "keras" and MODULES[r] not in have})
    print(f"CPU cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}; "
          f"workers: {args.python}; Keras: {args.keras_python}")
    if missing:
        print(f"not installed under {args.python}: {', '.join(missing)} "
              "(pip install onnxruntime openvino to compare)")

    with tempfile.TemporaryDirectory(prefix="bench_runtime_") as tmp:
        work = Path(tmp)
        onnx_dir = Path(args.onnx_dir) if args.onnx_dir else work / "onnx"
        onnx_dir.mkdir(parents=True, exist_ok=True)
        paths = films(args.data, N_FILMS)
        print(f"inputs: {len(paths)} films of {args.data} (every k-th of the sorted list: "
              f"{', '.join(p.parent.name for p in paths)})")
        for size in {NETWORKS[n][1] for n in nets}:
            make_inputs(paths, size, work / f"x{size}.npz")

        conversions: dict[str, str] = {}
        if {"onnxruntime", "openvino-onnx"} & set(runtimes):
            for n in nets:
                conversions[n] = convert_onnx(args.convert_python or args.keras_python,
                                              args.tf2onnx_path, REPO / NETWORKS[n][0],
                                              onnx_dir / f"{n}.onnx")
            print("ONNX conversion:")
            for n, how in conversions.items():
                print(f"  {n}: {how}")

        rows = []
        for n in nets:
            tfl, size = NETWORKS[n]
            keras_file = str(REPO / ("models/lungs.keras" if n == "lungs"
                                     else "models/covidcxr.keras"))
            base = {"net": n, "inputs": str(work / f"x{size}.npz"), "rounds": args.rounds,
                    "keras_file": keras_file}
            ref_out = str(work / f"ref_{n}")
            err = spawn(args.keras_python, {**base, "runtime": "keras", "threads": 0,
                                            "file": "", "reference": True, "out": ref_out})
            if err:
                print(f"{n}: no Keras reference ({err})")
                continue
            ref = dict(np.load(ref_out + ".npz"))
            scale = ", ".join(f"{RANK_NAMES[int(k)]} {np.abs(v).max():.3g}"
                              for k, v in sorted(ref.items()))
            print(f"  {n}: Keras outputs, max |value|: {scale}", flush=True)
            for rt in runtimes:
                if rt in ("onnxruntime", "openvino-onnx"):
                    f = onnx_dir / f"{n}.onnx"
                    if not f.exists():
                        continue
                elif rt == "keras":
                    f = Path(keras_file)
                else:
                    f = REPO / tfl
                python = args.keras_python if rt == "keras" else args.python
                row = {"runtime": rt, "net": n, "file_bytes": f.stat().st_size, "by": {}}
                for t in threads:
                    out = str(work / f"{rt}_{n}_{t}")
                    err = spawn(python, {**base, "runtime": rt, "threads": t,
                                         "file": str(f), "out": out})
                    if err:
                        row["error"] = err
                        break
                    res = json.loads(Path(out + ".json").read_text())
                    got = dict(np.load(out + ".npz"))
                    res["diff"] = {int(k): float(np.abs(got[k].reshape(ref[k].shape) - ref[k]).max())
                                   if k in got and got[k].size == ref[k].size else float("nan")
                                   for k in ref}
                    row["by"][t] = res
                rows.append(row)
                print(f"  done: {rt} {n}", flush=True)

    report(rows, threads, args)
    return 0


def report(rows: list[dict], threads: list[int], args) -> None:
    print(f"\nms per film at batch 1 over {args.rounds} rounds of {N_FILMS} films (median/min);"
          " RSS: increase over the same process before the import (python + numpy + inputs);"
          " max|d|: against Keras eager batch 16, worst of the thread runs.\n")
    head = ["runtime", "network", "file MiB", "import s", "load s", "1st ms"]
    head += [f"{t}T ms med/min" for t in threads]
    head += ["Keras b16 ms/film", "RSS +MiB load/run", "max|d| vs Keras"]
    lines = [head]
    versions, pkgs = {}, {}
    for r in rows:
        if "error" in r:
            lines.append([r["runtime"], r["net"], f"{r['file_bytes'] / MIB:.1f}", "FAILED: "
                          + r["error"]] + [""] * (len(head) - 4))
            continue
        first = r["by"][threads[0]]
        versions[r["runtime"]] = first["version"]
        pkgs[r["runtime"]] = first["pkg_bytes"]
        cells = [r["runtime"], r["net"], f"{r['file_bytes'] / MIB:.1f}",
                 f"{first['import_s']:.2f}", f"{first['load_s']:.2f}", f"{first['first_ms']:.0f}"]
        for t in threads:
            ms = r["by"][t]["ms"]
            cells.append(f"{statistics.median(ms):.1f} / {min(ms):.1f}")
        b16 = [r["by"][t].get("b16_ms") for t in threads]
        cells.append(" | ".join(f"{statistics.median(b):.1f}" for b in b16 if b) or "-")
        cells.append(f"{(first['rss_load'] - first['rss0']) / MIB:.0f} / "
                     f"{(first['rss_run'] - first['rss0']) / MIB:.0f}")
        diffs = {}
        for t in threads:
            for k, v in r["by"][t]["diff"].items():
                diffs[k] = max(diffs.get(k, 0.0), v)
        cells.append(", ".join(f"{RANK_NAMES.get(k, k)} {v:.1e}" for k, v in sorted(diffs.items())))
        lines.append(cells)
    widths = [max(len(str(ln[i])) for ln in lines) for i in range(len(head))]
    for i, ln in enumerate(lines):
        print("| " + " | ".join(str(c).ljust(w) for c, w in zip(ln, widths, strict=True)) + " |")
        if i == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    print("\nKeras b16: one tf.function call on the 16 films, per film, for each thread count.")
    print("versions and installed package size (site-packages folders):")
    for rt, v in versions.items():
        print(f"  {rt}: {v}, {pkgs[rt] / MIB:.0f} MiB")
    for py in dict.fromkeys([args.python, args.keras_python]):
        print(f"bare python + numpy RSS ({py}): {bare_rss(py):.0f} MiB")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    sys.exit(main())
