"""Metrics against brute-force loops, sklearn and hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from indexer.encoder.distances import DISTANCES, pairwise_distances_np, to_similarity
from indexer.encoder.verification import roc_auc
from indexer.training import retrieval_metrics as metrics
from indexer.training.retrieval_metrics import (
    one_shot_accuracy,
    one_shot_max_way,
    pair_indices,
    pair_similarities,
    retrieval_metrics,
    verification_metrics,
)


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clustered(n_labels: int, per_label: int, noise: float, seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_labels, 16))
    labels = np.repeat(np.arange(n_labels), per_label)
    return unit(centres[labels] + noise * rng.normal(size=(len(labels), 16))), labels


def loop_retrieval(emb: np.ndarray, labels: list, kind: str) -> dict[str, float]:
    """One query at a time, plain Python: sort the others by distance, score the ranking."""
    dist = pairwise_distances_np(emb, emb, kind)
    recalls: dict[int, list[float]] = {1: [], 5: [], 10: []}
    aps = []
    for q in range(len(labels)):
        others = sorted((j for j in range(len(labels)) if j != q), key=lambda j: dist[q, j])
        relevant = [labels[j] == labels[q] for j in others]
        r = sum(relevant)
        if r == 0:
            continue
        for k in recalls:
            recalls[k].append(float(any(relevant[:k])))
        hits, total = 0, 0.0
        for rank, rel in enumerate(relevant[:r], 1):
            if rel:
                hits += 1
                total += hits / rank
        aps.append(total / r)
    out = {f"recall@{k}": float(np.mean(v)) for k, v in recalls.items()}
    return out | {"map@r": float(np.mean(aps))}


@pytest.mark.parametrize("kind", DISTANCES)
def test_retrieval_matches_a_brute_force_loop(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_CHUNK", 10)  # several query blocks, the last one short
    emb, codes = clustered(12, 6, noise=1.2, seed=3)
    names = np.array([f"label-{c}" for c in codes] + ["lonely"])  # a singleton is no query
    emb = np.concatenate([emb, unit(np.ones((1, 16)))])
    got = retrieval_metrics(emb, names, distance=kind)
    expected = loop_retrieval(emb, list(names), kind)
    assert got.keys() == expected.keys()
    for key in expected:
        assert got[key] == pytest.approx(expected[key], abs=1e-9), key
    assert 0.2 < got["map@r"] < 0.95  # a non-trivial case: neither perfect nor hopeless


def test_map_at_r_on_a_hand_made_ranking() -> None:
    # 1-D points a=0, a=1, b=1.4, a=3.5; each "a" query has R = 2
    emb = np.array([[0.0], [1.0], [1.4], [3.5]], dtype=np.float32)
    got = retrieval_metrics(emb, np.array(["a", "a", "b", "a"]), distance="euclidean")
    # q0 ranks a, b -> AP@R 1/2; q1 ranks b, a -> (1/2)/2; q3 ranks b, a -> (1/2)/2
    assert got["map@r"] == pytest.approx((0.5 + 0.25 + 0.25) / 3)
    assert got["recall@1"] == pytest.approx(1 / 3)
    assert got["recall@5"] == 1.0


def test_perfect_clusters_score_one() -> None:
    emb, labels = clustered(10, 5, noise=0.01)
    got = retrieval_metrics(emb, labels)
    assert got == {"recall@1": 1.0, "recall@5": 1.0, "recall@10": 1.0, "map@r": 1.0}


def test_retrieval_needs_a_repeated_label() -> None:
    with pytest.raises(ValueError):
        retrieval_metrics(unit(np.eye(3)), np.array([1, 2, 3]))


@pytest.mark.parametrize("kind", DISTANCES)
def test_all_pairs_and_their_similarities(kind: str) -> None:
    emb, labels = clustered(4, 5, noise=0.5)
    sims, same = pair_similarities(emb, labels, distance=kind)
    first, second = np.triu_indices(len(labels), k=1)
    matrix = np.asarray(to_similarity(pairwise_distances_np(emb, emb, kind), kind))
    np.testing.assert_allclose(sims, matrix[first, second], atol=1e-5)
    np.testing.assert_array_equal(same, labels[first] == labels[second])


def test_pair_sample_is_balanced_and_distinct() -> None:
    emb, labels = clustered(30, 10, noise=0.5)  # 44,850 pairs, 1,350 of them same-label
    first, second = pair_indices(labels, max_pairs=2000, seed=1)
    same = labels[first] == labels[second]
    assert len(first) == 2000 and same.sum() == 1000
    assert (first < second).all()
    assert len({(int(a), int(b)) for a, b in zip(first, second, strict=True)}) == 2000
    sims, flags = pair_similarities(emb, labels, max_pairs=2000, seed=1)
    matrix = np.asarray(to_similarity(pairwise_distances_np(emb, emb, "cosine"), "cosine"))
    np.testing.assert_allclose(sims, matrix[first, second], atol=1e-5)
    np.testing.assert_array_equal(flags, same)


def test_pair_sample_takes_every_same_pair_when_few() -> None:
    labels = np.array([0, 0, 0] + list(range(1, 200)))  # 3 same-label pairs in 20,301
    first, second = pair_indices(labels, max_pairs=100)
    same = labels[first] == labels[second]
    assert same.sum() == 3 and len(first) == 100


def test_roc_auc_matches_sklearn_with_ties() -> None:
    rng = np.random.default_rng(0)
    same = rng.random(500) < 0.3
    sims = np.round(rng.normal(size=500) + same, 1)  # rounding makes many ties
    assert roc_auc(sims, same) == pytest.approx(roc_auc_score(same, sims), abs=1e-12)
    assert verification_metrics(sims, same)["roc_auc"] == pytest.approx(roc_auc_score(same, sims))


def test_eer_on_a_hand_made_case() -> None:
    sims = np.array([0.9, 0.8, 0.7, 0.4, 0.6, 0.5, 0.3, 0.2])
    same = np.array([True] * 4 + [False] * 4)
    got = verification_metrics(sims, same)
    # at "same when >= 0.6": one different pair accepted (0.6), one same rejected (0.4)
    assert got["eer"] == pytest.approx(0.25)
    assert 0.5 < got["eer_threshold"] <= 0.6  # between 0.6 and the next score down, 0.5


def test_eer_is_zero_when_separated() -> None:
    sims = np.array([0.9, 0.8, 0.3, 0.1])
    got = verification_metrics(sims, np.array([True, True, False, False]))
    assert got["eer"] == 0.0 and got["roc_auc"] == 1.0
    assert 0.3 < got["eer_threshold"] <= 0.8


def test_one_shot_on_separated_and_random_embeddings() -> None:
    emb, labels = clustered(25, 4, noise=0.01)
    assert one_shot_accuracy(emb, labels, n_way=20, trials=200) == 1.0
    rng = np.random.default_rng(1)
    noise = unit(rng.normal(size=(100, 16)))
    accuracy = one_shot_accuracy(noise, labels, n_way=20, trials=2000, seed=2)
    assert abs(accuracy - 1 / 20) < 0.02


def test_one_shot_stays_within_groups() -> None:
    # label k of group "A" and of group "B" are twins: only within-group trials are easy
    emb, codes = clustered(20, 3, noise=0.01)
    twins = np.concatenate([emb, emb + 1e-3])
    labels = np.array([f"A/{c}" for c in codes] + [f"B/{c}" for c in codes])
    groups = np.array([name.split("/")[0] for name in labels])
    assert one_shot_accuracy(twins, labels, n_way=20, trials=300, groups=groups) == 1.0
    assert one_shot_accuracy(twins, labels, n_way=20, trials=300) < 0.9
    assert one_shot_max_way(labels, groups=groups) == 20
    with pytest.raises(ValueError):
        one_shot_accuracy(twins, labels, n_way=21, groups=groups)
