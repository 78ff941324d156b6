"""Evaluation metrics for embeddings: retrieval, pair verification and one-shot accuracy.

Everything here is pure numpy/torch on `(n, d)` float32 embeddings and `(n,)` labels (strings
or ints); distances come from `indexer.encoder.distances`, so "similarity" always means
higher is closer.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from indexer.encoder.distances import (
    DistanceName,
    check_distance,
    pairwise_distances,
    to_similarity,
)
from indexer.encoder.verification import verification_metrics

__all__ = [
    "nearest_neighbours",
    "one_shot_accuracy",
    "one_shot_max_way",
    "pair_indices",
    "pair_similarities",
    "paired_similarities",
    "query_average_precisions",
    "retrieval_metrics",
    "verification_metrics",
]

RECALL_KS = (1, 5, 10)
_CHUNK = 1024  # queries per distance block: (chunk, n) floats in memory at once


def encode_labels(labels: np.ndarray) -> np.ndarray:
    """Map any labels (strings, ints) to int64 codes 0..L-1; returns (n,)."""
    _, codes = np.unique(np.asarray(labels), return_inverse=True)
    return codes.reshape(-1).astype(np.int64)


def _check(embeddings: np.ndarray, labels: np.ndarray) -> tuple[torch.Tensor, np.ndarray]:
    if embeddings.ndim != 2 or len(embeddings) != len(labels):
        raise ValueError(f"need (n, d) embeddings and n labels, got {embeddings.shape}")
    return torch.from_numpy(np.ascontiguousarray(embeddings, dtype=np.float32)), encode_labels(
        labels
    )


def _neighbour_blocks(
    embeddings: np.ndarray, k: int, kind: DistanceName
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (start, (c, k) indices of the k nearest other rows) for blocks of query rows."""
    emb = torch.from_numpy(np.ascontiguousarray(embeddings, dtype=np.float32))
    for start in range(0, len(emb), _CHUNK):
        block = pairwise_distances(emb[start : start + _CHUNK], emb, kind)  # (c, n)
        rows = torch.arange(len(block))
        block[rows, rows + start] = float("inf")  # never retrieve the query itself
        yield start, torch.topk(block, k, largest=False).indices.numpy()


def nearest_neighbours(embeddings: np.ndarray, k: int, *, distance: str = "cosine") -> np.ndarray:
    """Indices (n, k) of each row's k nearest other rows, nearest first (self excluded)."""
    k = min(k, len(embeddings) - 1)
    blocks = _neighbour_blocks(embeddings, k, check_distance(distance))
    return np.concatenate([indices for _, indices in blocks]).reshape(-1, k)


def retrieval_metrics(
    embeddings: np.ndarray, labels: np.ndarray, *, distance: str = "cosine"
) -> dict[str, float]:
    """Leave-one-out retrieval: every item queries all the others.

    Returns "recall@1/5/10" (a query counts when one of its k nearest shares its label) and
    "map@r" (Musgrave et al. 2020: R = the number of other items with the query's label,
    AP over the first R results divided by R). Items alone in their label are not queries.
    """
    found, average_precision, queries = _per_query(embeddings, labels, distance)
    metrics = {f"recall@{at}": float(found[queries, i].mean()) for i, at in enumerate(RECALL_KS)}
    metrics["map@r"] = float(average_precision[queries].mean())
    return metrics


def query_average_precisions(
    embeddings: np.ndarray, labels: np.ndarray, *, distance: str = "cosine"
) -> tuple[np.ndarray, np.ndarray]:
    """Each item's AP@R as a query (n,) and which items are queries (n,) bool: mAP@R is the
    mean of the first over the second."""
    _, average_precision, queries = _per_query(embeddings, labels, distance)
    return average_precision, queries


