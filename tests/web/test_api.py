"""The JSON API through the Flask test client: contract, errors and write protection."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from PIL import Image as PILImage
from sqlalchemy import select

from indexer.catalog.schema import Image
from indexer.catalog.settings import Settings
from search.runtime import Runtime, build_runtime
from tests.conftest import make_image
from tests.web.support import search
from web import create_app


def png_bytes(seed: int, size: tuple[int, int] = (96, 80)) -> bytes:
    out = io.BytesIO()
    make_image(seed, size=size).save(out, format="PNG")
    return out.getvalue()


def image_id(runtime: Runtime, path: Path) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(Image.id).where(Image.uri == str(path.resolve())))


def test_search_returns_the_same_image_first(
    client: FlaskClient, runtime: Runtime, image_folder: Path
) -> None:
    path = image_folder / "b" / "img_0007.jpg"
    status, body = search(client, path.read_bytes(), k="5")
    assert status == 200
    assert len(body["results"]) == 5
    first = body["results"][0]
    assert first["id"] == image_id(runtime, path)
    assert first["uri"] == "b/img_0007.jpg"  # under the indexed folder, not the server path
    assert first["score"] == pytest.approx(1.0, abs=1e-4)
    assert first["distance"] == pytest.approx(0.0, abs=1e-4)
    assert first["metadata"] == {}
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True)
    assert body["took_ms"] > 0


def test_k_defaults_to_ten_and_is_bounded(client: FlaskClient, image_folder: Path) -> None:
    data = (image_folder / "a" / "img_0000.png").read_bytes()
    status, body = search(client, data)
    assert status == 200 and len(body["results"]) == 10
    status, body = search(client, data, k="1000")
    assert status == 200 and len(body["results"]) == 12  # whole catalog
    for bad in ("0", "1001", "ten"):
        status, body = search(client, data, k=bad)
        assert status == 400 and body["error"]["code"] in ("invalid_k", "bad_request")


def _tga() -> bytes:
    buffer = io.BytesIO()
    PILImage.new("L", (4, 4)).save(buffer, format="TGA")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"plain text", 400, "not_an_image"),
        (b"", 400, "not_an_image"),
        (_tga(), 415, "unsupported_image_type"),  # Pillow reads it; we do not take it
    ],
)
def test_bad_uploads_get_typed_errors(
    client: FlaskClient, data: bytes, status: int, code: str
) -> None:
    got, body = search(client, data)
    assert (got, body["error"]["code"]) == (status, code)
    assert body["error"]["message"]


def test_missing_field_is_400(client: FlaskClient) -> None:
    response = client.post("/api/v1/search", data={})
    assert response.status_code == 400
    assert "image" in response.get_json()["error"]["message"]


def test_upload_over_the_limit_is_413(runtime: Runtime) -> None:
    small = replace(runtime, settings=replace(runtime.settings, max_upload_mb=0.01))
    client = create_app(runtime=small).test_client()
    status, body = search(client, png_bytes(1, size=(400, 400)) + b"\x00" * 20_000)
    assert status == 413 and body["error"]["code"] == "upload_too_large"


def test_similar_excludes_the_query_image(
    client: FlaskClient, runtime: Runtime, image_folder: Path
) -> None:
    target = image_id(runtime, image_folder / "a" / "img_0003.png")
    body = client.get(f"/api/v1/images/{target}/similar?k=4").get_json()
    assert len(body["results"]) == 4
    assert target not in [r["id"] for r in body["results"]]
    assert client.get("/api/v1/images/999999/similar").status_code == 404


def test_add_then_search_then_delete(client: FlaskClient) -> None:
    data = png_bytes(500)
    response = client.post(
        "/api/v1/images",
        data={
            "image": (io.BytesIO(data), "new.png"),
            "uri": "shop://sku/500",
            "metadata": json.dumps({"category": "shoes"}),
        },
    )
    assert response.status_code == 201
    added = response.get_json()
    assert added["uri"] == "shop://sku/500" and added["status"] == "indexed"
    _, body = search(client, data, k="1")  # searchable as soon as the call returned
    assert body["results"][0]["id"] == added["id"]
    assert body["results"][0]["metadata"] == {"category": "shoes"}

    again = client.post("/api/v1/images", data={"image": (io.BytesIO(data), "same.png")})
    assert again.status_code == 200 and again.get_json()["id"] == added["id"]

    shown = client.get(f"/api/v1/images/{added['id']}").get_json()
    assert shown["sha256"] and shown["model_versions"] == ["tiny-test-1"]
    file = client.get(f"/api/v1/images/{added['id']}/file")
    assert file.status_code == 200 and file.data == data and file.mimetype == "image/png"
    thumb = client.get(f"/api/v1/images/{added['id']}/thumbnail?size=32")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"

    assert client.delete(f"/api/v1/images/{added['id']}").status_code == 200
    _, body = search(client, data, k="12")
    assert added["id"] not in [r["id"] for r in body["results"]]
    assert client.get(f"/api/v1/images/{added['id']}").status_code == 404
    assert client.delete(f"/api/v1/images/{added['id']}").status_code == 404


def test_add_rejects_bad_metadata_and_non_images(client: FlaskClient) -> None:
    bad_json = client.post(
        "/api/v1/images", data={"image": (io.BytesIO(png_bytes(7)), "x.png"), "metadata": "{"}
    )
    assert bad_json.status_code == 400
    not_image = client.post("/api/v1/images", data={"image": (io.BytesIO(b"hello"), "x.png")})
    assert not_image.status_code == 400
    assert not_image.get_json()["error"]["code"] == "not_an_image"


def test_write_endpoints_need_the_api_key(runtime: Runtime) -> None:
    keyed = replace(runtime, settings=replace(runtime.settings, api_key="s3cret"))
    client = create_app(runtime=keyed).test_client()
    upload = {"image": (io.BytesIO(png_bytes(9)), "x.png")}
    denied = client.post("/api/v1/images", data=upload)
    assert denied.status_code == 401 and denied.get_json()["error"]["code"] == "unauthorized"
    assert client.delete("/api/v1/images/1").status_code == 401
    upload = {"image": (io.BytesIO(png_bytes(9)), "x.png")}
    allowed = client.post("/api/v1/images", data=upload, headers={"X-API-Key": "s3cret"})
    assert allowed.status_code == 201
    status, _ = search(client, png_bytes(9))  # reads stay open
    assert status == 200


def test_health_reports_database_index_and_broker(client: FlaskClient) -> None:
    body = client.get("/api/v1/health").get_json()
    assert body["ok"] is True
    assert body["database"] == {"ok": True, "backend": "sqlite"}
    assert body["index"]["ready"] is True and body["index"]["size"] == 12
    assert body["index"]["model_version"] == "tiny-test-1"
    assert body["broker"] == {"ok": True, "kind": "embedded"}


def test_unknown_routes_and_ids_are_json_404(client: FlaskClient) -> None:
    for url in ("/api/v1/images/424242", "/api/v1/images/424242/file", "/api/v1/nope"):
        response = client.get(url)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"]


def test_page_renders_the_upload_form(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert 'id="file-input"' in html and 'id="dropzone"' in html and "app.js" in html


def test_searches_answer_503_until_the_index_is_loaded(settings: Settings) -> None:
    cold = build_runtime(settings, load="lazy")
    client = create_app(runtime=cold).test_client()
    status, body = search(client, png_bytes(1))
    assert (status, body["error"]["code"]) == (503, "index_not_ready")
    health = client.get("/api/v1/health")
    assert health.status_code == 503 and health.get_json()["index"]["ready"] is False
    cold.index_sync.ensure_ready()
    assert search(client, png_bytes(1))[0] == 200
    assert client.get("/api/v1/health").status_code == 200
