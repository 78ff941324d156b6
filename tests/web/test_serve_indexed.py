"""/file and /thumbnail serve what was indexed, and nothing else, whatever the path holds now."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from indexer.catalog.schema import Image, ImageStatus
from search.runtime import Runtime
from tests.conftest import index_folder, make_image

SECRET = b"root:x:0:0:the secret that lies outside every source root\n"
HTML = b"<!doctype html><script>fetch('/api/v1/images/1',{method:'DELETE'})</script>"
VIEWS = ("file", "thumbnail")


@pytest.fixture
def image_folder(image_folder: Path) -> Path:
    """The shared catalog plus a web page named .png (fails) and a PNG named .jpg."""
    (image_folder / "c").mkdir()
    (image_folder / "c" / "page.png").write_bytes(HTML)
    make_image(40).save(image_folder / "c" / "really_png.jpg", format="PNG")
    shutil.copyfile(image_folder / "a" / "img_0001.png", image_folder / "c" / "twin.png")
    return image_folder


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "outside" / "secret.txt"
    path.parent.mkdir()
    path.write_bytes(SECRET)
    return path


def row_id(runtime: Runtime, path: Path) -> int:
    with runtime.sessions() as session:
        found = session.scalar(select(Image.id).where(Image.uri == str(path.resolve())))
        assert found is not None, path
        return found


def get(client: FlaskClient, image_id: int, view: str) -> tuple[int, bytes, dict]:
    response = client.get(f"/api/v1/images/{image_id}/{view}")
    return response.status_code, response.data, dict(response.headers)


def refused(client: FlaskClient, image_id: int, status: int, code: str, root: Path) -> None:
    for view in VIEWS:
        got, body, headers = get(client, image_id, view)
        assert got == status, (view, body[:200])
        error = client.get(f"/api/v1/images/{image_id}/{view}").get_json()["error"]
        assert error["code"] == code
        assert SECRET not in body and HTML not in body
        assert str(root) not in error["message"]  # no server path in the refusal either
        assert headers["Content-Type"] == "application/json"


def test_indexed_file_is_served_with_its_decoded_type_and_safe_headers(
    client: FlaskClient, runtime: Runtime, image_folder: Path
) -> None:
    path = image_folder / "c" / "really_png.jpg"
    status, body, headers = get(client, row_id(runtime, path), "file")
    assert status == 200 and body == path.read_bytes()
    assert headers["Content-Type"] == "image/png"  # what Pillow decodes, not the .jpg name
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Disposition"] == "inline; filename=really_png.jpg"
    assert "sandbox" in headers["Content-Security-Policy"]
    status, body, headers = get(client, row_id(runtime, path), "thumbnail")
    assert status == 200 and headers["Content-Type"] == "image/jpeg" and body[:2] == b"\xff\xd8"


def test_a_failed_row_is_never_served(
    client: FlaskClient, runtime: Runtime, image_folder: Path
) -> None:
    page = image_folder / "c" / "page.png"
    image_id = row_id(runtime, page)
    with runtime.sessions() as session:
        assert session.get_one(Image, image_id).status == ImageStatus.FAILED
    refused(client, image_id, 404, "not_indexed", image_folder)


def test_a_web_page_listed_in_a_manifest_is_never_served(
    client: FlaskClient, runtime: Runtime, tmp_path: Path
) -> None:
    page = tmp_path / "listed" / "page.html"
    page.parent.mkdir()
    page.write_bytes(HTML)
    (page.parent / "list.csv").write_text("uri\npage.html\n")
    index_folder(runtime.settings, page.parent / "list.csv")
    refused(client, row_id(runtime, page), 404, "not_indexed", tmp_path)


def test_a_pending_row_is_never_served(
    client: FlaskClient, runtime: Runtime, image_folder: Path
) -> None:
    path = image_folder / "a" / "img_0002.png"
    with runtime.sessions.begin() as session:
        session.scalars(
            select(Image).where(Image.uri == str(path.resolve()))
        ).one().status = ImageStatus.PENDING
    refused(client, row_id(runtime, path), 404, "not_indexed", image_folder)


def test_a_symlink_swapped_in_after_indexing_is_refused(
    client: FlaskClient, runtime: Runtime, image_folder: Path, secret: Path
) -> None:
    path = image_folder / "a" / "img_0003.png"
    image_id = row_id(runtime, path)
    path.unlink()
    path.symlink_to(secret)
    refused(client, image_id, 409, "file_changed", image_folder)
    path.unlink()  # a link to a real image, even another catalog one, is refused too
    path.symlink_to(image_folder / "a" / "img_0004.png")
    refused(client, image_id, 409, "file_changed", image_folder)


def test_a_folder_swapped_for_a_symlink_serves_nothing_else(
    client: FlaskClient, runtime: Runtime, image_folder: Path, secret: Path
) -> None:
    image_id = row_id(runtime, image_folder / "a" / "img_0000.png")
    (image_folder / "a").rename(image_folder / "a-moved")
    decoy = secret.parent / "a"
    decoy.mkdir()
    (decoy / "img_0000.png").write_bytes(SECRET)
    (image_folder / "a").symlink_to(decoy)
    refused(client, image_id, 409, "file_changed", image_folder)


def test_a_file_rewritten_after_indexing_is_refused(
    client: FlaskClient, runtime: Runtime, image_folder: Path
) -> None:
    path = image_folder / "a" / "img_0005.png"
    image_id = row_id(runtime, path)
    original = path.read_bytes()
    same_size = HTML.ljust(len(original), b" ")[: len(original)]
    path.write_bytes(same_size)  # a page of the indexed size: only the hash tells
    refused(client, image_id, 409, "file_changed", image_folder)
    path.write_bytes(original + b"<script>alert(1)</script>")  # appended to
    refused(client, image_id, 409, "file_changed", image_folder)
    make_image(99).save(path, format="PNG")  # another valid image
    refused(client, image_id, 409, "file_changed", image_folder)
    path.write_bytes(original)  # put back: served again
    assert get(client, image_id, "file")[:2] == (200, original)


def test_a_pipe_swapped_in_is_refused_without_hanging(
    client: FlaskClient, runtime: Runtime, image_folder: Path
) -> None:
    path = image_folder / "b" / "img_0006.jpg"
    image_id = row_id(runtime, path)
    path.unlink()
    os.mkfifo(path)
    refused(client, image_id, 409, "file_changed", image_folder)


def test_a_removed_file_is_404_without_its_path(
    client: FlaskClient, runtime: Runtime, image_folder: Path
) -> None:
    path = image_folder / "b" / "img_0007.jpg"
    image_id = row_id(runtime, path)
    path.unlink()
    refused(client, image_id, 404, "not_found", image_folder)


def test_an_exact_duplicate_and_an_upload_are_served_verified(
    client: FlaskClient, runtime: Runtime, image_folder: Path
) -> None:
    twin = image_folder / "c" / "twin.png"
    with runtime.sessions() as session:
        assert session.get_one(Image, row_id(runtime, twin)).status == ImageStatus.DUPLICATE
    assert get(client, row_id(runtime, twin), "file")[:2] == (200, twin.read_bytes())

    out = io.BytesIO()
    make_image(77).save(out, format="WEBP")
    added = client.post("/api/v1/images", data={"image": (io.BytesIO(out.getvalue()), "x.webp")})
    status, body, headers = get(client, added.get_json()["id"], "file")
    assert status == 200 and body == out.getvalue() and headers["Content-Type"] == "image/webp"
    with runtime.sessions() as session:
        stored = Path(session.get_one(Image, added.get_json()["id"]).path or "")
    stored.write_bytes(HTML)  # the catalog's own copy tampered with: refused as well
    assert get(client, added.get_json()["id"], "file")[0] == 409
