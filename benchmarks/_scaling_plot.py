"""The scaling plot: query time, build time and memory per vector against catalog size.

Three log-log panels in one PNG, one line per index type (and numpy brute force for query
time), drawn with Pillow so the benchmarks need no plotting library.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

WIDTH, PANEL, PAD = 900, 330, 70
COLOURS = ["#333333", "#2f6fed", "#1b8a3a", "#b00020", "#c77c00", "#7b2cbf"]
PANELS = (  # (title, unit, value of an index type's entry)
    ("median single-query time", "ms", "query_ms"),
    ("index build time", "s", "build_s"),
    ("memory per vector (serialised index / vectors)", "B", "bytes_per_vector"),
)

Series = dict[str, list[tuple[int, float]]]


def series(rows: list[dict[str, Any]], key: str) -> Series:
    out: Series = {"numpy brute force": []} if key == "query_ms" else {}
    for row in rows:
        if key == "query_ms":
            out["numpy brute force"].append((row["n"], row["baselines"]["numpy_ms"]))
        for name, entry in row["types"].items():
            label = f"{name} ({entry['factory']})" if name == "auto" else name
            out.setdefault(label, []).append((row["n"], max(float(entry[key]), 1e-3)))
    return out


def panel(draw: ImageDraw.ImageDraw, top: int, data: Series, title: str, unit: str,
          colour_of: dict[str, str]) -> None:  # fmt: skip
    """One log-log panel whose plot area starts `top` pixels down the image."""
    xs = [np.log10(n) for points in data.values() for n, _ in points]
    ys = [np.log10(v) for points in data.values() for _, v in points]
    x0, x1, y0, y1 = min(xs) - 0.1, max(xs) + 0.1, min(ys) - 0.2, max(ys) + 0.2
    left, right, bottom = PAD, WIDTH - PAD, top + PANEL - PAD

    def at(n: float, value: float) -> tuple[float, float]:
        x = left + (np.log10(n) - x0) / (x1 - x0) * (right - left)
        y = bottom - (np.log10(value) - y0) / (y1 - y0) * (bottom - top - 30)
        return float(x), float(y)

    draw.text((WIDTH // 2 - 4 * len(title), top), title, fill="black")
    draw.rectangle([left, top + 30, right, bottom], outline="black")
    for decade in range(int(np.floor(y0)), int(np.ceil(y1)) + 1):
        if y0 <= decade <= y1:
            _, y = at(10, 10.0**decade)
            draw.line([left, y, right, y], fill="#ddd")
            draw.text((6, y - 6), f"{10.0**decade:g} {unit}", fill="black")
    for n in sorted({n for points in data.values() for n, _ in points}):
        x, _ = at(n, 10.0**y0)
        draw.text((x - 24, bottom + 8), f"{n:,}", fill="black")
    for i, (name, points) in enumerate(data.items()):
        colour = colour_of[name]
        coords = [at(n, v) for n, v in points]
        if len(coords) > 1:
            draw.line(coords, fill=colour, width=3)
        for x, y in coords:
            draw.ellipse([x - 4, y - 4, x + 4, y + 4], fill=colour)
        draw.text((left + 10, top + 38 + 14 * i), name, fill=colour)


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Write the three panels for `rows` (search_scaling's report) as a PNG."""
    image = Image.new("RGB", (WIDTH, PANEL * len(PANELS) + 30), "white")
    draw = ImageDraw.Draw(image)
    every = [series(rows, key) for _, _, key in PANELS]
    names = list(dict.fromkeys(name for data in every for name in data))
    colour_of = {name: COLOURS[i % len(COLOURS)] for i, name in enumerate(names)}
    for i, ((title, unit, _), data) in enumerate(zip(PANELS, every, strict=True)):
        panel(draw, 10 + i * PANEL, data, f"{title} vs catalog size (d=256)", unit, colour_of)
    draw.text((WIDTH // 2 - 30, PANEL * len(PANELS) + 8), "vectors", fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
