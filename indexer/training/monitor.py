"""Watching a run: running averages for the progress bar and the embedding-collapse check."""

from __future__ import annotations

import torch


def embedding_spread(embeddings: torch.Tensor) -> float:
    """Mean per-dimension std of unit-norm (B, D) embeddings, times sqrt(D).

    About 1 for embeddings spread evenly over the sphere; near 0 when they collapse
    towards one point (the failure mode of a metric loss with too easy or no negatives).
    """
    if len(embeddings) < 2:
        return float("nan")
    emb = embeddings.detach().float()
    return float(emb.std(dim=0).mean() * emb.shape[1] ** 0.5)


class RunningMean:
    """Exponential moving average of a scalar (plain mean over the first values)."""

    def __init__(self, decay: float = 0.9) -> None:
        self.decay = decay
        self.value = 0.0
        self.count = 0

    def update(self, x: float) -> float:
        self.count += 1
        weight = max(1.0 / self.count, 1.0 - self.decay)
        self.value += weight * (x - self.value)
        return self.value


class EpochStats:
    """Loss, fraction of active tuples and embedding spread over one epoch."""

    def __init__(self) -> None:
        self.loss = RunningMean()
        self.active = RunningMean()
        self.spread = RunningMean()
        self.min_spread = float("inf")
        self.steps = 0

    def update(self, loss: float, active: float, spread: float) -> None:
        self.steps += 1
        self.loss.update(loss)
        self.active.update(active)
        self.spread.update(spread)
        self.min_spread = min(self.min_spread, spread)

    def postfix(self) -> dict[str, str]:
        """The progress-bar fields."""
        return {
            "loss": f"{self.loss.value:.4f}",
            "active": f"{self.active.value:.2f}",
            "spread": f"{self.spread.value:.2f}",
        }

    def as_dict(self) -> dict[str, float]:
        return {
            "loss": self.loss.value,
            "active_fraction": self.active.value,
            "spread": self.spread.value,
            "min_spread": self.min_spread,
        }
