"""Jobs over the API on the distributed path: real Redis, a real `lookalike worker`, PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from indexer.catalog.schema import Embedding, Image, ImageStatus
from search.runtime import Runtime, build_runtime
from tests.conftest import write_images
from tests.indexer.ingest.workers import Workers
from web import create_app


@pytest.fixture
def api(workers: Workers, tmp_path: Path) -> Iterator[tuple[FlaskClient, Runtime, Path]]:
    """The web app of the workers' settings, allowed to index under tmp_path/srv."""
    root = (tmp_path / "srv").resolve()
    root.mkdir()
    rt = build_runtime(replace(workers.settings, source_roots=(root,)), load="now")
    yield create_app(runtime=rt).test_client(), rt, root
    rt.sessions.kw["bind"].dispose()


def wait_for(client: FlaskClient, job_id: int, until: set[str], timeout_s: float = 120) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/jobs/{job_id}").get_json()
        if body["status"] in until:
            return body
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} never reached {until}: {body}")


def embedded_chunks(workers: Workers) -> int:
    """How many embedding tasks the workers finished."""
    lines = workers.read_logs().splitlines()
    return sum("lookalike.embed_images[" in line and "succeeded" in line for line in lines)


def test_api_job_is_indexed_by_a_worker(workers: Workers, api: tuple) -> None:
    client, rt, root = api
    write_images(root / "cat", range(10))
    (root / "cat" / "broken.png").write_bytes(b"not an image")
    workers.start(1)

    response = client.post("/api/v1/jobs", json={"source": str(root / "cat"), "chunk_size": 4})

    assert response.status_code == 202, response.get_json()
    created = response.get_json()
    assert created["status"] == "running" and created["total"] == 11  # enqueued before replying
    job = wait_for(client, created["id"], {"done", "failed"})
    assert (job["status"], job["indexed"], job["failed"], job["pending"]) == ("done", 10, 1, 0)
    assert job["failures"][0]["uri"] == "broken.png"  # its name under the source, no path
    assert job["rate"] > 0
    assert sum(workers.count_in_logs("lookalike.embed_images[")) >= 3  # the three chunks
    rt.index_sync.catch_up()
    assert rt.index_sync.status().size == 10


def test_workers_skip_the_rows_of_a_cancelled_job(workers: Workers, api: tuple) -> None:
    client, rt, root = api
    write_images(root / "cat", range(8))
    created = client.post("/api/v1/jobs", json={"source": str(root / "cat"), "chunk_size": 4})
    job_id = created.get_json()["id"]

    cancelled = client.post(f"/api/v1/jobs/{job_id}/cancel").get_json()
    workers.start(1)  # only now can anyone take the two chunks waiting on Redis

    assert (cancelled["status"], cancelled["cancelled"], cancelled["pending"]) == (
        "cancelled",
        8,
        0,
    )
    deadline = time.monotonic() + 60
    while embedded_chunks(workers) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert embedded_chunks(workers) == 2, workers.read_logs()
    assert wait_for(client, job_id, {"cancelled"})["indexed"] == 0
    with rt.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Embedding)) == 0
        assert set(session.scalars(select(Image.status))) == {ImageStatus.CANCELLED}
