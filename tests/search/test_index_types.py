"""Every index type against exact search: recall, exact scores, deletes, choice, snapshots.

Data: seeded clustered unit vectors (64-d), which behave like image embeddings; uniformly
random vectors have no neighbourhood structure for an approximate index to exploit.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import faiss
import numpy as np
import pytest

from indexer.catalog.database import SessionFactory
from indexer.catalog.images import delete_image
from indexer.catalog.settings import Settings
from indexer.encoder.embedder import Embedder
from search.index_build import IndexBuilder
from search.index_factory import (
    IndexConfig,
    build_index,
    choose_factory,
    factory_family,
    kind_of,
    knobs,
    resolve_factory,
)
from search.recall import exact_knn, recall_at_k, recall_leaving_out_self
from search.rerank import ArrayVectors
from search.snapshot import SnapshotMeta, load_snapshot, save_snapshot
from search.vector_index import VectorIndex
from tests.conftest import write_images
from tests.search.test_sync import add_folder, embedder, make_sync, sessions

__all__ = ["embedder", "sessions"]  # fixtures shared with test_sync

N, DIM = 8000, 64
TYPES = ["Flat", "IVF64,Flat", "IVF64,PQ16", "HNSW32"]
MIN_RECALL = 0.9  # measured: Flat 1.0, IVF-Flat 1.0, IVF-PQ (re-ranked) ~0.95, HNSW 1.0


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """OpenMP threads spin against each other on a shared small CPU; one is faster here."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


def clustered(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).standard_normal((100, DIM)).astype(np.float32)
    x = centres[rng.integers(0, 100, n)] + 0.6 * rng.standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)  # (n, DIM)


