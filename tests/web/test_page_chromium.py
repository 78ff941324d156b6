"""The search page end to end: a real server, a real index and real headless Chromium."""

from __future__ import annotations

import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import select
from werkzeug.serving import BaseWSGIServer, make_server

from indexer.models import Image
from indexer.settings import Settings
from search.runtime import Runtime, build_runtime
from tests.conftest import index_folder
from web import create_app

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class LiveServer:
    """A served app on 127.0.0.1 and the runtime behind it."""

    url: str
    runtime: Runtime

    def image_id(self, path: Path) -> int:
        """The catalog id of an indexed file."""
        with self.runtime.sessions() as session:
            query = select(Image.id).where(Image.uri == str(path.resolve()))
            return session.scalars(query).one()

    def image_uri(self, image_id: int) -> str:
        with self.runtime.sessions() as session:
            return session.get_one(Image, image_id).uri


def _serve(server: BaseWSGIServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    return thread


@pytest.fixture
def live_server(settings: Settings, image_folder: Path) -> Iterator[LiveServer]:
    """Index `image_folder`, then serve the app on a free port until the test ends."""
    index_folder(settings, image_folder)
    runtime = build_runtime(settings, load="now")
    server = make_server("127.0.0.1", 0, create_app(runtime=runtime), threaded=True)
    thread = _serve(server)
    yield LiveServer(f"http://127.0.0.1:{server.server_port}", runtime)
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    runtime.sessions.kw["bind"].dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module (the system binary, never a downloaded one)."""
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A fresh page on the search page of the live server."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{live_server.url}/")
    yield page
    context.close()


def _upload(page: Page, path: Path) -> None:
    page.locator("#file-input").set_input_files(str(path))


def _indexed_file(image_folder: Path) -> Path:
    return image_folder / "b" / "img_0007.jpg"


def test_upload_finds_the_image_then_click_searches_by_result(
    page: Page, live_server: LiveServer, image_folder: Path
) -> None:
    query = _indexed_file(image_folder)
    _upload(page, query)
    first = page.locator("#results li").first
    expect(first).to_have_attribute("data-id", str(live_server.image_id(query)))
    expect(first.locator(".score")).to_have_text(re.compile(r"^#1\s+1\.000$"))
    expect(page.locator("#query-caption")).to_have_text(query.name)

    second = page.locator("#results li").nth(1)
    clicked = int(second.get_attribute("data-id") or "")
    second.locator("button.open").click()

    expect(page.locator("#query-caption")).to_have_text(live_server.image_uri(clicked))
    expect(page.locator(f'#results li[data-id="{clicked}"]')).to_have_count(0)
    expect(page.locator("#results li")).to_have_count(11)
    expect(page.locator("#status")).not_to_have_class(re.compile(r"\berror\b"))
    expect(page.locator("#results li .score").first).to_have_text(re.compile(r"^#1\s"))


def test_non_image_upload_shows_error_and_server_keeps_serving(
    page: Page, live_server: LiveServer, image_folder: Path, tmp_path: Path
) -> None:
    fake = tmp_path / "notes.jpg"
    fake.write_text("this is plain text, not a picture\n")
    _upload(page, fake)
    status = page.locator("#status")
    expect(status).to_have_class(re.compile(r"\berror\b"))
    expect(status).to_contain_text(re.compile(r"not a recognised image", re.IGNORECASE))
    expect(page.locator("#results li")).to_have_count(0)

    query = _indexed_file(image_folder)
    _upload(page, query)
    first = page.locator("#results li").first
    expect(first).to_have_attribute("data-id", str(live_server.image_id(query)))
    expect(status).not_to_have_class(re.compile(r"\berror\b"))


def test_marking_results_right_and_wrong_stores_feedback(
    page: Page, live_server: LiveServer, image_folder: Path
) -> None:
    from indexer.feedback import feedback_pairs

    _upload(page, _indexed_file(image_folder))
    results = page.locator("#results li")
    expect(results).to_have_count(12)
    results.nth(0).locator("button.mark.right").click()
    expect(results.nth(0).locator(".feedback")).to_have_attribute("data-marked", "right")
    results.nth(3).locator("button.mark.wrong").click()
    expect(results.nth(3).locator(".feedback")).to_have_attribute("data-marked", "wrong")
    expect(page.locator("#status")).to_contain_text("marked wrong")
    with live_server.runtime.sessions() as session:
        pairs = feedback_pairs(session)
    assert [p.same for p in pairs] == [True, False]
    assert pairs[0].result_path == str(_indexed_file(image_folder).resolve())
    assert Path(pairs[0].query_path).read_bytes() == _indexed_file(image_folder).read_bytes()
