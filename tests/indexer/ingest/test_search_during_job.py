"""Searching while a real worker indexes: no search fails, results grow, deletes are immediate.

A `lookalike worker` subprocess embeds through Redis (db 15) into PostgreSQL while a thread
searches through the Flask test client of an app built on the same catalog.
"""

from __future__ import annotations

import dataclasses
import io
import threading
import time
from pathlib import Path

from flask.testing import FlaskClient

from indexer.ingest.celery_app import make_celery
from indexer.ingest.indexing import run_index, start_index
from search.runtime import build_runtime
from tests.conftest import write_images
from tests.indexer.ingest.workers import Workers
from web import create_app

N_IMAGES = 60
SEARCH_EVERY_S = 0.05
K = 100  # more than the catalog: a result lists every indexed image


def search(client: FlaskClient, data: bytes) -> tuple[int, dict]:
    """POST one query image to the search API; return the status and JSON body."""
    form = {"image": (io.BytesIO(data), "query.png"), "k": str(K)}
    response = client.post("/api/v1/search", data=form, content_type="multipart/form-data")
    return response.status_code, response.get_json()


class Searcher(threading.Thread):
    """Searches every SEARCH_EVERY_S until stopped; records (status, hit count, body)."""

    def __init__(self, client: FlaskClient, query: bytes) -> None:
        super().__init__(name="searcher", daemon=True)
        self.client, self.query = client, query
        self.answers: list[tuple[int, int, dict]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                status, body = search(self.client, self.query)
                hits = len(body.get("results", [])) if status == 200 else -1
                self.answers.append((status, hits, body))
            except Exception as exc:  # recorded, so the main thread's assertions report it
                self.answers.append((0, -1, {"exception": repr(exc)}))
            self.stop.wait(SEARCH_EVERY_S)

    def wait_for(self, hits: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not (self.answers and self.answers[-1][1] == hits):
            time.sleep(SEARCH_EVERY_S)


def test_searches_never_fail_while_a_worker_indexes(workers: Workers, tmp_path: Path) -> None:
    paths = write_images(tmp_path / "catalog", range(300, 300 + N_IMAGES))
    workers.start(1)
    settings = dataclasses.replace(workers.settings, sync_interval_s=0.1)
    runtime = build_runtime(settings, load="now")
    client = create_app(runtime=runtime).test_client()
    searcher = Searcher(client, paths[0].read_bytes())
    try:
        searcher.start()
        sessions = runtime.sessions
        run = start_index(sessions, [str(tmp_path / "catalog")], chunk_size=2)
        progress = run_index(make_celery(settings), sessions, run, poll_s=0.1, timeout_s=60)
        assert (progress.indexed, progress.failed) == (N_IMAGES, 0)
        searcher.wait_for(N_IMAGES, timeout_s=5.0)
    finally:
        searcher.stop.set()
        searcher.join(timeout=10)

    try:
        failures = [(status, body) for status, _, body in searcher.answers if status != 200]
        assert not failures, failures[:3]
        counts = [hits for _, hits, _ in searcher.answers]
        assert counts == sorted(counts), counts  # the index only grows during the job
        assert counts[-1] == N_IMAGES, counts
        assert any(0 < n < N_IMAGES for n in counts), counts  # seen while the job ran

        assert runtime.index_sync.status().size == N_IMAGES
        ids = {}
        for path in paths:
            status, body = search(client, path.read_bytes())
            assert status == 200, body
            top = body["results"][0]
            assert top["uri"] == path.name and top["score"] > 0.9999, top  # name under the folder
            ids[path] = top["id"]

        gone = paths[7]
        response = client.delete(f"/api/v1/images/{ids[gone]}")
        assert response.status_code == 200, response.get_json()
        status, body = search(client, gone.read_bytes())
        assert status == 200, body
        listed = {hit["id"] for hit in body["results"]}
        assert ids[gone] not in listed and len(listed) == N_IMAGES - 1
        assert runtime.index_sync.status().size == N_IMAGES - 1
    finally:
        runtime.sessions.kw["bind"].dispose()
