"""Training throughput under the default strategy and under MirroredStrategy on two
logical CPU devices (each in its own process: devices are fixed when TensorFlow starts).

Trains the seed network at 128 px on a synthetic two-class set for three epochs and
reports images per second of the last two (the first pays for tracing). On a CPU the two
"devices" share the same cores, so the figure shows the strategy's overhead, not a
speed-up; on a machine with several GPUs the same command spreads the batch over them.

Usage: ``PYTHONPATH=. python bench/bench_train_strategy.py [--images 512] [--size 128]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, time
import tensorflow as tf
data, strategy, size, logical = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if logical > 1:
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * logical)
from core.training.recipe import TrainConfig
from core.training.fit import train
ends = []
cfg = TrainConfig(architecture="seed", input_size=size, epochs=3, batch_size=16 // logical,
                  patience=10, min_delta=0.0, strategy=strategy, class_weights=True)
res = train(data, cfg, on_epoch=lambda e: ends.append(time.monotonic()))
print(json.dumps({"ends": ends, "training": res.card.training}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=512)
    ap.add_argument("--size", type=int, default=128)
    args = ap.parse_args()
    import numpy as np
    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        rng = np.random.default_rng(0)
        for cls, level in (("COVID", 0.6), ("Normal", 0.4)):
            (data / cls).mkdir(parents=True)
            for i in range(args.images // 2):
                img = np.clip(rng.normal(level, 0.2, (args.size, args.size)), 0, 1)
                Image.fromarray((img * 255).astype(np.uint8)).save(data / cls / f"{i:04d}.png")
        from core.files.dataset import scan

        n_train = len(scan(data).of_split("train"))
        env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
        rates = {}
        for label, strategy, logical in (("default, one device", "auto", 1),
                                         ("mirrored, 2 logical CPU devices", "mirrored", 2)):
            proc = subprocess.run([sys.executable, "-c", CHILD, str(data), strategy,
                                   str(args.size), str(logical)], env=env, capture_output=True,
                                  text=True)
            if proc.returncode:
                sys.exit(proc.stderr[-2000:])
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            ends = r["ends"]
            rate = 2 * n_train / (ends[-1] - ends[0])
            rates[label] = rate
            print(f"{label:34s}: {rate:7.1f} training img/s (epochs 2-3; global batch 16; "
                  f"{r['training']['strategy']}, {r['training']['replicas']} replica(s))")
        a, b = rates.values()
        print(f"mirrored / default: {b / a:.2f} (same 2 cores: the strategy's overhead)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
