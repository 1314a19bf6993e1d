"""Training under tf.distribute without a cluster (issue #13): a CPU split into two logical
devices under MirroredStrategy, and two local worker processes under
MultiWorkerMirroredStrategy configured by TF_CONFIG. Each runs in its own process, because
devices and a multi-worker strategy must be set up before TensorFlow starts."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.training.distribute import is_chief, precision_for

REPO = Path(__file__).resolve().parent.parent

TWO_CPUS = r"""
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from core.answers.inference import classify
from core.model.loading import load_model
from core.model.disk import save_model
from core.training.recipe import TrainConfig
from core.training.fit import train

data, out, strategy = sys.argv[1:4]
batches = []
cfg = TrainConfig(architecture="seed", input_size=64, epochs=1, batch_size=4, patience=5,
                  learning_rate=1e-3, strategy=strategy)
res = train(data, cfg, on_batch=batches.append)
save_model(res.keras_model, res.card, out, res.ood)
preds = list(classify([sys.argv[4]], load_model(out)))
print(json.dumps({"training": res.card.training, "losses": [b["loss"] for b in batches],
                  "batches": len(batches), "label": preds[0].label,
                  "status": preds[0].status}))
"""


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2", **extra}


def separable_dataset(root: Path, per_class: int = 40) -> Path:
    """Two classes a network learns in a few steps (bright vs dark films with noise)."""
    rng = np.random.default_rng(0)
    for cls, level in (("COVID", 0.7), ("Normal", 0.3)):
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            img = np.clip(rng.normal(level, 0.15, (64, 64)), 0, 1)
            Image.fromarray((img * 255).astype(np.uint8)).save(root / cls / f"{cls}-{i:02d}.png")
    return root


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_mirrored_on_two_logical_cpu_devices(tmp_path, sample_images):
    data = separable_dataset(tmp_path / "data")
    out = tmp_path / "m.keras"
    proc = subprocess.run(
        [sys.executable, "-c", TWO_CPUS, str(data), str(out), "mirrored", str(sample_images[0])],
        env=_env(), capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["training"]["strategy"] == "MirroredStrategy (2 CPU devices)"
    assert r["training"]["replicas"] == 2 and r["training"]["precision"] == "float32"
    # 56 training films at a global batch of 8 (4 per device): 7 steps, and it learns.
    assert r["batches"] == 7
    assert r["losses"][-1] < r["losses"][0]
    assert r["status"] == "ok" and r["label"] in ("COVID", "NOT COVID", "NOT ASSESSED")


@pytest.mark.slow
def test_two_workers_train_together_and_only_the_chief_writes(tmp_path, sample_images):
    data = separable_dataset(tmp_path / "data")
    out = tmp_path / "shared" / "m.keras"
    hosts = [f"localhost:{_free_port()}", f"localhost:{_free_port()}"]
    procs = []
    for index in (0, 1):
        tf_config = json.dumps({"cluster": {"worker": hosts},
                                "task": {"type": "worker", "index": index}})
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "gui.shell.launcher", "train", str(data), "--output", str(out),
             "--strategy", "multiworker", "--architecture", "seed", "--input-size", "64",
             "--epochs", "1", "--batch-size", "4"],
            env=_env(TF_CONFIG=tf_config), cwd=tmp_path, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True))
    results = []
    try:
        for p in procs:
            stdout, stderr = p.communicate(timeout=600)
            results.append((p.returncode, stdout, stderr))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for rc, stdout, stderr in results:
        assert rc == 0, stderr[-3000:]
        assert "trained under MultiWorkerMirroredStrategy (2 workers) (2 replica(s), float32)" \
            in stdout
    assert f"wrote {out}" in results[0][1]
    assert "not the chief worker" in results[1][1] and "wrote" not in results[1][1]
    assert sorted(p.name for p in out.parent.iterdir()) == [
        "m.card.json", "m.keras", "m.ood.npz"]

    from core.answers.inference import classify
    from core.model.disk import read_card
    from core.model.loading import load_model

    assert read_card(out).training["replicas"] == 2
    pred = next(classify([sample_images[0]], load_model(out)))
    assert pred.ok and pred.probability is not None


def test_the_chief_is_the_chief_task_or_worker_zero():
    cluster = {"worker": ["a:1", "b:2"]}
    cfg = lambda kind, i, c=cluster: {  # noqa: E731
        "TF_CONFIG": json.dumps({"cluster": c, "task": {"type": kind, "index": i}})}
    assert is_chief({}) is True
    assert is_chief(cfg("worker", 0)) is True
    assert is_chief(cfg("worker", 1)) is False
    with_chief = {"chief": ["c:3"], **cluster}
    assert is_chief(cfg("chief", 0, with_chief)) is True
    assert is_chief(cfg("worker", 0, with_chief)) is False


def test_mixed_precision_only_with_tensor_cores():
    assert precision_for([]) == "float32"  # CPU
    assert precision_for([(6, 1)]) == "float32"  # Pascal: no tensor cores
    assert precision_for([(9, 0)]) == "mixed_float16"
    assert precision_for([(8, 0), (6, 0)]) == "float32"  # one old card holds the rest back


def test_multiworker_without_tf_config_is_a_clear_error(monkeypatch):
    from core.errors import CovidCXRError
    from core.training.distribute import choose

    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(CovidCXRError, match="needs TF_CONFIG"):
        choose("multiworker")
    with pytest.raises(CovidCXRError, match="unknown strategy"):
        choose("everywhere")
