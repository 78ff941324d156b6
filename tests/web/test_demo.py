"""`lookalike demo`: its own catalog, served by the shipped triplet-trained model (no Redis)."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from indexer.catalog.database import make_session_factory
from indexer.catalog.settings import Settings
from indexer.encoder.checkpoint import load_checkpoint
from indexer.encoder.registry import serving_model
from indexer.ingest.demo import demo_catalog, demo_model, demo_settings, use_demo_model
from search.runtime import build_runtime
from tests.conftest import index_folder
from web import create_app
from web.cli.main import main

SHIPPED = load_checkpoint(demo_model()).version


def compare(client: FlaskClient, a: Path, b: Path) -> dict:
    data = {
        "image_a": (io.BytesIO(a.read_bytes()), a.name),
        "image_b": (io.BytesIO(b.read_bytes()), b.name),
    }
    response = client.post("/api/v1/compare", data=data)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def drawings(character: str) -> list[Path]:
    return sorted((demo_catalog() / character).glob("*.png"))


def serving_version(settings: Settings) -> str:
    sessions = make_session_factory(settings.database_url)
    with sessions() as session:
        row = serving_model(session)
    sessions.kw["bind"].dispose()
    assert row is not None
    return row.version


def test_the_demo_lives_in_a_catalog_of_its_own(settings: Settings) -> None:
    demo = demo_settings(replace(settings, redis_url="redis://elsewhere:6379/0"))
    assert demo.home == settings.home / "demo"
    assert demo.database_url == f"sqlite:///{settings.home / 'demo' / 'lookalike.db'}"
    assert demo.redis_url is None and demo.model == str(demo_model())


def test_demo_serves_the_shipped_model_and_compare_tells_characters_apart(
    env: Settings,
    image_folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["index", str(image_folder), "--no-progress"]) == 0  # the user's own catalog
    served: list[Settings] = []
    monkeypatch.setattr("web.cli.catalog.serve", lambda s, **_: served.append(s) or 0)
    assert main(["demo"]) == 0
    assert "added 480, duplicates skipped 0" in capsys.readouterr().out
    assert serving_version(env) == "tiny-test-1"  # LOOKALIKE_MODEL's catalog is untouched

    runtime = build_runtime(served[0], load="now")
    client = create_app(runtime=runtime).test_client()
    health = client.get("/api/v1/health").get_json()
    assert health["index"] == health["index"] | {"size": 480, "model_version": SHIPPED}
    card = health["model"]
    assert card["version"] == SHIPPED and health["calibration"]["source"] == "model"
    assert card["objective"].startswith("triplet loss")
    assert "Omniglot" in card["trained_on"] and "none of" in card["trained_on"]

    greek, korean = drawings("Greek/character03"), drawings("Korean/character01")
    different = compare(client, greek[0], korean[0])
    assert different["same"] is False and different["threshold_source"] == "model"
    assert different["promised_far"] == pytest.approx(0.01)  # the shipped operating point
    assert compare(client, greek[0], greek[1])["same"] is True
    runtime.sessions.kw["bind"].dispose()


def test_a_demo_catalog_serving_another_model_is_reindexed(settings: Settings) -> None:
    demo = demo_settings(settings)
    characters = [
        demo_catalog() / "Greek" / "character01",
        demo_catalog() / "Latin" / "character01",
    ]
    index_folder(replace(demo, model=settings.model), *characters)  # served by the tiny model
    assert serving_version(demo) == "tiny-test-1"

    assert use_demo_model(demo) == SHIPPED
    assert serving_version(demo) == SHIPPED
    runtime = build_runtime(demo, load="now")
    assert runtime.serving.version == SHIPPED and runtime.embedder.dim == 128
    assert runtime.index_sync.status().size == 20  # every image, with the shipped model only
    runtime.sessions.kw["bind"].dispose()
