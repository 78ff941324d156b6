"""Model lifecycle: reindex with a new model beside the old one, then swap atomically."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from sqlalchemy import select

from indexer.catalog.schema import Embedding, ModelStatus
from indexer.catalog.settings import Settings
from indexer.encoder.checkpoint import LoadedModel, load_checkpoint, save_checkpoint
from indexer.encoder.model import EncoderConfig, SiameseEncoder
from indexer.ingest.celery_app import make_celery
from indexer.ingest.reindex import drive_reindex, never_worse_warning, start_reindex
from indexer.ingest.uploads import add_image
from search.runtime import build_runtime
from tests.conftest import index_folder
from tests.encoded import png
from web.cli.models import list_models


@pytest.fixture
def new_model(tmp_path: Path) -> Path:
    torch.manual_seed(5)
    config = EncoderConfig(backbone="small_cnn", embedding_dim=16, input_size=48, pretrained=False)
    path = tmp_path / "new.pt"
    save_checkpoint(path, SiameseEncoder(config), version="tiny-new-2")
    return path


def test_reindex_serves_the_old_model_until_the_swap(
    settings: Settings, image_folder: Path, new_model: Path
) -> None:
    index_folder(settings, image_folder)
    runtime = build_runtime(settings, load="now")
    assert runtime.serving.version == "tiny-test-1"
    job_id = start_reindex(runtime.sessions, load_checkpoint(new_model), source=new_model)

    # While building, searches are answered by the old model, and new images get both vectors.
    added = add_image(settings, runtime.sessions, png(700)).image.id
    with runtime.sessions() as session:
        versions = set(
            session.scalars(select(Embedding.model_version).where(Embedding.image_id == added))
        )
    assert versions == {"tiny-test-1", "tiny-new-2"}
    query = (image_folder / "a" / "img_0004.png").read_bytes()
    assert runtime.engine.search_image(query, k=1).hits[0].score == pytest.approx(1, abs=1e-4)
    assert runtime.serving.version == "tiny-test-1"

    done = drive_reindex(make_celery(settings), runtime.sessions, job_id, poll_s=0.05)
    assert done.missing == 0 and done.total == 12  # counted at start; the 13th had both
    runtime.serving.check_for_switch(wait=True)
    assert runtime.serving.version == "tiny-new-2"
    assert runtime.index_sync.status().size == 13
    hit = runtime.engine.search_image(query, k=1).hits[0]
    assert hit.uri == str((image_folder / "a" / "img_0004.png").resolve())
    assert hit.score == pytest.approx(1, abs=1e-4)

    models = {m["version"]: m for m in list_models(settings)}
    assert models["tiny-new-2"]["status"] == ModelStatus.SERVING
    assert models["tiny-test-1"]["status"] == ModelStatus.RETIRED
    assert models["tiny-new-2"]["vectors"] == 13


def test_a_fresh_process_starts_on_the_catalog_serving_model(
    settings: Settings, image_folder: Path, new_model: Path
) -> None:
    index_folder(settings, image_folder)
    sessions = build_runtime(settings, load="lazy").sessions
    job_id = start_reindex(sessions, load_checkpoint(new_model), source=new_model)
    drive_reindex(make_celery(settings), sessions, job_id, poll_s=0.05)
    restarted = build_runtime(settings, load="now")  # LOOKALIKE_MODEL still names the old one
    assert restarted.serving.version == "tiny-new-2"
    assert restarted.embedder.dim == 16


def test_reindexing_the_serving_model_is_refused(settings: Settings, image_folder: Path) -> None:
    from indexer.catalog.errors import BadRequestError

    index_folder(settings, image_folder)
    runtime = build_runtime(settings, load="lazy")
    with pytest.raises(BadRequestError, match="already serving"):
        start_reindex(runtime.sessions, load_checkpoint(Path(str(settings.model))), source=None)


def test_reindex_warns_of_a_win_that_was_not_clear() -> None:
    record = {
        "metric": "map@r",
        "starting_model": 0.4,
        "trained": 0.5,
        "beats_starting_model": True,
        "beats_default_model": None,
        "clear_win": False,
    }
    config = EncoderConfig(backbone="small_cnn", embedding_dim=8, input_size=32, pretrained=False)
    loaded = LoadedModel(SiameseEncoder(config), "v-unclear", {
        "beats_baseline": False, "never_worse": record})  # fmt: skip
    warning = never_worse_warning(loaded)
    assert (
        warning is not None and "did not clearly beat" in warning and "0.4000 -> 0.5000" in warning
    )
    lost = dict(record, beats_starting_model=False, trained=0.3)
    warning = never_worse_warning(LoadedModel(loaded.encoder, "v-lost", {
        "beats_baseline": False, "never_worse": lost}))  # fmt: skip
    assert warning is not None and "did not beat" in warning and "clearly" not in warning