@pytest.fixture(scope="module")
def catalog() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids, vectors, queries); ids are sparse like real primary keys."""
    vectors = clustered(N, 0)
    return np.arange(N, dtype=np.int64) * 3 + 7, vectors, clustered(100, 1)


@pytest.fixture(scope="module")
def built(catalog: tuple[np.ndarray, np.ndarray, np.ndarray]) -> dict[str, VectorIndex]:
    ids, vectors, _ = catalog
    return {factory: build(factory, ids, vectors) for factory in TYPES}


def build(factory: str, ids: np.ndarray, vectors: np.ndarray, **config: object) -> VectorIndex:
    builder = IndexBuilder(
        factory,
        DIM,
        IndexConfig(**config),
        exact=ArrayVectors(ids, vectors),  # type: ignore[arg-type]
    )
    builder.train(vectors[: builder.sample_size(len(ids))])
    builder.add(ids, vectors)
    index, report = builder.finish()
    assert report.factory == factory and report.ntotal == len(ids)
    assert report.recall_at_10 is not None and report.recall_at_10 >= MIN_RECALL
    return index


@pytest.mark.parametrize("factory", TYPES)
def test_recall_at_10_and_exact_scores(
    built: dict[str, VectorIndex],
    catalog: tuple[np.ndarray, np.ndarray, np.ndarray],
    factory: str,
) -> None:
    ids, vectors, queries = catalog
    index = built[factory]
    assert index.factory == factory and index.ntotal == N
    assert recall_at_k(index, vectors, ids, queries, k=10) >= MIN_RECALL
    scores, found = index.search(queries, 10)
    rows = (found - 7) // 3
    exact = np.einsum("qd,qkd->qk", queries, vectors[rows])  # (100, 10)
    np.testing.assert_allclose(scores, exact, atol=1e-5)  # re-ranked: exact cosine
    assert (np.diff(scores, axis=1) <= 1e-6).all()


@pytest.mark.parametrize("factory", TYPES)
def test_deleted_ids_never_come_back(
    catalog: tuple[np.ndarray, np.ndarray, np.ndarray], factory: str
) -> None:
    ids, vectors, _ = catalog
    index = build(factory, ids[:4000], vectors[:4000])
    gone = ids[:4000:5]  # 800 deletes
    assert index.remove(np.concatenate([gone, [10**9]])) == len(gone)
    assert index.ntotal == 4000 - len(gone)
    _, found = index.search(vectors[:4000:5], 50)  # the deleted vectors themselves as queries
    assert not np.isin(found, gone).any()
    assert index.reconstruct(int(gone[0])) is None
    if factory == "HNSW32":  # no in-place removal: tombstones
        assert len(index.tombstones) == len(gone) and index.dead_fraction == pytest.approx(0.2)


def test_hnsw_replaced_vectors_are_scored_exactly(
    catalog: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    ids, vectors, _ = catalog
    index = build("HNSW32", ids[:2000], vectors[:2000])
    index.remove(ids[:10])
    index.upsert(ids[:20], vectors[2000:2020])  # 10 revived + 10 replaced under the same ids
    assert index.ntotal == 2000 and index.dead == 20 and not index.tombstones
    scores, found = index.search(vectors[2000:2020], 1)
    assert list(found[:, 0]) == list(ids[:20])
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-5)
    _, found = index.search(vectors[:20], 10)  # the old vectors: their ids may only appear
    assert len(set(found[0])) == 10  # once, and ranked by the new vector


@pytest.mark.parametrize(
    ("n", "dim", "memory_mb", "family"),
    [
        (1_000, 512, 4096, "Flat"),
        (49_000, 512, 4096, "Flat"),
        (200_000, 512, 4096, "IVF,Flat"),
        (10_000_000, 512, 4096, "IVF,PQ"),
        (5_000, 512, 1, "Flat"),  # too small to train a PQ codebook: exact anyway
    ],
)
def test_automatic_choice(n: int, dim: int, memory_mb: float, family: str) -> None:
    factory = choose_factory(n, dim, memory_mb=memory_mb)
    assert factory_family(factory) == family
    if "PQ" in factory:  # the codes fit the budget
        m = int(factory.split("PQ")[1])
        assert dim % m == 0 and n * (m + 8) <= memory_mb * 2**20


@pytest.mark.parametrize(
    ("factory", "exact"),
    [("Flat", True), ("IVF8,Flat", True), ("IVF8,PQ8", False), ("HNSW16", True)],
)
def test_index_kinds_know_whether_their_scores_are_exact(factory: str, exact: bool) -> None:
    """Exact types are never re-ranked (which would cost a database read per query)."""
    assert kind_of(build_index(factory, DIM)).exact_scores is exact


def test_factory_override_is_honoured_and_validated() -> None:
    assert resolve_factory(IndexConfig(factory="HNSW32"), 10, DIM) == "HNSW32"
    assert resolve_factory(IndexConfig(), 10**6, DIM) == "IVF4096,Flat"
    with pytest.raises(ValueError, match="invalid FAISS factory"):
        IndexBuilder("NoSuchIndex", DIM, IndexConfig())


def test_too_small_to_train_falls_back_to_flat() -> None:
    builder = IndexBuilder("IVF256,Flat", DIM, IndexConfig())
    vectors = clustered(50, 3)
    builder.train(vectors)
    builder.add(np.arange(50), vectors)
    index, report = builder.finish()
    assert (index.factory, report.factory, report.recall_at_10) == ("Flat", "Flat", 1.0)


@pytest.mark.parametrize("factory", TYPES)
def test_snapshot_round_trips_every_type(
    built: dict[str, VectorIndex],
    catalog: tuple[np.ndarray, np.ndarray, np.ndarray],
    tmp_path: Path,
    factory: str,
) -> None:
    ids, vectors, queries = catalog
    index = build(factory, ids[:3000], vectors[:3000]) if factory == "HNSW32" else built[factory]
    if factory == "HNSW32":
        index.remove(ids[:300])
    path = tmp_path / "snap.npz"
    meta = SnapshotMeta("v1", DIM, 5, index.ntotal, factory, 0.97)
    save_snapshot(path, index, meta)
    loaded = load_snapshot(path, exact=ArrayVectors(ids, vectors))
    assert loaded is not None and loaded[1] == meta
    copy = loaded[0]
    assert (copy.factory, copy.ntotal, copy.tombstones) == (factory, index.ntotal, index.tombstones)
    np.testing.assert_array_equal(copy.search(queries, 10)[1], index.search(queries, 10)[1])
    assert [p.name for p in tmp_path.iterdir()] == ["snap.npz"]


@pytest.mark.parametrize("factory", ["IVF64,Flat", "IVF64,PQ8", "HNSW32"])
def test_automatic_tuning_holds_for_new_queries(
    catalog: tuple[np.ndarray, np.ndarray, np.ndarray], factory: str
) -> None:
    """Tuned on catalog members without their own entries, recall holds on new images; the
    search starts narrow instead of probing everything (PQ8: coarse codes, deep re-ranking)."""
    ids, vectors, queries = catalog
    index = build(factory, ids, vectors)
    assert recall_at_k(index, vectors, ids, queries, k=10) >= 0.93
    knob = knobs(index.index)
    assert knob.get("nprobe", 0) < 64 and knob.get("ef_search", 0) < 1024
    if factory.endswith("PQ8"):
        assert index.rerank_factor > IndexConfig().rerank_factor


def test_recall_leaving_out_self_ignores_the_query_itself(
    catalog: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    ids, vectors, _ = catalog
    queries = vectors[:50]
    scores, rows = faiss.knn(queries, vectors, 11, metric=faiss.METRIC_INNER_PRODUCT)
    truth = (scores, ids[rows])

    class OnlyItself:
        def search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
            found = np.full((len(q), k), -1, dtype=np.int64)
            found[:, 0] = ids[:50]
            return np.zeros((len(q), k), np.float32), found

    exact = VectorIndex(DIM)
    exact.add_new(ids, vectors)
    assert recall_leaving_out_self(exact, truth, queries, 10) == 1.0
    assert recall_leaving_out_self(OnlyItself(), truth, queries, 10) == 0.0
    assert recall_at_k(OnlyItself(), vectors, ids, queries, k=10) == pytest.approx(0.1)


def test_exact_knn_oracle_matches_numpy(
    catalog: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    ids, vectors, queries = catalog
    expected = ids[np.argsort(-(queries @ vectors.T), axis=1)[:, :10]]
    np.testing.assert_array_equal(exact_knn(vectors, ids, queries, 10), expected)


@pytest.mark.parametrize("factory", ["HNSW32", "IVF2,Flat"])
def test_sync_follows_adds_and_deletes_with_a_forced_type(
    sessions: SessionFactory, embedder: Embedder, tmp_path: Path, factory: str
) -> None:
    first = add_folder(sessions, embedder, write_images(tmp_path / "a", range(8))[0].parent)
    config = IndexConfig(factory=factory, tombstone_fraction=0.2)
    sync = make_sync(sessions, embedder, tmp_path / "snap.npz", config=config)
    assert sync.ensure_ready().ntotal == 8
    status = sync.status()
    assert (status.factory, status.recall_at_10) == (factory, 1.0)
    later = add_folder(sessions, embedder, write_images(tmp_path / "b", range(8, 12))[0].parent)
    with sessions.begin() as session:
        delete_image(session, first[0])
    index = sync.require_ready()
    assert index.ntotal == 11 and index.dead == (1 if factory == "HNSW32" else 0)
    queries = np.stack([v for v in map(index.reconstruct, later) if v is not None])
    _, found = index.search(queries, 12)
    assert first[0] not in found and set(later) <= set(found.ravel())
    restarted = make_sync(sessions, embedder, tmp_path / "snap.npz", config=config)
    assert restarted.ensure_ready().ntotal == 11  # the tombstone survived the snapshot
    assert first[0] not in restarted.ensure_ready().search(queries, 12)[1]


def test_exact_vectors_are_read_in_slices(
    sessions: SessionFactory, embedder: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deep re-ranking asks for tens of thousands of ids at once: more than one SQL statement
    may bind, so they go in slices (3 here instead of 10,000)."""
    from search import sync as sync_module

    ids = add_folder(sessions, embedder, write_images(tmp_path / "a", range(8))[0].parent)
    monkeypatch.setattr(sync_module, "EXACT_SLICE", 3)
    sync = make_sync(sessions, embedder, tmp_path / "snap.npz")
    found, vectors = sync.exact_vectors(np.array([*ids, 10**9], dtype=np.int64))
    assert sorted(found.tolist()) == sorted(ids) and vectors.shape == (8, embedder.dim)


