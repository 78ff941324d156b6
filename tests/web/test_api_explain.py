"""POST /api/v1/explain: the similarity and a heat grid and overlay of each image, for uploads,
catalog ids or one of each."""

from __future__ import annotations

import base64
import io
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskClient
from PIL import Image

from search.runtime import Runtime
from tests.encoded import png
from web import create_app


def explain(client: FlaskClient, status: int = 200, **fields: Any) -> dict:
    data = {
        k: (io.BytesIO(v), f"{k}.png") if isinstance(v, bytes) else v for k, v in fields.items()
    }
    response = client.post("/api/v1/explain", data=data)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def overlay(side: dict) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(side["overlay_png"])))
    assert image.format == "PNG" and image.size == (side["width"], side["height"])
    return image


def test_uploads_get_the_compare_similarity_and_a_grid_each(client: FlaskClient) -> None:
    body = explain(client, image_a=png(1), image_b=png(7), grid="5")
    compared = client.post("/api/v1/compare", data={
        "image_a": (io.BytesIO(png(1)), "a.png"), "image_b": (io.BytesIO(png(7)), "b.png")
    }).get_json()  # fmt: skip
    assert body["similarity"] == pytest.approx(compared["similarity"], abs=1e-5)
    assert body["method"] == "occlusion" and body["grid"] == 5
    assert body["model"] == compared["model"] and body["took_ms"] > 0
    for side in ("image_a", "image_b"):
        heat = np.array(body[side]["heat"])
        assert heat.shape == (5, 5) and np.isfinite(heat).all() and np.abs(heat).max() > 0
    assert max(overlay(body["image_a"]).size) == 384
    assert overlay(body["image_a"]).size == (384, 320)  # the 96x80 upload's aspect


def test_the_default_grid_and_an_image_against_itself(client: FlaskClient) -> None:
    body = explain(client, image_a=png(3), image_b=png(3))
    assert body["grid"] == 7 and body["similarity"] == pytest.approx(1.0, abs=1e-5)
    heat = np.array(body["image_a"]["heat"])
    assert heat.shape == (7, 7) and heat.min() >= -1e-5  # blanking never makes it more alike
    np.testing.assert_allclose(body["image_a"]["heat"], body["image_b"]["heat"], atol=1e-5)


def test_catalog_ids_and_one_of_each(client: FlaskClient) -> None:
    by_ids = explain(client, id_a="1", id_b="2", grid="3")
    file = client.get("/api/v1/images/1/file").get_data()
    mixed = explain(client, image_a=file, id_b="2", grid="3")
    assert mixed["similarity"] == pytest.approx(by_ids["similarity"], abs=1e-5)
    np.testing.assert_allclose(mixed["image_a"]["heat"], by_ids["image_a"]["heat"], atol=1e-5)


@pytest.mark.parametrize(
    ("fields", "status", "needle"),
    [
        ({"image_a": b"png"}, 400, "image_b"),
        ({"id_a": "1", "image_a": b"x", "id_b": "2"}, 400, "either"),
        ({"id_a": "1", "id_b": "two"}, 400, "id"),
        ({"id_a": "1", "id_b": "2", "grid": "0"}, 400, "grid"),
        ({"id_a": "1", "id_b": "2", "grid": "13"}, 400, "grid"),
        ({"id_a": "1", "id_b": "2", "grid": "2.5"}, 400, "grid"),
        ({"id_a": "1", "id_b": "424242"}, 404, "424242"),
        ({"id_a": "1", "image_b": b"not an image"}, 400, ""),
    ],
)
def test_bad_input_is_a_typed_4xx(
    client: FlaskClient, fields: dict[str, Any], status: int, needle: str
) -> None:
    fields = {k: png(1) if v == b"png" else v for k, v in fields.items()}
    body = explain(client, status, **fields)
    assert needle in body["error"]["message"] and body["error"]["code"]


def test_the_request_time_limit_stops_an_explanation(runtime: Runtime) -> None:
    settings = replace(runtime.settings, request_timeout_s=1e-9)
    client = create_app(runtime=replace(runtime, settings=settings)).test_client()
    body = explain(client, 504, id_a="1", id_b="2")
    assert body["error"]["code"] == "request_timeout"
