"""GalleryService on SQLite and PostgreSQL: enrol, identify, re-embed for a new model."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
from sqlalchemy import select, update

from indexer.catalog.schema import GalleryItem
from indexer.catalog.settings import Settings
from search.runtime import build_runtime
from tests.conftest import make_image


def png(seed: int) -> bytes:
    buffer = io.BytesIO()
    make_image(seed).save(buffer, format="PNG")
    return buffer.getvalue()


def test_enrol_identify_and_re_embed_stale_references(
    settings: Settings, database_url: str
) -> None:
    runtime = build_runtime(replace(settings, database_url=database_url), load="lazy")
    galleries = runtime.galleries
    for seed, label in [(1, "ann"), (2, "ann"), (3, "bob"), (4, "cyd")]:
        galleries.enrol("team", label=label, data=png(seed), filename=f"{seed}.png")
    assert galleries.identify("team", png(3)).label == "bob"
    # References made by another model version are embedded again by the serving one.
    with runtime.sessions.begin() as session:
        session.execute(
            update(GalleryItem).values(
                model_version="retired-model", vector=np.zeros(1, np.float32).tobytes()
            )
        )
    result = galleries.identify("team", png(4))
    assert result.label == "cyd" and result.score > 0.9999
    with runtime.sessions() as session:
        versions = set(session.scalars(select(GalleryItem.model_version)))
    assert versions == {runtime.serving.version}
    runtime.sessions.kw["bind"].dispose()