def _per_query(
    embeddings: np.ndarray, labels: np.ndarray, distance: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Found-within-k (n, len(RECALL_KS)), AP@R (n,) and is-a-query (n,) of every item."""
    _, codes = _check(embeddings, labels)
    r = np.bincount(codes)[codes] - 1  # (n,) relevant items per query
    if not (r > 0).any():
        raise ValueError("no label has two or more items; retrieval metrics are undefined")
    k = min(max(max(RECALL_KS), int(r.max())), len(codes) - 1)
    found = np.zeros((len(codes), len(RECALL_KS)), dtype=bool)  # (n, len(KS))
    average_precision = np.zeros(len(codes))  # (n,)
    for start, indices in _neighbour_blocks(embeddings, k, check_distance(distance)):
        rows = slice(start, start + len(indices))
        hits = codes[indices] == codes[rows, None]  # (c, k)
        found[rows] = np.stack([hits[:, :at].any(axis=1) for at in RECALL_KS], axis=1)
        average_precision[rows] = _ap_at_r(hits, r[rows])
    return found, average_precision, r > 0


def _ap_at_r(hits: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Per query sum_{i<=R} P@i * rel(i) / R (0 when R = 0); `hits` is (q, k), k >= max R."""
    ranks = np.arange(1, hits.shape[1] + 1)
    relevant = hits & (ranks[None, :] <= r[:, None])  # (q, k)
    precision = np.cumsum(relevant, axis=1) / ranks[None, :]
    return (precision * relevant).sum(axis=1) / np.maximum(r, 1)


def paired_similarities(
    embeddings: np.ndarray, first: np.ndarray, second: np.ndarray, *, distance: str = "cosine"
) -> np.ndarray:
    """Similarity of each pair (first[i], second[i]) of rows; returns float64 (p,)."""
    kind = check_distance(distance)
    a = torch.from_numpy(np.ascontiguousarray(embeddings[first], dtype=np.float32))  # (p, d)
    b = torch.from_numpy(np.ascontiguousarray(embeddings[second], dtype=np.float32))  # (p, d)
    if kind == "cosine":
        dist = 1.0 - (a * b).sum(dim=1)
    else:
        dist = (a - b).norm(p=2.0 if kind == "euclidean" else 1.0, dim=1)
    return np.asarray(to_similarity(dist.double().numpy(), kind), dtype=np.float64)


def pair_indices(
    labels: np.ndarray, *, max_pairs: int = 20000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (first, second), first < second, of the pairs to verify.

    Every pair when there are at most `max_pairs`; otherwise a balanced random sample of
    distinct pairs: up to max_pairs // 2 same-label pairs and different-label ones for the rest.
    """
    codes = encode_labels(labels)
    n = len(codes)
    if n * (n - 1) // 2 <= max_pairs:
        first, second = np.triu_indices(n, k=1)
        return first.astype(np.int64), second.astype(np.int64)
    rng = np.random.default_rng(seed)
    counts = np.bincount(codes)
    n_pos_total = int((counts * (counts - 1) // 2).sum())
    n_pos = min(n_pos_total, max_pairs // 2)
    n_neg = min(n * (n - 1) // 2 - n_pos_total, max_pairs - n_pos)
    pairs = np.concatenate(
        [_draw(codes, n_pos, rng, same=True), _draw(codes, n_neg, rng, same=False)]
    )
    return pairs[:, 0], pairs[:, 1]


def pair_similarities(
    embeddings: np.ndarray,
    labels: np.ndarray,
    *,
    distance: str = "cosine",
    max_pairs: int = 20000,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Similarities (p,) and `same` flags (p,) of the pairs `pair_indices` picks."""
    _, codes = _check(embeddings, labels)
    first, second = pair_indices(codes, max_pairs=max_pairs, seed=seed)
    same = codes[first] == codes[second]
    return paired_similarities(embeddings, first, second, distance=distance), same


def _draw(codes: np.ndarray, wanted: int, rng: np.random.Generator, *, same: bool) -> np.ndarray:
    """Up to `wanted` distinct pairs (i < j) whose labels are equal (or differ); (p, 2)."""
    by_label = [np.flatnonzero(codes == c) for c in range(codes.max() + 1)]
    weights = np.array([len(m) * (len(m) - 1) for m in by_label], dtype=np.float64)
    if same and weights.sum() / 2 <= 4 * wanted:  # few enough to list: sample exactly
        every = [np.stack(np.triu_indices(len(m), k=1), axis=1) for m in by_label]
        listed = np.concatenate([m[pairs] for m, pairs in zip(by_label, every, strict=True)])
        return rng.permutation(listed)[:wanted]
    found = np.zeros((0, 2), dtype=np.int64)
    for _ in range(20):
        if len(found) >= wanted:
            break
        size = 2 * (wanted - len(found)) + 16
        if same:
            picked = rng.choice(len(by_label), size=size, p=weights / weights.sum())
            pairs = np.array([rng.choice(by_label[c], 2, replace=False) for c in picked])
        else:
            pairs = rng.integers(0, len(codes), size=(size, 2))
            pairs = pairs[codes[pairs[:, 0]] != codes[pairs[:, 1]]]
        pairs = np.sort(pairs.reshape(-1, 2), axis=1)
        found = np.unique(np.concatenate([found, pairs]), axis=0)
    return rng.permutation(found)[:wanted]


def one_shot_accuracy(
    embeddings: np.ndarray,
    labels: np.ndarray,
    *,
    n_way: int = 20,
    trials: int = 400,
    seed: int = 0,
    distance: str = "cosine",
    groups: np.ndarray | None = None,
) -> float:
    """Accuracy of N-way one-shot classification by the nearest support image.

    Each trial draws a group (when `groups` is given), n_way labels of it with two or more
    items, one support item per label and a second item of one of them as the query.
    """
    emb, codes = _check(embeddings, labels)
    kind = check_distance(distance)
    pools = _one_shot_pools(codes, groups, n_way)
    rng = np.random.default_rng(seed)
    correct = 0
    for _ in range(trials):
        pool = pools[rng.integers(len(pools))]
        chosen = rng.choice(pool, size=n_way, replace=False)  # label codes
        support = np.array([rng.choice(np.flatnonzero(codes == c)) for c in chosen])
        answer = int(rng.integers(n_way))
        others = np.flatnonzero(codes == chosen[answer])
        query = rng.choice(others[others != support[answer]])
        dist = pairwise_distances(emb[[query]], emb[support], kind)  # (1, n_way)
        correct += int(torch.argmin(dist[0]).item() == answer)
    return correct / trials


def _label_pools(codes: np.ndarray, groups: np.ndarray | None) -> list[np.ndarray]:
    """Codes of the labels with two or more items, one array per group."""
    eligible = np.flatnonzero(np.bincount(codes) >= 2)
    if groups is None:
        return [eligible]
    group_codes = encode_labels(groups)
    first = np.array([np.flatnonzero(codes == c)[0] for c in eligible], dtype=np.int64)
    owner = group_codes[first] if len(first) else first
    return [eligible[owner == g] for g in np.unique(owner)]


def _one_shot_pools(codes: np.ndarray, groups: np.ndarray | None, n_way: int) -> list[np.ndarray]:
    """The label pools a trial can draw from: those with at least n_way labels."""
    pools = [p for p in _label_pools(codes, groups) if len(p) >= n_way]
    if not pools or n_way < 2:
        raise ValueError(f"no group has {n_way} labels with two or more items")
    return pools


def one_shot_max_way(labels: np.ndarray, *, groups: np.ndarray | None = None) -> int:
    """The largest n_way `one_shot_accuracy` accepts for these labels (and groups)."""
    pools = _label_pools(encode_labels(labels), groups)
    return max((len(p) for p in pools), default=0)
