"""The ONNX Runtime encoder against the PyTorch one, and the automatic fallback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.catalog.errors import ConfigError
from indexer.encoder import onnx_encoder
from indexer.encoder.checkpoint import default_model, load_checkpoint
from indexer.encoder.embedder import Embedder
from tests.conftest import make_image

IMAGES = [make_image(seed, (120, 90)) for seed in range(6)]


def cosine_gap(a: np.ndarray, b: np.ndarray) -> float:
    """Largest 1 - cos between matching rows of two (n, d) unit-vector arrays."""
    return float(1.0 - (a * b).sum(axis=1).min())


@pytest.mark.parametrize("model", ["tiny", "default"])
def test_onnx_and_pytorch_agree(model: str, tiny_model_path: Path, tmp_path: Path) -> None:
    loaded = load_checkpoint(tiny_model_path) if model == "tiny" else default_model()
    fast = Embedder(loaded, device="cpu", runtime="onnx", onnx_dir=tmp_path, batch_size=4)
    slow = Embedder(loaded, device="cpu", runtime="torch")
    assert fast.runtime == "onnx" and slow.runtime == "torch"
    a, b = fast.embed(IMAGES), slow.embed(IMAGES)  # batches of 4 and 2: dynamic batch size
    assert a.shape == b.shape == (len(IMAGES), loaded.encoder.dim)
    assert cosine_gap(a, b) < 1e-4
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert len(list(tmp_path.glob("*.onnx"))) == 1  # exported once, cached by version + weights


def test_the_export_is_reused(tiny_model_path: Path, tmp_path: Path) -> None:
    loaded = load_checkpoint(tiny_model_path)
    Embedder(loaded, device="cpu", runtime="auto", onnx_dir=tmp_path)
    (path,) = tmp_path.glob("*.onnx")
    stamp = path.stat().st_mtime_ns
    again = Embedder(loaded, device="cpu", runtime="auto", onnx_dir=tmp_path)
    assert again.runtime == "onnx" and path.stat().st_mtime_ns == stamp


def test_a_failed_export_falls_back_to_pytorch(
    tiny_model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("exporter exploded")

    monkeypatch.setattr(onnx_encoder, "export_onnx", broken)
    loaded = load_checkpoint(tiny_model_path)
    embedder = Embedder(loaded, device="cpu", runtime="auto", onnx_dir=tmp_path)
    assert embedder.runtime == "torch"
    reference = Embedder(loaded, device="cpu", runtime="torch").embed(IMAGES)
    assert cosine_gap(embedder.embed(IMAGES), reference) < 1e-6


def test_without_onnxruntime_pytorch_runs(
    tiny_model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(onnx_encoder, "onnx_available", lambda: False)
    embedder = Embedder(load_checkpoint(tiny_model_path), runtime="auto", onnx_dir=tmp_path)
    assert embedder.runtime == "torch" and not list(tmp_path.glob("*.onnx"))
    assert embedder.embed(IMAGES[:2]).shape == (2, 32)


def test_an_unknown_runtime_is_a_config_error(tiny_model_path: Path) -> None:
    with pytest.raises(ConfigError):
        Embedder(load_checkpoint(tiny_model_path), runtime="tensorrt")
