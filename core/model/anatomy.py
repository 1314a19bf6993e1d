"""Anatomy from a lung probability mask: the lung fields, the facts of the pixels around
them, and whether together they make a frontal chest film.

:class:`LungFields` turns one probability mask (the segmenter's, :mod:`core.model.lungs`)
into anatomical facts (two fields, their box, sizes, placement, how crisp and how smooth
the mask is); ``confident`` says whether the box can be trusted, else
:meth:`LungFields.crop_box` falls back to the whole image. :func:`frontal_check` asks what
makes a frontal chest film: two lung fields of plausible size, side by side across the
midline, roughly symmetric, spanning the upper and middle thorax (:func:`frontal_evidence`),
plus facts of the pixels that a projection has and a slice or a page does not
(:class:`ImageFacts`): the mediastinum between the fields is denser than the lungs, the
lungs are not air-dark holes in clipped-white walls (a CT lung window), and the body is not
an elliptical section floating in a flat background.

Every threshold is a named constant below, with how it was chosen: from anatomy, then
checked on the real frontal films of the training splits (``scripts/eval_lungs.py`` prints
their distribution). None was fitted to lateral films, CT slices or other non-frontal
images; ``../shared/data/notcxr`` is a test set only. numpy only: no network here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: (top, left, bottom, right) of the whole image, as fractions: the fallback box.
FULL_IMAGE = (0.0, 0.0, 1.0, 1.0)

# --- What a confident segmentation looks like (LungFields.confident) -------------------
# Anatomy first, then checked against the real frontal films of the *training* splits
# (lungs/train, cxr/train, 3,124 films): each bound sits outside what those films show
# (see scripts/eval_lungs.py for the measured distribution), never fitted to non-frontal
# images. Areas are fractions of the whole image at 128 x 128.

#: A component smaller than this is a speck (a marker, a gap between wires), not a field.
SPECK_AREA = 0.004
#: Each lung of an adult frontal film covers 6-20 % of a film framed on the chest;
#: a zoomed-out film (whole trunk, journal figure with margins) halves that.
MIN_FIELD_AREA = 0.02
#: Smaller field / larger field. The left lung is smaller (the heart), and a collapsed
#: lobe, an effusion or a white-out shrinks one side further; below a quarter of the other
#: (2 of the 3,124 training films) we would rather say "not sure".
MIN_SIZE_RATIO = 0.25
#: The two fields must share most of their height (apex to costophrenic angle on both
#: sides); fields stacked one above the other are not a pair of lungs.
MIN_VERTICAL_OVERLAP = 0.5
#: At most this share of the narrower field's width may overlap the other field's columns:
#: the two lungs lie left and right of the mediastinum, not in front of each other.
MAX_HORIZONTAL_OVERLAP = 0.25
#: Mean |2p - 1| over the box: 1 is a crisp mask, 0 a coin toss everywhere.
MIN_CONFIDENCE = 0.6
#: Outline pixels squared over (4 pi area), the larger of the two fields: a lung field on a
#: radiograph is a smooth, compact shape (median 1.4 on the training films); fringes and
#: holes mean the segmenter is guessing. Training films with two plausible fields reach
#: 3.01 at most (99.9th percentile 2.43), the same films under the portable-ICU artefacts
#: 2.92.
MAX_RAGGEDNESS = 3.2

# --- From a mask to anatomy -----------------------------------------------------------


def label_components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """8-connected components of a boolean mask: (labels 0..K, areas in pixels (K,)),
    numbered in the order a row-major scan first meets them.

    Over runs, in numpy (numpy has no ``ndimage.label``): the runs of every row at once,
    each joined to the runs of the row above that it touches (diagonals included), then
    the smallest run id spread along those links until it settles; no Python loop over
    pixels or runs (this ran per film, twice, and was most of the anatomy's time).
    """
    h, w = mask.shape
    padded = np.zeros((h, w + 2), np.int8)
    padded[:, 1:-1] = mask
    step = np.diff(padded, axis=1)
    rows, starts = np.nonzero(step == 1)  # row-major: runs sorted by row, then column
    stops = np.nonzero(step == -1)[1]
    n = rows.size
    labels = np.zeros((h, w), np.int32)
    if n == 0:
        return labels, np.zeros(0, np.int64)
    # Runs of row r - 1 touching a run [start, stop) of row r: those with
    # stop' >= start and start' <= stop, a contiguous range in the sorted order.
    key = np.int64(w + 2)
    lo = np.searchsorted(rows * key + stops, (rows - 1) * key + starts, side="left")
    hi = np.searchsorted(rows * key + starts, (rows - 1) * key + stops, side="right")
    count = np.maximum(hi - lo, 0)
    cur = np.repeat(np.arange(n), count)
    prev = np.repeat(lo, count) + (np.arange(cur.size) - np.repeat(np.cumsum(count) - count, count))
    root = np.arange(n)
    while cur.size:
        low = np.minimum(root[cur], root[prev])
        new = root.copy()
        np.minimum.at(new, cur, low)
        np.minimum.at(new, prev, low)
        new = new[new]  # pointer jumping: each run points at a run of its own component
        if np.array_equal(new, root):
            break
        root = new
    # Components numbered by their first run (the smallest id), as a row scan meets them.
    _, order = np.unique(root, return_inverse=True)
    ids = order.astype(np.int32) + 1
    paint = np.zeros((h, w + 1), np.int32)
    np.add.at(paint, (rows, starts), ids)
    np.add.at(paint, (rows, stops), -ids)
    labels = np.cumsum(paint, axis=1, dtype=np.int32)[:, :w]
    areas = np.bincount(labels.ravel(), minlength=int(ids.max()) + 1)[1:]
    return labels, areas


def _raggedness(field: np.ndarray) -> float:
    """Outline pixels (those with a 4-neighbour outside, holes included) squared over
    4 pi times the area: ~1 for a disc, larger for fringed or holed shapes."""
    inner = field.copy()
    inner[1:] &= field[:-1]
    inner[:-1] &= field[1:]
    inner[:, 1:] &= field[:, :-1]
    inner[:, :-1] &= field[:, 1:]
    outline = float(np.count_nonzero(field & ~inner))
    return outline**2 / (4.0 * np.pi * max(int(field.sum()), 1))


def _ramp(value: float, zero: float, one: float) -> float:
    """0 at ``zero``, 1 at ``one``, linear between (either order)."""
    if one == zero:
        return float(value >= one)
    return float(np.clip((value - zero) / (one - zero), 0.0, 1.0))


@dataclass(frozen=True)
class LungFields:
    """What one lung probability mask says, as fractions of the image (0 top/left, 1
    bottom/right). Built by :meth:`from_mask`; ``confident`` is False, with a ``reason``,
    unless two plausible fields were found."""

    top: float
    left: float
    bottom: float
    right: float
    #: Area of the largest and second-largest component, fractions of the image.
    areas: tuple[float, float]
    #: Centroids (y, x) of the two largest components; (nan, nan) where absent.
    centres: tuple[tuple[float, float], tuple[float, float]]
    #: Components larger than ``SPECK_AREA``.
    n_fields: int
    #: Two fields lying left and right of each other (see ``MAX_HORIZONTAL_OVERLAP``).
    two_sided: bool
    #: Share of the shorter field's height that the other field spans too.
    vertical_overlap: float
    #: Smaller / larger of the two largest fields (0 with fewer than two).
    size_ratio: float
    #: Mean |2p - 1| inside the box: how decided the segmenter is (1 = crisp).
    confidence: float
    #: Outline pixels^2 / (4 pi area) of the more ragged of the two largest fields.
    raggedness: float
    confident: bool
    reason: str = ""

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.top, self.left, self.bottom, self.right)

    @property
    def vertical_extent(self) -> float:
        """Height of the lung box, as a fraction of the image height."""
        return self.bottom - self.top

    @property
    def total_area(self) -> float:
        return self.areas[0] + self.areas[1]

    def box_with_margin(self, margin: float = 0.05) -> tuple[float, float, float, float]:
        """The lung box grown by ``margin`` of the image on each side, clipped to the image."""
        return (
            max(0.0, self.top - margin),
            max(0.0, self.left - margin),
            min(1.0, self.bottom + margin),
            min(1.0, self.right + margin),
        )

    def crop_box(self, margin: float = 0.05) -> tuple[float, float, float, float]:
        """The box to crop to: the lungs with a margin when confident, else the whole image."""
        return self.box_with_margin(margin) if self.confident else FULL_IMAGE

    @classmethod
    def from_mask(
        cls, prob: np.ndarray, labelled: tuple[np.ndarray, np.ndarray] | None = None
    ) -> LungFields:
        """Measure one (H, W) lung probability mask (``labelled``: its
        ``label_components(prob > 0.5)``, when the caller already has it)."""
        prob = np.asarray(prob, np.float32)
        h, w = prob.shape
        labels, areas_px = labelled if labelled is not None else label_components(prob > 0.5)
        order = np.argsort(-areas_px, kind="stable")[:2]
        kept = [int(i) + 1 for i in order if areas_px[i] >= SPECK_AREA * h * w]
        areas = [areas_px[i - 1] / (h * w) for i in kept] + [0.0, 0.0]
        nan = (float("nan"), float("nan"))
        if not kept:
            return cls(*FULL_IMAGE, (0.0, 0.0), (nan, nan), 0, False, 0.0, 0.0, 0.0, 0.0, False,
                       "no lung field found")
        rows_of, cols_of = [], []
        for lab in kept:
            rr, cc = np.nonzero(labels == lab)
            rows_of.append(rr)
            cols_of.append(cc)
        rows, cols = np.concatenate(rows_of), np.concatenate(cols_of)
        top, bottom = rows.min() / h, (rows.max() + 1) / h
        left, right = cols.min() / w, (cols.max() + 1) / w
        centres = [
            (float(r.mean() + 0.5) / h, float(c.mean() + 0.5) / w)
            for r, c in zip(rows_of, cols_of, strict=True)
        ] + [nan]
        inside = prob[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        confidence = float(np.mean(np.abs(2.0 * inside - 1.0)))
        n_fields = int(np.sum(areas_px >= SPECK_AREA * h * w))
        raggedness = max(_raggedness(labels == lab) for lab in kept)

        two_sided, v_overlap, ratio = False, 0.0, 0.0
        if len(kept) == 2:
            (ra, rb), (ca, cb) = rows_of, cols_of
            ratio = float(areas[1] / areas[0])
            shorter = min(np.ptp(ra), np.ptp(rb)) + 1
            v_overlap = max(0, min(ra.max(), rb.max()) - max(ra.min(), rb.min()) + 1) / shorter
            narrower = min(np.ptp(ca), np.ptp(cb)) + 1
            h_overlap = max(0, min(ca.max(), cb.max()) - max(ca.min(), cb.min()) + 1) / narrower
            two_sided = bool(h_overlap <= MAX_HORIZONTAL_OVERLAP)

        reason = ""
        if len(kept) < 2:
            reason = "only one lung field found"
        elif areas[1] < MIN_FIELD_AREA:
            reason = f"one lung field is too small ({areas[1]:.1%} of the image)"
        elif not two_sided:
            reason = "the two fields are not left and right of each other"
        elif v_overlap < MIN_VERTICAL_OVERLAP:
            reason = "the two fields do not share their height"
        elif ratio < MIN_SIZE_RATIO:
            reason = f"the fields differ too much in size (ratio {ratio:.2f})"
        elif confidence < MIN_CONFIDENCE:
            reason = f"the segmentation is uncertain (confidence {confidence:.2f})"
        elif raggedness > MAX_RAGGEDNESS:
            reason = f"the lung outlines are ragged ({raggedness:.1f}): the segmenter is guessing"
        return cls(
            float(top), float(left), float(bottom), float(right),
            (float(areas[0]), float(areas[1])), (centres[0], centres[1]), n_fields, two_sided,
            float(v_overlap), ratio, confidence, raggedness, not reason, reason,
        )


# --- What makes a frontal chest film --------------------------------------------------
# Anatomy of a PA/AP film, with bounds checked against the real frontal films of the
# training splits (see the block above): the lungs' box sits across the middle of the film
# (the mediastinum near the centre line), starts in the upper part (the apices under the
# clavicles) and spans a good part of the film's height. Non-frontal images were never used
# to set these.

#: Lung box centre, left-right, as a fraction of the width: the mediastinum is near the
#: middle of a frontal film even when the patient is off-centre or rotated.
BOX_CENTRE_X = (0.3, 0.7)
#: The apices are in the upper part of the film: the box starts above this line.
MAX_BOX_TOP = 0.45
#: The lungs span at least this share of the film's height and of its width.
MIN_BOX_HEIGHT = 0.3
MIN_BOX_WIDTH = 0.35
#: Lungs plus everything else: two fields filling more than this are not lungs.
MAX_TOTAL_AREA = 0.75


@dataclass(frozen=True)
class FrontalCheck:
    """The verdict on one image: ``frontal`` with ``evidence`` in [0, 1] (0 = outside the
    frontal envelope, 1 = a typical film), the ``reason`` when refused, and the fields."""

    frontal: bool
    evidence: float
    reason: str
    fields: LungFields
    facts: ImageFacts | None = None


def frontal_evidence(fields: LungFields) -> tuple[float, str]:
    """How far inside the envelope of a frontal chest film the lung anatomy sits.

    Each criterion gives a margin: 0 at its bound (or beyond: refused), 1 at a typical film
    (the second number of each ramp, near the median of the training films); the evidence
    is the smallest margin, so one implausible fact is enough to refuse.
    Returns (evidence, reason), reason empty when every criterion holds.
    """
    if not fields.confident:
        return 0.0, fields.reason
    cx = (fields.left + fields.right) / 2
    lo, hi = BOX_CENTRE_X
    margins = [
        (_ramp(fields.areas[1], MIN_FIELD_AREA, 0.06), "a lung field is too small"),
        (_ramp(fields.size_ratio, MIN_SIZE_RATIO, 0.6), "the lung fields are too unequal"),
        (
            _ramp(fields.vertical_overlap, MIN_VERTICAL_OVERLAP, 0.8),
            "the lung fields do not share their height",
        ),
        (_ramp(fields.confidence, MIN_CONFIDENCE, 0.85), "the segmentation is uncertain"),
        (_ramp(fields.raggedness, MAX_RAGGEDNESS, 1.6), "the lung outlines are ragged"),
        (min(_ramp(cx, lo, 0.5), _ramp(cx, hi, 0.5)), "the lungs are not across the midline"),
        (_ramp(fields.top, MAX_BOX_TOP, 0.2), "the lung apices are too low"),
        (_ramp(fields.vertical_extent, MIN_BOX_HEIGHT, 0.55), "the lung fields are too short"),
        (_ramp(fields.right - fields.left, MIN_BOX_WIDTH, 0.6), "the lung fields are too narrow"),
        (_ramp(fields.total_area, MAX_TOTAL_AREA, 0.45), "the lung fields are too large"),
    ]
    evidence, reason = min(margins, key=lambda m: m[0])
    return evidence, ("" if evidence > 0 else reason)


# --- Image facts: projection, not section; lungs darker than what surrounds them -----
# A radiograph is a projection: the body crosses the film (neck at the top, abdomen at the
# bottom), the chest wall, ribs and soft tissue lie over the lungs, so a lung field is only
# moderately darker than its rim, and the mediastinum (heart, spine, great vessels) between
# the two fields is brighter than both. A CT slice is a cut: the body is a closed, roughly
# elliptical section floating in a reconstruction background of one exact value, and in a
# lung window the lungs are near-air holes whose walls the window clips to white.
# Every bound below was checked on the 3,124 real frontal films of the training splits
# (lungs/train, cxr/train) and on the same films under scripts/eval_lungs.py's portable-ICU
# artefacts (600), and sits outside both; none was fitted to non-frontal images.

#: Pixels within this share of the image's intensity range of the border's typical value
#: count as flat background (relative, so a 12-bit film in a 16-bit container is not flat).
FLAT_TOLERANCE = 0.01
#: Share of each of the four edges that the flat background must cover to float the body.
MIN_EDGE_COVER = 0.5
#: Overlap (IoU) of the body with the ellipse of the same second moments: 1.0 for an
#: elliptical section. Radiographs pasted in a black canvas with their air saturated to the
#: same black also "float", but as a silhouette with shoulders and neck, or a rotated
#: rectangle: at most 0.90 on the training films, 0.93 under the ICU artefacts.
MIN_SECTION_ELLIPSE = 0.95
#: Median of a 4-pixel rim around the lung fields minus the median inside them (3 pixels
#: in from the edge), over the image's 1st-99th percentile range, at 128 x 128. A section in
#: a lung window should read near the top of that range (air-dark lung against tissue the
#: window clips white); the training films reach at most 0.64 (99.5th percentile 0.53).
MAX_WALL_CONTRAST = 0.7
#: Median between the two fields (over their shared rows) minus the median of the lungs, same
#: scale: the mediastinum is denser than air-filled lung. Training films: 0.1th percentile
#: 0.05, minimum 0.003 (a white-out film); a page of text or random shapes reads ~0.0.
MIN_MEDIASTINUM_CONTRAST = 0.03


@dataclass(frozen=True)
class ImageFacts:
    """Projection-versus-section facts, measured at 128 x 128 on the unequalised image."""

    background: float  # share of the image that is flat background touching the border
    edge_cover: tuple[float, float, float, float]  # share of top, bottom, left, right edges
    ellipse: float  # IoU of the body with its moment-matched ellipse
    wall_contrast: float  # lung rim minus lung interior (nan without a lung interior)
    mediastinum_contrast: float  # between the fields minus the lungs (nan without two)

    @property
    def floating(self) -> bool:
        """The body is an elliptical section floating in a uniform background (CT, MR)."""
        return min(self.edge_cover) >= MIN_EDGE_COVER and self.ellipse >= MIN_SECTION_ELLIPSE

    @property
    def sectional(self) -> bool:
        """The lung fields are air-dark holes with white walls, as in a CT lung window."""
        return bool(self.wall_contrast > MAX_WALL_CONTRAST)

    @property
    def no_mediastinum(self) -> bool:
        """Nothing denser than the lungs lies between them."""
        return bool(self.mediastinum_contrast < MIN_MEDIASTINUM_CONTRAST)


def grow(mask: np.ndarray, steps: int, diagonal: bool = False) -> np.ndarray:
    """Binary dilation by ``steps`` 4-neighbour steps (8-neighbour with ``diagonal``)."""
    out = mask.copy()
    for _ in range(steps):
        grown = out.copy()
        grown[1:] |= out[:-1]
        grown[:-1] |= out[1:]
        grown[:, 1:] |= out[:, :-1]
        grown[:, :-1] |= out[:, 1:]
        if diagonal:
            grown[1:, 1:] |= out[:-1, :-1]
            grown[:-1, :-1] |= out[1:, 1:]
            grown[1:, :-1] |= out[:-1, 1:]
            grown[:-1, 1:] |= out[1:, :-1]
        out = grown
    return out


def _ellipse_iou(body: np.ndarray) -> float:
    """IoU of a region with the uniform ellipse of the same centroid and covariance."""
    rr, cc = np.nonzero(body)
    if rr.size < 50:
        return 0.0
    pts = np.stack([rr, cc], axis=1).astype(np.float64)
    mu = pts.mean(axis=0)
    inv = np.linalg.inv(np.cov(pts.T) + np.eye(2) * 1e-3)
    gy, gx = np.mgrid[0 : body.shape[0], 0 : body.shape[1]]
    d = np.stack([gy - mu[0], gx - mu[1]], axis=-1)
    # A uniform ellipse with semi-axis a has variance a^2 / 4 along it: boundary at 2 sigma.
    ellipse = np.einsum("...i,ij,...j->...", d, inv, d) <= 4.0
    return float((ellipse & body).sum() / (ellipse | body).sum())


def _mediastinum_contrast(
    small: np.ndarray, lung: np.ndarray, scale: float,
    labelled: tuple[np.ndarray, np.ndarray] | None = None,
) -> float:
    labels, areas = labelled if labelled is not None else label_components(lung)
    if areas.size < 2:
        return float("nan")
    a, b = (labels == int(i) + 1 for i in np.argsort(-areas, kind="stable")[:2])
    cols_a, cols_b = np.nonzero(a.any(axis=0))[0], np.nonzero(b.any(axis=0))[0]
    if cols_a.mean() > cols_b.mean():
        a, b, cols_a, cols_b = b, a, cols_b, cols_a
    rows_a, rows_b = np.nonzero(a.any(axis=1))[0], np.nonzero(b.any(axis=1))[0]
    r0, r1 = max(rows_a.min(), rows_b.min()), min(rows_a.max(), rows_b.max()) + 1
    c0, c1 = cols_a.max() + 1, cols_b.min()
    if c1 - c0 < 2:  # fields touching or overlapping in columns: a thin band at the midline
        mid = (int(cols_a.mean()) + int(cols_b.mean())) // 2
        c0, c1 = mid - 1, mid + 2
    if r1 <= r0:
        return float("nan")
    gap = small[r0:r1, c0:c1][~lung[r0:r1, c0:c1]]
    if gap.size == 0:
        return float("nan")
    return float((np.median(gap) - np.median(small[a | b])) / scale)


def facts_of_small(
    small: np.ndarray, prob: np.ndarray | None,
    labelled: tuple[np.ndarray, np.ndarray] | None = None,
) -> ImageFacts:
    """:class:`ImageFacts` of the image at the segmenter's size (unequalised) and, given
    it, the lung probability mask at the same size (``labelled``: the components of
    ``prob > 0.5``, when the caller already has them)."""
    span = float(small.max() - small.min())
    ring = np.concatenate([small[0], small[-1], small[1:-1, 0], small[1:-1, -1]])
    flat = np.abs(small - float(np.median(ring))) <= FLAT_TOLERANCE * max(span, 1e-6)
    labels, _ = label_components(flat)
    edge_labels = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    bg = np.isin(labels, edge_labels[edge_labels > 0])
    cover = (
        float(bg[0].mean()),
        float(bg[-1].mean()),
        float(bg[:, 0].mean()),
        float(bg[:, -1].mean()),
    )
    ellipse = _ellipse_iou(~bg) if min(cover) >= MIN_EDGE_COVER else 0.0

    wall = mediastinum = float("nan")
    if prob is not None:
        lung = np.asarray(prob) > 0.5
        p1, p99 = np.percentile(small, [1, 99])
        scale = max(float(p99 - p1), 1e-6)
        inside = ~grow(~lung, 3)
        rim = grow(lung, 4) & ~lung
        if inside.sum() >= 20 and rim.any():
            wall = float((np.median(small[rim]) - np.median(small[inside])) / scale)
        mediastinum = _mediastinum_contrast(small, lung, scale, labelled)
    return ImageFacts(float(bg.mean()), cover, ellipse, wall, mediastinum)


def frontal_check(fields: LungFields, facts: ImageFacts | None = None) -> FrontalCheck:
    """The verdict from the lung anatomy and, when given, the image facts."""
    if facts is not None and facts.floating:
        reason = "the body is a section floating in a flat background (CT or MR slice?)"
        return FrontalCheck(False, 0.0, reason, fields, facts)
    evidence, reason = frontal_evidence(fields)
    if evidence > 0 and facts is not None:
        if facts.sectional:
            reason = "the lungs are air-dark holes with white walls (a CT slice?)"
        elif facts.no_mediastinum:
            reason = "nothing denser than the lungs lies between them (no mediastinum)"
        if reason:
            return FrontalCheck(False, 0.0, reason, fields, facts)
    return FrontalCheck(evidence > 0, evidence, reason, fields, facts)


def measure(small: np.ndarray, prob: np.ndarray) -> FrontalCheck:
    """The whole check for one film from the image at the segmenter's size (unequalised)
    and the lung probability mask: the lung fields, the image facts, the verdict. The
    mask's components are found once and serve both."""
    labelled = label_components(np.asarray(prob) > 0.5)
    return frontal_check(LungFields.from_mask(prob, labelled),
                         facts_of_small(small, prob, labelled))
