"""Updates on SQLite and PostgreSQL: a changed file is re-embedded when indexed again."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from indexer.catalog.database import SessionFactory
from indexer.catalog.schema import ChangeOp, Embedding, Image, ImageStatus, IndexChange, Job
from indexer.catalog.settings import Settings
from search.runtime import Runtime, build_runtime
from tests.conftest import index_folder, make_image, write_images


@pytest.fixture
def catalog(settings: Settings, database_url: str, tmp_path: Path) -> Settings:
    """Settings on either database, over a folder of BMPs (fixed size for a given picture size)."""
    settings = replace(settings, database_url=database_url)
    write_images(tmp_path / "cat", range(6), fmt="BMP")
    shutil.copy(tmp_path / "cat" / "img_0002.bmp", tmp_path / "cat" / "zz_copy_of_2.bmp")
    index_folder(settings, tmp_path / "cat")
    return settings


@pytest.fixture
def runtime(catalog: Settings) -> Runtime:
    rt = build_runtime(catalog, load="now")
    yield rt
    rt.sessions.kw["bind"].dispose()


def rows(sessions: SessionFactory) -> dict[str, Image]:
    with sessions() as session:
        return {Path(r.uri).name: r for r in session.scalars(select(Image))}


def vector(sessions: SessionFactory, image_id: int) -> np.ndarray:
    with sessions() as session:
        blob = session.scalars(select(Embedding.vector).where(Embedding.image_id == image_id)).one()
    return np.frombuffer(blob, dtype=np.float32)


def changes(sessions: SessionFactory, image_id: int) -> list[str]:
    with sessions() as session:
        query = select(IndexChange.op).where(IndexChange.image_id == image_id)
        return list(session.scalars(query.order_by(IndexChange.seq)))


def test_changed_files_are_reembedded_and_reach_search(
    catalog: Settings, runtime: Runtime, tmp_path: Path
) -> None:
    folder = tmp_path / "cat"
    before = rows(runtime.sessions)
    old_vector = vector(runtime.sessions, before["img_0001.bmp"].id)
    make_image(101, size=(60, 50)).save(folder / "img_0001.bmp")  # new size
    make_image(103).save(folder / "img_0003.bmp")  # same size, new content
    os.utime(folder / "img_0004.bmp", ns=(1, 1))  # touched: same content, other mtime
    make_image(102).save(folder / "img_0002.bmp")  # the canonical copy of a duplicate pair

    job_id = index_folder(catalog, folder)

    after = rows(runtime.sessions)
    with runtime.sessions() as session:
        job = session.get(Job, job_id)
        assert job is not None and (job.total, job.skipped) == (4, 3)  # 1, 2, 3 and the copy
    changed = ("img_0001.bmp", "img_0002.bmp", "img_0003.bmp")
    for name in changed:
        assert after[name].status == ImageStatus.INDEXED and after[name].job_id == job_id
        assert after[name].sha256 != before[name].sha256
        assert changes(runtime.sessions, after[name].id) == [
            ChangeOp.UPSERT,
            ChangeOp.DELETE,
            ChangeOp.UPSERT,
        ]
    assert not np.allclose(vector(runtime.sessions, after["img_0001.bmp"].id), old_vector)
    copy = after["zz_copy_of_2.bmp"]  # lost its canonical row: now the indexed copy itself
    assert copy.status == ImageStatus.INDEXED and copy.duplicate_of is None
    assert copy.content_key == before["img_0002.bmp"].sha256
    for name in ("img_0000.bmp", "img_0004.bmp", "img_0005.bmp"):
        assert after[name].job_id == before[name].job_id
        assert changes(runtime.sessions, after[name].id) == [ChangeOp.UPSERT]

    runtime.index_sync.catch_up()  # the search process that was running all along
    for name in (*changed, "zz_copy_of_2.bmp"):
        hit = runtime.engine.search_image((folder / name).read_bytes(), k=1).hits[0]
        assert (hit.uri, hit.score) == (str(folder / name), pytest.approx(1.0, abs=1e-4))
    assert runtime.index_sync.status().size == 7

    again = index_folder(catalog, folder)
    with runtime.sessions() as session:
        job = session.get(Job, again)
        assert job is not None and (job.total, job.skipped) == (0, 7)


def test_a_failed_file_that_was_fixed_is_retried(catalog: Settings, tmp_path: Path) -> None:
    broken = tmp_path / "cat" / "broken.bmp"
    broken.write_bytes(b"BM not an image")
    index_folder(catalog, broken)
    make_image(7).save(broken)

    index_folder(catalog, broken)

    rt = build_runtime(catalog, load="now")
    try:
        assert rows(rt.sessions)["broken.bmp"].status == ImageStatus.INDEXED
    finally:
        rt.sessions.kw["bind"].dispose()
