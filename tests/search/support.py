"""Helpers of the search tests: fill a catalog from a folder, follow it with an IndexSync."""

from __future__ import annotations

from pathlib import Path

from indexer.catalog.database import SessionFactory
from indexer.encoder.embedder import Embedder
from indexer.ingest.pipeline import embed_images
from indexer.ingest.registration import register_files
from indexer.ingest.scan import scan_paths
from search.sync import IndexSync


def add_folder(sessions: SessionFactory, embedder: Embedder, folder: Path) -> list[int]:
    """Register and embed every image under `folder`; return their ids."""
    with sessions.begin() as session:
        ids, _ = register_files(session, scan_paths([folder]).files)
        embed_images(session, [embedder], ids, max_pixels=10**7)
    return ids


def make_sync(sessions: SessionFactory, embedder: Embedder, path: Path, **kw: object) -> IndexSync:
    """An IndexSync of `embedder`'s version that checks the change log on every call."""
    return IndexSync(
        sessions,
        dim=embedder.dim,
        model_version=embedder.version,
        snapshot_path=path,
        interval_s=0.0,
        save_every_s=0.0,
        **kw,  # type: ignore[arg-type]
    )
