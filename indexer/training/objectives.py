"""The metric-learning objective: a PML distance, miner and loss composed into one callable.

`hard = miner(emb, labels); loss = loss_fn(emb, labels, hard)`. Triplet margin loss (default)
or contrastive loss (margin form), online batch-hard or semi-hard mining (or all tuples),
over cosine similarity or L2-normalised euclidean / manhattan distance.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from pytorch_metric_learning import distances, losses, miners
from pytorch_metric_learning.utils import loss_and_miner_utils as lmu

from indexer.encoder.distances import DistanceName, check_distance
from indexer.training.config import LossName, MinerName, TrainConfig


class ManhattanDistance(distances.LpDistance):
    """L1 distance between L2-normalised embeddings, as retrieval measures it.

    PML's `LpDistance(p=1, normalize_embeddings=True)` would L1-normalise them instead.
    """

    def __init__(self) -> None:
        super().__init__(p=1, normalize_embeddings=True)

    def normalize(self, embeddings: torch.Tensor, dim: int = 1, **kwargs: object) -> torch.Tensor:
        return F.normalize(embeddings, p=2.0, dim=dim)


def build_distance(name: str) -> distances.BaseDistance:
    """Cosine similarity (higher is closer), or L2 / L1 distance of L2-normalised embeddings."""
    kind: DistanceName = check_distance(name)
    if kind == "cosine":
        return distances.CosineSimilarity()
    if kind == "euclidean":
        return distances.LpDistance(p=2, normalize_embeddings=True)
    return ManhattanDistance()


def build_miner(
    name: MinerName, *, margin: float, distance: distances.BaseDistance
) -> miners.BaseMiner | None:
    """The online miner; None means every valid triplet/pair of the batch ("all")."""
    if name == "batch-hard":
        return miners.BatchHardMiner(distance=distance)
    if name == "semi-hard":
        return miners.TripletMarginMiner(
            margin=margin, type_of_triplets="semihard", distance=distance
        )
    if name == "all":
        return None
    raise ValueError(f"unknown miner {name!r}")


def build_loss(
    name: LossName, *, margin: float, distance: distances.BaseDistance
) -> losses.BaseMetricLossFunction:
    """Triplet margin loss, or contrastive loss pulling positives to 0 and negatives past margin.

    With cosine similarity the contrastive margins are stated as similarities: positives are
    pulled to 1 and negatives pushed below 1 - margin (the same as cosine distance 0 / margin).
    """
    if name == "triplet":
        return losses.TripletMarginLoss(margin=margin, distance=distance)
    if name == "contrastive":
        if distance.is_inverted:
            return losses.ContrastiveLoss(
                pos_margin=1.0, neg_margin=1.0 - margin, distance=distance
            )
        return losses.ContrastiveLoss(pos_margin=0.0, neg_margin=margin, distance=distance)
    raise ValueError(f"unknown loss {name!r}")


@dataclass(frozen=True)
class ObjectiveOutput:
    """The batch loss, how many tuples were mined (-1: all) and the active fraction."""

    loss: torch.Tensor  # () scalar with grad
    tuples: int
    active_fraction: float


class Objective:
    """Miner + loss over one distance; call it with (B, D) embeddings and (B,) labels."""

    def __init__(self, loss: LossName, miner: MinerName, distance: str, margin: float) -> None:
        self.distance = build_distance(distance)
        self.margin = margin
        self.miner = build_miner(miner, margin=margin, distance=self.distance)
        self.loss_fn = build_loss(loss, margin=margin, distance=self.distance)
        self.loss_name = loss

    @classmethod
    def from_config(cls, config: TrainConfig) -> Objective:
        return cls(config.loss, config.miner, config.distance, config.resolved_margin)

    def __call__(self, embeddings: torch.Tensor, labels: torch.Tensor) -> ObjectiveOutput:
        hard = self.miner(embeddings, labels) if self.miner is not None else None
        loss = self.loss_fn(embeddings, labels, hard)
        with torch.no_grad():
            active = self.count_active(embeddings.detach(), labels)
        tuples = len(hard[0]) if hard is not None else -1
        return ObjectiveOutput(loss=loss, tuples=tuples, active_fraction=active)

    def count_active(self, embeddings: torch.Tensor, labels: torch.Tensor) -> float:
        """Fraction of ALL valid triplets (or pairs) of the batch with non-zero loss.

        Measured over the whole batch, not only the mined tuples (a semi-hard miner only
        returns active ones), so it falls as the embedding learns the training labels.
        """
        mat = self.distance(embeddings)  # (B, B)
        if self.loss_name == "triplet":
            a, p, n = lmu.get_all_triplets_indices(labels)
            active = self.distance.margin(mat[a, p], mat[a, n]) + self.margin > 0
        else:
            a1, p, a2, n = lmu.get_all_pairs_indices(labels)
            assert isinstance(self.loss_fn, losses.ContrastiveLoss)
            pos = self.distance.margin(mat[a1, p], self.loss_fn.pos_margin) > 0
            neg = self.distance.margin(self.loss_fn.neg_margin, mat[a2, n]) > 0
            active = torch.cat([pos, neg])
        return float(active.float().mean()) if len(active) else 0.0


def pair_loss(
    objective: Objective, first: torch.Tensor, second: torch.Tensor, same: torch.Tensor
) -> torch.Tensor:
    """Contrastive loss over explicit pairs (first[i], second[i], same[i]): (P, D) x2 -> ().

    Used for user feedback: "right" results are positives, "wrong" ones negatives.
    """
    embeddings = torch.cat([first, second])  # (2P, D)
    idx = torch.arange(len(first), device=first.device)
    offset = idx + len(first)
    pairs = (idx[same], offset[same], idx[~same], offset[~same])
    loss_fn = build_loss("contrastive", margin=objective.margin, distance=objective.distance)
    return loss_fn(embeddings, None, pairs)
