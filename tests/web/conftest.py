"""An app over an indexed catalog of generated images (embedded default, tiny model).

Also the same app served on a real port, and headless Chromium to drive its page.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, Page, sync_playwright
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select
from werkzeug.serving import BaseWSGIServer, make_server

from indexer.catalog.public_names import public_uri
from indexer.catalog.schema import Image
from indexer.catalog.settings import Settings
from search.runtime import Runtime, build_runtime
from tests.conftest import index_folder
from web import create_app

# What "a response true to the OpenAPI description" means in the tests and the fuzz run.
SPEC_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def db_runtime(settings: Settings, database_url: str) -> Iterator[Runtime]:
    """A catalog on SQLite and on PostgreSQL (each test using it runs on both); on PostgreSQL
    it may hold rows other tests of the session left."""
    rt = build_runtime(replace(settings, database_url=database_url), load="now")
    yield rt
    rt.sessions.kw["bind"].dispose()


@pytest.fixture
def app(runtime: Runtime) -> Flask:
    return create_app(runtime=runtime)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


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
        """The uri the page shows: a name under the indexed folder, never the server path."""
        with self.runtime.sessions() as session:
            return public_uri(session.get_one(Image, image_id))


def _serve(server: BaseWSGIServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    return thread


@pytest.fixture
def live_server(settings: Settings, image_folder: Path) -> Iterator[LiveServer]:
    """Index `image_folder`, then serve the app on a free port until the test ends."""
    yield from _live(settings, image_folder)


FUZZ_KEY = "fuzz-key"


@pytest.fixture
def keyed_live_server(settings: Settings, image_folder: Path) -> Iterator[LiveServer]:
    """The live server with an API key (FUZZ_KEY) and no rate limit: the OpenAPI fuzz target."""
    yield from _live(replace(settings, api_key=FUZZ_KEY, rate_limit_per_minute=0), image_folder)


def _live(settings: Settings, image_folder: Path) -> Iterator[LiveServer]:
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


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, settings: Settings, tiny_model_path: Path) -> Settings:
    """The CLI's environment: embedded default, the tiny model, no API key."""
    for name in ("REDIS_URL", "DATABASE_URL", "LOOKALIKE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOOKALIKE_HOME", str(settings.home))
    monkeypatch.setenv("LOOKALIKE_MODEL", str(tiny_model_path))
    monkeypatch.setenv("LOOKALIKE_DEVICE", "cpu")
    return settings
