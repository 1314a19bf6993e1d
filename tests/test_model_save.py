"""Replacing a model is one change: a kill at any point of ``save_model`` leaves either the
whole old model (weights, card, OOD statistics) or the whole new one, never neither."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

SIZE = 64
REPO = Path(__file__).resolve().parent.parent

# Builds the two models both the test and the subprocess harness save ("old" and "new"
# differ in weights, OOD statistics and card name).
MODELS = textwrap.dedent(
    f"""
    import keras
    import numpy as np

    from core.model.card import ModelCard
    from core.model.networks import build
    from core.model.ood import fit_ood
    from core.model.preprocess import THUMB_SIZE, PreprocessSpec


    def make(name, seed, scale):
        keras.utils.set_random_seed(seed)
        net = build("seed", input_size={SIZE})
        rng = np.random.default_rng(seed)
        feats = rng.normal(0.0, scale, size=(200, 64))
        thumbs = rng.normal(0.0, scale, size=(200, THUMB_SIZE * THUMB_SIZE))
        ood = fit_ood(feats, thumbs, structure_percentile=None)
        size = net.input_shape[1]
        card = ModelCard(name=name, input_size=size, preprocess=PreprocessSpec(size=size).to_dict())
        return net, card, ood


    def old():
        return make("old", 1, 10.0)


    def new():
        return make("new", 2, 3.0)
    """
)


class _Killed(BaseException):
    """Stands for the kill: a BaseException, so no ``except Exception`` swallows it."""


def _models():
    namespace: dict = {}
    exec(compile(MODELS, "models", "exec"), namespace)  # noqa: S102 - our own test source
    return namespace["old"], namespace["new"]


@pytest.fixture
def fast_load(monkeypatch):
    """Loading without the lung-field segmenter (not what these tests are about)."""
    import core.model.loading

    monkeypatch.setattr(core.model.loading, "bundled_anatomy", lambda lean=True: None)


def _probe() -> np.ndarray:
    return np.random.default_rng(0).random((2, SIZE, SIZE, 1), dtype=np.float32)


def _fingerprint(path: Path) -> tuple[str, np.ndarray, float]:
    """Card name, prediction and OOD cut-off of the model at ``path`` (which must load)."""
    from core.model.loading import load_model

    model = load_model(path)
    probs, _ = model.forward(_probe())
    return model.card.name, probs, model.ood.feat_cut


def _assert_complete(path: Path, expected: dict) -> str:
    """The model at ``path`` is entirely one of ``expected``; returns which."""
    from core.model.disk import read_card, verify

    name, probs, feat_cut = _fingerprint(path)
    assert name in expected
    want_probs, want_cut = expected[name]
    np.testing.assert_allclose(probs, want_probs, rtol=1e-5)
    assert feat_cut == want_cut
    # The TensorFlow-free checks (CLI pre-check, model list) see the same set.
    card = read_card(path)
    assert card.name == name
    verify(path, card)
    return name


def _expected(tmp_path: Path, *models) -> dict:
    from core.model.disk import save_model

    out = {}
    for make in models:
        net, card, ood = make()
        ref = save_model(net, card, tmp_path / f"ref-{card.name}.keras", ood)
        name, probs, feat_cut = _fingerprint(ref)
        out[name] = (probs, feat_cut)
    return out


# The low-level steps of a save; the fault is injected before one of them.
STEPS = [
    ("os", "rename"),
    ("os", "replace"),
    ("os", "fsync"),
    ("os", "chmod"),
    ("shutil", "copyfile"),
    ("shutil", "rmtree"),
    ("tempfile", "mkdtemp"),
    ("tempfile", "mkstemp"),
    ("pathlib", "Path.write_text"),
    ("core.model.ood", "OODModel.save"),
    ("keras", "Model.save"),
]


class _Injector:
    """Counts the steps of a save; at step ``fail_at``, copies the model's folder as it
    stands (what a kill at that moment would leave) and raises ``_Killed``."""

    def __init__(self, monkeypatch, folder: Path, snapshot: Path | None, fail_at: int | None):
        self.folder, self.snapshot, self.fail_at = folder, snapshot, fail_at
        self.calls = 0
        self.log: list[tuple[str, tuple]] = []
        self.busy = False
        import importlib

        for module_name, attr in STEPS:
            owner = importlib.import_module(module_name)
            *outer, name = attr.split(".")
            for part in outer:
                owner = getattr(owner, part)
            monkeypatch.setattr(owner, name, self._wrap(getattr(owner, name)))

    def _wrap(self, fn):
        def step(*args, **kwargs):
            if not self.busy:
                k = self.calls
                self.calls += 1
                self.log.append((fn.__qualname__, args))
                if k == self.fail_at:
                    self.busy = True
                    try:
                        shutil.copytree(self.folder, self.snapshot, symlinks=True)
                    finally:
                        self.busy = False
                    raise _Killed(f"killed before step {k}: {fn.__qualname__}")
            # Steps inside a step (Keras' own file handling) are not counted on their own.
            outer, self.busy = self.busy, True
            try:
                return fn(*args, **kwargs)
            finally:
                self.busy = outer

        return step


def test_a_save_killed_at_any_step_leaves_the_old_or_the_new_model(
    tmp_path, monkeypatch, fast_load
):
    from core.model.disk import save_model

    old, new = _models()
    expected = _expected(tmp_path, old, new)
    old_made, new_made = old(), new()  # built once: a save does not change the network

    def replace(fail_at: int | None, folder: Path, snapshot: Path | None) -> int:
        folder.mkdir()
        _save(old_made, folder / "m.keras")
        net, card, ood = new_made
        with monkeypatch.context() as patch:
            injector = _Injector(patch, folder, snapshot, fail_at)
            if fail_at is None:
                save_model(net, card, folder / "m.keras", ood)
            else:
                with pytest.raises(_Killed):
                    save_model(net, card, folder / "m.keras", ood)
        return injector.calls

    steps = replace(None, tmp_path / "count", None)
    assert 10 <= steps < 40  # the save really goes through the patched steps
    seen = []
    for k in range(steps):
        folder, snapshot = tmp_path / f"run{k}", tmp_path / f"kill{k}"
        replace(k, folder, snapshot)
        # Killed at step k: the folder as it stood.
        seen.append(_assert_complete(snapshot / "m.keras", expected))
        # Failed with an exception at step k: the folder after the clean-up handlers.
        _assert_complete(folder / "m.keras", expected)
        # The next save over a killed one finishes or discards it, and wins.
        _save(new_made, snapshot / "m.keras")
        assert _assert_complete(snapshot / "m.keras", expected) == "new"
        assert not (snapshot / ".m.keras.next").exists()
    # Old until the commit point, new from then on; both sides are reached.
    assert seen[0] == "old" and seen[-1] == "new"
    assert seen == sorted(seen, key=["old", "new"].index)


def _save(made, path: Path) -> Path:
    from core.model.disk import save_model

    net, card, ood = made
    return save_model(net, card, path, ood)


def test_copy_model_copies_the_complete_set_even_mid_save(tmp_path, monkeypatch, fast_load):
    from core.model.disk import copy_model

    old, new = _models()
    expected = _expected(tmp_path, old, new)
    with monkeypatch.context() as patch:
        counting = _Injector(patch, tmp_path, None, None)
        _save(new(), tmp_path / "probe.keras")
    commit = next(
        k for k, (fn, args) in enumerate(counting.log)
        if fn == "rename" and ".saving-" in str(args[0])
    )
    folder, snapshot = tmp_path / "run", tmp_path / "kill"
    folder.mkdir()
    _save(old(), folder / "m.keras")
    with monkeypatch.context() as patch:
        _Injector(patch, folder, snapshot, fail_at=commit + 1)  # just after the commit
        with pytest.raises(_Killed):
            _save(new(), folder / "m.keras")
    # Mid-save: the new set waits in .next/, the live files are still the old ones.
    assert (snapshot / ".m.keras.next").is_dir()
    assert _assert_complete(snapshot / "m.keras", expected) == "new"
    copy = copy_model(snapshot / "m.keras", tmp_path / "copy.keras")
    assert _assert_complete(copy, expected) == "new"
    assert sorted(p.name for p in tmp_path.glob("copy*")) == [
        "copy.card.json", "copy.keras", "copy.ood.npz"
    ]


HARNESS = textwrap.dedent(
    """
    import itertools
    import sys
    from pathlib import Path

    sys.path.insert(0, {repo!r})
    exec(compile({models!r}, "models", "exec"))

    from core.model.disk import save_model

    target = Path(sys.argv[1])
    pairs = [old(), new()]
    net, card, ood = pairs[0]
    save_model(net, card, target, ood)  # some complete model exists before the kill
    print("ready", flush=True)
    for net, card, ood in itertools.cycle(pairs):
        save_model(net, card, target, ood)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_during_repeated_saves_always_leaves_a_loadable_model(tmp_path, fast_load):
    old, new = _models()
    expected = _expected(tmp_path, old, new)
    script = tmp_path / "harness.py"
    script.write_text(HARNESS.format(repo=str(REPO), models=MODELS), encoding="utf-8")
    target = tmp_path / "live" / "m.keras"
    target.parent.mkdir()
    rng = random.Random(20240610)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    seen = set()
    for _ in range(4):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(target)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        try:
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.05, 1.0))  # a few saves, killed at a random moment
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=60)
        assert proc.returncode == -signal.SIGKILL
        seen.add(_assert_complete(target, expected))
    assert seen  # each round loaded a complete model (which one depends on the moment)


