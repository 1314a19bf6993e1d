"""Draw the CovidCXR application icon (a stylised chest: trachea, bronchi and two lungs on a
dark X-ray blue tile) with Pillow, and write every size the packagers need.

Run from anywhere: ``python packaging/make_icons.py``; the results go to ``assets/icons/``
and are committed, so a build never needs this script. Each size is drawn on a 1024 px
canvas and scaled down; sizes up to 32 px get thicker strokes and no virus mark, because
one pixel is all that survives of a thin line.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw

CANVAS = 1024
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SIZES = (16, 32, 64, 128, 256, 512, 1024)
OUT = Path(__file__).resolve().parent.parent / "assets" / "icons"

TILE_TOP = (22, 78, 112)
TILE_BOTTOM = (8, 31, 52)
LUNG_FILL = (120, 196, 220, 255)
LUNG_EDGE = (236, 248, 252, 255)
VIRUS = (236, 92, 64, 255)

# The lung on the viewer's left (the patient's right, as on a PA radiograph), clockwise
# from the apex; the other lung is its mirror image with a cardiac notch cut in.
RIGHT_LUNG = [(405, 232), (330, 300), (262, 440), (228, 610), (222, 770), (262, 826),
              (352, 800), (438, 764), (472, 690), (470, 520), (458, 352)]
LEFT_LUNG_NOTCHED = [(619, 232), (694, 300), (762, 440), (796, 610), (802, 770),
                     (762, 826), (672, 812), (600, 790), (568, 726), (590, 640),
                     (560, 560), (556, 440), (566, 352)]


def _catmull_rom(points: list[tuple[float, float]], steps: int = 24) -> list[tuple[float, float]]:
    """A smooth closed curve through ``points`` (centripetal enough for these gentle shapes)."""
    out: list[tuple[float, float]] = []
    n = len(points)
    for i in range(n):
        p0, p1, p2, p3 = (points[(i + k) % n] for k in (-1, 0, 1, 2))
        for s in range(steps):
            t = s / steps
            t2, t3 = t * t, t * t * t
            out.append(tuple(
                0.5 * (2 * p1[d] + (-p0[d] + p2[d]) * t
                       + (2 * p0[d] - 5 * p1[d] + 4 * p2[d] - p3[d]) * t2
                       + (-p0[d] + 3 * p1[d] - 3 * p2[d] + p3[d]) * t3)
                for d in (0, 1)))
    return out


def _tile() -> Image.Image:
    """The rounded square with a vertical gradient, transparent outside the corners."""
    gradient = Image.new("RGBA", (CANVAS, CANVAS))
    draw = ImageDraw.Draw(gradient)
    for y in range(CANVAS):
        f = y / (CANVAS - 1)
        colour = tuple(round(a + (b - a) * f) for a, b in zip(TILE_TOP, TILE_BOTTOM, strict=True))
        draw.line([(0, y), (CANVAS, y)], fill=(*colour, 255))
    mask = Image.new("L", (CANVAS, CANVAS), 0)
    ImageDraw.Draw(mask).rounded_rectangle((24, 24, CANVAS - 24, CANVAS - 24), radius=200, fill=255)
    tile = Image.new("RGBA", (CANVAS, CANVAS), (0, 0, 0, 0))
    tile.paste(gradient, (0, 0), mask)
    return tile


def _virus(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float) -> None:
    """A small spiked particle: the COVID-19 in the name."""
    import math

    for k in range(8):
        a = k * math.pi / 4
        x0, y0 = cx + r * math.cos(a), cy + r * math.sin(a)
        x1, y1 = cx + 1.55 * r * math.cos(a), cy + 1.55 * r * math.sin(a)
        draw.line([(x0, y0), (x1, y1)], fill=VIRUS, width=round(r * 0.32))
        draw.ellipse((x1 - r * 0.26, y1 - r * 0.26, x1 + r * 0.26, y1 + r * 0.26), fill=VIRUS)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=VIRUS, outline=LUNG_EDGE,
                 width=round(r * 0.18))


def render(size: int) -> Image.Image:
    """The icon at ``size`` pixels square."""
    small = size <= 32
    edge = 64 if size <= 16 else 48 if small else 26
    airway = 80 if small else 44
    img = _tile()
    draw = ImageDraw.Draw(img)
    for lung in (RIGHT_LUNG, LEFT_LUNG_NOTCHED):
        outline = _catmull_rom(lung)
        draw.polygon(outline, fill=LUNG_FILL)
        draw.line([*outline, outline[0]], fill=LUNG_EDGE, width=edge, joint="curve")
    # Trachea and main bronchi, over the lungs' medial edges.
    draw.line([(512, 120), (512, 420)], fill=LUNG_EDGE, width=airway)
    draw.line([(512, 410), (440, 486)], fill=LUNG_EDGE, width=airway, joint="curve")
    draw.line([(512, 410), (584, 486)], fill=LUNG_EDGE, width=airway, joint="curve")
    for x, y in ((512, 120), (440, 486), (584, 486)):
        draw.ellipse((x - airway / 2, y - airway / 2, x + airway / 2, y + airway / 2),
                     fill=LUNG_EDGE)
    if not small:
        _virus(draw, 690, 690, 62)
    return img.resize((size, size), Image.Resampling.LANCZOS)


def main(out: Path = OUT) -> int:
    out.mkdir(parents=True, exist_ok=True)
    images = {s: render(s) for s in sorted({*PNG_SIZES, *ICO_SIZES, *ICNS_SIZES})}
    for s in PNG_SIZES:
        images[s].save(out / f"covidcxr-{s}.png", optimize=True)
    images[256].save(out / "covidcxr.ico", sizes=[(s, s) for s in ICO_SIZES],
                     append_images=[images[s] for s in ICO_SIZES if s != 256])
    images[1024].save(out / "covidcxr.icns",
                      append_images=[images[s] for s in ICNS_SIZES if s != 1024])
    print(f"wrote {len(PNG_SIZES)} PNGs, covidcxr.ico and covidcxr.icns to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
