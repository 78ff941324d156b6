"""An app over an indexed catalog of generated images (embedded default, tiny model)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from indexer.settings import Settings
from search.runtime import Runtime, build_runtime
from tests.conftest import index_folder
from web import create_app


@pytest.fixture
def runtime(settings: Settings, image_folder: Path) -> Iterator[Runtime]:
    index_folder(settings, image_folder)
    rt = build_runtime(settings, load="now")
    yield rt
    rt.sessions.kw["bind"].dispose()


@pytest.fixture
def app(runtime: Runtime) -> Flask:
    return create_app(runtime=runtime)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
