"""A model on disk: which files make one, how they are checked, how they are replaced.

A model is named by its weights, ``NAME.keras``, with ``NAME.card.json``, ``NAME.ood.npz``,
``NAME.site.npz`` and ``NAME.frontal.npz`` beside it (the layout every reader has always used, and the bundled
model's). The card (:mod:`core.model.card`) holds the sha256 of the others, so a mixed set
(new weights beside the old card) is refused, and renames alone cannot swap several files
at once. A save therefore goes:

1. write the complete new set into a fresh hidden folder ``.NAME.keras.saving-XXXX/``
   (same file names inside) and fsync it;
2. rename that folder to ``.NAME.keras.next/``: the commit point, one atomic rename;
3. copy each of its files over its live sibling (each replace atomic), the weights last;
4. rename ``.next/`` away to ``.NAME.keras.done-XXXX`` and delete it.

Readers go through :func:`current_weights`: the ``.next/`` copy whenever it exists, else
the live files. Before step 2 that is the old set, untouched; from step 2 to 4 the complete
new set in ``.next/`` (the live files may be mixed then, and are not read); after step 4 the
new live set. So a kill at any moment leaves either the whole old model or the whole new one.
The next save to the same name first finishes an interrupted step 3-4, and removes what a
kill left behind in step 1 or 4. Readers never write, so a read-only install still loads.

A site profile, ``NAME.site.json`` (with ``NAME.site-reference.npz``), is the model's card
with a threshold (and optionally a calibration) chosen on a site's own labelled films, plus
the provenance of that choice. It names the weights by path *and* sha256 and never touches
them, nor the model's own card: the bundled model stays as shipped, and a profile that no
longer matches its weights is refused like a tampered model. :func:`open_set` reads a
profile like a model. Nothing here imports TensorFlow, so the window can list models and
profiles without it.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import glob
import hashlib
import os
import re
import shutil
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import ModelError
from core.files.atomic import atomic_path, fsync_dir, fsync_file, write_text_atomic
from core.model.calibration import apply_platt
from core.model.card import ModelCard
from core.resources import default_model_path

if TYPE_CHECKING:
    import keras

    from core.model.ood import OODModel
    from core.model.site import SiteReference

#: A site profile's file name ends so.
SUFFIX = ".site.json"

#: Folders from step 1 older than this process were left by a kill (a live save's are newer).
_STARTED = time.time()


# ---------------------------------------------------------------------------------------
# Which files make a model


def card_path(model_path: str | Path) -> Path:
    """``models/x.keras`` -> ``models/x.card.json``."""
    p = Path(model_path)
    return p.with_name(p.stem + ".card.json")


def ood_path(model_path: str | Path) -> Path:
    """``NAME.keras`` -> ``NAME.ood.npz``: the OOD statistics."""
    p = Path(model_path)
    return p.with_name(p.stem + ".ood.npz")


def site_path(weights: str | Path) -> Path:
    """``NAME.keras`` -> ``NAME.site.npz``: the site check's reference."""
    p = Path(weights)
    return p.with_name(p.stem + ".site.npz")


def frontal_path(weights: str | Path) -> Path:
    """``NAME.keras`` -> ``NAME.frontal.npz``: the frontal-film classifier (issue #31)."""
    p = Path(weights)
    return p.with_name(p.stem + ".frontal.npz")


def runtime_paths(weights: str | Path) -> tuple[Path, Path]:
    """``NAME.keras`` -> ``NAME.tflite`` and ``NAME.views.tflite``: the network converted
    for the lean runtime (core.model.convert, issue #30)."""
    p = Path(weights)
    return p.with_name(p.stem + ".tflite"), p.with_name(p.stem + ".views.tflite")


def is_profile(path: str | os.PathLike[str]) -> bool:
    return Path(path).name.endswith(SUFFIX)


def reference_path(path: str | os.PathLike[str]) -> Path:
    """``NAME.site.json`` -> ``NAME.site-reference.npz``: the films a profile was validated
    on, for the site check."""
    p = Path(path)
    return p.with_name(p.name[: -len(SUFFIX)] + ".site-reference.npz")


