"""Validation on a site's own labelled films: labels read and checked, the classify engine
reused, intervals, operating points, agreement with ``covidcxr evaluate``, site profiles."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from core.errors import DatasetError, ModelError
from core.evaluation.validation import analyse, not_assessed, run_validation
from core.files.labelled import MIN_RELIABLE, open_labelled


def _write_csv(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def site_run(tiny_model, labelled_folder):
    return run_validation(tiny_model, open_labelled(labelled_folder))


# ------------------------------------------------------------------ reading the labels
def test_class_folders(labelled_folder):
    ls = open_labelled(labelled_folder)
    assert ls.positive == "COVID"
    assert ls.counts() == {"COVID": 12, "Normal": 12}
    assert ls.labels.sum() == 12
    assert not ls.grouped
    # 12 per class is below the reliable minimum: said, not hidden.
    assert any("too wide to rely on" in w for w in ls.warnings)
    assert MIN_RELIABLE > 12


def test_one_class_only(labelled_folder, tmp_path):
    shutil.copytree(labelled_folder / "COVID", tmp_path / "COVID")
    with pytest.raises(DatasetError, match="one sub-folder per class|only one class"):
        open_labelled(tmp_path)


def test_positive_class_that_does_not_match(labelled_folder):
    with pytest.raises(DatasetError, match="'Pneumonia' does not match any label"):
        open_labelled(labelled_folder, positive="Pneumonia")


def test_labels_csv_with_patients_subgroups_and_missing_files(labelled_folder, tmp_path):
    rows = []
    for i, p in enumerate(sorted(labelled_folder.rglob("*.png"))):
        rows.append({"filename": p.relative_to(labelled_folder).as_posix(),
                     "label": "covid" if p.parent.name == "COVID" else "negative",
                     "patient": f"P{i // 2}", "scanner": "A" if i % 3 else "B"})
    rows.append({"filename": "COVID/gone.png", "label": "covid", "patient": "X", "scanner": "A"})
    labels = _write_csv(tmp_path / "labels.csv", rows)
    ls = open_labelled(labelled_folder, labels)
    assert ls.positive == "covid" and len(ls.files) == 24
    assert ls.grouped and ls.subgroup_keys == ("scanner",)
    assert ls.excluded == (("COVID/gone.png", "named in the labels file but not found"),)
    assert any("1 file(s) named in labels.csv are missing" in w for w in ls.warnings)


def test_labels_csv_problems(labelled_folder, tmp_path):
    bad = _write_csv(tmp_path / "bad.csv", [{"name": "x.png", "diagnosis": "covid"}])
    with pytest.raises(DatasetError, match="needs a 'filename' and a 'label' column"):
        open_labelled(labelled_folder, bad)
    gone = _write_csv(tmp_path / "gone.csv", [{"filename": "nope.png", "label": "covid"}])
    with pytest.raises(DatasetError, match="none of the 1 files named in gone.csv exist"):
        open_labelled(labelled_folder, gone)
    with pytest.raises(DatasetError, match="labels file not found"):
        open_labelled(labelled_folder, tmp_path / "absent.csv")


def _labels_text(folder: Path) -> list[str]:
    return [f"{p.relative_to(folder).as_posix()},{'covid' if p.parent.name == 'COVID' else 'no'}"
            for p in sorted(folder.rglob("*.png"))]


def test_labels_csv_rows_with_extra_fields_or_only_commas_are_warned_not_a_traceback(
        labelled_folder, tmp_path):
    """Issue 22: a row 'a.png,COVID,extra' or ',,,,' raised AttributeError ('list' object
    has no attribute 'strip')."""
    lines = _labels_text(labelled_folder)
    lines[0] += ",extra"
    lines[5] += ",more,fields"
    labels = tmp_path / "labels.csv"
    labels.write_text("filename,label\n" + "\n".join(lines[:8]) + "\n,,,,\n"
                      + "\n".join(lines[8:]) + "\n", encoding="utf-8")
    ls = open_labelled(labelled_folder, labels)
    assert len(ls.files) == 24  # the extra fields ignored, the row of commas skipped
    overlong = [w for w in ls.warnings if "more fields than its header" in w]
    assert overlong == ["2 row(s) of labels.csv have more fields than its header (line 2, 7): "
                        "the extra fields are ignored; quote names that hold a comma"]

    from core.cli.main import main

    assert main(["validate", str(labelled_folder), "--labels", str(labels), "--model",
                 str(tmp_path / "absent.keras")]) == 1  # got past the labels to the model


def test_labels_csv_naming_a_file_over_255_bytes_is_one_more_missing_name(
        labelled_folder, tmp_path):
    """Issue 22: "File name too long" ended the whole validation."""
    long_name = "COVID/" + "x" * 300 + ".png"
    labels = tmp_path / "labels.csv"
    labels.write_text("filename,label\n" + "\n".join(_labels_text(labelled_folder))
                      + f"\n{long_name},covid\n", encoding="utf-8")
    ls = open_labelled(labelled_folder, labels)
    assert len(ls.files) == 24
    assert ls.excluded == ((long_name, "named in the labels file but not found"),)
    assert any("1 file(s) named in labels.csv are missing" in w for w in ls.warnings)


def test_duplicates_across_classes_are_left_out(labelled_folder, tmp_path):
    site = tmp_path / "site"
    shutil.copytree(labelled_folder, site)
    shutil.copyfile(site / "COVID" / "COVID-00.png", site / "Normal" / "copy-of-covid.png")
    shutil.copyfile(site / "Normal" / "Normal-00.png", site / "Normal" / "again.png")
    ls = open_labelled(site)
    names = {f.path.name for f in ls.files}
    assert "COVID-00.png" not in names and "copy-of-covid.png" not in names
    assert {Path(p).name for p, _ in ls.excluded} == {"COVID-00.png", "copy-of-covid.png"}
    assert any("under both labels" in w for w in ls.warnings)
    # Same-label copies stay, as one patient for the bootstrap.
    groups = {f.path.name: f.group for f in ls.files}
    assert groups["again.png"] == groups["Normal-00.png"]
    assert ls.grouped


# ------------------------------------------------------------------ classifying and metrics
def test_every_file_is_answered_in_order(site_run, labelled_folder):
    ls = site_run.labelled
    assert [p.path for p in site_run.predictions] == [str(f.path) for f in ls.files]
    assert site_run.threshold == pytest.approx(0.5)


def test_refused_and_unreadable_files_are_counted_not_dropped(tiny_model, labelled_folder,
                                                              tmp_path):
    site = tmp_path / "site"
    shutil.copytree(labelled_folder, site)
    (site / "COVID" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    from PIL import Image

    ramp = np.tile(np.linspace(0, 255, 256, dtype=np.uint8), (256, 1))
    Image.fromarray(ramp).save(site / "Normal" / "blank.png")  # a grey ramp, not a film
    run = run_validation(tiny_model, open_labelled(site))
    m = analyse(run, resamples=200).metrics()
    counts = {c.name: c for c in m.classes}
    assert counts["COVID"].errors == 1 and counts["COVID"].assessed == 12
    assert counts["Normal"].refused == 1 and counts["Normal"].assessed == 12
    assert m.assessed == 24
    left = {f.path.name: p.message for f, p in not_assessed(run)}
    assert set(left) == {"broken.png", "blank.png"}
    assert "frontal chest X-ray" in left["blank.png"]


def test_metrics_at_the_model_threshold(site_run):
    a = analyse(site_run, resamples=500, seed=1)
    m = a.metrics()
    y, p = a.y, a.p
    called = p >= 0.5
    sens = (called & (y == 1)).sum() / (y == 1).sum()
    assert m.point.sensitivity.value == pytest.approx(sens)
    assert m.point.tp + m.point.fn == 12 and m.point.fp + m.point.tn == 12
    for iv in (m.auc, m.point.sensitivity, m.point.specificity, m.point.accuracy):
        assert iv.low <= iv.value <= iv.high
    # The same seed gives the same intervals.
    assert analyse(site_run, resamples=500, seed=1).auc == a.auc


def test_operating_points_meet_their_targets(site_run):
    a = analyse(site_run, resamples=200)
    t = a.threshold_for(sensitivity=0.9)
    assert a.point(t).sensitivity.value >= 0.9
    t = a.threshold_for(specificity=0.75)
    pt = a.point(t)
    assert pt.specificity.value >= 0.75
    # The most sensitive such point: one step lower gives up the specificity target.
    lower = np.max(a.p[a.p < t]) if np.any(a.p < t) else None
    if lower is not None:
        assert a.point(lower).specificity.value < 0.75 or a.point(lower).sensitivity.value \
            == pt.sensitivity.value


def test_ppv_at_a_typed_prevalence(site_run):
    a = analyse(site_run, resamples=200)
    pt = a.point(float(np.median(a.p)), prevalence=0.05)
    s, c = pt.sensitivity.value, pt.specificity.value
    assert pt.prevalence_given and 0 < s < 1 and 0 < c < 1
    assert pt.ppv.value == pytest.approx(s * 0.05 / (s * 0.05 + (1 - c) * 0.95))


def test_subgroup_breakdown(tiny_model, labelled_folder, tmp_path):
    rows = [{"filename": p.relative_to(labelled_folder).as_posix(), "label": p.parent.name,
             "scanner": "old" if i % 2 else "new"}
            for i, p in enumerate(sorted(labelled_folder.rglob("*.png")))]
    ls = open_labelled(labelled_folder, _write_csv(tmp_path / "l.csv", rows))
    m = analyse(run_validation(tiny_model, ls), resamples=200).metrics()
    assert [(s.key, s.value) for s in m.subgroups] == [("scanner", "new"), ("scanner", "old")]
    assert sum(s.positives + s.negatives for s in m.subgroups) == 24


def test_numbers_agree_with_evaluate(tiny_model_path, labelled_folder, tmp_path):
    from core.cli.main import main

    ev, va = tmp_path / "evaluate.json", tmp_path / "validate.json"
    # An operating point inside the scores, so that both classes are called.
    assert main(["validate", str(labelled_folder), "--model", str(tiny_model_path),
                 "--resamples", "100", "--target-sensitivity", "0.5", "--json", str(va)]) == 0
    v = json.loads(va.read_text())
    assert main(["evaluate", str(labelled_folder), "--model", str(tiny_model_path),
                 "--threshold", repr(v["threshold"]), "--json", str(ev)]) == 0
    e = json.loads(ev.read_text())
    assert e["n"] == sum(c["assessed"] for c in v["classes"]) == 24
    assert v["auc"]["value"] == pytest.approx(e["auc"], abs=1e-6)
    assert 0 < v["sensitivity"]["value"] < 1
    for key in ("sensitivity", "specificity", "accuracy"):
        assert v[key]["value"] == pytest.approx(e[key], abs=1e-6), key
    assert v["ppv"]["value"] == pytest.approx(e["precision"], abs=1e-6)
    assert v["threshold"] == pytest.approx(e["threshold"])


# ------------------------------------------------------------------ site profiles
def _model_copy(tiny_model_path: Path, folder: Path) -> Path:
    from core.model.disk import copy_model

    return copy_model(tiny_model_path, folder / "m.keras")


def test_cli_saves_a_profile_that_classifies_at_the_local_threshold(
        tiny_model_path, labelled_folder, tmp_path):
    from core.cli.main import main
    from core.model.disk import card_path, sha256_file
    from core.model.loading import load_model

    model = _model_copy(tiny_model_path, tmp_path)
    card_before = card_path(model).read_bytes()
    weights_before = sha256_file(model)
    profile = tmp_path / "ward7.site.json"
    assert main(["validate", str(labelled_folder), "--model", str(model), "--resamples", "100",
                 "--target-sensitivity", "0.9", "--save-profile", str(profile),
                 "--site", "Ward 7"]) == 0
    data = json.loads(profile.read_text())
    assert data["site"]["name"] == "Ward 7"
    assert data["site"]["images_per_class"] == {"COVID": 12, "Normal": 12}
    assert data["site"]["metrics"]["sensitivity"]["value"] >= 0.9
    assert len(data["site"]["file_list_sha256"]) == 64
    # The model and its card are untouched; the profile names the same weights.
    assert card_path(model).read_bytes() == card_before
    assert sha256_file(model) == weights_before == data["weights_sha256"]

    loaded = load_model(profile)
    assert loaded.display_name == "tiny-test · Ward 7"
    assert loaded.threshold == pytest.approx(data["threshold"])
    out = tmp_path / "predicted.csv"
    assert main(["classify", str(labelled_folder), "--model", str(profile), "-o", str(out)]) == 0
    rows = list(csv.DictReader(open(out, encoding="utf-8")))
    assert {r["model"] for r in rows} == {"tiny-test · Ward 7"}
    assert {r["threshold"] for r in rows} == {f"{data['threshold']:.4f}"}
    sens = np.mean([r["prediction"] == "1" for r in rows if "/COVID/" in r["path"]])
    assert sens >= 0.9


def test_recalibrated_profile_calls_the_same_films(tiny_model_path, labelled_folder, tmp_path):
    from core.model.calibration import fit_platt
    from core.model.disk import make_profile, save_profile
    from core.model.loading import load_model

    model = _model_copy(tiny_model_path, tmp_path)
    base = load_model(model)
    run = run_validation(base, open_labelled(labelled_folder))
    a = analyse(run, resamples=100)
    t = a.threshold_for(sensitivity=0.9)
    recal = fit_platt(a.y, a.p)
    card = make_profile(model, "Site B", t, {"rule": "test"}, recal)
    prof = load_model(save_profile(card, tmp_path / "b.site.json"))
    again = run_validation(prof, open_labelled(labelled_folder))
    assert [p.label for p in again.predictions] == [
        ("COVID" if q.probability >= t else "NOT COVID") for q in run.predictions]
    # ...and its probabilities are the site's recalibrated ones.
    probs = np.array([p.probability for p in again.predictions])
    from core.model.calibration import apply_platt

    expected = apply_platt(np.array([q.probability for q in run.predictions]), *recal)
    assert np.allclose(probs, expected, atol=1e-4)


def test_profile_refuses_other_weights(tiny_model_path, labelled_folder, tmp_path):
    from core.model.disk import make_profile, save_model, save_profile
    from core.model.loading import load_model
    from core.model.networks import build

    model = _model_copy(tiny_model_path, tmp_path)
    prof = save_profile(make_profile(model, "C", 0.4, {}), tmp_path / "c.site.json")
    from core.model.disk import read_card

    # Replace the model with other weights under the same name.
    save_model(build("seed", 64), read_card(model), model)
    with pytest.raises(ModelError, match="not found or was changed"):
        load_model(prof)
    with pytest.raises(ModelError, match="must end in .site.json"):
        save_profile(make_profile(tiny_model_path, "C", 0.4, {}), tmp_path / "m.card.json")


def test_report_needs_a_writer(tiny_model_path, labelled_folder, capsys):
    from core.cli.main import main

    assert main(["validate", str(labelled_folder), "--model", str(tiny_model_path),
                 "--report", "r.pdf"]) == 1
    assert "--report needs the window's libraries" in capsys.readouterr().err


def test_a_proportion_of_one_still_gets_an_honest_interval(site_run):
    from core.evaluation.bootstrap import wilson

    a = analyse(site_run, resamples=300)
    pt = a.point(float(a.p.max()) + 1e-6)  # nothing called COVID: specificity 12/12
    assert pt.specificity.value == 1.0 and pt.sensitivity.value == 0.0
    assert pt.specificity == wilson(12, 12) and pt.specificity.low < 0.8
    assert pt.sensitivity == wilson(0, 12) and pt.sensitivity.high > 0.2


@pytest.mark.parametrize("command", ["validate --json", "validate --report",
                                     "evaluate --json", "train --output"])
def test_outputs_that_are_folders_are_refused_before_the_work(
        command, labelled_folder, tiny_model_path, tmp_path, capsys):
    """The same check as classify's --output (issue 22), before any film is read."""
    from core.cli.main import main

    name, option = command.split()
    target = tmp_path / ("m.keras" if name == "train" else "out")
    target.mkdir()
    args = [name, str(labelled_folder), option, str(target)]
    if name != "train":
        args += ["--model", str(tiny_model_path)]
    assert main(args, write_report=lambda *a: None) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"covidcxr: error: {option} {target} is a folder")
    assert err.count("\n") == 1


def test_indeterminate_films_are_listed_apart(tiny_model_path, labelled_folder, tmp_path):
    """Issue 21: a film whose views straddle the threshold is INDETERMINATE and listed
    apart from the refused ones; it stays in the metrics by its score."""
    import dataclasses

    from core.evaluation.validation import indeterminate
    from core.model.loading import load_model

    base = load_model(_model_copy(tiny_model_path, tmp_path))
    first = run_validation(base, open_labelled(labelled_folder))
    median = float(np.median([p.probability for p in first.predictions]))
    card = dataclasses.replace(base.card, interval={"margin_logit": float("inf")},
                               threshold=median)
    model = dataclasses.replace(base, card=card)
    run = run_validation(model, open_labelled(labelled_folder))
    apart = indeterminate(run)
    assert apart, "films at the median score should straddle it under their views"
    for _f, p in apart:
        assert p.label == "INDETERMINATE" and p.p_low < median <= p.p_high
    assert all(f not in dict(not_assessed(run)) for f, _ in apart)
    assert len(analyse(run, resamples=50).y) == len(first.predictions) - len(not_assessed(run))
