"""The OpenAPI description is true: it names every route, and real responses (successes and
errors of every operation) validate against it, status, media type, headers and body."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import make_image
from tests.encoded import png
from tests.web.conftest import SPEC_CHECKS


def tga() -> bytes:
    buffer = io.BytesIO()
    make_image(0, size=(40, 40)).save(buffer, format="TGA")
    return buffer.getvalue()


def image(seed: int, name: str = "q.png") -> tuple[io.BytesIO, str]:
    return io.BytesIO(png(seed)), name


def routes(app: Flask) -> set[tuple[str, str]]:
    """(OpenAPI path, method) of every API route the app serves."""
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or rule.rule == "/metrics":
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            found |= {(path, m.lower()) for m in rule.methods or () if m not in ("HEAD", "OPTIONS")}
    return found


def test_every_route_is_described(app: Flask, client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"] == "3.1.0"
    described = {(p, m) for p, item in spec["paths"].items() for m in item if m != "parameters"}
    assert described == routes(app)


def test_real_responses_match_the_description(
    client: FlaskClient, image_folder: Path, tmp_path: Path
) -> None:
    spec = schemathesis.openapi.from_dict(client.get("/api/v1/openapi.json").get_json())
    checked: set[tuple[str, str]] = set()

    def check(path: str, method: str, call: Callable[[], TestResponse], status: int) -> None:
        response = call()
        assert response.status_code == status, (path, method, response.get_data()[:300])
        names = re.findall(r"{(\w+)}", path)
        case = spec[path][method.upper()].Case(path_parameters=dict.fromkeys(names, "1"))
        case.validate_response(response, checks=SPEC_CHECKS)
        checked.add((path, method))

    for path, method, call, status in exchanges(client, image_folder):
        check(path, method, call, status)
    assert checked == {(p, m) for p, item in spec.raw_schema["paths"].items() for m in item} - {
        (p, "parameters") for p in spec.raw_schema["paths"]
    }


def exchanges(
    client: FlaskClient, folder: Path
) -> list[tuple[str, str, Callable[[], TestResponse], int]]:
    """One or more requests per operation, in an order that makes each meaningful."""
    c = client
    img = "/api/v1/images/{image_id}"
    gal = "/api/v1/galleries/{name}"
    return [
        ("/api/v1/search", "post", lambda: c.post("/api/v1/search", data={"image": image(1)}), 200),
        ("/api/v1/search", "post", lambda: c.post("/api/v1/search", data={"k": "3"}), 400),
        ("/api/v1/search", "post", lambda: c.post("/api/v1/search", data={
            "image": (io.BytesIO(tga()), "x.tga")}), 415),  # Pillow reads TGA; we do not
        ("/api/v1/search", "post", lambda: c.post("/api/v1/search", data={
            "image": image(1), "box": "0,0,16,16"}), 200),
        ("/api/v1/search", "post", lambda: c.post("/api/v1/search", data={
            "image": image(1), "box": "0,0,4000,16"}), 400),
        ("/api/v1/search", "post", lambda: c.post("/api/v1/search", data={
            "positive_id": ["1", "2"], "negative_id": "4", "negative_image": image(3)}), 200),
        ("/api/v1/search", "post", lambda: c.post("/api/v1/search", data={
            "positive_id": "424242"}), 404),
        ("/api/v1/search", "post", lambda: c.post("/api/v1/search", data={
            "positive_id": ["1"] * 65}), 413),
        ("/api/v1/search/batch", "post", lambda: c.post("/api/v1/search/batch", data={
            "image": [image(2), (io.BytesIO(b"junk"), "bad")], "id": ["1", "424242"]}), 200),
        ("/api/v1/search/batch", "post", lambda: c.post("/api/v1/search/batch", data={
            "id": [str(i) for i in range(1, 70)]}), 413),
        ("/api/v1/images", "post", lambda: c.post("/api/v1/images", data={
            "image": image(103), "uri": "shop://1", "metadata": '{"a": [1, 2.5, null]}'}), 201),
        ("/api/v1/images", "post", lambda: c.post("/api/v1/images", data={
            "image": image(103)}), 200),
        ("/api/v1/images", "post", lambda: c.post("/api/v1/images", data={
            "image": image(104), "uri": "shop://1"}), 409),
        (img, "get", lambda: c.get("/api/v1/images/1"), 200),
        (img, "get", lambda: c.get("/api/v1/images/99999999999999999999"), 404),
        (img + "/similar", "get", lambda: c.get("/api/v1/images/1/similar?k=3"), 200),
        (img + "/similar", "get", lambda: c.get("/api/v1/images/1/similar?k=0"), 400),
        (img + "/similar", "get", lambda: c.get("/api/v1/images/1/similar?box=0,0,20,20"), 200),
        (img + "/similar", "get", lambda: c.get("/api/v1/images/1/similar?box=1,2"), 400),
        (img + "/file", "get", lambda: c.get("/api/v1/images/1/file"), 200),
        (img + "/thumbnail", "get", lambda: c.get("/api/v1/images/2/thumbnail?size=32"), 200),
        (img + "/thumbnail", "get", lambda: c.get("/api/v1/images/777/thumbnail"), 404),
        ("/api/v1/feedback", "post", lambda: c.post("/api/v1/feedback", data={
            "verdict": "right", "result_id": "1", "query_id": "2"}), 201),
        ("/api/v1/feedback", "get", lambda: c.get("/api/v1/feedback"), 200),
        ("/api/v1/jobs", "post", lambda: c.post("/api/v1/jobs", json={"source": "/"}), 403),
        ("/api/v1/jobs", "get", lambda: c.get("/api/v1/jobs?status=done"), 200),
        ("/api/v1/jobs/{job_id}", "get", lambda: c.get("/api/v1/jobs/1"), 200),
        ("/api/v1/jobs/{job_id}/cancel", "post", lambda: c.post("/api/v1/jobs/1/cancel"), 200),
        (gal + "/items", "post", lambda: c.post("/api/v1/galleries/staff/items", data={
            "image": image(5), "label": "alice"}), 201),
        (gal + "/items", "post", lambda: c.post("/api/v1/galleries/staff/items", data={
            "image": image(6), "label": "bob"}), 201),
        ("/api/v1/galleries", "get", lambda: c.get("/api/v1/galleries"), 200),
        (gal, "get", lambda: c.get("/api/v1/galleries/staff"), 200),
        (gal, "patch", lambda: c.patch("/api/v1/galleries/staff", json={"threshold": 0.4}), 200),
        (gal, "patch", lambda: c.patch("/api/v1/galleries/staff", json=[1]), 400),
        (gal + "/items", "get", lambda: c.get("/api/v1/galleries/staff/items"), 200),
        (gal + "/identify", "post", lambda: c.post("/api/v1/galleries/staff/identify", data={
            "image": image(5)}), 200),
        ("/api/v1/anomaly", "post", lambda: c.post("/api/v1/anomaly", data={
            "image": image(7)}), 200),
        ("/api/v1/anomaly", "post", lambda: c.post("/api/v1/anomaly", data={
            "image": image(7), "gallery": "staff"}), 200),
        ("/api/v1/compare", "post", lambda: c.post("/api/v1/compare", data={
            "image_a": image(1), "image_b": image(2), "threshold": "0.5"}), 200),
        ("/api/v1/explain", "post", lambda: c.post("/api/v1/explain", data={
            "image_a": image(1), "id_b": "2", "grid": "3"}), 200),
        ("/api/v1/explain", "post", lambda: c.post("/api/v1/explain", data={
            "id_a": "1", "id_b": "2", "grid": "99"}), 400),
        ("/api/v1/duplicates", "get", lambda: c.get("/api/v1/duplicates?threshold=0.5"), 200),
        (gal + "/items/{item_id}", "delete", lambda: c.delete(
            "/api/v1/galleries/staff/items/1"), 200),
        (gal, "delete", lambda: c.delete("/api/v1/galleries/staff"), 200),
        (gal, "delete", lambda: c.delete("/api/v1/galleries/staff"), 404),
        (img, "delete", lambda: c.delete("/api/v1/images/3"), 200),
        ("/api/v1/health", "get", lambda: c.get("/api/v1/health"), 200),
        ("/api/v1/openapi.json", "get", lambda: c.get("/api/v1/openapi.json"), 200),
        ("/metrics", "get", lambda: c.get("/metrics"), 200),
    ]  # fmt: skip


@pytest.mark.parametrize("path", ["/api/v1/health", "/api/v1/openapi.json"])
def test_description_is_open_with_a_read_key(runtime: object, path: str) -> None:
    from dataclasses import replace

    from web import create_app

    settings = replace(runtime.settings, api_key="k", api_key_reads=True)  # type: ignore[attr-defined]
    app = create_app(runtime=replace(runtime, settings=settings))  # type: ignore[type-var]
    assert app.test_client().get(path).status_code == 200
    assert app.test_client().get("/api/v1/galleries").status_code == 401
