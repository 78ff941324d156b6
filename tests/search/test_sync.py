"""Index sync: snapshot or rebuild at start, then follow the database's change log."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from indexer.catalog.database import SessionFactory, make_session_factory
from indexer.catalog.images import delete_image
from indexer.catalog.schema import ChangeOp, Embedding, Image, IndexChange
from indexer.encoder.checkpoint import load_checkpoint
from indexer.encoder.embedder import Embedder
from indexer.ingest.pipeline import embed_images
from indexer.ingest.registration import register_files
from indexer.ingest.scan import scan_paths
from search.snapshot import SnapshotMeta, load_snapshot, save_snapshot
from search.sync import IndexSync
from search.vector_index import VectorIndex
from tests.conftest import write_images


@pytest.fixture
def sessions(database_url: str) -> SessionFactory:
    factory = make_session_factory(database_url)
    yield factory
    factory.kw["bind"].dispose()


@pytest.fixture
def embedder(tiny_model_path: Path) -> Embedder:
    return Embedder(load_checkpoint(tiny_model_path), device="cpu")


def add_folder(sessions: SessionFactory, embedder: Embedder, folder: Path) -> list[int]:
    with sessions.begin() as session:
        ids, _ = register_files(session, scan_paths([folder]).files)
        embed_images(session, [embedder], ids, max_pixels=10**7)
    return ids


def make_sync(sessions: SessionFactory, embedder: Embedder, path: Path, **kw: object) -> IndexSync:
    return IndexSync(
        sessions,
        dim=embedder.dim,
        model_version=embedder.version,
        snapshot_path=path,
        interval_s=0.0,
        save_every_s=0.0,
        **kw,  # type: ignore[arg-type]
    )


def test_follows_adds_and_deletes_from_another_writer(
    sessions: SessionFactory, embedder: Embedder, tmp_path: Path
) -> None:
    first = add_folder(sessions, embedder, write_images(tmp_path / "a", range(5))[0].parent)
    sync = make_sync(sessions, embedder, tmp_path / "snap.npz")
    assert sync.ensure_ready().ntotal == 5
    other_writer = make_session_factory(str(sessions.kw["bind"].url.render_as_string(False)))
    later = add_folder(other_writer, embedder, write_images(tmp_path / "b", range(5, 8))[0].parent)
    with other_writer.begin() as session:
        delete_image(session, first[0])
    other_writer.kw["bind"].dispose()
    index = sync.require_ready()  # interval 0: syncs on every call
    assert index.ntotal == 7
    _, ids = index.search(np.eye(1, embedder.dim, dtype=np.float32), 10)
    assert first[0] not in ids[0] and set(later) <= set(ids[0])


def test_restart_loads_the_snapshot_then_catches_up(
    sessions: SessionFactory, embedder: Embedder, tmp_path: Path
) -> None:
    add_folder(sessions, embedder, write_images(tmp_path / "a", range(4))[0].parent)
    path = tmp_path / "snap.npz"
    make_sync(sessions, embedder, path).ensure_ready()
    snapshot = load_snapshot(path)
    assert snapshot is not None and snapshot[1].ntotal == 4
    add_folder(sessions, embedder, write_images(tmp_path / "b", range(4, 6))[0].parent)
    restarted = make_sync(sessions, embedder, path)
    assert restarted.ensure_ready().ntotal == 6
    assert restarted.last_seq == 6


@pytest.mark.parametrize("problem", ["corrupt", "other_model"])
def test_unusable_snapshot_is_rebuilt_from_the_database(
    sessions: SessionFactory, embedder: Embedder, tmp_path: Path, problem: str
) -> None:
    add_folder(sessions, embedder, write_images(tmp_path / "a", range(3))[0].parent)
    path = tmp_path / "snap.npz"
    if problem == "corrupt":
        path.write_bytes(b"\x00" * 100)
    else:
        stale = VectorIndex(embedder.dim)
        stale.upsert(np.array([999]), np.eye(1, embedder.dim, dtype=np.float32))
        save_snapshot(path, stale, SnapshotMeta("old-model", embedder.dim, 0, 1))
    sync = make_sync(sessions, embedder, path)
    index = sync.ensure_ready()
    assert index.ntotal == 3 and index.reconstruct(999) is None
    assert load_snapshot(path) is not None


def test_rows_of_another_model_version_are_not_served(
    sessions: SessionFactory, embedder: Embedder, tmp_path: Path
) -> None:
    ids = add_folder(sessions, embedder, write_images(tmp_path / "a", range(3))[0].parent)
    with sessions.begin() as session:
        embedding = session.get(Embedding, (ids[0], embedder.version))
        session.add(
            Embedding(image_id=ids[0], model_version="another-model", vector=embedding.vector)
        )
        session.delete(embedding)
    assert make_sync(sessions, embedder, tmp_path / "s.npz").ensure_ready().ntotal == 2


def test_a_change_committed_late_with_a_lower_seq_is_not_missed(
    embedder: Embedder, tmp_path: Path
) -> None:
    """Concurrent writers can commit sequence numbers out of order; gaps are re-checked."""
    sessions = make_session_factory(f"sqlite:///{tmp_path / 'gap.db'}")
    ids = add_folder(sessions, embedder, write_images(tmp_path / "a", range(3))[0].parent)
    with sessions.begin() as session:
        for change in session.scalars(select(IndexChange)):
            session.delete(change)
    sync = make_sync(sessions, embedder, tmp_path / "s.npz")
    assert sync.ensure_ready().ntotal == 3  # rebuilt from rows, last_seq 0
    with sessions.begin() as session:  # seq 2 commits first ...
        delete_image(session, ids[1])
        session.flush()
        session.scalars(select(IndexChange)).one().seq = 2
    assert sync.require_ready().ntotal == 2
    with sessions.begin() as session:  # ... then the slower seq 1
        session.get(Image, ids[0]).status = "failed"
        session.add(IndexChange(seq=1, image_id=ids[0], op=ChangeOp.UPSERT))
    assert sync.require_ready().ntotal == 1
