"""No server path in any answer a client sees; names under their source instead, and the full
path only for the key holder in GET /images/{id}."""

from __future__ import annotations

import io
import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from indexer.catalog.schema import Image
from search.runtime import Runtime
from tests.conftest import index_folder, make_image
from web import create_app

KEY = "s3cret"


@pytest.fixture
def image_folder(image_folder: Path) -> Path:
    """The shared catalog plus a byte-identical copy, a broken file, and a nested folder."""
    (image_folder / "c" / "deep").mkdir(parents=True)
    shutil.copyfile(image_folder / "a" / "img_0001.png", image_folder / "c" / "twin.png")
    (image_folder / "c" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    make_image(50).save(image_folder / "c" / "deep" / "img_0050.png")
    return image_folder


def png(seed: int) -> bytes:
    out = io.BytesIO()
    make_image(seed).save(out, format="PNG")
    return out.getvalue()


def row_id(runtime: Runtime, path: Path) -> int:
    with runtime.sessions() as session:
        found = session.scalar(select(Image.id).where(Image.uri == str(path.resolve())))
        assert found is not None
        return found


def with_key(runtime: Runtime) -> FlaskClient:
    settings = replace(runtime.settings, api_key=KEY)
    return create_app(runtime=replace(runtime, settings=settings)).test_client()


def no_server_path(body: Any, runtime: Runtime, root: Path) -> None:
    text = json.dumps(body)
    for secret in (str(root), str(root.resolve()), str(runtime.settings.home)):
        assert secret not in text, text[:400]


def test_every_display_field_names_images_under_their_source(
    client: FlaskClient, runtime: Runtime, image_folder: Path
) -> None:
    query = image_folder / "c" / "deep" / "img_0050.png"
    found = client.post("/api/v1/search", data={"image": (io.BytesIO(query.read_bytes()), "q")})
    hits = found.get_json()["results"]
    assert hits[0]["uri"] == "c/deep/img_0050.png"
    no_server_path(found.get_json(), runtime, image_folder)

    similar = client.get(f"/api/v1/images/{hits[0]['id']}/similar?k=20").get_json()
    assert {h["uri"] for h in similar["results"]} >= {"a/img_0000.png", "b/img_0006.jpg"}
    no_server_path(similar, runtime, image_folder)

    dups = client.get("/api/v1/duplicates?threshold=0.99").get_json()
    assert [sorted(m["uri"] for m in g["members"]) for g in dups["exact"]] == [
        ["a/img_0001.png", "c/twin.png"]
    ]
    no_server_path(dups, runtime, image_folder)

    novelty = client.post("/api/v1/anomaly", data={"image": (io.BytesIO(png(3)), "q.png")})
    assert novelty.status_code == 200 and novelty.get_json()["neighbours"][0]["uri"]
    no_server_path(novelty.get_json(), runtime, image_folder)

    broken = client.get(f"/api/v1/images/{row_id(runtime, image_folder / 'c' / 'broken.png')}")
    assert broken.get_json()["uri"] == "c/broken.png" and broken.get_json()["status"] == "failed"
    assert "path" not in broken.get_json()
    no_server_path(broken.get_json(), runtime, image_folder)  # its error message too


def test_the_full_path_is_shown_only_with_the_configured_key(
    client: FlaskClient, runtime: Runtime, image_folder: Path
) -> None:
    path = image_folder / "a" / "img_0002.png"
    url = f"/api/v1/images/{row_id(runtime, path)}"
    assert "path" not in client.get(url).get_json()  # no key configured: nobody is the owner
    keyed = with_key(runtime)
    assert "path" not in keyed.get(url).get_json()
    assert "path" not in keyed.get(url, headers={"X-API-Key": "wrong"}).get_json()
    owner = keyed.get(url, headers={"X-API-Key": KEY}).get_json()
    assert owner["path"] == str(path.resolve()) and owner["uri"] == "a/img_0002.png"

    added = keyed.post(
        "/api/v1/images",
        data={"image": (io.BytesIO(png(60)), "x.png")},
        headers={"X-API-Key": KEY},
    ).get_json()
    assert added["uri"].startswith("upload://") and "path" not in added
    no_server_path(added, runtime, image_folder)


def test_a_file_indexed_alone_or_by_a_parent_folder_is_named_from_there(
    runtime: Runtime, image_folder: Path
) -> None:
    single = image_folder / "b" / "img_0008.jpg"
    client = create_app(runtime=runtime).test_client()
    index_folder(runtime.settings, single)
    assert client.get(f"/api/v1/images/{row_id(runtime, single)}").get_json()["uri"] == (
        "img_0008.jpg"
    )
    index_folder(runtime.settings, image_folder / "b")
    assert client.get(f"/api/v1/images/{row_id(runtime, single)}").get_json()["uri"] == (
        "img_0008.jpg"
    )
    index_folder(runtime.settings, image_folder)
    assert client.get(f"/api/v1/images/{row_id(runtime, single)}").get_json()["uri"] == (
        "b/img_0008.jpg"
    )


def test_rows_from_before_names_were_recorded_show_their_file_name(
    client: FlaskClient, runtime: Runtime, image_folder: Path
) -> None:
    path = image_folder / "a" / "img_0004.png"
    with runtime.sessions.begin() as session:
        session.scalars(select(Image).where(Image.uri == str(path.resolve()))).one().name = None
    body = client.get(f"/api/v1/images/{row_id(runtime, path)}").get_json()
    assert body["uri"] == "img_0004.png"
