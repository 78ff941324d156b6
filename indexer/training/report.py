"""Evaluation reports: `report.json` for machines and a self-contained `report.html` for people.

The HTML has no scripts and no external resources: a metrics table (with an optional
baseline column and the gain over it), the calibrated thresholds, and an inline SVG of the
same-label vs different-label similarity distributions with the thresholds marked.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from indexer.encoder.calibration import Calibration
from indexer.training.plot import histogram, histogram_svg

JSON_NAME, HTML_NAME = "report.json", "report.html"
LOWER_IS_BETTER = frozenset({"eer"})


@dataclass(frozen=True)
class ReportPaths:
    json: Path
    html: Path


def write_report(
    out_dir: Path,
    *,
    title: str,
    metrics: Mapping[str, float],
    similarities: np.ndarray,
    same: np.ndarray,
    calibration: Calibration | None = None,
    baseline: Mapping[str, float] | None = None,
    info: Mapping[str, Any] | None = None,
) -> ReportPaths:
    """Write report.json and report.html into `out_dir` (created); return their paths.

    `metrics` are the model's numbers, `baseline` optionally the same keys for a reference
    model (e.g. off-the-shelf), `info` free-form facts (data, model version, counts).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    hist = histogram(similarities, same)
    payload = {
        "title": title,
        "metrics": dict(metrics),
        "baseline": None if baseline is None else dict(baseline),
        "calibration": None if calibration is None else calibration.to_dict(),
        "info": dict(info or {}),
        "histogram": hist.to_dict(),
    }
    paths = ReportPaths(out_dir / JSON_NAME, out_dir / HTML_NAME)
    paths.json.write_text(json.dumps(_finite(payload), indent=2, default=str) + "\n")
    markers = _markers(calibration)
    svg = histogram_svg(hist, markers, x_label=_x_label(calibration))
    paths.html.write_text(_html(title, metrics, baseline, calibration, info or {}, svg))
    return paths


def _finite(value: Any) -> Any:
    """Replace NaN/inf (not valid JSON) with None, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _markers(calibration: Calibration | None) -> dict[str, float]:
    if calibration is None:
        return {}
    markers = {"EER threshold": calibration.eer_threshold}
    markers |= {f"FAR {k} threshold": v for k, v in calibration.far_thresholds.items()}
    return markers


def _x_label(calibration: Calibration | None) -> str:
    kind = "cosine" if calibration is None else calibration.distance
    return f"similarity ({kind}; higher is closer)"


def _metrics_table(metrics: Mapping[str, float], baseline: Mapping[str, float] | None) -> str:
    head = "<tr><th>metric</th><th>model</th>"
    head += "<th>baseline</th><th>gain</th></tr>" if baseline is not None else "</tr>"
    rows = [head]
    for key, value in metrics.items():
        cells = f"<td>{escape(key)}</td><td>{_fmt(value)}</td>"
        if baseline is not None:
            base = baseline.get(key, math.nan)
            gain = (base - value) if key in LOWER_IS_BETTER else (value - base)
            cells += f"<td>{_fmt(base)}</td><td>{_fmt(gain, signed=True)}</td>"
        rows.append(f"<tr>{cells}</tr>")
    return "<table>" + "".join(rows) + "</table>"


def _calibration_table(calibration: Calibration | None) -> str:
    if calibration is None:
        return "<p>No calibration.</p>"
    rows = [
        "<tr><th>decision rule</th><th>similarity threshold</th></tr>",
        f"<tr><td>equal error rate ({_fmt(calibration.eer)})</td>"
        f"<td>{_fmt(calibration.eer_threshold)}</td></tr>",
    ]
    for target, value in calibration.far_thresholds.items():
        rows.append(f"<tr><td>false-accept rate &le; {escape(target)}</td><td>{_fmt(value)}</td>")
    note = f"<p>Measured on {calibration.n_pairs} pairs; a pair is the same when its "
    note += "similarity is at or above the threshold.</p>"
    return "<table>" + "".join(rows) + "</table>" + note


def _fmt(value: float, *, signed: bool = False) -> str:
    if not isinstance(value, int | float) or not math.isfinite(value):
        return "&ndash;"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def _html(
    title: str,
    metrics: Mapping[str, float],
    baseline: Mapping[str, float] | None,
    calibration: Calibration | None,
    info: Mapping[str, Any],
    svg: str,
) -> str:
    facts = "".join(f"<li>{escape(str(k))}: {escape(str(v))}</li>" for k, v in info.items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
td, th {{ border: 1px solid #ccc; padding: 4px 10px; text-align: left; }}
</style></head><body>
<h1>{escape(title)}</h1>
<ul>{facts}</ul>
<h2>Metrics</h2>
{_metrics_table(metrics, baseline)}
<h2>Calibrated thresholds</h2>
{_calibration_table(calibration)}
<h2>Same-label vs different-label similarity</h2>
{svg}
</body></html>
"""
