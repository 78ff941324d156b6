"""`lookalike search --box` and by several examples (--together, --negative, --negative-id)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from indexer.catalog.settings import Settings
from web.cli.main import main


def results(capsys: pytest.CaptureFixture[str]) -> list[dict]:
    return json.loads(capsys.readouterr().out)["results"]


@pytest.fixture
def indexed(env: Settings, image_folder: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert main(["index", str(image_folder), "--no-progress"]) == 0
    capsys.readouterr()
    return image_folder


def test_box_searches_by_a_region_of_the_query(
    indexed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = indexed / "a" / "img_0003.png"
    mosaic = Image.new("RGB", (192, 80), (0, 0, 0))
    mosaic.paste(Image.open(source), (96, 0))
    query = tmp_path / "mosaic.png"
    mosaic.save(query)
    assert main(["search", str(query), "--box", "96,0,192,80", "-k", "1", "--json"]) == 0
    [answer] = json.loads(capsys.readouterr().out)["queries"]
    assert answer["results"][0]["uri"] == "a/img_0003.png"
    assert answer["results"][0]["score"] == pytest.approx(1.0, abs=1e-4)


def test_a_bad_box_is_an_error_that_says_why(
    indexed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    query = indexed / "a" / "img_0003.png"
    assert main(["search", str(query), "--box", "0,0,5"]) == 2
    assert "box must be four numbers" in capsys.readouterr().err
    code = main(["search", str(query), "--box", "0,0,300,80", "--json"])
    assert code == 1
    [answer] = json.loads(capsys.readouterr().out)["queries"]
    assert answer["error"]["code"] == "invalid_box"


def test_together_with_negatives_leaves_the_examples_out(
    indexed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = indexed / "a" / "img_0000.png", indexed / "a" / "img_0001.png"
    argv = ["search", str(first), "--id", "1", "--negative-id", "2", "-k", "12", "--json"]
    assert main(argv) == 0
    found = results(capsys)
    assert len(found) == 10 and {1, 2}.isdisjoint(r["id"] for r in found)
    assert main(["search", str(first), str(second), "--together", "-k", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and "#" in lines[0]


def test_negatives_alone_are_refused(indexed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--negative-id", "2"]) == 2
    assert "positive" in capsys.readouterr().err
