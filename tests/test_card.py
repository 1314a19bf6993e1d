"""core.model.card and core.model.networks save/load: a model loads only with the card it was saved with."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.errors import ModelError
from core.files.atomic import atomic_path, write_text_atomic
from core.model.card import INTENDED_USE, ModelCard
from core.model.disk import card_path, ood_path, read_card, sha256_file

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def model_copy(tiny_model_path: Path, tmp_path: Path) -> Path:
    """The tiny model, its card and OOD file copied where a test may damage them."""
    for src in (tiny_model_path, card_path(tiny_model_path), ood_path(tiny_model_path)):
        shutil.copyfile(src, tmp_path / src.name)
    return tmp_path / tiny_model_path.name


def test_saved_card_describes_the_model(tiny_model_path):
    card = read_card(tiny_model_path)
    assert card.name == "tiny-test"
    assert card.input_size == 64
    assert card.spec.size == 64
    assert card.threshold == 0.5
    assert card.weights_file == tiny_model_path.name
    assert card.weights_sha256 == sha256_file(tiny_model_path)
    assert card.ood["file"] == ood_path(tiny_model_path).name
    assert card.ood["sha256"] == sha256_file(ood_path(tiny_model_path))
    assert card.intended_use == INTENDED_USE
    assert card.created  # ISO timestamp


def test_load_model_round_trip(tiny_model, tiny_model_path):
    assert tiny_model.input_size == 64
    assert tiny_model.threshold == 0.5
    assert tiny_model.display_name == "tiny-test"
    assert tiny_model.ood is not None
    probs, feats = tiny_model.forward(np.zeros((3, 64, 64, 1), np.float32))
    assert probs.shape == (3,) and feats.shape == (3, 64)
    assert np.all((probs > 0) & (probs < 1))


def test_modified_weights_are_refused(model_copy):
    from core.model.loading import load_model

    data = bytearray(model_copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model_copy.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match its card"):
        load_model(model_copy)


def test_modified_ood_statistics_are_refused(model_copy):
    from core.model.loading import load_model

    with open(ood_path(model_copy), "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelError, match=r"OOD statistics .* do not match the card"):
        load_model(model_copy)


def test_missing_card_is_refused(model_copy):
    from core.model.loading import load_model

    card_path(model_copy).unlink()
    with pytest.raises(ModelError, match=r"model card tiny\.card\.json is missing"):
        load_model(model_copy)


def test_missing_model_file_is_refused(model_copy):
    from core.model.loading import load_model

    model_copy.unlink()
    with pytest.raises(ModelError, match="model file not found"):
        load_model(model_copy)


def _rewrite_card_for(model: Path) -> None:
    """The card made to match the weights file as it now is (as a copy tool might)."""
    card = read_card(model)
    card.weights_sha256 = sha256_file(model)
    card_path(model).write_text(card.to_json(), encoding="utf-8")


@pytest.mark.parametrize("damage", ["cut in half", "cut by 10 bytes", "one byte flipped"])
def test_damaged_model_file_whose_card_matches_says_damaged(model_copy, damage):
    """Issue 22: a cut .keras gave Keras's "File not found: filepath=..." though it exists."""
    from core.model.loading import load_model

    _damage(model_copy, damage)
    with pytest.raises(ModelError) as err:
        load_model(model_copy)
    assert str(err.value).startswith("model file tiny.keras is damaged or truncated")
    assert "not found" not in str(err.value)


