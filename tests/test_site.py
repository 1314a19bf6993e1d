"""The site check (issue #20) on seeded feature sets: familiar, shifted, mixed, too few."""

from __future__ import annotations

import numpy as np
import pytest

from core.model.site import (
    FAMILIAR,
    MIN_FILMS,
    NEW_SITE,
    TOO_FEW,
    SiteAccumulator,
    SiteReference,
    check_site,
    fit_reference,
)


def _collections(rng: np.random.Generator, n: int = 300, d: int = 40):
    """Three reference collections: each its own cluster in feature space."""
    centres = rng.normal(0, 3, (3, d))
    feats = np.concatenate([c + rng.normal(0, 1, (n, d)) for c in centres])
    groups = np.repeat(["a", "b", "c"], n)
    return feats, groups, centres


@pytest.fixture(scope="module")
def world():
    rng = np.random.default_rng(0)
    feats, groups, centres = _collections(rng)
    ref = fit_reference(feats, groups, covid_share=0.4, source="test reference",
                        components=16)
    return rng, ref, centres


def test_a_batch_from_one_reference_collection_is_familiar(world):
    rng, ref, centres = world
    for c in centres:  # fresh films of each collection alone, and of all of them
        batch = c + rng.normal(0, 1, (50, len(c)))
        assert check_site(ref, batch, np.zeros(50, bool)).verdict == FAMILIAR
    mixed = np.concatenate([c + rng.normal(0, 1, (17, len(c))) for c in centres])
    assert check_site(ref, mixed, np.zeros(len(mixed), bool)).verdict == FAMILIAR


def test_a_shifted_batch_is_a_new_site_and_says_what_to_do(world):
    rng, ref, centres = world
    shift = rng.normal(0, 1, len(centres[0]))
    shift *= 5.0 / np.linalg.norm(shift)  # every film moved a little the same way
    batch = centres[0] + shift + rng.normal(0, 1, (50, len(shift)))
    # film by film it looks ordinary: most films lie within the reference's own spread
    per_film = ref.distances(ref.project(batch))
    own = ref.distances(ref.points, leave_one_out=True)
    assert np.mean(per_film <= np.percentile(own, 99.5)) > 0.8
    res = check_site(ref, batch, np.ones(50, bool))
    assert res.verdict == NEW_SITE and res.statistic > res.cut and res.p_value < 0.05
    line = res.line()
    assert line.startswith("site check: new site (")
    assert "validate it on your own labelled films" in line
    assert "called COVID 100% (the reference: 40%)" in line


def test_half_new_films_make_a_new_site(world):
    rng, ref, centres = world
    far = centres[1] + 4.0 + rng.normal(0, 1, (25, len(centres[1])))
    near = centres[1] + rng.normal(0, 1, (25, len(centres[1])))
    acc = SiteAccumulator(ref)
    acc.add(near, np.zeros(25, bool))
    acc.add(far, np.zeros(25, bool))
    res = acc.result()
    assert res.verdict == NEW_SITE and res.unlike > res.unlike_cut


def test_a_mixed_folder_is_new_by_its_count_and_says_how_many(world):
    """Issue 31: a few films far apart among familiar ones move the mean distance too little
    for its cut, but the films unlike the reference, counted one by one, are too many; the
    line says how many."""
    _, ref, centres = world
    rng = np.random.default_rng(1)  # its own draws: the world's are shared by the tests
    d = len(centres[0])
    shift = rng.normal(0, 1, d)
    shift *= 10.0 / np.linalg.norm(shift)
    near = centres[0] + rng.normal(0, 1, (42, d))
    far = centres[0] + shift + rng.normal(0, 1, (8, d))  # a few films far apart
    res = check_site(ref, np.concatenate([near, far]), np.zeros(50, bool))
    assert res.statistic <= res.cut, "the mean alone must not see it, or this tests nothing"
    assert res.verdict == NEW_SITE and res.unlike > res.unlike_cut
    assert res.line().startswith(f"site check: new site ({res.unlike} of 50 films unlike the "
                                 f"reference, at most {res.unlike_cut} expected; distance ")
    familiar = check_site(ref, centres[0] + rng.normal(0, 1, (50, d)), np.zeros(50, bool))
    assert familiar.verdict == FAMILIAR and familiar.unlike <= familiar.unlike_cut


def test_too_few_films_and_a_round_trip(world, tmp_path):
    rng, ref, centres = world
    res = check_site(ref, centres[0] + rng.normal(0, 1, (MIN_FILMS - 1, len(centres[0]))),
                     np.zeros(MIN_FILMS - 1, bool))
    assert res.verdict == TOO_FEW and res.line() == (
        f"site check: too few films ({MIN_FILMS - 1}; it needs {MIN_FILMS} assessed)")
    path = tmp_path / "m.site.npz"
    digest = ref.save(path)
    assert len(digest) == 64
    again = SiteReference.load(path)
    assert np.allclose(again.points, ref.points) and again.source == "test reference"


def test_a_profile_reference_names_itself_when_familiar(world):
    rng, _, centres = world
    feats = centres[2] + rng.normal(0, 1, (120, len(centres[2])))
    ref = fit_reference(feats, ["site"] * 120, 0.3, "site profile St Elsewhere",
                        components=16)
    res = check_site(ref, centres[2] + rng.normal(0, 1, (30, len(centres[2]))),
                     np.zeros(30, bool))
    assert res.line().startswith("site check: familiar: matches site profile St Elsewhere")


def test_a_profile_carries_the_films_it_was_validated_on(tiny_model_path, labelled_folder,
                                                         tmp_path):
    """Issue 20: with a site profile active the check compares with the profile's own
    films: "familiar: matches site profile NAME"."""
    from core.answers.inference import assess, classify, load_one
    from core.evaluation.validation import analyse, run_validation
    from core.files.discovery import iter_inputs
    from core.files.labelled import open_labelled
    from core.model.disk import make_profile, reference_path, save_model, save_profile
    from core.model.loading import load_model

    base = load_model(tiny_model_path)
    files = list(iter_inputs([labelled_folder]))
    feats = np.stack([assess(base, [load_one(f, base.card.spec, base.anatomy)], 0.5)[0].features
                      for f in files])
    rng = np.random.default_rng(5)
    # a base reference the site's films are far from
    ref = fit_reference(feats + rng.normal(0, 1, feats.shape) * 5 + 20, ["public"] * len(files),
                        0.5, "public films", components=8)
    model_path = tmp_path / "m" / "tiny.keras"
    save_model(base.keras_model, base.card, model_path, base.ood, site=ref)
    model = load_model(model_path)
    run = run_validation(model, open_labelled(labelled_folder))
    a = analyse(run, resamples=20)
    card = make_profile(model_path, "North", a.threshold_for(sensitivity=0.9), {"rule": "t"})
    prof_path = save_profile(card, tmp_path / "north.site.json",
                             run.site.as_reference("site profile North"))
    assert reference_path(prof_path).is_file()
    prof = load_model(prof_path)
    acc = SiteAccumulator(prof.site)
    list(classify(files, prof, site=acc))
    line = acc.result().line()
    assert line.startswith("site check: familiar: matches site profile North"), line
    acc = SiteAccumulator(model.site)  # the public reference: these films are new there
    list(classify(files, model, site=acc))
    assert acc.result().line().startswith("site check: new site")
