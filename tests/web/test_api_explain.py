"""POST /api/v1/explain: the similarity and a heat grid and overlay of each image, for uploads,
catalog ids or one of each."""

from __future__ import annotations

import base64
import io
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskClient
from PIL import Image

from search.runtime import Runtime
from tests.encoded import png
from tests.web.support import search
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


def side_by_side(first: bytes, second: bytes) -> bytes:
    """Two 96x80 images side by side as one lossless 192x80 PNG."""
    out = Image.new("RGB", (192, 80))
    for i, data in enumerate((first, second)):
        out.paste(Image.open(io.BytesIO(data)).convert("RGB"), (i * 96, 0))
    buffer = io.BytesIO()
    out.save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_region_of_a_is_explained_with_the_score_a_search_by_it_gives(
    client: FlaskClient, image_folder: Path
) -> None:
    pair = side_by_side(png(11), (image_folder / "a" / "img_0002.png").read_bytes())
    status, found = search(client, pair, box="96,0,192,80", k="3")
    assert status == 200, found
    for result in found["results"]:
        body = explain(client, image_a=pair, box_a="96,0,192,80", id_b=str(result["id"]), grid="3")
        assert body["similarity"] == pytest.approx(result["score"], abs=1e-4)
        assert overlay(body["image_a"]).size == (384, 320)  # the region's 96x80, not 192x80
    whole = explain(client, image_a=pair, id_b=str(found["results"][0]["id"]), grid="3")
    assert whole["similarity"] < found["results"][0]["score"] - 1e-3
    assert overlay(whole["image_a"]).size == (384, 160)


def test_a_region_of_b_by_catalog_id(client: FlaskClient) -> None:
    boxed = explain(client, id_a="1", id_b="1", box_b="0,0,48,40", grid="3")
    cropped = explain(client, image_a=crop_png(client, 1, (0, 0, 48, 40)), id_b="1", grid="3")
    assert boxed["similarity"] == pytest.approx(cropped["similarity"], abs=1e-4)
    assert boxed["similarity"] < 0.9999  # a quarter of the image is not the image


def crop_png(client: FlaskClient, image_id: int, box: tuple[int, int, int, int]) -> bytes:
    data = client.get(f"/api/v1/images/{image_id}/file").get_data()
    buffer = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").crop(box).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        ({"box_a": "1,2,3"}, "box_a: box must be four numbers"),
        ({"box_b": "0,0,4,4"}, "box_b: box"),
        ({"box_a": "0,0,500,80"}, "box_a: box 0,0,500,80 is not inside"),  # the image is 96x80
        ({"box_b": "nan,0,9,9"}, "box_b: box must be four finite numbers"),
    ],
)
def test_a_bad_region_is_a_400_naming_its_field(
    client: FlaskClient, fields: dict[str, str], needle: str
) -> None:
    body = explain(client, 400, id_a="1", id_b="2", **fields)
    assert needle in body["error"]["message"] and body["error"]["code"] == "invalid_box"
