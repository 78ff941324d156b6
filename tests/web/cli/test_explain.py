"""`lookalike explain A B --out DIR`: two overlay PNGs and a JSON of the grids, for files and
catalog ids."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from indexer.catalog.settings import Settings
from indexer.encoder import attribution
from tests.conftest import index_folder
from web.cli import explain
from web.cli.main import main


def test_the_parser_repeats_the_core_grid_bounds() -> None:
    assert (explain.DEFAULT_GRID, explain.MAX_GRID) == (
        attribution.DEFAULT_GRID,
        attribution.MAX_GRID,
    )


def test_files_write_two_overlays_and_the_grids(
    env: Settings, image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = sorted(image_folder.rglob("*.png"))[:2]
    out = tmp_path / "why"
    assert main(["explain", str(a), str(b), "--out", str(out), "--grid", "4"]) == 0
    assert capsys.readouterr().out.startswith("similarity ")
    body = json.loads((out / "explanation.json").read_text())
    assert body["grid"] == 4 and body["method"] == "occlusion" and -1 <= body["similarity"] <= 1
    for side, name, given in (("image_a", "a.png", a), ("image_b", "b.png", b)):
        assert body[side]["input"] == str(given) and body[side]["overlay"] == name
        assert np.array(body[side]["heat"]).shape == (4, 4)
        assert "overlay_png" not in body[side]
        with Image.open(out / name) as drawn:
            assert drawn.format == "PNG"
            assert drawn.size == (body[side]["width"], body[side]["height"])


def test_catalog_ids_and_bad_inputs(
    env: Settings, image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index_folder(env, image_folder)
    file = sorted(image_folder.rglob("*.png"))[0]
    assert main(["explain", "1", str(file), "--out", str(tmp_path / "ids")]) == 0
    assert json.loads((tmp_path / "ids" / "explanation.json").read_text())["grid"] == 7
    assert main(["explain", "1", "999999", "--out", str(tmp_path / "x")]) == 2
    assert "999999" in capsys.readouterr().err
    assert main(["explain", "1", str(tmp_path / "nope.png"), "--out", str(tmp_path / "x")]) == 2
    assert "nope.png" in capsys.readouterr().err
    assert main(["explain", "1", "2", "--grid", "13", "--out", str(tmp_path / "x")]) == 2
    assert "grid" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_regions_of_either_image(
    env: Settings, image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = sorted(image_folder.rglob("*.png"))[0]  # 96 x 80
    whole, region = tmp_path / "whole", tmp_path / "region"
    assert main(["explain", str(a), str(a), "--out", str(whole), "--grid", "2"]) == 0
    assert main(["explain", str(a), str(a), "--box-b", "0,0,48,80", "--grid", "2",
                 "--out", str(region)]) == 0  # fmt: skip
    capsys.readouterr()
    plain = json.loads((whole / "explanation.json").read_text())
    boxed = json.loads((region / "explanation.json").read_text())
    assert plain["similarity"] == pytest.approx(1.0, abs=1e-4)
    assert boxed["similarity"] < 0.9999  # half of the image is not the image
    assert (boxed["image_a"]["width"], boxed["image_a"]["height"]) == (384, 320)
    assert boxed["image_b"]["height"] == 384 > boxed["image_b"]["width"]  # the 48x80 region
    bad = tmp_path / "bad"
    assert main(["explain", str(a), str(a), "--box-a", "0,0,9", "--out", str(bad)]) == 2
    assert "--box-a: box must be four numbers" in capsys.readouterr().err
    assert main(["explain", str(a), str(a), "--box-b", "0,0,97,80", "--out", str(bad)]) == 2
    assert "box_b: box 0,0,97,80 is not inside the image" in capsys.readouterr().err
    assert not bad.exists()
