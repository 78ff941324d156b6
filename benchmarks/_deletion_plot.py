"""The deletion-test figure: an example explanation, then per set the mean deletion curves
(attribution order vs random order) and every pair's AUC gap; drawn with Pillow."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

WIDTH, ROW, PAD = 960, 300, 60
OURS, RANDOM, SAME, DIFFERENT = "#b00020", "#777777", "#2f6fed", "#c77c00"


def font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def example_row(image: Image.Image, overlays: tuple[bytes, bytes, float], top: int) -> None:
    draw = ImageDraw.Draw(image)
    first, second, similarity = overlays
    x = PAD
    for data, label in ((first, "A"), (second, "B")):
        with Image.open(io.BytesIO(data)) as drawn:
            shown = drawn.convert("RGB")
        shown.thumbnail((ROW - 40, ROW - 40))
        image.paste(shown, (x, top + 30))
        draw.text((x, top + 8), f"{label} (overlay)", fill="black", font=font(15))
        x += shown.width + 20
    text = (
        f"An example same-label pair:\ncosine similarity {similarity:.3f}.\n\n"
        "Red: blanking these cells lowers\nthe similarity (they made A and B\nalike). "
        "Blue: they made them differ."
    )
    draw.multiline_text((x + 10, top + 60), text, fill="black", font=font(15), spacing=6)


def curves_panel(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], rows: list[dict],
                 title: str) -> None:  # fmt: skip
    left, top, right, bottom = box
    x = np.array(rows[0]["deleted"])
    ours = np.mean([r["attribution_curve"] for r in rows], axis=0)
    rand = np.mean([r["random_curve"] for r in rows], axis=0)
    lo, hi = float(min(ours.min(), rand.min())), float(max(ours.max(), rand.max()))
    lo, hi = lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo)

    def at(fx: float, fy: float) -> tuple[float, float]:
        return left + fx * (right - left), bottom - (fy - lo) / (hi - lo) * (bottom - top)

    draw.rectangle(box, outline="black")
    draw.text((left, top - 22), title, fill="black", font=font(14))
    for value in np.linspace(lo, hi, 5):
        _, y = at(0, value)
        draw.line([left, y, right, y], fill="#e5e5e5")
        draw.text((left - 46, y - 7), f"{value:.2f}", fill="black", font=font(12))
    for fx in (0, 0.5, 1):
        draw.text((at(fx, lo)[0] - 12, bottom + 4), f"{fx:.0%}", fill="black", font=font(12))
    for curve, colour, name, row in ((ours, OURS, "attribution order", 0),
                                     (rand, RANDOM, "random order", 1)):  # fmt: skip
        draw.line([at(a, b) for a, b in zip(x, curve, strict=True)], fill=colour, width=3)
        draw.text((right - 150, top + 8 + 16 * row), name, fill=colour, font=font(13))
    draw.text((left + 70, bottom + 20), "share of A's cells blanked", fill="black", font=font(12))


def gaps_panel(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], rows: list[dict],
               summary: dict[str, Any]) -> None:  # fmt: skip
    left, top, right, bottom = box
    gaps = np.array([r["gap"] for r in rows])
    span = max(float(np.abs(gaps).max()), 1e-3) * 1.1
    zero_x = (left + right) / 2

    def at(gap: float) -> float:
        return zero_x + gap / span * (right - left) / 2

    draw.rectangle(box, outline="black")
    draw.text((left, top - 22), "AUC gap per pair (random - attribution)", fill="black",
              font=font(14))  # fmt: skip
    draw.line([zero_x, top, zero_x, bottom], fill="#999")
    rng = np.random.default_rng(0)
    for r in rows:
        y = (top + bottom) / 2 + rng.uniform(-0.3, 0.3) * (bottom - top)
        x = at(r["gap"])
        draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=SAME if r["same"] else DIFFERENT)
    median = at(summary["gap_median"])
    draw.line([median, top + 5, median, bottom - 5], fill=OURS, width=3)
    for value in (-span / 1.1, 0.0, span / 1.1):
        draw.text((at(value) - 16, bottom + 4), f"{value:+.2f}", fill="black", font=font(12))
    draw.text((left + 8, top + 6), "same label", fill=SAME, font=font(13))
    draw.text((left + 8, top + 22), "different label", fill=DIFFERENT, font=font(13))
    draw.text((left + 8, bottom - 22), f"median {summary['gap_median']:+.3f}, attribution "
              f"faster in {100 * summary['wins']:.0f}%", fill=OURS, font=font(13))  # fmt: skip


def plot(report: dict[str, Any], overlays: tuple[bytes, bytes, float], path: Path) -> None:
    """Write the figure of `report` (explain_deletion's) as a PNG."""
    sets = list(report["sets"])
    image = Image.new("RGB", (WIDTH, ROW * (len(sets) + 1)), "white")
    draw = ImageDraw.Draw(image)
    example_row(image, overlays, 0)
    half = WIDTH // 2
    for i, name in enumerate(sets):
        top = ROW * (i + 1) + 40
        rows = report["rows"][name]
        title = f"{name}: similarity to B as A is blanked"
        curves_panel(draw, (PAD, top, half - 30, top + ROW - 100), rows, title)
        gaps_panel(draw, (half + 30, top, WIDTH - 30, top + ROW - 100), rows,
                   report["sets"][name]["all"])  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
