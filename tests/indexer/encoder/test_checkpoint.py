"""Checkpoints carry config and version and rebuild the same encoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from indexer.catalog.errors import ModelError
from indexer.encoder.checkpoint import load_checkpoint, load_model, save_checkpoint
from indexer.encoder.embedder import Embedder
from indexer.encoder.model import EncoderConfig, SiameseEncoder
from tests.conftest import make_image


def test_round_trip_keeps_config_version_and_outputs(tmp_path: Path) -> None:
    torch.manual_seed(1)
    config = EncoderConfig(backbone="small_cnn", embedding_dim=12, input_size=40, pretrained=False)
    encoder = SiameseEncoder(config).eval()
    version = save_checkpoint(tmp_path / "m.pt", encoder, metadata={"note": "test"})
    assert version.startswith("small_cnn-d12-")
    loaded = load_checkpoint(tmp_path / "m.pt")
    assert loaded.version == version
    assert loaded.encoder.config == config
    assert loaded.metadata == {"note": "test"}
    images = [make_image(i) for i in range(3)]
    before = Embedder(type(loaded)(encoder, version), device="cpu").embed(images)
    after = Embedder(loaded, device="cpu").embed(images)
    np.testing.assert_allclose(before, after, atol=1e-6)


def test_version_changes_with_weights(tmp_path: Path) -> None:
    config = EncoderConfig(backbone="small_cnn", embedding_dim=8, input_size=32, pretrained=False)
    torch.manual_seed(1)
    v1 = save_checkpoint(tmp_path / "a.pt", SiameseEncoder(config))
    torch.manual_seed(2)
    v2 = save_checkpoint(tmp_path / "b.pt", SiameseEncoder(config))
    assert v1 != v2


def test_bad_checkpoints_are_model_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        load_model(str(tmp_path / "missing.pt"))
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="cannot read"):
        load_checkpoint(junk)
    torch.save({"format": "something-else"}, tmp_path / "other.pt")
    with pytest.raises(ModelError, match="not a Lookalike"):
        load_checkpoint(tmp_path / "other.pt")
