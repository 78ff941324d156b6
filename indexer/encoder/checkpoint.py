"""Encoder checkpoints: weights together with their config and a version string.

PyTorch is imported only where weights are read, built or written: naming a model, telling
where its weights are (`ModelSource`) and the versions below need none.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from indexer.catalog.errors import ModelError
from indexer.encoder.backbones.pretrained import pretrained_weights_path
from indexer.encoder.config import IMAGENET_MEAN, IMAGENET_STD, EncoderConfig, ModelInfo

if TYPE_CHECKING:
    from indexer.encoder.model import SiameseEncoder

FORMAT = "lookalike-encoder/1"
# The off-the-shelf model's version; it changes whenever its vectors would (version 2: the
# backbone's own [-1, 1] input scaling instead of ImageNet mean/std).
DEFAULT_VERSION = "efficientnet_lite0-imagenet-pooled-2"
# Earlier off-the-shelf versions a catalog may still serve, with the input scaling they used:
# they stay loadable so such a catalog keeps answering consistently (never mixing versions)
# until `lookalike reindex --default` re-embeds it.
LEGACY_DEFAULT_VERSIONS = {
    "efficientnet_lite0-imagenet-pooled-1": {"mean": IMAGENET_MEAN, "std": IMAGENET_STD},
}


@dataclass
class LoadedModel:
    """An encoder ready for inference and the version every vector it makes records."""

    encoder: SiameseEncoder
    version: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return self.encoder.dim

    @property
    def info(self) -> ModelInfo:
        """What the catalog and the embedders need to know of it, without its weights."""
        return ModelInfo(self.version, self.encoder.dim, self.encoder.config, dict(self.metadata))


@dataclass(frozen=True)
class ModelSource:
    """Where a model version's weights are, known without loading them."""

    version: str | None  # None: whatever version the checkpoint holds (read when loaded)
    checkpoint: Path | None = None  # None: the off-the-shelf model of `version`

    def identity(self) -> str:
        """A digest that changes whenever the weights might: the checkpoint file's SHA-256,
        or, for the off-the-shelf model, its version and the installed weights file."""
        if self.checkpoint is not None:
            return "checkpoint-" + file_sha256(self.checkpoint)
        weights = pretrained_weights_path()
        stat = weights.stat()
        origin = f"{self.version}|{weights}|{stat.st_size}|{stat.st_mtime_ns}"
        return "default-" + hashlib.sha256(origin.encode()).hexdigest()

    def load(self) -> LoadedModel:
        """The model itself (PyTorch)."""
        if self.checkpoint is None:
            return default_model(self.version or DEFAULT_VERSION)
        return load_checkpoint(self.checkpoint)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def is_default_version(version: str) -> bool:
    """True for the off-the-shelf model's version, current or legacy."""
    return version == DEFAULT_VERSION or version in LEGACY_DEFAULT_VERSIONS


def default_model(version: str = DEFAULT_VERSION) -> LoadedModel:
    """The off-the-shelf model: ImageNet EfficientNet-Lite0 pooled features, no head.

    It carries no calibration: a threshold measured on other images than the user's says
    nothing about theirs (`lookalike calibrate` measures one on the catalog's own labels).
    """
    if version == DEFAULT_VERSION:
        config = EncoderConfig()
    elif version in LEGACY_DEFAULT_VERSIONS:
        config = EncoderConfig(**LEGACY_DEFAULT_VERSIONS[version])  # type: ignore[arg-type]
    else:
        raise ModelError(f"{version} is not a version of the off-the-shelf model")
    from indexer.encoder.model import SiameseEncoder

    encoder = SiameseEncoder(config)
    return LoadedModel(encoder=encoder.eval(), version=version, metadata={})


def weights_digest(encoder: SiameseEncoder) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(encoder.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:12]


def save_checkpoint(
    path: Path,
    encoder: SiameseEncoder,
    *,
    version: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> str:
    """Atomically write a checkpoint; return its version."""
    import torch

    config = encoder.config
    fitted = "" if config.fit == "stretch" else f"-{config.fit}"  # preprocessing makes vectors
    version = version or f"{config.backbone}-d{encoder.dim}-{weights_digest(encoder)}{fitted}"
    payload = {
        "format": FORMAT,
        "config": config.to_dict(),
        "version": version,
        "state_dict": encoder.state_dict(),
        "metadata": metadata or {},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:  # a handle: no random file name inside the zip
            torch.save(payload, handle)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return version


def load_checkpoint(path: Path) -> LoadedModel:
    """Rebuild an encoder from a checkpoint file written by `save_checkpoint`."""
    if not path.is_file():
        raise ModelError(f"model checkpoint not found: {path}")
    import torch

    from indexer.encoder.model import SiameseEncoder

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        raise ModelError(f"cannot read model checkpoint {path}: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ModelError(f"{path} is not a Lookalike encoder checkpoint")
    config = EncoderConfig.from_dict(payload["config"])
    encoder = SiameseEncoder(config, load_pretrained=False)
    encoder.load_state_dict(payload["state_dict"])
    return LoadedModel(
        encoder=encoder.eval(), version=str(payload["version"]), metadata=payload["metadata"]
    )


def load_model(path: str | None) -> LoadedModel:
    """Load the checkpoint at `path`, or the default pretrained model when None."""
    return default_model() if path is None else load_checkpoint(Path(path).expanduser())
