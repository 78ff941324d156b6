"""Helpers shared by the web tests: search and enrol over HTTP, open a page tab."""

from __future__ import annotations

import io

from flask.testing import FlaskClient
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
