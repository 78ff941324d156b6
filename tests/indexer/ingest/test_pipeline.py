"""The indexing core on SQLite and PostgreSQL: embed, de-duplicate, record failures, idempotent."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from indexer.catalog.database import SessionFactory, make_session_factory
from indexer.catalog.images import delete_image
from indexer.catalog.schema import ChangeOp, Embedding, Image, ImageStatus, IndexChange
from indexer.encoder.checkpoint import load_checkpoint
from indexer.encoder.embedder import Embedder
from indexer.ingest.pipeline import embed_images
from indexer.ingest.registration import register_files
from indexer.ingest.scan import scan_paths
from tests.conftest import write_images


@pytest.fixture
def sessions(database_url: str) -> SessionFactory:
    factory = make_session_factory(database_url)
    yield factory
    factory.kw["bind"].dispose()


@pytest.fixture
def embedder(tiny_model_path: Path) -> Embedder:
    return Embedder(load_checkpoint(tiny_model_path), device="cpu", batch_size=4)


def register(sessions: SessionFactory, folder: Path) -> list[int]:
    with sessions.begin() as session:
        ids, _ = register_files(session, scan_paths([folder]).files)
    return ids


def test_embeds_dedupes_and_records_failures(
    sessions: SessionFactory, embedder: Embedder, tmp_path: Path
) -> None:
    folder = tmp_path / "cat"
    paths = write_images(folder, range(5))
    shutil.copy(paths[0], folder / "copy_of_0.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    ids = register(sessions, folder)
    assert len(ids) == 7
    with sessions.begin() as session:
        report = embed_images(session, [embedder], ids, max_pixels=10**7)
    assert len(report.indexed) == 5
    assert len(report.duplicates) == 1
    assert len(report.failed) == 1 and "corrupt" in report.failed[0][1]
    with sessions() as session:
        rows = {Path(r.uri).name: r for r in session.scalars(select(Image))}
        assert rows["broken.png"].status == ImageStatus.FAILED
        first, copy = rows["copy_of_0.png"], rows["img_0000.png"]  # the copy sorts first
        assert first.status == ImageStatus.INDEXED
        assert copy.status == ImageStatus.DUPLICATE and copy.duplicate_of == first.id
        indexed = {r.id for r in rows.values() if r.status == ImageStatus.INDEXED}
        embeddings = session.scalars(select(Embedding)).all()
        assert {e.image_id for e in embeddings} == indexed
        assert {e.model_version for e in embeddings} == {"tiny-test-1"}
        vectors = np.stack([np.frombuffer(e.vector, dtype=np.float32) for e in embeddings])
        assert vectors.shape == (5, embedder.dim)
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        logged = session.scalar(select(func.count()).select_from(IndexChange))
        assert logged == 5


def test_redelivered_batch_changes_nothing(
    sessions: SessionFactory, embedder: Embedder, tmp_path: Path
) -> None:
    write_images(tmp_path / "cat", range(4))
    ids = register(sessions, tmp_path / "cat")
    for _ in range(2):
        with sessions.begin() as session:
            embed_images(session, [embedder], ids, max_pixels=10**7)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(IndexChange)) == 4
    assert register(sessions, tmp_path / "cat") == []  # known uris are not registered twice


def test_vectors_match_direct_embedding(
    sessions: SessionFactory, embedder: Embedder, tmp_path: Path
) -> None:
    from PIL import Image as PILImage

    paths = write_images(tmp_path / "cat", range(3))
    ids = register(sessions, tmp_path / "cat")
    with sessions.begin() as session:
        embed_images(session, [embedder], ids, max_pixels=10**7)
    direct = embedder.embed([PILImage.open(p).convert("RGB") for p in paths])
    with sessions() as session:
        stored = [
            np.frombuffer(session.get(Embedding, (i, embedder.version)).vector, dtype=np.float32)
            for i in sorted(ids)
        ]
    np.testing.assert_allclose(np.stack(stored), direct, atol=1e-5)


def test_big_jpegs_keep_their_own_size_and_the_same_vectors(
    sessions: SessionFactory, embedder: Embedder, tmp_path: Path
) -> None:
    """Drafted and prepared in the decode threads: the row records the file's pixels, and the
    vectors are those of embedding the drafted images directly."""
    from PIL import Image as PILImage

    from indexer.encoder.decode import decode_image
    from tests.conftest import make_image

    (tmp_path / "big").mkdir()
    for seed in range(3):
        make_image(seed, (1200, 900)).save(tmp_path / "big" / f"{seed}.jpg", quality=90)
    ids = register(sessions, tmp_path / "big")
    with sessions.begin() as session:
        embed_images(session, [embedder], ids, max_pixels=10**7, decode_threads=2)
    with sessions() as session:
        rows = session.scalars(select(Image).order_by(Image.id)).all()
        assert {(r.width, r.height) for r in rows} == {(1200, 900)}
        stored = np.stack(
            [np.frombuffer(session.get(Embedding, (r.id, embedder.version)).vector, np.float32)
             for r in rows]
        )  # fmt: skip
        paths = [Path(r.uri) for r in rows]
    drafted = [decode_image(p.read_bytes(), max_pixels=10**7, draft_size=embedder.draft_size)
               for p in paths]  # fmt: skip
    assert all(isinstance(im, PILImage.Image) and im.size[0] < 1200 for im in drafted)
    np.testing.assert_allclose(stored, embedder.embed(drafted), atol=1e-5)


def test_delete_logs_a_change(sessions: SessionFactory, embedder: Embedder, tmp_path: Path) -> None:
    write_images(tmp_path / "cat", range(2))
    ids = register(sessions, tmp_path / "cat")
    with sessions.begin() as session:
        embed_images(session, [embedder], ids, max_pixels=10**7)
    with sessions.begin() as session:
        delete_image(session, ids[0])
    with sessions() as session:
        assert session.get(Image, ids[0]) is None
        ops = session.scalars(select(IndexChange.op).where(IndexChange.image_id == ids[0])).all()
        assert ops == [ChangeOp.UPSERT, ChangeOp.DELETE]


def test_parallel_decoding_gives_the_same_rows(
    sessions: SessionFactory, embedder: Embedder, tmp_path: Path
) -> None:
    write_images(tmp_path / "cat", range(9))
    (tmp_path / "cat" / "bad.png").write_bytes(b"not a png")
    ids = register(sessions, tmp_path / "cat")
    with sessions.begin() as session:
        report = embed_images(session, [embedder], ids, max_pixels=10**7, decode_threads=4)
    assert len(report.indexed) == 9 and len(report.failed) == 1
    with sessions() as session:
        rows = session.scalars(select(Image).order_by(Image.id)).all()
        for row in rows:
            if row.status == ImageStatus.INDEXED:
                data = Path(row.uri).read_bytes()
                assert row.sha256 == hashlib.sha256(data).hexdigest()
                assert row.size_bytes == len(data) and row.mtime_ns
        assert session.scalar(select(func.count()).select_from(Embedding)) == 9
