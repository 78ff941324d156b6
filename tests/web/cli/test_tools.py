"""`lookalike compare | gallery | anomaly | duplicates` on the embedded default."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from indexer.catalog.settings import Settings
from web.cli.main import main


def files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_compare(env: Settings, image_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = files(image_folder)[:2]
    assert main(["compare", str(a), str(a), "--threshold", "0.99"]) == 0
    assert capsys.readouterr().out.startswith("SAME  score 1.0000")
    assert main(["compare", str(a), str(b), "--threshold", "0.9999999", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["same"] is False and body["similarity"] < 0.9999999
    assert main(["compare", str(a), str(b), "--distance", "manhattan", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["distance_kind"] == "manhattan" and body["distance"] > 0
    assert main(["compare", str(a), str(image_folder / "nope.png")]) == 2
    assert "nope.png" in capsys.readouterr().err


def test_gallery_add_identify_list_delete(
    env: Settings, image_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images = files(image_folder)
    assert main(["gallery", "add", "people", "ann", str(images[0]), str(images[1])]) == 0
    assert main(["gallery", "add", "people", "bob", str(images[2])]) == 0
    bad = image_folder / "bad.png"
    bad.write_bytes(b"not a png")
    assert main(["gallery", "add", "people", "cyd", str(bad), str(images[3])]) == 1
    assert "bad.png" in capsys.readouterr().err
    assert main(["gallery", "identify", "people", str(images[2]), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)["queries"][0]
    assert answer["label"] == "bob" and answer["candidates"][0]["score"] == pytest.approx(1, 1e-5)
    assert main(["gallery", "threshold", "people", "0.99999"]) == 0
    assert main(["gallery", "identify", "people", str(images[7])]) == 0
    assert "(unknown; nearest " in capsys.readouterr().out
    assert main(["gallery", "list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)["galleries"]
    assert listing[0]["labels"] == {"ann": 2, "bob": 1, "cyd": 1}
    assert listing[0]["threshold"] == 0.99999
    assert main(["gallery", "delete", "people"]) == 0
    assert main(["gallery", "identify", "people", str(images[2])]) == 1


def test_anomaly_writes_a_csv_and_reports_bad_files(
    env: Settings, image_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index", str(image_folder), "--no-progress"]) == 0
    queries = tmp_path / "queries"
    queries.mkdir()
    shutil.copy(files(image_folder)[0], queries / "known.png")
    (queries / "broken.jpg").write_bytes(b"\xff\xd8\xff nothing")
    out = tmp_path / "scores.csv"
    assert main(["anomaly", str(queries), "--out", str(out), "--k", "3"]) == 0
    assert "2 images scored" in capsys.readouterr().out
    rows = {Path(r["path"]).name: r for r in csv.DictReader(out.open())}
    assert rows["broken.jpg"]["error"] and not rows["broken.jpg"]["score"]
    known = rows["known.png"]
    assert not known["error"] and float(known["score"]) >= 0
    assert known["is_anomaly"] == str(float(known["score"]) > float(known["threshold"]))


def test_duplicates_lists_identical_files(
    env: Settings, image_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = files(image_folder)[0]
    shutil.copy(original, image_folder / "zz_copy.png")
    assert main(["index", str(image_folder), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["duplicates", "--threshold", "0.9999", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    names = [sorted(Path(m["uri"]).name for m in g["members"]) for g in report["exact"]]
    assert names == [sorted([original.name, "zz_copy.png"])]
    assert main(["duplicates"]) == 0
    assert "groups of identical files" in capsys.readouterr().out
