"""What a model is, in words: the card the page and `/api/v1/health` show.

A checkpoint may carry a card in its metadata (`CARD_KEY`: "description", "trained_on");
the objective is read from the training configuration every `lookalike train` checkpoint
stores. The off-the-shelf model has neither: it was never trained on a catalog.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from indexer.encoder.checkpoint import is_default_version

CARD_KEY = "card"
OFF_THE_SHELF = "EfficientNet-Lite0 ImageNet features, off the shelf (not trained on this catalog)"
LOSS_NAMES = {"triplet": "triplet loss", "contrastive": "contrastive loss"}


@dataclass(frozen=True)
class ModelCard:
    """Which model serves and how it was made; None where it is not known."""

    version: str
    description: str
    objective: str | None  # e.g. "triplet loss, semi-hard mining, cosine distance"
    trained_on: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def objective_of(train_config: Mapping[str, Any]) -> str | None:
    """The training objective in words, from a checkpoint's "train_config"; None if absent."""
    loss = train_config.get("loss")
    if loss is None:
        return None
    parts = [LOSS_NAMES.get(str(loss), str(loss))]
    if loss == "triplet" and train_config.get("miner"):
        parts.append(f"{train_config['miner']} mining")
    if train_config.get("distance"):
        parts.append(f"{train_config['distance']} distance")
    return ", ".join(parts)


def model_card(version: str, metadata: Mapping[str, Any]) -> ModelCard:
    """The card of a model from its version and checkpoint metadata."""
    card = metadata.get(CARD_KEY) or {}
    train_config = metadata.get("train_config") or {}
    if is_default_version(version):
        description = OFF_THE_SHELF
    elif card.get("description"):
        description = str(card["description"])
    else:
        description = f"{train_config.get('backbone', 'encoder')} trained by `lookalike train`"
    trained_on = card.get("trained_on")
    return ModelCard(
        version=version,
        description=description,
        objective=objective_of(train_config),
        trained_on=None if trained_on is None else str(trained_on),
    )
