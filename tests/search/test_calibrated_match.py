"""A calibrated model's threshold decides `match` on every hit; uncalibrated models say None."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from indexer.catalog.settings import Settings
from indexer.encoder.calibration import Calibration
from indexer.encoder.checkpoint import save_checkpoint
from indexer.encoder.model import EncoderConfig, SiameseEncoder
from search.runtime import build_runtime
from tests.conftest import index_folder


@pytest.fixture
def calibrated_settings(settings: Settings, tmp_path: Path) -> Settings:
    torch.manual_seed(0)
    config = EncoderConfig(backbone="small_cnn", embedding_dim=32, input_size=64, pretrained=False)
    calibration = Calibration(
        distance="cosine", eer=0.1, eer_threshold=0.9999, far_thresholds={}, n_pairs=10
    )
    path = tmp_path / "calibrated.pt"
    save_checkpoint(path, SiameseEncoder(config), metadata={"calibration": calibration.to_dict()})
    return Settings.from_env(
        {
            "LOOKALIKE_HOME": str(settings.home),
            "LOOKALIKE_MODEL": str(path),
            "LOOKALIKE_DEVICE": "cpu",
        }
    )


def test_hits_above_the_threshold_match(calibrated_settings: Settings, image_folder: Path) -> None:
    index_folder(calibrated_settings, image_folder)
    engine = build_runtime(calibrated_settings, load="now").engine
    hits = engine.search_image((image_folder / "a" / "img_0005.png").read_bytes(), k=12).hits
    assert hits[0].match is True  # the image itself, similarity 1
    assert all(h.match is (h.score >= 0.9999) for h in hits)
    assert any(h.match is False for h in hits)


def test_uncalibrated_models_do_not_decide(settings: Settings, image_folder: Path) -> None:
    index_folder(settings, image_folder)
    engine = build_runtime(settings, load="now").engine
    hits = engine.search_image((image_folder / "a" / "img_0005.png").read_bytes(), k=3).hits
    assert [h.match for h in hits] == [None, None, None]
