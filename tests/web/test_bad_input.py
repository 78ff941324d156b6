"""Bad input gets a 4xx, never a 500: ids beyond int64, metadata that cannot be stored or served
as JSON, non-object JSON bodies, text a PostgreSQL column refuses, and a uri two uploads race
for (409, on SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import json
import re
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from indexer.catalog.schema import Image
from search.runtime import Runtime
from tests.conftest import make_image
from web import create_app

BEYOND = ["9223372036854775808", "99999999999999999999", "9" * 5000]


def png(seed: int) -> bytes:
    buffer = io.BytesIO()
    make_image(seed).save(buffer, format="PNG")
    return buffer.getvalue()


def strict_json(response: Any) -> Any:
    """The body parsed as standard JSON: NaN and Infinity are refused, as browsers do."""

    def refuse(name: str) -> None:
        raise ValueError(f"{name} is not JSON")

    return json.loads(response.get_data(as_text=True), parse_constant=refuse)


def image_count(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(Image)) or 0


def id_routes(app: Flask) -> list[tuple[str, str]]:
    """(method, url) of every API route with an integer id, the ids beyond int64."""
    routes = []
    for rule in app.url_map.iter_rules():
        if "<int:" not in rule.rule or not rule.rule.startswith("/api/"):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            for big in BEYOND:
                url = re.sub(r"<int:\w+>", big, rule.rule)
                routes.append((method, re.sub(r"<\w+>", "staff", url)))
    return routes


def test_ids_beyond_int64_are_404_on_every_route(app: Flask, client: FlaskClient) -> None:
    routes = id_routes(app)
    assert len(routes) >= 8 * len(BEYOND)  # images, similar, file, thumbnail, jobs, items, ...
    for method, url in routes:
        response = client.open(url, method=method)
        assert response.status_code == 404, (method, url[:80], response.get_json())
        assert response.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("metadata", "fragment"),
    [
        ('{"a": ' + "[" * 1000 + "]" * 1000 + "}", "deeper than 32"),
        ('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", "larger than"),
        ('{"a": ' + "9" * 5000 + "}", "64 bits"),
        ('{"a": 18446744073709551616}', "64 bits"),
        ('{"price": NaN}', "NaN"),
        ('{"price": Infinity}', "Infinity"),
        ('{"price": -Infinity}', "-Infinity"),
        ('{"price": 1e400}', "finite"),
        ('{"a": "x\\u0000y"}', "NUL"),
        ('{"a\\u0000": 1}', "NUL"),
        ('{"a": "\\ud800"}', "surrogate"),
        ('["not", "an", "object"]', "JSON object"),
        ("{not json", "invalid JSON"),
    ],
)
def test_unstorable_metadata_is_refused(
    client: FlaskClient, runtime: Runtime, metadata: str, fragment: str
) -> None:
    before = image_count(runtime)
    form = {"image": (io.BytesIO(png(500)), "new.png"), "metadata": metadata}
    response = client.post("/api/v1/images", data=form)
    assert response.status_code == 400, response.get_data(as_text=True)[:200]
    error = response.get_json()["error"]
    assert error["code"] == "invalid_metadata" and fragment in error["message"]
    assert image_count(runtime) == before  # nothing stored


def test_metadata_at_the_limits_is_stored(client: FlaskClient) -> None:
    metadata = {"deep": [[[[1]]]], "big": 2**63 - 1, "neg": -(2**63), "price": 1.5e300}
    form = {"image": (io.BytesIO(png(501)), "new.png"), "metadata": json.dumps(metadata)}
    response = client.post("/api/v1/images", data=form)
    assert response.status_code == 201
    assert strict_json(response)["metadata"] == metadata


def test_nan_stored_before_the_check_is_served_as_null(
    client: FlaskClient, runtime: Runtime
) -> None:
    """Rows stored by an older version keep working: every response stays valid JSON."""
    with runtime.sessions.begin() as session:
        image_id = session.scalars(select(Image.id).order_by(Image.id)).first()
        meta = {"price": float("nan"), "tags": [float("inf"), 1.0]}
        session.execute(update(Image).where(Image.id == image_id).values(meta=meta))
    shown = strict_json(client.get(f"/api/v1/images/{image_id}"))
    assert shown["metadata"] == {"price": None, "tags": [None, 1.0]}
    other = image_id + 1
    results = strict_json(client.get(f"/api/v1/images/{other}/similar?k=20"))["results"]
    assert {"price": None, "tags": [None, 1.0]} in [hit["metadata"] for hit in results]


@pytest.mark.parametrize("body", ["[1, 2]", '"0.5"', "17", "null", "{bad"])
def test_patch_gallery_with_a_non_object_json_body(client: FlaskClient, body: str) -> None:
    enrol = {"image": (io.BytesIO(png(510)), "r.png"), "label": "x"}
    assert client.post("/api/v1/galleries/staff/items", data=enrol).status_code == 201
    response = client.patch("/api/v1/galleries/staff", data=body, content_type="application/json")
    assert response.status_code == 400
    assert "JSON object" in response.get_json()["error"]["message"]
    ok = client.patch("/api/v1/galleries/staff", json={"threshold": 0.5})
    assert ok.status_code == 200 and ok.get_json()["threshold"] == 0.5


def test_text_a_database_column_refuses(db_runtime: Runtime) -> None:
    """On PostgreSQL these were 500s (value too long, NUL byte); both databases now agree."""
    client = create_app(runtime=db_runtime).test_client()
    before = image_count(db_runtime)  # the session's PostgreSQL database may hold other rows
    cases = [
        ("/api/v1/images", {"uri": "u" * 2049}, "longer than 2048"),
        ("/api/v1/images", {"uri": "shop://a\x00b"}, "NUL"),
        ("/api/v1/galleries/staff/items", {"label": "bob\x00"}, "NUL"),
    ]
    for seed, (url, form, fragment) in enumerate(cases):
        data = {"image": (io.BytesIO(png(520 + seed)), "x.png")} | form
        response = client.post(url, data=data)
        assert response.status_code == 400, (form, response.get_json())
        assert fragment in response.get_json()["error"]["message"]
    assert image_count(db_runtime) == before
    longest = {"image": (io.BytesIO(png(530)), "x.png"), "uri": "u" * 2048}
    assert client.post("/api/v1/images", data=longest).status_code == 201
    named = {"image": (io.BytesIO(png(531)), "a\x00" + "n" * 2000 + ".png"), "label": "bob"}
    response = client.post("/api/v1/galleries/staff/items", data=named)
    assert response.status_code == 201 and "\x00" not in response.get_json()["filename"]


def test_uri_taken_after_the_check_is_409(
    db_runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The window between "is this uri free?" and the insert, as a concurrent upload sees it."""
    client = create_app(runtime=db_runtime).test_client()
    before = image_count(db_runtime)
    first = {"image": (io.BytesIO(png(540)), "a.png"), "uri": "shop://sku/1"}
    assert client.post("/api/v1/images", data=first).status_code == 201
    monkeypatch.setattr("indexer.ingest.uploads.find_by_uri", lambda _session, _uri: None)
    second = {"image": (io.BytesIO(png(541)), "b.png"), "uri": "shop://sku/1"}
    response = client.post("/api/v1/images", data=second)
    assert response.status_code == 409, response.get_json()
    assert response.get_json()["error"]["code"] == "uri_conflict"
    assert image_count(db_runtime) == before + 1
    assert len(list(db_runtime.settings.upload_dir.iterdir())) == 1  # no orphaned upload