def slug(name: str, default: str = "model") -> str:
    """A file-name-safe stem for a name a user typed ("Ward 7 / v2" -> "Ward-7-v2")."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", name.strip()).strip("-.")
    return s[:80] or default


def free_path(folder: str | os.PathLike[str], name: str, suffix: str,
              default: str = "model") -> Path:
    """``folder/STEM{suffix}`` for ``name``, or ``STEM-2``, ``STEM-3``... when taken."""
    folder, stem = Path(folder), slug(name, default)
    path, n = folder / f"{stem}{suffix}", 2
    while path.exists():
        path, n = folder / f"{stem}-{n}{suffix}", n + 1
    return path


def profile_path(folder: str | os.PathLike[str], site_name: str) -> Path:
    """A free ``NAME.site.json`` path in ``folder`` for a site called ``site_name``."""
    return free_path(folder, site_name, SUFFIX, default="site")


def pending_dir(weights: str | Path) -> Path:
    """The committed-but-not-yet-installed new set of ``NAME.keras``: ``.NAME.keras.next/``."""
    weights = Path(weights)
    return weights.with_name(f".{weights.name}.next")


def current_weights(weights: str | Path) -> Path:
    """Where the complete set of the model named ``weights`` is read from now: the weights
    inside ``.next/`` while a save installs it, else ``weights`` itself (its card and OOD
    file lie beside either)."""
    weights = Path(weights)
    pending = pending_dir(weights)
    return pending / weights.name if pending.is_dir() else weights


# ---------------------------------------------------------------------------------------
# How they are checked


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_card(model_path: str | Path) -> ModelCard:
    """The card of the model named ``model_path`` (of its new set while a save installs
    it)."""
    cp = card_path(current_weights(model_path))
    if not cp.is_file():
        raise ModelError(f"model card {cp.name} is missing beside {Path(model_path).name}")
    return ModelCard.from_json(cp.read_text(encoding="utf-8"))


def verify(model_path: str | Path, card: ModelCard) -> None:
    """Refuse a weights file (or OOD file) whose sha256 differs from the card's."""
    model_path = current_weights(model_path)
    if not model_path.is_file():
        raise ModelError(f"model file not found: {model_path}")
    actual = sha256_file(model_path)
    if actual != card.weights_sha256:
        raise ModelError(
            f"model file {model_path.name} does not match its card (sha256 {actual[:12]}… "
            f"expected {card.weights_sha256[:12]}…): refusing to load a modified model"
        )
    check_archive(model_path)
    ood_file = card.ood.get("file")
    if ood_file:
        op = model_path.with_name(ood_file)
        if not op.is_file() or sha256_file(op) != card.ood.get("sha256"):
            raise ModelError(f"OOD statistics {ood_file} are missing or do not match the card")


def check_archive(weights: Path) -> None:
    """Refuse a ``.keras`` file that is not a whole zip archive: cut short, or a member's
    data damaged (its CRC). A copy tool may rewrite the card to match such a file, and
    Keras would then fail only after TensorFlow had started (and say "File not found");
    here it is one line, before any heavy import. Reads the archive once, ~25 ms for the
    bundled model."""
    damaged = ModelError(
        f"model file {weights.name} is damaged or truncated (not a complete .keras archive): "
        "copy it again, or restore it from where it came"
    )
    try:
        with zipfile.ZipFile(weights) as archive:
            bad_member = archive.testzip()
    except OSError as exc:
        raise ModelError(f"cannot read model file {weights.name}: {exc.strerror or exc}"
                         ) from None
    except Exception:  # BadZipFile, EOFError, zlib.error, NotImplementedError (a method)...
        raise damaged from None
    if bad_member is not None:
        raise damaged


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


def open_set(path: str | os.PathLike[str]) -> tuple[Path, ModelCard]:
    """The weights to read for the model or site profile at ``path`` (its new set while a
    save installs it; a profile's, those it names) and the card they were checked against:
    the one check every reader makes before it trusts a model, without TensorFlow."""
    path = Path(path)
    if is_profile(path):
        card = read_profile(path)
        files = current_weights(base_weights(path, card))
    else:
        files = current_weights(path)
        card = read_card(files)
    verify(files, card)
    return files, card


def site_file(files: Path, card: ModelCard, path: Path | None = None) -> Path | None:
    """The site check's reference named by the card (``site_check.file`` beside the
    weights, or beside the profile ``path`` for a profile's own), refused when its sha256
    differs; None when the card names none (a model finalised before the check existed)."""
    info = card.site_check
    if not info.get("file"):
        return None
    folder = path.parent if info.get("beside") == "profile" and path is not None else files.parent
    ref = folder / info["file"]
    if not ref.is_file() or sha256_file(ref) != info.get("sha256"):
        raise ModelError(f"site check reference {info['file']} is missing or does not match "
                         "the card")
    return ref


def frontal_file(files: Path, card: ModelCard) -> Path | None:
    """The frontal-film classifier named by the card (beside the weights), refused when its
    sha256 differs; None when the card names none (the anatomy check alone then decides)."""
    info = card.frontal_check
    if not info.get("file"):
        return None
    path = files.parent / info["file"]
    if not path.is_file() or sha256_file(path) != info.get("sha256"):
        raise ModelError(f"frontal-film check {info['file']} is missing or does not match the "
                         "card")
    return path


