"""Overlaid same-pair vs different-pair similarity histograms as a self-contained SVG."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape

import numpy as np

WIDTH, HEIGHT = 640, 320
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 28, 44
SAME_COLOUR, DIFFERENT_COLOUR = "#1b9e77", "#d95f02"
MARKER_COLOURS = ("#222222", "#7570b3", "#e7298a", "#66a61e")


@dataclass(frozen=True)
class Histogram:
    """Shared bin `edges` (b + 1,) and the fraction of each kind of pair per bin (b,)."""

    edges: list[float]
    same: list[float]
    different: list[float]

    def to_dict(self) -> dict[str, list[float]]:
        return {"edges": self.edges, "same": self.same, "different": self.different}


def histogram(similarities: np.ndarray, same: np.ndarray, *, bins: int = 40) -> Histogram:
    """Bin both kinds of pair on common edges; each kind's fractions sum to 1."""
    scores = np.asarray(similarities, dtype=np.float64)
    same = np.asarray(same, dtype=bool)
    low, high = float(scores.min()), float(scores.max())
    edges = np.linspace(low, high if high > low else low + 1e-6, bins + 1)

    def fractions(values: np.ndarray) -> list[float]:
        counts, _ = np.histogram(values, bins=edges)
        return (counts / max(len(values), 1)).tolist()

    return Histogram(edges.tolist(), fractions(scores[same]), fractions(scores[~same]))


def histogram_svg(hist: Histogram, markers: Mapping[str, float], *, x_label: str) -> str:
    """An <svg> with both histograms as translucent bars and a vertical line per marker."""
    edges = hist.edges
    peak = max(max(hist.same), max(hist.different), 1e-9)

    def x(value: float) -> float:
        return LEFT + (value - edges[0]) / (edges[-1] - edges[0]) * (WIDTH - LEFT - RIGHT)

    def y(value: float) -> float:
        return HEIGHT - BOTTOM - value / peak * (HEIGHT - TOP - BOTTOM)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">',
        _axes(x, y, edges, peak, x_label),
    ]
    for values, colour in ((hist.different, DIFFERENT_COLOUR), (hist.same, SAME_COLOUR)):
        for i, value in enumerate(values):
            if value > 0:
                left, right = x(edges[i]), x(edges[i + 1])
                parts.append(
                    f'<rect x="{left:.1f}" y="{y(value):.1f}" width="{right - left:.1f}" '
                    f'height="{y(0) - y(value):.1f}" fill="{colour}" fill-opacity="0.5"/>'
                )
    for i, (name, value) in enumerate(markers.items()):
        if edges[0] <= value <= edges[-1]:
            parts.append(_marker(x(value), name, value, MARKER_COLOURS[i % len(MARKER_COLOURS)], i))
    parts.append(_legend())
    parts.append("</svg>")
    return "\n".join(parts)


Scale = Callable[[float], float]


def _axes(x: Scale, y: Scale, edges: list[float], peak: float, x_label: str) -> str:
    """Axis lines, tick labels and axis titles."""
    base, top = y(0), y(peak)
    lines = [
        f'<line x1="{LEFT}" y1="{base:.1f}" x2="{WIDTH - RIGHT}" y2="{base:.1f}" stroke="#444"/>',
        f'<line x1="{LEFT}" y1="{base:.1f}" x2="{LEFT}" y2="{top:.1f}" stroke="#444"/>',
    ]
    for tick in np.linspace(edges[0], edges[-1], 6):
        lines.append(
            f'<text x="{x(tick):.1f}" y="{base + 16:.1f}" text-anchor="middle">{tick:.3g}</text>'
        )
    for frac in (0.0, 0.5, 1.0):
        lines.append(
            f'<text x="{LEFT - 6}" y="{y(peak * frac) + 4:.1f}" text-anchor="end">'
            f"{peak * frac:.2f}</text>"
        )
    lines.append(
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2:.0f}" y="{HEIGHT - 8}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
    )
    lines.append(
        f'<text x="14" y="{(TOP + HEIGHT - BOTTOM) / 2:.0f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {(TOP + HEIGHT - BOTTOM) / 2:.0f})">fraction of pairs</text>'
    )
    return "\n".join(lines)


def _marker(px: float, name: str, value: float, colour: str, row: int) -> str:
    label = escape(f"{name} = {value:.4f}")
    return (
        f'<line x1="{px:.1f}" y1="{TOP}" x2="{px:.1f}" y2="{HEIGHT - BOTTOM}" stroke="{colour}" '
        f'stroke-width="1.5" stroke-dasharray="5 3"/>'
        f'<text x="{px + 4:.1f}" y="{TOP + 12 + 13 * row}" fill="{colour}" stroke="white" '
        f'stroke-width="3" paint-order="stroke">{label}</text>'
    )


def _legend() -> str:
    items = []
    for i, (name, colour) in enumerate(
        (("same label", SAME_COLOUR), ("different label", DIFFERENT_COLOUR))
    ):
        px = LEFT + 8 + 130 * i
        items.append(
            f'<rect x="{px}" y="8" width="12" height="12" fill="{colour}" fill-opacity="0.5"/>'
            f'<text x="{px + 16}" y="18">{name}</text>'
        )
    return "\n".join(items)
