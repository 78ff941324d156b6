"""The demo model's training data: every drawing of the demo's characters is left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks._protocols import read_rows
from benchmarks.train_demo_model import DATA, demo_labels, training_rows
from indexer.ingest.demo import demo_catalog


def test_demo_characters_are_found_by_file_name_and_checked(tmp_path: Path) -> None:
    rows = [("set/Greek/character01/0394_01.png", "Greek/character01"), ("x/0400_01.png", "X/c")]
    catalog = tmp_path / "catalog"
    (catalog / "Greek" / "character01").mkdir(parents=True)
    (catalog / "Greek" / "character01" / "0394_01.png").write_bytes(b"")
    assert demo_labels(rows, catalog) == {"Greek/character01"}
    assert training_rows(rows, {"Greek/character01"}) == [("x/0400_01.png", "X/c")]
    (catalog / "Greek" / "character01" / "0400_01.png").write_bytes(b"")  # another character
    with pytest.raises(ValueError, match="0400_01.png"):
        demo_labels(rows, catalog)


@pytest.mark.shared_data("omniglot-background")
def test_no_drawing_of_a_demo_character_trains_or_validates() -> None:
    rows = read_rows(DATA / "labels.csv")
    excluded = demo_labels(rows, demo_catalog())
    kept = training_rows(rows, excluded)
    assert len(excluded) == 48 and len(kept) == len(rows) - 48 * 20
    demo_files = {p.name for p in demo_catalog().rglob("*.png")}
    assert not demo_files & {Path(relpath).name for relpath, _ in kept}
