"""The page at phone width (390 x 844) and on a desktop: tabs that fit, no sideways scrolling,
no broken-image icon after a bad upload, a favicon, and no server path anywhere on it."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Response, expect

from tests.conftest import make_image
from tests.web.conftest import TIMEOUT_MS, LiveServer

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
TABS = ("search", "compare", "identify", "novelty", "duplicates")
# Horizontal overflow of the page, and of the tab bar (0 when everything fits).
# (A phone widens its layout viewport to fit wide content, so the screen's width is the bound.)
PAGE_OVERFLOW = """() => document.documentElement.scrollWidth
  - Math.min(window.innerWidth, window.screen.width)"""
TABS_OVERFLOW = """() => {
  const bar = document.querySelector('.tabs');
  const right = bar.getBoundingClientRect().right;
  const out = [...bar.querySelectorAll('[role=tab]')]
    .map((t) => t.getBoundingClientRect().right - Math.min(right, window.innerWidth));
  return Math.max(bar.scrollWidth - bar.clientWidth, ...out);
}"""
# Images on the page that are shown but did not load: the browser's broken-image icon.
BROKEN_IMAGES = """() => [...document.querySelectorAll('img')]
  .filter((img) => img.offsetParent !== null && img.getAttribute('src'))
  .filter((img) => img.complete && img.naturalWidth === 0).map((img) => img.id || img.alt)"""


@pytest.fixture
def image_folder(image_folder: Path) -> Path:
    """The shared catalog plus identical copies under long names, in a nested folder."""
    deep = image_folder / "c" / "a-rather-long-folder-name-for-a-phone" / "deeper-still"
    deep.mkdir(parents=True)
    for n in range(3):
        copy = deep / f"copy-{n}-of-the-second-image-with-a-long-file-name.png"
        shutil.copyfile(image_folder / "a" / "img_0002.png", copy)
    return image_folder


@pytest.fixture(params=[PHONE, DESKTOP], ids=["phone", "desktop"])
def sized_page(
    request: pytest.FixtureRequest, browser: Browser, live_server: LiveServer
) -> Iterator[tuple[Page, list[Response]]]:
    """The page at one viewport, with every HTTP error response it got."""
    phone = request.param == PHONE
    context = browser.new_context(viewport=request.param, is_mobile=phone, has_touch=phone)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    failed: list[Response] = []
    page.on("response", lambda r: failed.append(r) if r.status >= 400 else None)
    page.goto(f"{live_server.url}/")
    expect(page.locator("#health")).to_contain_text("images indexed")
    yield page, failed
    context.close()


def _fits(page: Page, where: str) -> None:
    assert page.evaluate(PAGE_OVERFLOW) <= 0, f"the page scrolls sideways on {where}"
    assert page.evaluate(TABS_OVERFLOW) <= 0.5, f"the tab bar overflows on {where}"


def test_every_tab_fits_without_sideways_scrolling(
    sized_page: tuple[Page, list[Response]], image_folder: Path
) -> None:
    page, failed = sized_page
    page.locator("#file-input").set_input_files(str(image_folder / "a" / "img_0002.png"))
    expect(page.locator("#results li")).to_have_count(12)
    _fits(page, "search with results")
    for name in TABS[1:]:
        page.locator(f"#tab-{name}").click()
        expect(page.locator(f"#panel-{name}")).to_be_visible()
        _fits(page, name)
    page.locator("#duplicates-find").click()
    expect(page.locator("#duplicates-exact .dup-group")).to_have_count(1)
    expect(page.locator("#duplicates-exact .dup-group img")).to_have_count(4)
    _fits(page, "duplicates with results")
    assert [r.url for r in failed] == []  # favicon included


def test_a_bad_upload_leaves_no_broken_image(
    sized_page: tuple[Page, list[Response]], tmp_path: Path
) -> None:
    page, _ = sized_page
    fake = tmp_path / "notes.jpg"
    fake.write_text("this is plain text, not a picture\n")
    page.locator("#file-input").set_input_files(str(fake))
    expect(page.locator("#status")).to_have_class(re.compile(r"\berror\b"))
    expect(page.locator("#query-image")).to_be_hidden()
    assert page.evaluate(BROKEN_IMAGES) == []

    page.locator("#tab-compare").click()
    page.locator("#compare-a-input").set_input_files(str(fake))
    expect(page.locator("#compare-a-zone img.zone-preview")).to_be_hidden()
    assert page.evaluate(BROKEN_IMAGES) == []

    good = tmp_path / "good.png"
    make_image(5).save(good)
    page.locator("#tab-search").click()
    page.locator("#file-input").set_input_files(str(good))
    expect(page.locator("#query-image")).to_be_visible()
    expect(page.locator("#results li")).to_have_count(12)


def test_no_server_path_anywhere_on_the_page(
    page: Page, live_server: LiveServer, image_folder: Path
) -> None:
    page.locator("#file-input").set_input_files(str(image_folder / "a" / "img_0002.png"))
    expect(page.locator("#results li")).to_have_count(12)
    caption = page.locator("#results li .uri")
    expect(caption.first).to_have_text(re.compile(r"^(a/img_0002\.png|c/a-rather-long)"))
    page.locator("#results li button.open").nth(1).click()
    expect(page.locator("#query-caption")).not_to_be_empty()
    page.locator("#tab-duplicates").click()
    page.locator("#duplicates-find").click()
    expect(page.locator("#duplicates-exact .dup-group img")).to_have_count(4)
    page.locator("#tab-novelty").click()
    page.locator("#novelty-input").set_input_files(str(image_folder / "b" / "img_0007.jpg"))
    expect(page.locator("#novelty-neighbours li")).not_to_have_count(0)
    html = page.content()
    for secret in (str(image_folder.resolve()), str(live_server.runtime.settings.home)):
        assert secret not in html
    assert "a/img_0002.png" in html  # names under the indexed folder instead


def test_favicon_is_served(page: Page, live_server: LiveServer) -> None:
    response = page.request.get(f"{live_server.url}/favicon.ico")
    assert response.status == 200
    assert response.headers["content-type"].startswith("image/")
    icon = page.locator('link[rel="icon"]')
    expect(icon).to_have_count(1)
    linked = page.request.get(f"{live_server.url}{icon.get_attribute('href')}")
    assert linked.status == 200 and linked.headers["content-type"].startswith("image/")