def _damage(model: Path, damage: str) -> None:
    data = bytearray(model.read_bytes())
    if damage == "cut in half":
        data = data[: len(data) // 2]
    elif damage == "cut by 10 bytes":
        data = data[:-10]
    else:
        data[len(data) // 2] ^= 0xFF  # inside the weights member's data: a CRC error
    model.write_bytes(bytes(data))
    _rewrite_card_for(model)


@pytest.mark.parametrize("damage", ["cut in half", "cut by 10 bytes", "one byte flipped"])
def test_damaged_model_file_whose_card_matches_is_refused_without_tensorflow(
        model_copy, damage):
    """Issue 33: the check every reader makes first (open_set, no TensorFlow) let such a
    file through; Keras refused it only after TensorFlow's start-up lines."""
    from core.model.disk import open_set

    _damage(model_copy, damage)
    with pytest.raises(ModelError, match=r"^model file tiny\.keras is damaged or truncated "
                       r"\(not a complete \.keras archive\): copy it again, or restore it "
                       r"from where it came$"):
        open_set(model_copy)


@pytest.mark.parametrize("command", ["classify", "evaluate"])
def test_a_damaged_model_is_refused_in_one_line_before_tensorflow_starts(
        model_copy, sample_images, tmp_path, command):
    _damage(model_copy, "cut by 10 bytes")
    args = ([str(sample_images[0]), "-o", str(tmp_path / "p.csv")] if command == "classify"
            else [str(sample_images[0].parent)])
    code = ("import sys\n"
            "from core.cli.main import main\n"
            "code = main(sys.argv[1:])\n"
            "print('tensorflow imported' if 'tensorflow' in sys.modules else 'no tensorflow')\n"
            "sys.exit(code)\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    r = subprocess.run([sys.executable, "-c", code, command, *args, "--model", str(model_copy)],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 1
    assert r.stdout == "no tensorflow\n"
    assert r.stderr == ("covidcxr: error: model file tiny.keras is damaged or truncated (not "
                        "a complete .keras archive): copy it again, or restore it from where "
                        "it came\n")


def test_card_that_is_not_json(model_copy):
    card_path(model_copy).write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="model card is not valid JSON"):
        read_card(model_copy)


def test_card_with_inconsistent_sizes(tmp_path):
    card = ModelCard(name="x", input_size=64, preprocess={"size": 128})
    with pytest.raises(ModelError, match="input size 64, preprocessing size 128"):
        _ = card.spec


def test_card_json_round_trip_ignores_unknown_fields():
    card = ModelCard(name="m", threshold=0.37, metrics={"auc": 0.9})
    data = json.loads(card.to_json())
    data["added_by_a_later_version"] = 1
    back = ModelCard.from_json(json.dumps(data))
    assert back == card


def test_save_model_needs_keras_suffix(tmp_path):
    from core.model.disk import save_model
    from core.model.networks import build

    with pytest.raises(ModelError, match=r"must end in \.keras"):
        save_model(build("seed", 64), ModelCard(name="x", input_size=64), tmp_path / "m.h5")


def test_failed_save_leaves_the_previous_model_intact(model_copy, monkeypatch):
    """A crash while writing the new weights must not damage the working model."""
    import keras

    from core.model.disk import save_model
    from core.model.loading import load_model
    from core.model.networks import build

    before = {p: p.read_bytes() for p in model_copy.parent.iterdir()}

    def broken_save(self, path, *args, **kwargs):
        Path(path).write_bytes(b"half a model")
        raise OSError("disk full")

    monkeypatch.setattr(keras.Model, "save", broken_save)
    card = ModelCard(name="new", input_size=64, preprocess={"size": 64})
    with pytest.raises(OSError, match="disk full"):
        save_model(build("seed", 64), card, model_copy)
    after = {p: p.read_bytes() for p in model_copy.parent.iterdir()}
    assert after == before  # same files, same bytes, no temporary left behind
    monkeypatch.undo()
    assert load_model(model_copy).display_name == "tiny-test"


def test_atomic_writer_failure_keeps_old_file(tmp_path):
    target = tmp_path / "predicted.csv"
    target.write_text("old contents\n", encoding="utf-8")

    def failing(tmp: Path) -> None:
        tmp.write_text("new, but only half", encoding="utf-8")
        raise RuntimeError("writer crashed")

    with pytest.raises(RuntimeError, match="writer crashed"), atomic_path(target) as tmp:
        failing(tmp)
    assert target.read_text(encoding="utf-8") == "old contents\n"
    assert [p.name for p in tmp_path.iterdir()] == ["predicted.csv"]


def test_atomic_write_replaces_and_creates_folders(tmp_path):
    target = tmp_path / "new" / "dir" / "out.txt"
    write_text_atomic(target, "a\r\nb\n")
    assert target.read_bytes() == b"a\r\nb\n"  # newline="" keeps what was given
    with atomic_path(target) as tmp:
        tmp.write_text("c", encoding="utf-8")
        assert target.read_bytes() == b"a\r\nb\n"  # not replaced yet
    assert target.read_text(encoding="utf-8") == "c"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.txt"]


def test_atomic_write_gives_ordinary_permissions(tmp_path):
    import os
    import stat

    from core.files import atomic

    target = tmp_path / "shared.csv"
    write_text_atomic(target, "x")
    umask = os.umask(atomic._UMASK)  # read back the process umask (and keep it)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask  # not mkstemp's 0600
    target.chmod(0o640)
    write_text_atomic(target, "y")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # an existing file keeps its mode


def test_ood_structure_gate_refuses_smooth_images():
    """A linear gradient passes a layout test but has no edges: the structure cut refuses it."""
    import numpy as np

    from core.model.ood import fit_ood, structure
    from core.model.preprocess import thumbnail

    rng = np.random.default_rng(0)
    # "Radiograph-like" training thumbnails: smooth layout plus edges.
    yy, xx = np.mgrid[0:256, 0:256] / 256.0
    train = []
    for _ in range(60):
        img = np.exp(-((xx - 0.5) ** 2 + (yy - 0.5) ** 2) * rng.uniform(3, 6))
        img[:, 120:136] += 0.5  # a spine: a hard edge
        img += rng.normal(0, 0.05, img.shape)
        train.append(thumbnail(img.astype(np.float32)))
    thumbs = np.stack(train)
    feats = rng.normal(size=(60, 8))
    ood = fit_ood(feats, thumbs)
    assert ood.structure_cut > 0
    gradient = thumbnail((xx * 0.8 + 0.1).astype(np.float32))[None]
    assert structure(gradient)[0] < ood.structure_cut
    assert ood.score(feats[:1], gradient)[0] > 1.0
    disabled = fit_ood(feats, thumbs, structure_percentile=None)
    assert disabled.structure_cut == 0.0
