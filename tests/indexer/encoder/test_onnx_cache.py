"""The record beside a cached export: written once an export serves a model, used to run it
without PyTorch, and never trusted once anything it names has changed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from indexer.catalog.settings import Settings
from indexer.encoder import embedder as embedder_module
from indexer.encoder import onnx_cache
from indexer.encoder.checkpoint import (
    DEFAULT_VERSION,
    LEGACY_DEFAULT_VERSIONS,
    ModelSource,
    load_checkpoint,
    save_checkpoint,
)
from indexer.encoder.embedder import Embedder, cached_embedder
from indexer.encoder.model import EncoderConfig, SiameseEncoder
from indexer.encoder.onnx_cache import find_export, record_path
from tests.conftest import make_image

IMAGES = [make_image(seed, (80, 64)) for seed in range(4)]
CONFIG = EncoderConfig(backbone="small_cnn", embedding_dim=8, input_size=32, pretrained=False)


def checkpoint(path: Path, seed: int, version: str = "cache-test-1") -> Path:
    torch.manual_seed(seed)
    save_checkpoint(path, SiameseEncoder(CONFIG), version=version, metadata={"note": seed})
    return path


@pytest.fixture
def cpu_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setattr(embedder_module, "_CACHE", {})  # a fresh process, as far as it knows
    return Settings.from_env({"LOOKALIKE_HOME": str(tmp_path / "home"), "LOOKALIKE_DEVICE": "cpu"})


def test_the_first_load_records_the_export_and_the_next_runs_it_alone(
    cpu_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = ModelSource("cache-test-1", checkpoint(tmp_path / "m.pt", seed=1))
    first = cached_embedder(cpu_settings, "cache-test-1", lambda: source)
    assert (
        first.runtime == "onnx" and record_path(cpu_settings.onnx_dir, source.identity()).is_file()
    )

    monkeypatch.setattr(embedder_module, "_CACHE", {})
    monkeypatch.setattr(ModelSource, "load", lambda self: pytest.fail("loaded the model"))
    again = cached_embedder(cpu_settings, "cache-test-1", lambda: source)
    assert (again.version, again.dim, again.config) == (first.version, first.dim, first.config)
    assert again.metadata == {"note": 1} and again.runtime == "onnx"
    np.testing.assert_allclose(again.embed(IMAGES), first.embed(IMAGES), atol=1e-6)


def test_new_weights_under_the_same_path_and_version_are_loaded_not_the_old_export(
    cpu_settings: Settings, tmp_path: Path
) -> None:
    path = checkpoint(tmp_path / "m.pt", seed=1)
    cached_embedder(cpu_settings, "cache-test-1", lambda: ModelSource("cache-test-1", path))
    checkpoint(path, seed=2)  # retrained in place, same version string
    embedder_module._CACHE.clear()
    now = cached_embedder(cpu_settings, "cache-test-1", lambda: ModelSource("cache-test-1", path))
    expected = Embedder(load_checkpoint(path), device="cpu").embed(IMAGES)
    np.testing.assert_allclose(now.embed(IMAGES), expected, atol=1e-5)


@pytest.mark.parametrize(
    "change",
    ["graph version", "export size", "export missing", "other version", "unreadable", "format"],
)
def test_a_stale_or_broken_record_is_not_used(
    change: str, cpu_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = ModelSource("cache-test-1", checkpoint(tmp_path / "m.pt", seed=1))
    cached_embedder(cpu_settings, "cache-test-1", lambda: source)
    folder, identity = cpu_settings.onnx_dir, source.identity()
    found = find_export(folder, identity, "cache-test-1")
    assert found is not None
    record = record_path(folder, identity)
    version = "cache-test-1"
    if change == "graph version":
        monkeypatch.setattr(onnx_cache, "GRAPH_VERSION", onnx_cache.GRAPH_VERSION + 1)
    elif change == "export size":
        found.path.write_bytes(found.path.read_bytes()[:-10])
    elif change == "export missing":
        found.path.unlink()
    elif change == "other version":
        version = "cache-test-2"
    elif change == "unreadable":
        record.write_text("{not json")
    else:
        record.write_text(json.dumps(json.loads(record.read_text()) | {"format": "other/1"}))
    assert find_export(folder, identity, version) is None


def test_the_off_the_shelf_versions_have_identities_of_their_own() -> None:
    current, legacy = ModelSource(DEFAULT_VERSION), ModelSource(next(iter(LEGACY_DEFAULT_VERSIONS)))
    assert current.identity().startswith("default-") and current.identity() != legacy.identity()
    assert ModelSource(DEFAULT_VERSION).identity() == current.identity()  # stable
