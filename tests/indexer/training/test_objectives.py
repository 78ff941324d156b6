"""Losses and miners against brute-force loops over every triplet / pair of a batch."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from indexer.training.config import TrainConfig
from indexer.training.objectives import Objective, build_distance, build_miner, pair_loss

DISTANCE_NAMES = ("cosine", "euclidean", "manhattan")


def distance_matrix(emb: torch.Tensor, kind: str) -> list[list[float]]:
    """Pairwise distances (lower = closer) by a Python loop; cosine distance is 1 - cos."""
    unit = F.normalize(emb, dim=1).tolist()
    n = len(unit)
    out = [[0.0] * n for _ in range(n)]
    for i, j in itertools.product(range(n), repeat=2):
        diff = [a - b for a, b in zip(unit[i], unit[j], strict=True)]
        if kind == "cosine":
            out[i][j] = 1.0 - sum(a * b for a, b in zip(unit[i], unit[j], strict=True))
        elif kind == "euclidean":
            out[i][j] = math.sqrt(sum(d * d for d in diff))
        else:
            out[i][j] = sum(abs(d) for d in diff)
    return out


def all_triplets(labels: list[int]) -> list[tuple[int, int, int]]:
    n = len(labels)
    return [
        (a, p, q)
        for a, p, q in itertools.product(range(n), repeat=3)
        if a != p and labels[a] == labels[p] and labels[a] != labels[q]
    ]


def mean_nonzero(values: list[float]) -> float:
    nonzero = [v for v in values if v > 0]
    return sum(nonzero) / len(nonzero) if nonzero else 0.0


def triplet_oracle(emb: torch.Tensor, labels: list[int], kind: str, margin: float) -> float:
    d = distance_matrix(emb, kind)
    losses = [max(0.0, d[a][p] - d[a][n] + margin) for a, p, n in all_triplets(labels)]
    return mean_nonzero(losses)


def contrastive_oracle(emb: torch.Tensor, labels: list[int], kind: str, margin: float) -> float:
    d = distance_matrix(emb, kind)
    pairs = [(i, j) for i, j in itertools.product(range(len(labels)), repeat=2) if i != j]
    pos = [d[i][j] for i, j in pairs if labels[i] == labels[j]]
    neg = [max(0.0, margin - d[i][j]) for i, j in pairs if labels[i] != labels[j]]
    return mean_nonzero(pos) + mean_nonzero(neg)


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    emb = F.normalize(torch.randn(12, 5, generator=generator), dim=1)  # (12, 5)
    labels = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])
    return emb, labels


@pytest.mark.parametrize("kind", DISTANCE_NAMES)
def test_triplet_loss_over_all_triplets_matches_loop(batch, kind) -> None:
    emb, labels = batch
    margin = 0.3 if kind != "manhattan" else 1.0
    out = Objective("triplet", "all", kind, margin)(emb, labels)
    expected = triplet_oracle(emb, labels.tolist(), kind, margin)
    assert out.loss.item() == pytest.approx(expected, rel=1e-5)
    assert expected > 0


@pytest.mark.parametrize("kind", DISTANCE_NAMES)
def test_contrastive_loss_over_all_pairs_matches_loop(batch, kind) -> None:
    emb, labels = batch
    margin = 0.8 if kind != "manhattan" else 2.0
    out = Objective("contrastive", "all", kind, margin)(emb, labels)
    expected = contrastive_oracle(emb, labels.tolist(), kind, margin)
    assert out.loss.item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("loss", ["triplet", "contrastive"])
def test_active_fraction_counts_every_violating_tuple(batch, loss) -> None:
    emb, labels = batch
    margin = 0.5
    out = Objective(loss, "batch-hard", "euclidean", margin)(emb, labels)
    d = distance_matrix(emb, "euclidean")
    lab = labels.tolist()
    if loss == "triplet":
        flags = [d[a][p] - d[a][n] + margin > 0 for a, p, n in all_triplets(lab)]
    else:
        pairs = [(i, j) for i, j in itertools.product(range(12), repeat=2) if i != j]
        flags = [d[i][j] > 0 if lab[i] == lab[j] else d[i][j] < margin for i, j in pairs]
    assert out.active_fraction == pytest.approx(sum(flags) / len(flags))
    assert 0 < out.active_fraction < 1


@pytest.mark.parametrize("kind", DISTANCE_NAMES)
def test_batch_hard_miner_picks_farthest_positive_and_nearest_negative(batch, kind) -> None:
    emb, labels = batch
    a, p, n = build_miner("batch-hard", margin=0.2, distance=build_distance(kind))(emb, labels)
    d = distance_matrix(emb, kind)
    lab = labels.tolist()
    expected = set()
    for i in range(len(lab)):
        positives = [j for j in range(len(lab)) if j != i and lab[j] == lab[i]]
        negatives = [j for j in range(len(lab)) if lab[j] != lab[i]]
        hardest_p = max(positives, key=lambda j: d[i][j])
        hardest_n = min(negatives, key=lambda j: d[i][j])
        expected.add((i, hardest_p, hardest_n))
    assert set(zip(a.tolist(), p.tolist(), n.tolist(), strict=True)) == expected


def on_circle(*angles: float) -> torch.Tensor:
    return torch.tensor([[math.cos(t), math.sin(t)] for t in angles])  # (n, 2)


def test_semi_hard_miner_on_hand_made_embeddings() -> None:
    # anchor at 0 rad, positive at 0.2 (d_ap = 0.1997); negatives at 0.3 (d = 0.2989,
    # semi-hard for margin 0.2), at 1.0 (d = 0.9589, easy) and at 0.1 (d = 0.0999, hard).
    emb = on_circle(0.0, 0.2, 0.3, 1.0, 0.1)
    labels = torch.tensor([0, 0, 1, 2, 3])
    a, p, n = build_miner("semi-hard", margin=0.2, distance=build_distance("euclidean"))(
        emb, labels
    )
    mined = set(zip(a.tolist(), p.tolist(), n.tolist(), strict=True))
    assert (0, 1, 2) in mined
    assert (0, 1, 3) not in mined  # easy: already beyond the margin
    assert (0, 1, 4) not in mined  # hard: the negative is closer than the positive
    d = distance_matrix(emb, "euclidean")
    oracle = {
        (x, y, z) for x, y, z in all_triplets(labels.tolist()) if 0 < d[x][z] - d[x][y] <= 0.2
    }
    assert mined == oracle


def test_semi_hard_with_cosine_uses_similarity_margins() -> None:
    emb = on_circle(0.0, 0.2, 0.3, 1.0, 0.1)
    labels = torch.tensor([0, 0, 1, 2, 3])
    miner = build_miner("semi-hard", margin=0.1, distance=build_distance("cosine"))
    mined = set(zip(*(t.tolist() for t in miner(emb, labels)), strict=True))
    d = distance_matrix(emb, "cosine")
    oracle = {
        (x, y, z) for x, y, z in all_triplets(labels.tolist()) if 0 < d[x][z] - d[x][y] <= 0.1
    }
    assert mined == oracle and (0, 1, 2) in mined


def test_mined_triplet_loss_is_the_loop_over_the_mined_triplets(batch) -> None:
    emb, labels = batch
    objective = Objective("triplet", "batch-hard", "cosine", 0.2)
    hard = objective.miner(emb, labels)  # type: ignore[misc]
    d = distance_matrix(emb, "cosine")
    losses = [
        max(0.0, d[x][y] - d[x][z] + 0.2)
        for x, y, z in zip(*(t.tolist() for t in hard), strict=True)
    ]
    assert objective(emb, labels).loss.item() == pytest.approx(mean_nonzero(losses), rel=1e-5)


@pytest.mark.parametrize("kind", DISTANCE_NAMES)
def test_pair_loss_over_explicit_pairs_matches_loop(kind) -> None:
    generator = torch.Generator().manual_seed(5)
    first = F.normalize(torch.randn(6, 4, generator=generator), dim=1)
    second = F.normalize(torch.randn(6, 4, generator=generator), dim=1)
    same = torch.tensor([True, False, True, False, False, True])
    margin = 1.2 if kind != "manhattan" else 2.5
    objective = Objective("triplet", "all", kind, margin)
    got = pair_loss(objective, first, second, same).item()
    d = distance_matrix(torch.cat([first, second]), kind)
    pos = [d[i][i + 6] for i in range(6) if same[i]]
    neg = [max(0.0, margin - d[i][i + 6]) for i in range(6) if not same[i]]
    assert got == pytest.approx(mean_nonzero(pos) + mean_nonzero(neg), rel=1e-5)


def test_default_margin_suits_the_distance() -> None:
    assert TrainConfig().resolved_margin == pytest.approx(0.2)
    assert TrainConfig(distance="manhattan", dim=256).resolved_margin == pytest.approx(2.56)
    assert TrainConfig(distance="manhattan", margin=1.0).resolved_margin == 1.0
    with pytest.raises(ValueError):
        TrainConfig(distance="chebyshev")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        TrainConfig(grayscale=True, backbone="efficientnet_lite0")
