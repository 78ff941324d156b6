"""What describes an encoder without its weights: its config and the facts every vector needs.

Nothing here imports PyTorch, so the ONNX Runtime path and the command line can describe,
preprocess for and register a model without loading it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from indexer.encoder.fit_names import check_fit

# Input scalings, as (mean, std) of pixels in [0, 1]: x -> (x - mean) / std.
# EfficientNet-Lite's published preprocessing is (pixel - 127) / 128, inputs in [-1, 1]
# (tensorflow/tpu models/official/efficientnet/lite: MEAN_RGB 127.0, STDDEV_RGB 128.0); its
# ImageNet weights were trained on exactly that. The small CNN trains from scratch and uses
# the same symmetric range.
UNIT_RANGE_MEAN = (127.0 / 255.0,) * 3
UNIT_RANGE_STD = (128.0 / 255.0,) * 3
# ImageNet mean/std: what checkpoints written before model version 2 were trained with (their
# config stores it, so they keep getting it); wrong for the Lite0 weights (caltech101-7 mAP
# 0.973 vs 0.979, a 1,000-photo set 0.856 vs 0.902).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class EncoderConfig:
    """Everything needed to rebuild an encoder; stored in every checkpoint."""

    backbone: str = "efficientnet_lite0"
    embedding_dim: int | None = None  # None: no head, the backbone's pooled features
    input_size: int = 224
    grayscale: bool = False
    pretrained: bool = True
    width: int = 16  # small_cnn: channels of its first stage (doubling per stage)
    mean: tuple[float, ...] = UNIT_RANGE_MEAN
    std: tuple[float, ...] = UNIT_RANGE_STD
    fit: str = "stretch"  # how the image becomes square before resizing (indexer.encoder.fit)

    def __post_init__(self) -> None:
        check_fit(self.fit)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> EncoderConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known.setdefault("mean", IMAGENET_MEAN)  # a config without them predates version 2
        known.setdefault("std", IMAGENET_STD)
        for key in ("mean", "std"):
            if key in known:
                known[key] = tuple(known[key])  # type: ignore[arg-type]
        return cls(**known)  # type: ignore[arg-type]

    @property
    def channels(self) -> int:
        return 1 if self.grayscale else 3


@dataclass(frozen=True)
class ModelInfo:
    """A model as the catalog and the embedders see it: version, width, config, metadata."""

    version: str
    dim: int
    config: EncoderConfig
    metadata: dict[str, Any] = field(default_factory=dict)