def runtime_files(files: Path, card: ModelCard) -> tuple[Path, Path] | None:
    """The converted networks named by the card (beside the weights), refused when a
    sha256 differs; None when the card names none (the Keras network then answers)."""
    info = card.runtime
    if not info.get("file"):
        return None
    out = []
    for key in ("", "views_"):
        path = files.parent / info[f"{key}file"]
        if not path.is_file() or sha256_file(path) != info.get(f"{key}sha256"):
            raise ModelError(f"converted network {path.name} is missing or does not match the "
                             "card")
        out.append(path)
    return out[0], out[1]


def _write_runtime(net: keras.Model, card: ModelCard, weights: Path) -> None:
    """Convert ``net`` beside ``weights`` (core.model.convert) and name the files in the
    card; a network without a linear head on pooled features gets none."""
    from core.model.convert import convertible

    card.runtime = {}
    if not convertible(net):
        return
    files, card.runtime = _converted(net, weights)
    for name, data in files.items():
        (weights.parent / name).write_bytes(data)


def _converted(net: Any, weights: Path) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The converted files of ``net`` by their names beside ``weights``, and the card's
    ``runtime`` entry that names them."""
    from core.model.convert import convert

    data_main, data_views, info = convert(net)
    main, views = runtime_paths(weights)
    entry = {"file": main.name, "sha256": hashlib.sha256(data_main).hexdigest(),
             "views_file": views.name, "views_sha256": hashlib.sha256(data_views).hexdigest(),
             # What a frontal-film classifier fitted on these weights' features names.
             "weights_digest": weights_digest([np.asarray(v.numpy()) for v in net.weights]),
             **info}
    return {main.name: data_main, views.name: data_views}, entry


def add_runtime(weights: str | Path, net: Any) -> dict[str, Any]:
    """Convert the model ``weights`` (whose Keras network is ``net``) in place: its set
    gains, or replaces, its converted files and its card their names and sha256, as one
    change (:func:`add_to_set`). For a model saved before the lean runtime; a model saved
    now is converted as it is saved."""
    weights = Path(weights)
    _, card = open_set(current_weights(weights))
    files, card.runtime = _converted(net, weights)
    add_to_set(weights, card, files)
    return card.runtime


def weights_digest(arrays: list[Any]) -> str:
    """sha256 of a network's weight arrays in order: what its features depend on, the same
    whatever zip the ``.keras`` file was written as (a re-save changes the file's sha256,
    not this)."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(memoryview(a).cast("B") if a.flags.c_contiguous else a.tobytes())
    return h.hexdigest()


# ---------------------------------------------------------------------------------------
# How they are replaced


def replace_set(weights: str | Path, fill: Callable[[Path], None]) -> Path:
    """Replace the model ``weights`` (and its siblings) with the files ``fill(folder)``
    writes into an empty folder, under the live names, as one change (module docstring).

    An exception from ``fill`` leaves the old model as it was.
    """
    weights = Path(weights)
    folder = weights.parent
    folder.mkdir(parents=True, exist_ok=True)
    finish_interrupted(weights)
    _remove_leftovers(weights)
    staging = Path(tempfile.mkdtemp(prefix=f".{weights.name}.saving-", dir=folder))
    try:
        fill(staging)
        if not (staging / weights.name).is_file():
            raise FileNotFoundError(f"{weights.name} was not written")
        for f in staging.iterdir():
            fsync_file(f)
        fsync_dir(staging)
        os.rename(staging, pending_dir(weights))  # the commit point
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    fsync_dir(folder)
    _install(weights)
    return weights


def finish_interrupted(weights: str | Path) -> None:
    """Complete a save that was killed after its commit point (no-op if none was)."""
    weights = Path(weights)
    if pending_dir(weights).is_dir():
        _install(weights)


def _install(weights: Path) -> None:
    pending = pending_dir(weights)
    # The weights go last: a live NAME.keras that exists has its card and OOD file beside it.
    names = sorted((p.name for p in pending.iterdir()), key=lambda n: (n == weights.name, n))
    for name in names:
        with atomic_path(weights.with_name(name)) as tmp:
            shutil.copyfile(pending / name, tmp)
    fsync_dir(weights.parent)
    # Renamed before it is deleted: a half-deleted ``.next/`` would look like a broken set.
    retired = weights.with_name(f".{weights.name}.done-{uuid.uuid4().hex[:12]}")
    os.rename(pending, retired)
    fsync_dir(weights.parent)
    shutil.rmtree(retired, ignore_errors=True)


