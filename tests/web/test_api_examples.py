"""Several examples on POST /api/v1/search: positive and negative uploads and catalog ids."""

from __future__ import annotations

import io
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import select

from indexer.catalog.schema import Image
from search.examples import MAX_EXAMPLES
from search.runtime import Runtime


def catalog_ids(runtime: Runtime) -> list[int]:
    with runtime.sessions() as session:
        return list(session.scalars(select(Image.id).order_by(Image.id)))


def post(client: FlaskClient, form: dict) -> tuple[int, dict]:
    response = client.post("/api/v1/search", data=form)
    return response.status_code, response.get_json()


def test_one_positive_id_answers_as_similar(client: FlaskClient, runtime: Runtime) -> None:
    target = catalog_ids(runtime)[2]
    status, body = post(client, {"positive_id": str(target), "k": "5"})
    assert status == 200, body
    similar = client.get(f"/api/v1/images/{target}/similar?k=5").get_json()
    assert [r["id"] for r in body["results"]] == [r["id"] for r in similar["results"]]


def test_examples_are_left_out_of_the_results(client: FlaskClient, runtime: Runtime) -> None:
    ids = catalog_ids(runtime)
    form = {"positive_id": [str(ids[0]), str(ids[1])], "negative_id": [str(ids[2])], "k": "12"}
    status, body = post(client, form)
    assert status == 200
    found = [r["id"] for r in body["results"]]
    assert len(found) == 9 and not {ids[0], ids[1], ids[2]} & set(found)
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)


def test_uploads_and_ids_mix(client: FlaskClient, runtime: Runtime, image_folder: Path) -> None:
    ids = catalog_ids(runtime)
    files = [image_folder / "a" / "img_0000.png", image_folder / "b" / "img_0008.jpg"]
    form = {
        "image": [(io.BytesIO(f.read_bytes()), f.name) for f in files],
        "negative_image": [(io.BytesIO(files[1].read_bytes()), "n.jpg")],
        "positive_id": str(ids[3]),
        "negative_id": str(ids[4]),
        "k": "4",
    }
    status, body = post(client, form)
    assert status == 200, body
    assert {ids[3], ids[4]}.isdisjoint(r["id"] for r in body["results"])


def test_negatives_only_are_a_400(client: FlaskClient, runtime: Runtime) -> None:
    status, body = post(client, {"negative_id": str(catalog_ids(runtime)[0])})
    assert status == 400
    assert body["error"]["code"] == "no_positive_example"
    assert "positive" in body["error"]["message"]


def test_too_many_examples_are_a_413(client: FlaskClient, runtime: Runtime) -> None:
    ids = catalog_ids(runtime)
    status, body = post(client, {"positive_id": [str(ids[0])] * (MAX_EXAMPLES + 1)})
    assert status == 413 and body["error"]["code"] == "too_many_examples"
    status, body = post(client, {"positive_id": ["1"] * 1000})
    assert status == 413
    status, _ = post(client, {"positive_id": [str(ids[0])] * MAX_EXAMPLES})
    assert status == 200


def test_unknown_and_bad_ids(client: FlaskClient, runtime: Runtime) -> None:
    known = str(catalog_ids(runtime)[0])
    status, body = post(client, {"positive_id": "999999"})
    assert status == 404, body
    status, _ = post(client, {"positive_id": known, "negative_id": "999999"})
    assert status == 404
    status, _ = post(client, {"positive_id": "99999999999999999999999"})
    assert status == 404
    for bad in ("abc", "-1", "1.5", ""):
        status, body = post(client, {"positive_id": known, "negative_id": bad})
        assert status == 400, (bad, body)


def test_a_box_applies_to_the_first_positive_id(client: FlaskClient, runtime: Runtime) -> None:
    ids = catalog_ids(runtime)
    form = {"positive_id": [str(ids[0]), str(ids[1])], "box": "0,0,48,40", "k": "3"}
    status, body = post(client, form)
    assert status == 200, body
    status, body = post(client, {**form, "box": "0,0,500,40"})
    assert status == 400 and body["error"]["code"] == "invalid_box"
