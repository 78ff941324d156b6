"""A catalog built by the off-the-shelf model's earlier version (ImageNet input scaling) keeps
answering with that version, consistently, until `lookalike reindex --default` re-embeds it:
the two versions' vectors are never mixed in one index."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from indexer.catalog.database import make_session_factory
from indexer.catalog.schema import Embedding, ModelStatus
from indexer.catalog.settings import Settings
from indexer.encoder.checkpoint import DEFAULT_VERSION, LEGACY_DEFAULT_VERSIONS, default_model
from indexer.encoder.registry import register_model
from search.runtime import build_runtime
from tests.conftest import index_folder, write_images
from web.cli.main import main

LEGACY = next(iter(LEGACY_DEFAULT_VERSIONS))


def stored(settings: Settings, version: str) -> dict[int, np.ndarray]:
    sessions = make_session_factory(settings.database_url)
    with sessions() as session:
        rows = session.scalars(select(Embedding).where(Embedding.model_version == version)).all()
        vectors = {r.image_id: np.frombuffer(r.vector, dtype=np.float32) for r in rows}
    sessions.kw["bind"].dispose()
    return vectors


def test_an_old_catalog_serves_its_version_until_reindexed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("REDIS_URL", "DATABASE_URL", "LOOKALIKE_MODEL", "LOOKALIKE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOOKALIKE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LOOKALIKE_DEVICE", "cpu")
    settings = Settings.from_env()
    sessions = make_session_factory(settings.database_url)
    with sessions.begin() as session:  # what a catalog made before version 2 holds
        register_model(session, default_model(LEGACY), source=None, status=ModelStatus.SERVING)
    sessions.kw["bind"].dispose()
    folder = tmp_path / "catalog"
    paths = write_images(folder, range(3))
    index_folder(settings, folder)

    old = stored(settings, LEGACY)
    assert len(old) == 3 and not stored(settings, DEFAULT_VERSION)
    with caplog.at_level(logging.WARNING):
        runtime = build_runtime(settings, load="now")
    assert runtime.serving.version == LEGACY
    assert "lookalike reindex --default" in caplog.text
    hit = runtime.engine.search_image(paths[1].read_bytes(), k=1).hits[0]
    assert hit.uri == str(paths[1].resolve()) and hit.score == pytest.approx(1, abs=1e-4)

    assert main(["reindex", "--default", "--no-progress"]) == 0
    runtime.serving.check_for_switch(wait=True)
    assert runtime.serving.version == DEFAULT_VERSION
    new = stored(settings, DEFAULT_VERSION)
    assert set(new) == set(old)
    for image_id in new:  # the new scaling made different vectors
        assert float(new[image_id] @ old[image_id]) < 0.999
    hit = runtime.engine.search_image(paths[2].read_bytes(), k=1).hits[0]
    assert hit.uri == str(paths[2].resolve()) and hit.score == pytest.approx(1, abs=1e-4)
    runtime.sessions.kw["bind"].dispose()
