"""A FAISS index whose ids are catalog primary keys; cosine similarity on unit vectors.

Speaks numpy: float32 (n, d) in, (D, I) out. Any index type built by `search.index_factory`
fits behind this one interface. Types that remove in place (Flat, IVF) delete at once;
graph indexes (HNSW) cannot, so a deleted or replaced id leaves a dead entry: deleted ids are
tombstones filtered out of every search, and once dead entries pass a fraction of the index
the owner rebuilds it from the catalog. Approximate scores are re-ranked exactly. The CPU
index is authoritative; with a GPU and faiss-gpu, searches run on a GPU copy when the type
has one.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import faiss
import numpy as np

from indexer.catalog.types import Embeddings, Ids
from search.index_factory import IndexKind, kind_of
from search.rerank import ExactVectors, rerank

log = logging.getLogger(__name__)


def gpu_available() -> bool:
    return hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0


class VectorIndex:
    """Inner-product search over L2-normalised vectors, keyed by int64 ids."""

    def __init__(
        self,
        dim: int,
        *,
        use_gpu: bool = False,
        index: faiss.Index | None = None,
        factory: str = "Flat",
        exact: ExactVectors | None = None,
        rerank_factor: int = 4,
        tombstones: Ids | None = None,
        dead: int = 0,
    ) -> None:
        self.dim = dim
        # faiss's SWIG signatures do not describe its numpy overloads; treat the index as Any.
        self.index: Any = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        if self.index.d != dim:
            raise ValueError(f"index dimension {self.index.d} != {dim}")
        self.factory = factory
        self.kind: IndexKind = kind_of(self.index)
        self.exact = exact
        self.rerank_factor = rerank_factor
        self.tombstones: set[int] = {int(i) for i in (tombstones if tombstones is not None else ())}
        self.dead = dead  # entries still in the structure that no search may return as they are
        if dead < len(self.tombstones) or (self.kind.removes_in_place and dead):
            raise ValueError(f"inconsistent dead entries: {dead}, {len(self.tombstones)} deleted")
        self.use_gpu = use_gpu and gpu_available()
        self._gpu_index: faiss.Index | None = None
        self._selector: Any = None
        self._lock = threading.RLock()

    @property
    def ntotal(self) -> int:
        """Live vectors (dead entries excluded)."""
        return int(self.index.ntotal) - self.dead

    @property
    def dead_fraction(self) -> float:
        return self.dead / max(int(self.index.ntotal), 1)

    def upsert(self, ids: Ids, vectors: Embeddings) -> None:
        """Add vectors, replacing any stored under the same ids."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        vectors = _as_matrix(vectors, self.dim)
        assert ids.shape == (vectors.shape[0],), (ids.shape, vectors.shape)
        with self._lock:
            if self.kind.removes_in_place:
                self.index.remove_ids(ids)
            else:
                self.dead += len(self._live(ids))  # the old entries stay, superseded
                self._revive(ids)
            if len(ids):
                self.index.add_with_ids(vectors, ids)
            self._gpu_index = None

    def add_new(self, ids: Ids, vectors: Embeddings) -> None:
        """Add vectors under ids the index does not hold yet (bulk builds skip the checks)."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        vectors = _as_matrix(vectors, self.dim)
        assert ids.shape == (vectors.shape[0],), (ids.shape, vectors.shape)
        with self._lock:
            if len(ids):
                self.index.add_with_ids(vectors, ids)
            self._gpu_index = None

    def remove(self, ids: Ids) -> int:
        """Delete ids; return how many were present."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        with self._lock:
            self._gpu_index = None
            if self.kind.removes_in_place:
                return int(self.index.remove_ids(ids))
            live = self._live(ids)
            self.tombstones.update(live)
            self.dead += len(live)
            self._selector = None
            return len(live)

    def reconstruct(self, image_id: int) -> np.ndarray | None:
        with self._lock:
            if int(image_id) in self.tombstones:
                return None
            try:
                return self.index.reconstruct(int(image_id))
            except RuntimeError:
                return None

    def search(self, queries: Embeddings, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Return (similarities (n, k), ids (n, k)), best first; missing neighbours have id -1."""
        queries = _as_matrix(queries, self.dim)
        with self._lock:
            k_eff = min(k, self.ntotal)
            if k_eff == 0:
                n = queries.shape[0]
                return np.zeros((n, 0), dtype=np.float32), np.zeros((n, 0), dtype=np.int64)
            exact = self._exact_source()
            fetch = min(k_eff * self.rerank_factor, int(self.index.ntotal)) if exact else k_eff
            scores, ids = self._raw_search(queries, fetch)
            if exact is not None:
                return rerank(queries, ids, exact, k_eff)
            return scores, ids

    def _raw_search(self, queries: Embeddings, k: int) -> tuple[np.ndarray, np.ndarray]:
        if not self.tombstones:
            return self._searcher().search(queries, k)
        params = faiss.SearchParameters()
        params.sel = self._tombstone_selector()
        n = queries.shape[0]
        scores = np.empty((n, k), dtype=np.float32)
        ids = np.empty((n, k), dtype=np.int64)
        # the raw SWIG call: faiss.contrib.torch_utils (imported by training code) replaces
        # `search` with a wrapper that drops `params`
        ptr = faiss.swig_ptr
        self.index.search_c(n, ptr(queries), k, ptr(scores), ptr(ids), params)
        ids[np.isin(ids, list(self.tombstones))] = -1  # belt and braces
        return scores, ids

    def _exact_source(self) -> ExactVectors | None:
        """Where exact vectors come from, or None when the index's own scores are exact."""
        superseded = self.dead > len(self.tombstones)  # old vectors still under live ids
        if self.kind.exact_scores and not superseded:
            return None
        if self.kind.exact_scores:  # re-score from the current entry in the flat storage
            return self._reconstruct_many
        if self.exact is None:
            log.debug("no exact vectors for %s; scores are approximate", self.factory)
        return self.exact

    def _reconstruct_many(self, ids: Ids) -> tuple[Ids, Embeddings]:
        pairs = [(int(i), self.reconstruct(int(i))) for i in ids]
        found = [(i, v) for i, v in pairs if v is not None]
        vectors = np.array([v for _, v in found], dtype=np.float32).reshape(-1, self.dim)
        return np.array([i for i, _ in found], dtype=np.int64), vectors

    def _live(self, ids: Ids) -> list[int]:
        """The ids among `ids` that have a live entry (distinct)."""
        return [i for i in dict.fromkeys(int(j) for j in ids) if self.reconstruct(i) is not None]

    def _revive(self, ids: Ids) -> None:
        if self.tombstones.intersection(int(i) for i in ids):
            self.tombstones.difference_update(int(i) for i in ids)
            self._selector = None

    def _tombstone_selector(self) -> Any:
        if self._selector is None:
            batch = faiss.IDSelectorBatch(np.fromiter(self.tombstones, dtype=np.int64))
            self._selector = faiss.IDSelectorNot(batch)
            self._selector.referenced = batch  # keep the inner selector alive
        return self._selector

    def _searcher(self) -> faiss.Index:
        if not self.use_gpu:
            return self.index
        if self._gpu_index is None:
            try:
                resources = faiss.StandardGpuResources()
                self._gpu_index = faiss.index_cpu_to_gpu(resources, 0, self.index)
            except RuntimeError:  # no GPU twin for this type (HNSW): search on the CPU
                log.info("no GPU version of %s; searching on the CPU", self.factory)
                self.use_gpu = False
                return self.index
        return self._gpu_index

    def to_bytes(self) -> np.ndarray:
        with self._lock:
            return faiss.serialize_index(self.index)

    @classmethod
    def from_bytes(cls, blob: np.ndarray, **options: Any) -> VectorIndex:
        """Rebuild from `to_bytes()`; options as for the constructor (factory, tombstones...)."""
        index = faiss.deserialize_index(np.ascontiguousarray(blob, dtype=np.uint8))
        return cls(index.d, index=index, **options)


def _as_matrix(vectors: Embeddings, dim: int) -> Embeddings:
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    if matrix.ndim != 2 or matrix.shape[1] != dim:
        raise ValueError(f"expected (n, {dim}) float32 vectors, got shape {matrix.shape}")
    return matrix
