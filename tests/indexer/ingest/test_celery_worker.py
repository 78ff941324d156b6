"""The distributed indexing path, end to end: real Redis, `lookalike worker` processes, PostgreSQL.

Nothing is faked: the CLI and the workers are subprocesses, tasks travel through the test
run's own Redis, rows land in a fresh PostgreSQL database. Worker logs are printed at
teardown, so pytest shows them with any failure.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from indexer.catalog.database import make_session_factory
from indexer.catalog.schema import Embedding, Image, ImageStatus, IndexChange, Job, JobStatus
from search.runtime import build_runtime
from tests.conftest import index_folder, write_images
from tests.indexer.ingest.workers import Workers, describe, run_cli


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_cli_enqueues_on_redis_and_a_worker_indexes_every_image(
    workers: Workers, image_folder: Path
) -> None:
    workers.start(1)

    result = run_cli(workers.env, "index", str(image_folder), "--no-progress")

    assert result.returncode == 0, describe(result)
    assert "added 12," in result.stdout, describe(result)
    assert "on Redis queue lookalike.embed" in result.stderr, describe(result)
    assert sum(workers.count_in_logs("lookalike.embed_images[")) > 0, "no task reached the worker"
    runtime = build_runtime(workers.settings, load="now")
    try:
        assert runtime.index_sync.status().size == 12
        for path in image_files(image_folder):
            hits = runtime.engine.search_image(path.read_bytes(), k=1).hits
            assert hits[0].uri == str(path.resolve())
            assert hits[0].score == pytest.approx(1.0, abs=1e-4)
    finally:
        runtime.sessions.kw["bind"].dispose()


def write_messy_folder(folder: Path) -> tuple[list[Path], Path, Path, Path]:
    """38 distinct images, a byte-identical copy of one of them and a corrupt .png."""
    originals = write_images(folder, range(100, 138))
    copy = folder / "zz" / "copy_of_img_0103.png"
    copy.parent.mkdir()
    copy.write_bytes(originals[3].read_bytes())
    corrupt = folder / "zz" / "corrupt.png"
    corrupt.write_bytes(np.random.default_rng(0).bytes(2048))
    return originals, originals[3], copy, corrupt


def test_two_workers_index_each_content_once(workers: Workers, tmp_path: Path) -> None:
    folder = tmp_path / "messy"
    originals, original, copy, corrupt = write_messy_folder(folder)
    contents = {hashlib.sha256(p.read_bytes()).hexdigest() for p in [*originals, copy]}
    workers.start(2)

    job_id = index_folder(workers.settings, folder)

    sessions = make_session_factory(workers.settings.database_url)
    try:
        with sessions() as session:
            job = session.get(Job, job_id)
            assert job is not None
            assert (job.status, job.total) == (JobStatus.DONE, 40)
            assert job.finished_at is not None
            rows = {r.uri: r for r in session.scalars(select(Image).where(Image.job_id == job_id))}
            versions = set(session.execute(select(Embedding.image_id, Embedding.model_version)))
            upserts = dict(
                session.execute(
                    select(IndexChange.image_id, func.count()).group_by(IndexChange.image_id)
                ).all()
            )
    finally:
        sessions.kw["bind"].dispose()

    assert len(rows) == 40
    indexed = [r for r in rows.values() if r.status == ImageStatus.INDEXED]
    assert len(indexed) == len(contents) == 38
    assert {r.content_key for r in indexed} == contents  # one vector per distinct content
    assert versions == {(r.id, "tiny-test-1") for r in indexed}
    assert all(upserts.get(r.id) == 1 for r in indexed)  # embedded exactly once
    pair = sorted([rows[str(original)], rows[str(copy)]], key=lambda r: r.status)
    assert [r.status for r in pair] == [ImageStatus.DUPLICATE, ImageStatus.INDEXED]
    assert pair[0].duplicate_of == pair[1].id and pair[0].content_key is None
    broken = rows[str(corrupt)]
    assert broken.status == ImageStatus.FAILED and broken.error
    assert all(n > 0 for n in workers.count_in_logs("succeeded")), "a worker did no work"


def test_reindexing_the_same_folder_adds_nothing(workers: Workers, image_folder: Path) -> None:
    workers.start(1)
    first = run_cli(workers.env, "index", str(image_folder), "--no-progress")
    assert first.returncode == 0 and "added 12," in first.stdout, describe(first)
    received = workers.count_in_logs("received")

    again = run_cli(workers.env, "index", str(image_folder), "--no-progress")

    assert again.returncode == 0, describe(again)
    assert "added 0," in again.stdout, describe(again)
    assert "already indexed 12," in again.stdout, describe(again)
    assert workers.count_in_logs("received") == received  # nothing was sent to the queue
    sessions = make_session_factory(workers.settings.database_url)
    try:
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(Image)) == 12
            last = session.scalars(select(Job).order_by(Job.id.desc())).first()
            assert last is not None
            assert (last.status, last.total, last.skipped) == (JobStatus.DONE, 0, 12)
    finally:
        sessions.kw["bind"].dispose()
