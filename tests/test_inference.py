"""core.answers.inference.classify: order, error records, cancel, progress, bounded memory."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.answers import inference
from core.answers.evidence import LOW_EVIDENCE, LOW_EVIDENCE_MESSAGE
from core.answers.inference import Prediction, classify, decide, error_record, load_one
from core.model.card import NEGATIVE, NOT_ASSESSED, POSITIVE
from core.model.ood import OOD_MESSAGE, UNUSUAL_MESSAGE
from core.model.preprocess import to_network


@pytest.fixture
def mixed_folder(tmp_path, sample_images) -> list[Path]:
    """Good radiographs with bad files between them, in a fixed order."""
    text = tmp_path / "notes.png"
    text.write_text("not an image\n" * 10)
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    rng = np.random.default_rng(0)
    photo = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(photo)
    missing = tmp_path / "gone.png"
    a, b, c = sample_images[:3]
    return [a, text, b, empty, photo, c, missing]


def expected_probability(model, path: Path) -> float:
    loaded = load_one(path, model.card.spec)
    probs, _ = model.forward(to_network(loaded.net_input[None]))
    return float(probs[0])


def test_order_and_error_records(tiny_model, mixed_folder):
    preds = list(classify(mixed_folder, tiny_model, batch_size=2))
    assert [p.path for p in preds] == [str(p) for p in mixed_folder]
    assert [p.status for p in preds] == ["ok", "error", "ok", "error", "error", "ok", "error"]
    messages = [p.message for p in preds]
    assert messages[1].startswith("not an image file")
    assert messages[3] == "empty file (0 bytes)"
    assert "colour picture" in messages[4]
    assert messages[6] == "file not found"
    for p in preds:
        if p.ok:
            assert p.probability == pytest.approx(
                expected_probability(tiny_model, Path(p.path)), abs=1e-5
            )
            assert p.threshold == 0.5
            assert p.label == (POSITIVE if p.probability >= 0.5 else NEGATIVE)
            assert p.ood_score is not None and p.ood_score < 1.0
            assert p.info is not None and p.info.width == 256
        else:
            assert p.label == NOT_ASSESSED
            assert p.probability is None and p.decision is None and p.info is None


def test_batch_size_does_not_change_results(tiny_model, sample_images):
    one = [p.probability for p in classify(sample_images, tiny_model, batch_size=1)]
    many = [p.probability for p in classify(sample_images, tiny_model, batch_size=32)]
    np.testing.assert_allclose(one, many, atol=1e-5)


def test_threshold_override(tiny_model, sample_images):
    assert {p.label for p in classify(sample_images, tiny_model, threshold=0.0)} == {POSITIVE}
    high = list(classify(sample_images, tiny_model, threshold=1.0))
    assert {p.label for p in high} == {NEGATIVE}
    assert {p.threshold for p in high} == {1.0}
    assert {p.decision for p in high} == {0}


def test_blank_image_is_not_assessed(tiny_model, tmp_path):
    blank = tmp_path / "blank.png"
    Image.new("L", (300, 300), 128).save(blank)
    (pred,) = classify([blank], dataclasses.replace(tiny_model, anatomy=None))
    assert pred.status == "ok"
    assert pred.label == NOT_ASSESSED
    assert pred.message == f"{OOD_MESSAGE} ({inference.FEATURELESS})"
    assert not pred.unusual  # refused, so not merely flagged
    assert pred.probability is not None  # computed, but not turned into a verdict


def test_anatomy_refusal_and_unusual_flag(tiny_model, sample_images):
    """The anatomy check refuses; a far feature distance only flags, and keeps the verdict."""
    refuse_all = dataclasses.replace(tiny_model, anatomy=lambda px: "one lung field")
    preds = list(classify(sample_images, refuse_all))
    assert {p.label for p in preds} == {NOT_ASSESSED}
    assert {p.message for p in preds} == {f"{OOD_MESSAGE} (one lung field)"}

    ood = tiny_model.ood
    tight = dataclasses.replace(ood, feat_cut=1e-6)  # every real film is "far"
    flagged = list(classify(sample_images, dataclasses.replace(tiny_model, ood=tight)))
    assert all(p.unusual and p.ood_score > 1.0 for p in flagged)
    assert all(p.label in (POSITIVE, NEGATIVE) for p in flagged)
    # the unusual note comes first; the evidence note (issue #21) follows only when the
    # heat map lies mostly outside the lungs
    for p in flagged:
        assert p.message.startswith(UNUSUAL_MESSAGE)
        assert (LOW_EVIDENCE_MESSAGE in p.message) == (p.lung_evidence < LOW_EVIDENCE)
    plain = list(classify(sample_images, tiny_model))
    assert [p.probability for p in flagged] == [p.probability for p in plain]
    assert not any(p.unusual for p in plain)


def test_results_are_frozen(tiny_model, sample_images):
    pred = next(iter(classify(sample_images[:1], tiny_model)))
    assert isinstance(pred, Prediction)
    with pytest.raises(dataclasses.FrozenInstanceError):
        pred.label = POSITIVE  # type: ignore[misc]
    assert pred.filename == sample_images[0].name


def test_progress_callback(tiny_model, mixed_folder):
    calls = []
    list(
        classify(
            mixed_folder,
            tiny_model,
            total=len(mixed_folder),
            batch_size=2,
            on_progress=lambda d, t, m: calls.append((d, t, m)),
        )
    )
    assert calls == [(k + 1, 7, p.name) for k, p in enumerate(mixed_folder)]
    unknown = []
    list(classify(mixed_folder[:2], tiny_model, on_progress=lambda d, t, m: unknown.append(t)))
    assert unknown == [-1, -1]


def test_should_stop_ends_after_the_records_already_yielded(tiny_model, sample_images):
    paths = sample_images * 10  # 30 files, one batch of 32
    got: list[Prediction] = []
    for pred in classify(paths, tiny_model, should_stop=lambda: len(got) >= 4):
        got.append(pred)
    assert len(got) == 4  # polled before each record, not only between batches
    assert [p.path for p in got] == [str(p) for p in paths[:4]]


def test_stop_before_start_reads_nothing(tiny_model, sample_images, monkeypatch):
    reads = []
    real = inference.load_one
    monkeypatch.setattr(inference, "load_one", lambda p, s: reads.append(p) or real(p, s))
    assert (
        list(
            classify(
                sample_images * 50, tiny_model, should_stop=lambda: True, workers=1, prefetch=4
            )
        )
        == []
    )
    assert len(reads) <= 4  # only what was already queued, and queued work is cancelled


class CountingPaths:
    """An endless-looking lazy source of paths that counts how many were taken."""

    def __init__(self, path: Path, n: int) -> None:
        self.path, self.n, self.taken = path, n, 0

    def __iter__(self):
        for _ in range(self.n):
            self.taken += 1
            yield self.path


def test_paths_are_consumed_lazily_and_in_flight_work_is_bounded(tiny_model, sample_images):
    source = CountingPaths(sample_images[0], 500)
    batch, prefetch = 4, 8
    yielded = 0
    peak = 0
    for _ in classify(source, tiny_model, batch_size=batch, prefetch=prefetch):
        yielded += 1
        peak = max(peak, source.taken - yielded)
        if yielded == 1:
            # After the first record only a bounded window was read, not all 500 files.
            assert source.taken <= prefetch + batch
    assert yielded == 500 and source.taken == 500
    # Files taken but not yet handed out: the prefetch window plus the batch in hand.
    assert peak <= prefetch + batch


def test_abandoned_generator_cancels_queued_reads(tiny_model, sample_images, monkeypatch):
    reads = []
    lock = threading.Lock()
    real = inference.load_one

    def counting(p, s):
        with lock:
            reads.append(p)
        return real(p, s)

    monkeypatch.setattr(inference, "load_one", counting)
    gen = classify(sample_images * 100, tiny_model, batch_size=2, prefetch=6, workers=1)
    next(gen)
    gen.close()
    settled = len(reads)
    assert settled <= 6 + 2
    assert len(reads) == settled  # nothing keeps reading after close()


def test_reader_bug_becomes_an_error_record(tiny_model, sample_images, monkeypatch):
    real = inference.load_one

    def flaky(p, s, anatomy=None):
        if Path(p) == sample_images[1]:
            raise KeyError("bug")
        return real(p, s, anatomy)

    monkeypatch.setattr(inference, "load_one", flaky)
    preds = list(classify(sample_images, tiny_model))
    assert [p.status for p in preds] == ["ok", "error", "ok"]
    assert preds[1].message == "unexpected error reading file: KeyError('bug')"


def test_empty_input(tiny_model):
    assert list(classify([], tiny_model)) == []


def test_decide():
    assert decide(0.5, 0.5, None) == (POSITIVE, "")
    assert decide(0.49, 0.5) == (NEGATIVE, "")
    assert decide(0.99, 0.5, "lateral view") == (NOT_ASSESSED, f"{OOD_MESSAGE} (lateral view)")
    assert decide(0.99, 0.5, None, unusual=True) == (POSITIVE, UNUSUAL_MESSAGE)
    assert decide(0.01, 0.5, "blank", unusual=True)[0] == NOT_ASSESSED


def test_error_record():
    rec = error_record(Path("/x/y.png"), "empty file (0 bytes)")
    assert (rec.status, rec.label, rec.filename, rec.ok) == ("error", NOT_ASSESSED, "y.png", False)


def test_the_lung_check_waits_for_its_batch_and_answers_as_before(tiny_model, sample_images):
    """A LungCheck is judged with the batch in assess (#23), with the answers the film gets
    when its check runs alone while it is read."""
    from core.answers.inference import assess, prepare_pixels
    from core.files.reader import read_xray

    check = tiny_model.anatomy
    spec = tiny_model.card.spec
    films = [read_xray(p).pixels for p in sample_images]
    waiting = [prepare_pixels(px, spec, check) for px in films]
    alone = [prepare_pixels(px, spec, lambda px: check(px)) for px in films]
    assert all(p.pending for p in waiting) and not any(p.pending for p in alone)
    got, want = assess(tiny_model, waiting, 0.5), assess(tiny_model, alone, 0.5)
    assert [a.label for a in got] == [a.label for a in want]
    np.testing.assert_allclose([a.probability for a in got], [a.probability for a in want],
                               atol=1e-6)
    assert [a.lung_evidence is None for a in got] == [False] * len(films)
    np.testing.assert_allclose([a.lung_evidence for a in got],
                               [a.lung_evidence for a in want], atol=0.02)


def test_films_are_decoded_full_size_unless_reduced_decoding_is_on(monkeypatch):
    """Reduced decoding moves answers of the bundled model (#23): off by default; on, a
    film keeps at least twice what the network and the segmenter need."""
    from core.answers import inference
    from core.model.preprocess import PreprocessSpec

    assert inference.decode_side(PreprocessSpec(224, 0.8, True)) is None
    monkeypatch.setattr(inference, "DECODE_OVERSAMPLE", 2)
    assert inference.decode_side(PreprocessSpec(224, 0.8, True)) == 560  # an 80 % crop
    assert inference.decode_side(PreprocessSpec(64, 1.0, False)) == 256  # the segmenter's 128
