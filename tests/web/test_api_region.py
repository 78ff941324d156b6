"""Region queries: `box` on POST /api/v1/search and GET /api/v1/images/{id}/similar."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from PIL import Image as PILImage
from sqlalchemy import select

from indexer.catalog.schema import Image
from search.runtime import Runtime
from tests.web.support import search


def image_id(runtime: Runtime, path: Path) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(Image.id).where(Image.uri == str(path.resolve())))


def mosaic(paths: list[Path]) -> bytes:
    """Four 96x80 catalog images side by side, 2 x 2, as a lossless PNG of 192x160."""
    tiles = [PILImage.open(p).convert("RGB") for p in paths]
    out = PILImage.new("RGB", (192, 160))
    for i, tile in enumerate(tiles):
        out.paste(tile, ((i % 2) * 96, (i // 2) * 80))
    data = io.BytesIO()
    out.save(data, format="PNG")
    return data.getvalue()


def test_each_quadrant_of_a_mosaic_finds_its_source_first(
    client: FlaskClient, runtime: Runtime, image_folder: Path
) -> None:
    sources = [image_folder / "a" / f"img_{i:04d}.png" for i in range(4)]
    data = mosaic(sources)
    for i, source in enumerate(sources):
        left, top = (i % 2) * 96, (i // 2) * 80
        status, body = search(client, data, box=f"{left},{top},{left + 96},{top + 80}", k="3")
        assert status == 200, body
        assert body["results"][0]["id"] == image_id(runtime, source)
        assert body["results"][0]["score"] == pytest.approx(1.0, abs=1e-4)


def test_a_box_over_the_whole_image_searches_as_without_one(
    client: FlaskClient, image_folder: Path
) -> None:
    data = (image_folder / "a" / "img_0003.png").read_bytes()
    _, plain = search(client, data, k="5")
    status, boxed = search(client, data, k="5", box="0,0,96,80")
    assert status == 200
    assert [r["id"] for r in boxed["results"]] == [r["id"] for r in plain["results"]]


@pytest.mark.parametrize(
    ("box", "says"),
    [
        ("1,2,3", "four numbers"),
        ("0,0,97,80", "96x80"),  # one pixel past the right edge
        ("0,0,96,81", "96x80"),
        ("10,10,5,50", "left < right"),
        ("0,0,4,4", "at least 8"),
        ("-1,0,20,20", "outside"),
        ("nan,0,20,20", "finite"),
        ("a,b,c,d", "four numbers"),
    ],
)
def test_a_bad_box_is_a_400_that_says_why(
    client: FlaskClient, image_folder: Path, box: str, says: str
) -> None:
    status, body = search(client, (image_folder / "a" / "img_0000.png").read_bytes(), box=box)
    assert status == 400
    assert body["error"]["code"] == "invalid_box"
    assert says in body["error"]["message"]


def test_a_box_without_an_image_asks_for_one(client: FlaskClient) -> None:
    response = client.post("/api/v1/search", data={"box": "0,0,10,10"})
    assert response.status_code == 400
    assert "image" in response.get_json()["error"]["message"]


def test_a_box_on_a_tiny_upload_is_refused(client: FlaskClient) -> None:
    tiny = io.BytesIO()
    PILImage.new("RGB", (5, 5), (9, 9, 9)).save(tiny, format="PNG")
    status, body = search(client, tiny.getvalue(), box="0,0,8,8")
    assert status == 400 and body["error"]["code"] == "invalid_box"


def test_similar_with_a_box_embeds_the_region_of_the_indexed_file(
    client: FlaskClient, runtime: Runtime, image_folder: Path
) -> None:
    target = image_id(runtime, image_folder / "a" / "img_0004.png")
    plain = client.get(f"/api/v1/images/{target}/similar?k=5").get_json()
    whole = client.get(f"/api/v1/images/{target}/similar?k=5&box=0,0,96,80")
    assert whole.status_code == 200
    assert [r["id"] for r in whole.get_json()["results"]] == [r["id"] for r in plain["results"]]
    part = client.get(f"/api/v1/images/{target}/similar?k=5&box=0,0,48,40")
    assert part.status_code == 200
    assert target not in [r["id"] for r in part.get_json()["results"]]
    scores = [r["score"] for r in part.get_json()["results"]]
    assert scores != [r["score"] for r in plain["results"]]  # a region is another query


def test_similar_box_errors_match_the_plain_route(
    client: FlaskClient, runtime: Runtime, image_folder: Path
) -> None:
    target = image_id(runtime, image_folder / "a" / "img_0004.png")
    bad = client.get(f"/api/v1/images/{target}/similar?box=0,0,200,80")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_box"
    assert client.get("/api/v1/images/999999/similar?box=0,0,10,10").status_code == 404
    assert client.get("/api/v1/images/999999/similar").status_code == 404


def test_similar_with_a_box_refuses_a_changed_file(
    client: FlaskClient, runtime: Runtime, image_folder: Path
) -> None:
    path = image_folder / "a" / "img_0005.png"
    target = image_id(runtime, path)
    PILImage.new("RGB", (96, 80), (1, 2, 3)).save(path, format="PNG")
    response = client.get(f"/api/v1/images/{target}/similar?box=0,0,20,20")
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "file_changed"