def test_tuned_knobs_survive_a_restart_unless_configured(
    sessions: SessionFactory, embedder: Embedder, tmp_path: Path
) -> None:
    add_folder(sessions, embedder, write_images(tmp_path / "a", range(8))[0].parent)
    snap = tmp_path / "snap.npz"
    sync = make_sync(sessions, embedder, snap, config=IndexConfig(factory="IVF4,Flat"))
    tuned = knobs(sync.ensure_ready().index)
    assert tuned == {"nprobe": 4}  # the narrow start (8) capped at the list count
    again = make_sync(sessions, embedder, snap, config=IndexConfig(factory="IVF4,Flat"))
    assert knobs(again.ensure_ready().index) == tuned
    forced = IndexConfig(factory="IVF4,Flat", nprobe=1)
    assert knobs(make_sync(sessions, embedder, snap, config=forced).ensure_ready().index) == {
        "nprobe": 1
    }


def test_sync_rebuilds_a_worn_hnsw_index_in_the_background(
    sessions: SessionFactory, embedder: Embedder, tmp_path: Path
) -> None:
    ids = add_folder(sessions, embedder, write_images(tmp_path / "a", range(10))[0].parent)
    config = IndexConfig(factory="HNSW32", tombstone_fraction=0.2)
    sync = make_sync(sessions, embedder, tmp_path / "snap.npz", config=config)
    before = sync.ensure_ready()
    with sessions.begin() as session:
        for image_id in ids[:3]:  # 3 of 10 dead > 20%
            delete_image(session, image_id)
    sync.require_ready()
    assert sync._rebuilder is not None
    sync._rebuilder.join(timeout=30)
    index = sync.require_ready()
    assert index is not before and (index.ntotal, index.dead, index.tombstones) == (7, 0, set())
    assert not sync.status().rebuilding and sync.status().factory == "HNSW32"


def test_index_settings_come_from_the_environment(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "LOOKALIKE_HOME": str(tmp_path),
            "LOOKALIKE_INDEX_FACTORY": "IVF1024,PQ16",
            "LOOKALIKE_INDEX_MEMORY_MB": "512",
            "LOOKALIKE_NPROBE": "32",
            "LOOKALIKE_EF_SEARCH": "256",
            "LOOKALIKE_TOMBSTONE_FRACTION": "0.25",
        }
    )
    config = IndexConfig.from_settings(settings)
    assert (config.factory, config.memory_mb, config.nprobe) == ("IVF1024,PQ16", 512, 32)
    assert (config.ef_search, config.tombstone_fraction) == (256, 0.25)
    assert IndexConfig.from_settings(Settings.from_env({})).factory == "auto"
