"""PostgreSQL drops every connection of the app mid-life: the next requests still succeed."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from indexer.catalog.settings import Settings
from search.runtime import build_runtime
from tests.conftest import index_folder
from tests.web.test_api_compare import png
from web import create_app


def terminate_backends(url: str) -> int:
    """pg_terminate_backend every other connection to this database; return how many."""
    engine = create_engine(url)
    with engine.connect() as conn:
        killed = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar()
    engine.dispose()
    return int(killed or 0)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # drops its tables after
def test_requests_survive_dropped_database_connections(
    settings: Settings, database_url: str, image_folder: Path
) -> None:
    postgres_url = database_url
    pg = replace(settings, database_url=postgres_url)
    index_folder(pg, image_folder)
    runtime = build_runtime(pg, load="now")
    client = create_app(runtime=runtime).test_client()
    search = {"image": (io.BytesIO(png(3)), "q.png")}
    assert client.post("/api/v1/search", data=search).status_code == 200
    assert terminate_backends(postgres_url) >= 1  # the app's pooled connections are gone
    for seed in (3, 4):
        response = client.post("/api/v1/search", data={"image": (io.BytesIO(png(seed)), "q")})
        assert response.status_code == 200, response.get_json()
    assert terminate_backends(postgres_url) >= 1
    added = client.post("/api/v1/images", data={"image": (io.BytesIO(png(70)), "new.png")})
    assert added.status_code == 201, added.get_json()
    assert client.get(f"/api/v1/images/{added.get_json()['id']}").status_code == 200
    assert client.get("/api/v1/health").get_json()["database"]["ok"] is True
    runtime.sessions.kw["bind"].dispose()
