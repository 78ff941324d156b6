"""Where every benchmark leaves its report: JSON and markdown under benchmarks/results/."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def write_report(path: Path, data: object, table: str) -> None:
    """Write `data` to `path` (.json) and `table` beside it (.md), then print the table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    path.with_suffix(".md").write_text(table + "\n")
    print(table)