def test_concurrent_uploads_with_one_uri(db_runtime: Runtime) -> None:
    app = create_app(runtime=db_runtime)
    before = image_count(db_runtime)
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def upload(seed: int) -> None:
        data = {"image": (io.BytesIO(png(seed)), "x.png"), "uri": "shop://same"}
        barrier.wait()
        statuses.append(app.test_client().post("/api/v1/images", data=data).status_code)

    threads = [threading.Thread(target=upload, args=(550 + i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(statuses) == [201, 409, 409, 409]
    assert image_count(db_runtime) == before + 1
    assert len(list(db_runtime.settings.upload_dir.iterdir())) == 1


def test_job_source_with_a_nul_byte(runtime: Runtime, tmp_path: Path) -> None:
    settings = replace(runtime.settings, source_roots=(tmp_path,))
    client = create_app(runtime=replace(runtime, settings=settings)).test_client()
    for body in (
        {"source": f"{tmp_path}/a\x00b"},
        {"source": ["a"]},
        ["a"],
        {"source": "x" * 5000},
    ):
        response = client.post("/api/v1/jobs", json=body)
        assert response.status_code == 400, (body, response.get_json())
    huge = {"source": str(tmp_path), "chunk_size": 10**30}
    assert client.post("/api/v1/jobs", json=huge).status_code == 400


@pytest.mark.parametrize("threshold", ["5", "-1.5", "inf"])
def test_a_threshold_outside_the_score_range_is_refused(
    client: FlaskClient, threshold: str
) -> None:
    """Every score lies in [-1, 1]: a threshold beyond it could never match (was 200)."""

    def pair(value: str) -> dict[str, Any]:
        return {
            "image_a": (io.BytesIO(png(1)), "a.png"),
            "image_b": (io.BytesIO(png(2)), "b.png"),
            "threshold": value,
        }

    compare = client.post("/api/v1/compare", data=pair(threshold))
    duplicates = client.get(f"/api/v1/duplicates?threshold={threshold}")
    enrol = {"image": (io.BytesIO(png(1)), "a.png"), "label": "a"}
    assert client.post("/api/v1/galleries/g/items", data=enrol).status_code == 201
    gallery = client.patch("/api/v1/galleries/g", data={"threshold": threshold})
    for response in (compare, duplicates, gallery):
        assert response.status_code == 400, response.get_json()
        assert "threshold" in response.get_json()["error"]["message"]
    assert client.post("/api/v1/compare", data=pair("1")).status_code == 200
