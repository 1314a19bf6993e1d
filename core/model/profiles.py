"""Site profiles: a model's local operating point, kept as a card of its own.

A profile is the model's card with a threshold (and optionally a calibration) chosen on a
site's own labelled films, plus the provenance of that choice: when, on which folder, how
many films per class, a hash of the file list and the metrics with their intervals. It
names the weights by path *and* sha256 and never touches them, nor the model's own card:
the bundled model stays as shipped, and a profile that no longer matches its weights is
refused like a tampered model. Profiles are ``NAME.site.json`` files; ``core.model.networks.
load_model`` loads one like a model.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.errors import ModelError
from core.files.atomic import write_text_atomic
from core.model.calibration import apply_platt
from core.model.card import ModelCard, read_card, sha256_file, verify
from core.model.site import SiteReference
from core.model.store import current_weights, free_path
from core.resources import default_model_path

SUFFIX = ".site.json"


def is_profile(path: str | os.PathLike[str]) -> bool:
    return Path(path).name.endswith(SUFFIX)


def read_profile(path: str | os.PathLike[str]) -> ModelCard:
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"site profile not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"cannot read site profile {path.name}: {exc}") from None
    card = ModelCard.from_json(text)
    if not card.site.get("base_model"):
        raise ModelError(f"{path.name} is not a site profile (it names no model)")
    return card


def base_weights(path: str | os.PathLike[str], card: ModelCard, check_hash: bool = True
                 ) -> Path:
    """The ``.keras`` file a profile was made for: where it was (relative paths are taken
    from the profile's folder), else the bundled model, whichever has the profile's sha256.
    A moved app or a renamed folder therefore still finds its weights; other weights never
    pass for them. ``check_hash=False`` (listing profiles on the GUI thread) only looks for
    the named file, without reading 14 MB per profile; loading always checks."""
    named = Path(card.site["base_model"])
    if not named.is_absolute():
        named = Path(path).parent / named
    for candidate in (named, default_model_path()):
        files = current_weights(candidate)
        if files.is_file() and (not check_hash or sha256_file(files) == card.weights_sha256):
            return candidate
    raise ModelError(
        f"site profile {Path(path).name}: the model it was made for "
        f"({card.site.get('base_name', named.name)}, sha256 {card.weights_sha256[:12]}…) is "
        "not found or was changed"
    )


def make_profile(
    model_path: str | os.PathLike[str],
    site_name: str,
    threshold: float,
    provenance: dict[str, Any],
    recalibration: tuple[float, float] | None = None,
) -> ModelCard:
    """A profile of the model at ``model_path`` (itself a model or a profile: a profile of
    a profile starts from the same weights) with a local threshold.

    ``recalibration`` (a, b) is a Platt fit on the site's probabilities as the model gave
    them; it is folded into the card's own calibration, and the threshold is carried onto
    the new scale, so the same films are called COVID either way."""
    model_path = Path(model_path)
    if is_profile(model_path):
        base_card = read_profile(model_path)
        weights = base_weights(model_path, base_card)
        base_name = base_card.site.get("base_name", base_card.name)
    else:
        base_card = read_card(model_path)
        verify(model_path, base_card)
        weights, base_name = model_path.resolve(), base_card.name
    site_name = site_name.strip()
    if not site_name:
        raise ModelError("a site profile needs a name")
    calibration = dict(base_card.calibration)
    rule = f"chosen at {site_name}: {provenance.get('rule', 'set by the user')}"
    if recalibration is not None:
        a2, b2 = recalibration
        a, b = calibration.get("a", 1.0), calibration.get("b", 0.0)
        # sigmoid(a2 * logit(sigmoid(a z + b)) + b2) = sigmoid(a2 a z + a2 b + b2)
        calibration = {"a": a2 * a, "b": a2 * b + b2}
        # A film whose probability is the threshold itself (a threshold chosen on the
        # site's films is one of their scores) must stay called COVID: scores come as
        # float32 through the folded calibration, which rounds differently from the two
        # steps, so the carried threshold is let down by a few float32 steps (1e-6,
        # far below the 4 decimals any score is shown with).
        threshold = float(apply_platt(threshold, a2, b2)) * (1.0 - 1e-6)
        rule += " (recalibrated on the site's films)"
    site = {
        "name": site_name,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "base_model": str(weights),
        "base_name": base_name,
        "base_threshold": base_card.threshold if not base_card.site else
        base_card.site.get("base_threshold", base_card.threshold),
        "recalibrated": recalibration is not None,
        **provenance,
    }
    return replace(
        base_card,
        name=f"{base_name} · {site_name}",
        threshold=float(threshold),
        threshold_rule=rule,
        calibration=calibration,
        site=site,
    )


def profile_path(folder: str | os.PathLike[str], site_name: str) -> Path:
    """A free ``NAME.site.json`` path in ``folder`` for a site called ``site_name``."""
    return free_path(folder, site_name, SUFFIX, default="site")


def reference_path(path: str | os.PathLike[str]) -> Path:
    """``NAME.site.json`` -> ``NAME.site-reference.npz``: the films a profile was validated
    on, for the site check."""
    p = Path(path)
    return p.with_name(p.name[: -len(SUFFIX)] + ".site-reference.npz")


def save_profile(card: ModelCard, path: str | os.PathLike[str],
                 reference: SiteReference | None = None) -> Path:
    """Write a profile atomically; only ever a ``.site.json`` file, so no model card can
    be overwritten by one. ``reference`` (the site's own films, core.model.site) is
    written first beside it, so a profile never names a reference that is not there."""
    path = Path(path)
    if not is_profile(path):
        raise ModelError(f"a site profile's file name must end in {SUFFIX}: {path.name}")
    if not card.site:
        raise ModelError("not a site profile card")
    path.parent.mkdir(parents=True, exist_ok=True)
    if reference is not None:
        rp = reference_path(path)
        card.site_check = {"file": rp.name, "sha256": reference.save(rp), "beside": "profile",
                           "films": int(len(reference.points)), "source": reference.source}
    write_text_atomic(path, card.to_json())
    return path


def list_profiles(folder: str | os.PathLike[str]) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f"*{SUFFIX}") if not p.name.startswith("."))


def remove_profile(path: str | os.PathLike[str]) -> None:
    path = Path(path)
    if not is_profile(path):
        raise ModelError(f"not a site profile: {path.name}")
    path.unlink(missing_ok=True)
    reference_path(path).unlink(missing_ok=True)