def test_leftovers_of_a_killed_save_are_removed_by_the_next_one(tmp_path, monkeypatch):
    import core.model.disk as mf

    folder = tmp_path / "m"
    folder.mkdir()
    stale = folder / ".m.keras.saving-abc"
    stale.mkdir()
    (stale / "m.keras").write_bytes(b"half")
    retired = folder / ".m.keras.done-abc"
    retired.mkdir()
    monkeypatch.setattr(mf, "_STARTED", time.time() + 60)  # both are older than the process

    def fill(d: Path) -> None:
        (d / "m.keras").write_bytes(b"weights")
        (d / "m.card.json").write_text("{}", encoding="utf-8")

    mf.replace_set(folder / "m.keras", fill)
    assert sorted(p.name for p in folder.iterdir()) == ["m.card.json", "m.keras"]
    assert (folder / "m.keras").read_bytes() == b"weights"


def test_a_failing_writer_leaves_the_old_files_and_nothing_else(tmp_path):
    import core.model.disk as mf

    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    (folder / "m.keras").write_bytes(b"old")

    def fill(d: Path) -> None:
        (d / "m.keras").write_bytes(b"new")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        mf.replace_set(folder / "m.keras", fill)
    assert [p.name for p in folder.iterdir()] == ["m.keras"]
    assert (folder / "m.keras").read_bytes() == b"old"
