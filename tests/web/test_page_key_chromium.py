"""The page on a server with an API key: writes fail until the key is entered, then work."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from indexer.catalog.settings import Settings
from tests.conftest import write_images
from tests.web.test_page_tools_chromium import _open_tab


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, api_key="s3cret")


def test_enrolling_needs_the_key_the_page_keeps(page: Page, tmp_path: Path) -> None:
    image = write_images(tmp_path / "up", [77])[0]
    _open_tab(page, "identify")
    page.locator("#enrol-gallery").fill("staff")
    page.locator("#enrol-label").fill("ann")
    page.locator("#enrol-file").set_input_files(str(image))
    page.locator("#enrol-submit").click()
    expect(page.locator("#identify-status")).to_contain_text(re.compile(r"X-API-Key.*HTTP 401"))

    page.locator("#api-key").fill("s3cret")
    page.locator("#api-key").dispatch_event("change")
    page.locator("#enrol-submit").click()
    expect(page.locator("#identify-status")).to_have_text("Enrolled “ann” in staff.")
    page.reload()  # the key stays in this browser
    expect(page.locator("#api-key")).to_have_value("s3cret")
