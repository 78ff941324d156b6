"""The `lookalike` command line on the embedded default (SQLite, in-process tasks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexer.catalog.settings import Settings
from indexer.ingest.demo import demo_catalog
from indexer.ingest.scan import scan_paths
from web.cli.main import main


def test_index_reports_added_duplicates_and_failures(
    env: Settings, image_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (image_folder / "a" / "copy.png").write_bytes(
        (image_folder / "a" / "img_0001.png").read_bytes()
    )
    (image_folder / "b" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    code = main(["index", str(image_folder), str(image_folder / "missing"), "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 1  # something failed; everything else was indexed
    assert "added 12, duplicates skipped 1, already indexed 0, failed 1" in out
    assert "broken.jpg: corrupt or truncated image" in out
    assert "missing: no such file or directory" in err
    assert list(env.index_dir.glob("*.npz"))  # the snapshot is ready for `serve`

    assert main(["index", str(image_folder / "a"), "--no-progress"]) == 0
    assert "added 0, duplicates skipped 0, already indexed 7, failed 0" in capsys.readouterr().out


def test_search_json_puts_the_query_image_first(
    env: Settings, image_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index", str(image_folder), "--no-progress"]) == 0
    capsys.readouterr()
    queries = [image_folder / "a" / "img_0002.png", image_folder / "b" / "img_0009.jpg"]
    assert main(["search", *map(str, queries), "-k", "3", "--json"]) == 0
    answers = json.loads(capsys.readouterr().out)["queries"]
    assert [a["query"] for a in answers] == [str(q) for q in queries]
    for query, answer in zip(queries, answers, strict=True):
        assert len(answer["results"]) == 3
        assert answer["results"][0]["uri"] == query.relative_to(image_folder).as_posix()
        assert answer["results"][0]["score"] == pytest.approx(1.0, abs=1e-4)


def test_search_reports_a_bad_query_and_answers_the_rest(
    env: Settings, image_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["index", str(image_folder), "--no-progress"])
    capsys.readouterr()
    good = image_folder / "a" / "img_0000.png"
    code = main(["search", str(image_folder / "nope.png"), str(good), "-k", "2"])
    out = capsys.readouterr().out
    assert code == 1
    assert "file not found" in out
    assert " a/img_0000.png" in out.split("==")[-1].splitlines()[1]  # its name, not the path


def test_status_summarises_the_catalog(
    env: Settings, image_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["index", str(image_folder), "--no-progress"])
    capsys.readouterr()
    assert main(["status", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["images"] == {"indexed": 12}
    assert report["health"]["index"]["size"] == 12
    assert report["recent_jobs"][0]["status"] == "done"


def test_worker_needs_redis(env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker"]) == 2
    assert "REDIS_URL" in capsys.readouterr().err


def test_bad_configuration_is_reported(
    env: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOOKALIKE_DEVICE", "tpu")
    assert main(["status"]) == 2
    assert "LOOKALIKE_DEVICE" in capsys.readouterr().err


def test_demo_catalog_ships_with_its_licence() -> None:
    folder = demo_catalog()
    assert len(scan_paths([folder]).files) == 480
    assert "MIT" in (folder / "LICENSE").read_text()
