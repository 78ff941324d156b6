"""The opt-in INT8 encoder: close to FP32, same retrieval quality, quantised identically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from indexer.encoder.checkpoint import default_model
from indexer.encoder.embedder import Embedder
from indexer.encoder.onnx_int8 import calibration_image
from indexer.training.retrieval_metrics import retrieval_metrics
from tests.conftest import labelled

PER_LABEL = 20


def labelled_photos() -> tuple[list[Image.Image], np.ndarray]:
    """20 caltech101-7 photos per category (140), with their labels."""
    chosen = [(p, label) for label, ps in labelled("caltech101-7").items() for p in ps[:PER_LABEL]]
    images = [Image.open(p).convert("RGB") for p, _ in chosen]
    return images, np.array([label for _, label in chosen])


@pytest.mark.shared_data("caltech101-7")
def test_int8_keeps_retrieval_quality_and_stays_close_to_fp32(tmp_path: Path) -> None:
    model = default_model()
    fp32 = Embedder(model, device="cpu", runtime="onnx", onnx_dir=tmp_path)
    int8 = Embedder(model, device="cpu", runtime="onnx-int8", onnx_dir=tmp_path)
    assert (fp32.runtime, int8.runtime) == ("onnx", "onnx-int8")
    assert sorted(p.name.endswith("-int8.onnx") for p in tmp_path.glob("*.onnx")) == [False, True]
    images, labels = labelled_photos()
    a, b = fp32.embed(images), int8.embed(images)
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    cosine = (a * b).sum(axis=1)
    assert cosine.mean() > 0.98 and cosine.min() > 0.93
    quality_fp32 = retrieval_metrics(a, labels)["map@r"]
    quality_int8 = retrieval_metrics(b, labels)["map@r"]
    assert quality_int8 > quality_fp32 - 0.01  # the bar of the performance issue: < 1 point


def test_calibration_images_are_seeded_and_varied() -> None:
    first, again = calibration_image(3, 64), calibration_image(3, 64)
    assert np.array_equal(np.asarray(first), np.asarray(again))
    other = np.asarray(calibration_image(4, 64), dtype=np.float32)
    assert np.abs(other - np.asarray(first, dtype=np.float32)).mean() > 10
    assert np.asarray(first).std() > 20  # structure, not a flat colour
