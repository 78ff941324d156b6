"""Hostile uploads over HTTP: typed 4xx answers, nothing stored, the server keeps serving."""

from __future__ import annotations

import io

import pytest
from flask.testing import FlaskClient

from tests.hostile import ACCEPTED, REFUSED, Case, corpus


def upload(client: FlaskClient, path: str, case: Case, field: str = "image") -> tuple[int, dict]:
    response = client.post(path, data={field: (io.BytesIO(case.data), case.name)})
    return response.status_code, response.get_json()


@pytest.mark.parametrize("case", corpus(), ids=lambda c: c.name)
def test_search_answers_each_file_with_its_status(client: FlaskClient, case: Case) -> None:
    status, body = upload(client, "/api/v1/search", case)
    assert status == case.status, body
    if status != 200:
        assert body["error"]["code"] and case.reason in body["error"]["message"]


def test_refused_files_are_never_stored(client: FlaskClient) -> None:
    before = client.get("/api/v1/health").get_json()["index"]["size"]
    for case in REFUSED:
        status, _ = upload(client, "/api/v1/images", case)
        assert status == case.status
    assert client.get("/api/v1/health").get_json()["index"]["size"] == before


def test_the_server_stays_up_after_the_whole_corpus(client: FlaskClient) -> None:
    for case in corpus():
        for path in ("/api/v1/search", "/api/v1/anomaly"):
            upload(client, path, case)
    health = client.get("/api/v1/health")
    assert health.status_code == 200 and health.get_json()["ok"] is True
    status, body = upload(client, "/api/v1/search", ACCEPTED[0])
    assert status == 200 and body["results"]


def test_a_polyglot_is_served_back_as_an_image_never_as_html(client: FlaskClient) -> None:
    polyglot = next(c for c in ACCEPTED if c.name == "polyglot.jpg")
    status, body = upload(client, "/api/v1/images", polyglot)
    assert status == 201
    response = client.get(f"/api/v1/images/{body['id']}/file")
    assert response.mimetype == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
