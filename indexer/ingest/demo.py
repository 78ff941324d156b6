"""The bundled demo: its Omniglot catalog, the triplet-trained model that serves it, and the
catalog of its own it lives in."""

from __future__ import annotations

from dataclasses import replace
from importlib import resources
from pathlib import Path

from indexer.catalog.database import make_session_factory
from indexer.catalog.settings import Settings
from indexer.encoder.checkpoint import load_checkpoint
from indexer.encoder.registry import ensure_serving_model, serving_model
from indexer.ingest.celery_app import make_celery
from indexer.ingest.reindex import drive_reindex, start_reindex

DEMO_MODEL_NAME = "omniglot_small_cnn.pt"


def demo_catalog() -> Path:
    """The bundled Omniglot demo catalog (MIT; see its README for attribution)."""
    return Path(str(resources.files("indexer") / "demo_catalog"))


def demo_model() -> Path:
    """The shipped demo checkpoint: trained on Omniglot characters not in the demo catalog.

    `benchmarks/train_demo_model.py` wrote it; `indexer/demo_model/README.md` says how.
    """
    return Path(str(resources.files("indexer") / "demo_model" / DEMO_MODEL_NAME))


def demo_settings(settings: Settings) -> Settings:
    """The demo's own catalog: SQLite under HOME/demo, in-process tasks, the demo model.

    The user's catalog (and whatever model serves it) is never touched, whatever
    DATABASE_URL and REDIS_URL say.
    """
    home = settings.home / "demo"
    return replace(
        settings,
        home=home,
        database_url=f"sqlite:///{home / 'lookalike.db'}",
        redis_url=None,
        model=str(demo_model()),
    )


def use_demo_model(settings: Settings) -> str:
    """Make the shipped model serve the demo catalog; return its version.

    A new catalog registers it on first use; one serving another model (an earlier demo
    model, or one switched by hand) is re-embedded with it first, so the demo never answers
    with another model's vectors nor mixes two models.
    """
    model = demo_model()
    version = load_checkpoint(model).version
    sessions = make_session_factory(settings.database_url)
    try:
        with sessions.begin() as session:
            row = serving_model(session) or ensure_serving_model(session, settings)
            serving = row.version
        if serving != version:
            job_id = start_reindex(sessions, load_checkpoint(model), source=model)
            drive_reindex(make_celery(settings), sessions, job_id)
    finally:
        sessions.kw["bind"].dispose()
    return version