def _remove_leftovers(weights: Path) -> None:
    """Folders a kill left in step 1 (only those older than this process) or step 4."""
    stem = glob.escape(f".{weights.name}")
    for p in weights.parent.glob(f"{stem}.done-*"):
        shutil.rmtree(p, ignore_errors=True)
    for p in weights.parent.glob(f"{stem}.saving-*"):
        with contextlib.suppress(OSError):
            if p.stat().st_mtime < _STARTED:
                shutil.rmtree(p, ignore_errors=True)


def add_to_set(weights: str | Path, card: ModelCard, extra: dict[str, bytes]) -> Path:
    """Add (or replace) files beside the model ``weights`` and rewrite its card, as one
    change like :func:`save_model`, copying the weights and the other files the card names
    unchanged (byte for byte: their sha256 in the card stays true)."""
    weights = Path(weights)
    files = current_weights(weights)
    keep = [files.name, *(d.get("file") for d in (card.ood, card.site_check,
                                                  card.frontal_check, card.runtime)),
            card.runtime.get("views_file")]

    def fill(folder: Path) -> None:
        for name in keep:
            if name and name not in extra and (files.parent / name).is_file():
                shutil.copyfile(files.parent / name, folder / name)
        for name, data in extra.items():
            (folder / name).write_bytes(data)
        _write_card(card, folder / weights.name)

    return replace_set(weights, fill)


def save_model(
    net: keras.Model, card: ModelCard, path: str | Path, ood: OODModel | None = None,
    site: SiteReference | None = None, convert: bool = True,
) -> Path:
    """Write weights, OOD statistics, the site check's reference, the network converted for
    the lean runtime (a Lite0 classifier; ``convert=False``: none, the Keras network
    answers) and card as one change: a kill at any moment leaves the whole old model or the
    whole new one. The card names the sha256 of the other files."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ModelError("a model file must end in .keras")

    def fill(folder: Path) -> None:
        weights = folder / path.name
        net.save(weights)
        card.weights_file = path.name
        card.weights_sha256 = sha256_file(weights)
        card.input_size = int(net.input_shape[1])
        if ood is not None:
            op = ood_path(weights)
            ood.save(op)
            card.ood = {
                **card.ood,
                "file": op.name,
                "sha256": sha256_file(op),
                "feature_cutoff": ood.feat_cut,
                "structure_cutoff": ood.structure_cut,
                "thumbnail_cutoff": ood.thumb_cut,
            }
        if site is not None:
            sp = site_path(weights)
            card.site_check = {**card.site_check, "file": sp.name, "sha256": site.save(sp),
                               "films": int(len(site.points)), "source": site.source}
        if convert:
            _write_runtime(net, card, weights)
        # The frontal-film check stays (untouched, live beside) only where it already is;
        # whether it still fits these weights is checked when the model loads.
        named = card.frontal_check.get("file")
        if named and not (current_weights(path).parent / named).is_file():
            card.frontal_check = {}
        if not card.created:
            card.created = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        _write_card(card, weights)

    return replace_set(path, fill)


def copy_model(src: str | Path, dst: str | Path) -> Path:
    """Copy a verified model (and its card and OOD file) under a new name, as one change."""
    src, dst = Path(src), Path(dst)
    src_files = current_weights(src)
    card = read_card(src_files)
    verify(src_files, card)

    def fill(folder: Path) -> None:
        weights = folder / dst.name
        shutil.copyfile(src_files, weights)
        card.weights_file = dst.name
        if card.ood.get("file"):
            shutil.copyfile(src_files.with_name(card.ood["file"]), ood_path(weights))
            card.ood["file"] = ood_path(dst).name
        if card.site_check.get("file"):
            shutil.copyfile(src_files.with_name(card.site_check["file"]), site_path(weights))
            card.site_check["file"] = site_path(dst).name
        if card.frontal_check.get("file"):
            shutil.copyfile(src_files.with_name(card.frontal_check["file"]),
                            frontal_path(weights))
            card.frontal_check["file"] = frontal_path(dst).name
        if card.runtime.get("file"):
            for key, new in zip(("file", "views_file"), runtime_paths(weights), strict=True):
                shutil.copyfile(src_files.with_name(card.runtime[key]), new)
                card.runtime[key] = new.name
        _write_card(card, weights)

    return replace_set(dst, fill)


def _write_card(card: ModelCard, weights: Path) -> None:
    card_path(weights).write_text(card.to_json(), encoding="utf-8", newline="")


# ---------------------------------------------------------------------------------------
# Site profiles


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
