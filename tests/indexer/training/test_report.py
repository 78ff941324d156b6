"""The report: valid JSON and a self-contained HTML page with an SVG plot."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import numpy as np

from indexer.encoder.calibration import calibrate
from indexer.training.plot import histogram
from indexer.training.report import write_report


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append(tag)


def pairs() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    same = rng.random(600) < 0.4
    return np.where(same, rng.normal(0.7, 0.1, 600), rng.normal(0.4, 0.1, 600)), same


def test_report_files(tmp_path: Path) -> None:
    sims, same = pairs()
    calibration = calibrate(sims, same)
    metrics = {"recall@1": 0.9, "map@r": 0.5, "eer": 0.1, "one_shot_accuracy": math.nan}
    paths = write_report(
        tmp_path / "out",
        title="A <test> report",
        metrics=metrics,
        baseline={"recall@1": 0.8, "map@r": 0.4, "eer": 0.2},
        similarities=sims,
        same=same,
        calibration=calibration,
        info={"model": "m.pt"},
    )
    report = json.loads(paths.json.read_text())
    assert report["metrics"]["recall@1"] == 0.9 and report["metrics"]["one_shot_accuracy"] is None
    assert report["calibration"]["eer_threshold"] == calibration.eer_threshold
    assert abs(sum(report["histogram"]["same"]) - 1) < 1e-9
    html = paths.html.read_text()
    parser = Tags()
    parser.feed(html)
    assert {"html", "table", "svg", "rect", "line"} <= set(parser.tags)
    assert "script" not in parser.tags and "A &lt;test&gt; report" in html
    svg = html[html.index("<svg") : html.index("</svg>") + len("</svg>")]
    ET.fromstring(svg)  # well-formed XML
    assert f"EER threshold = {calibration.eer_threshold:.4f}" in svg
    assert "+0.1000" in html  # gain over the baseline; for the EER lower is better


def test_histogram_fractions() -> None:
    sims, same = pairs()
    hist = histogram(sims, same, bins=10)
    assert len(hist.edges) == 11 and len(hist.same) == len(hist.different) == 10
    assert abs(sum(hist.same) - 1) < 1e-9 and abs(sum(hist.different) - 1) < 1e-9
    # the same pairs sit to the right: their mean bin is higher
    centres = np.arange(10)
    assert np.dot(centres, hist.same) > np.dot(centres, hist.different) + 2
