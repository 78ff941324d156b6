"""Helpers shared by the web tests: search and enrol over HTTP, open a page tab, draw a box on
the query image, write a mosaic of catalog images."""

from __future__ import annotations

import io
from pathlib import Path

from flask.testing import FlaskClient
from PIL import Image
from playwright.sync_api import Page, expect

from tests.encoded import png

GALLERIES = "/api/v1/galleries"


def enrol(client: FlaskClient, name: str, label: str, seed: int, **form: str) -> dict:
    """POST the picture of `seed` as a reference of `label` in gallery `name` (201)."""
    data = {"image": (io.BytesIO(png(seed)), f"{seed}.png"), "label": label, **form}
    response = client.post(f"{GALLERIES}/{name}/items", data=data)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def search(client: FlaskClient, data: bytes, **form: str) -> tuple[int, dict]:
    """POST `data` as the query image of /api/v1/search with `form`: (status, JSON body)."""
    response = client.post("/api/v1/search", data={"image": (io.BytesIO(data), "q.png"), **form})
    return response.status_code, response.get_json()


def open_tab(page: Page, name: str) -> None:
    """Click the page's tab `name` and wait for its panel."""
    page.locator(f"#tab-{name}").click()
    expect(page.locator(f"#panel-{name}")).to_be_visible()


def write_mosaic(sources: list[Path], path: Path) -> Path:
    """Four 96x80 catalog images in a lossless 192x160 PNG, 2 x 2."""
    out = Image.new("RGB", (192, 160))
    for i, source in enumerate(sources):
        out.paste(Image.open(source).convert("RGB"), ((i % 2) * 96, (i // 2) * 80))
    out.save(path, format="PNG")
    return path


def drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Drag on the query preview from `start` to `end`, in its displayed pixels."""
    preview = page.locator("#query-image")
    expect(preview).to_be_visible()
    rect = preview.bounding_box()
    assert rect is not None
    page.mouse.move(rect["x"] + start[0], rect["y"] + start[1])
    page.mouse.down()
    page.mouse.move(rect["x"] + (start[0] + end[0]) / 2, rect["y"] + (start[1] + end[1]) / 2)
    page.mouse.move(rect["x"] + end[0], rect["y"] + end[1])
    page.mouse.up()
