"""POST /api/v1/search/batch and its CLI twin: several images and catalog ids in one call, each
answered as its own search would be, a bad query reported without failing the others."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from indexer.catalog.schema import Image
from indexer.catalog.settings import Settings
from search.batch import MAX_QUERIES
from search.runtime import Runtime
from web.cli.main import main


def catalog_ids(runtime: Runtime) -> list[int]:
    with runtime.sessions() as session:
        return list(session.scalars(select(Image.id).order_by(Image.id)))


def test_batch_answers_equal_single_searches(
    client: FlaskClient, runtime: Runtime, image_folder: Path
) -> None:
    files = [image_folder / "a" / "img_0002.png", image_folder / "b" / "img_0009.jpg"]
    ids = catalog_ids(runtime)[3:5]
    form = {
        "image": [(io.BytesIO(f.read_bytes()), f.name) for f in files],
        "id": [str(i) for i in ids],
        "k": "4",
    }
    response = client.post("/api/v1/search/batch", data=form)
    assert response.status_code == 200, response.get_json()
    answers = response.get_json()["queries"]
    assert [a.get("image") or a.get("id") for a in answers] == [f.name for f in files] + ids
    for file, answer in zip(files, answers[:2], strict=True):
        single = client.post(
            "/api/v1/search", data={"image": (io.BytesIO(file.read_bytes()), "q"), "k": "4"}
        ).get_json()["results"]
        assert [h["id"] for h in answer["results"]] == [h["id"] for h in single]
        assert [h["score"] for h in answer["results"]] == pytest.approx(
            [h["score"] for h in single], abs=1e-5
        )
    for image_id, answer in zip(ids, answers[2:], strict=True):
        single = client.get(f"/api/v1/images/{image_id}/similar?k=4").get_json()["results"]
        assert [h["id"] for h in answer["results"]] == [h["id"] for h in single]
        assert image_id not in [h["id"] for h in answer["results"]]


def test_bad_queries_are_reported_and_the_rest_answered(
    client: FlaskClient, runtime: Runtime, image_folder: Path
) -> None:
    good = image_folder / "a" / "img_0001.png"
    form = {
        "image": [(io.BytesIO(b"not an image"), "bad.png"), (io.BytesIO(good.read_bytes()), "ok")],
        "id": ["999999", "99999999999999999999999", str(catalog_ids(runtime)[0])],
        "k": "2",
    }
    answers = client.post("/api/v1/search/batch", data=form).get_json()["queries"]
    assert [("error" in a, a.get("error", {}).get("code")) for a in answers] == [
        (True, "not_an_image"),
        (False, None),
        (True, "not_found"),
        (True, "not_found"),
        (False, None),
    ]
    assert all(len(a["results"]) == 2 for a in answers if "results" in a)


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({}, 400),  # no query
        ({"id": "abc"}, 400),
        ({"id": "-3"}, 400),
        ({"id": "1", "k": "0"}, 400),
        ({"id": "1", "k": "x"}, 400),
        ({"id": [str(i) for i in range(1, MAX_QUERIES + 2)]}, 413),
        ({"id": "1", "filter": "nocolon"}, 400),
    ],
)
def test_bad_batches_are_4xx(client: FlaskClient, form: dict[str, object], status: int) -> None:
    response = client.post("/api/v1/search/batch", data=form)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["message"]


def test_cli_search_takes_ids_too(
    env: Settings, image_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index", str(image_folder), "--no-progress"]) == 0
    capsys.readouterr()
    query = image_folder / "a" / "img_0002.png"
    assert main(["search", str(query), "--id", "3", "--id", "5", "-k", "3", "--json"]) == 0
    answers = json.loads(capsys.readouterr().out)["queries"]
    assert [a["query"] for a in answers] == [str(query), "#3", "#5"]
    assert answers[0]["results"][0]["uri"] == "a/img_0002.png"  # its name under the source
    assert all(len(a["results"]) == 3 for a in answers)
    assert 3 not in [h["id"] for h in answers[1]["results"]]
    assert main(["search", "--id", "99999", "--id", "4", "-k", "2"]) == 1  # one bad id
    out = capsys.readouterr().out
    assert "== #99999\n   error: image 99999 not found" in out and "== #4" in out
    assert main(["search"]) == 2
