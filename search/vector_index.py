"""A FAISS index whose ids are catalog primary keys; cosine similarity on unit vectors.

Speaks numpy: float32 (n, d) in, (D, I) out. The CPU index is authoritative; when a GPU
and faiss-gpu are present, searches run on a GPU copy refreshed after each change.
"""

from __future__ import annotations

import threading
from typing import Any

import faiss
import numpy as np

from indexer.types import Embeddings, Ids


def gpu_available() -> bool:
    return hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0


class VectorIndex:
    """Exact inner-product search over L2-normalised vectors, keyed by int64 ids."""

    def __init__(
        self, dim: int, *, use_gpu: bool = False, index: faiss.Index | None = None
    ) -> None:
        self.dim = dim
        # faiss's SWIG signatures do not describe its numpy overloads; treat the index as Any.
        self.index: Any = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        if self.index.d != dim:
            raise ValueError(f"index dimension {self.index.d} != {dim}")
        self.use_gpu = use_gpu and gpu_available()
        self._gpu_index: faiss.Index | None = None
        self._lock = threading.RLock()

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def upsert(self, ids: Ids, vectors: Embeddings) -> None:
        """Add vectors, replacing any stored under the same ids."""
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        vectors = _as_matrix(vectors, self.dim)
        assert ids.shape == (vectors.shape[0],), (ids.shape, vectors.shape)
        with self._lock:
            self.index.remove_ids(ids)
            if len(ids):
                self.index.add_with_ids(vectors, ids)
            self._gpu_index = None

    def remove(self, ids: Ids) -> int:
        with self._lock:
            removed = int(self.index.remove_ids(np.ascontiguousarray(ids, dtype=np.int64)))
            self._gpu_index = None
            return removed

    def reconstruct(self, image_id: int) -> np.ndarray | None:
        with self._lock:
            try:
                return self.index.reconstruct(int(image_id))
            except RuntimeError:
                return None

    def search(self, queries: Embeddings, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Return (similarities (n, k), ids (n, k)); missing neighbours have id -1."""
        queries = _as_matrix(queries, self.dim)
        with self._lock:
            k_eff = min(k, self.ntotal)
            if k_eff == 0:
                n = queries.shape[0]
                return np.zeros((n, 0), dtype=np.float32), np.zeros((n, 0), dtype=np.int64)
            scores, ids = self._searcher().search(queries, k_eff)
        return scores, ids

    def _searcher(self) -> faiss.Index:
        if not self.use_gpu:
            return self.index
        if self._gpu_index is None:
            resources = faiss.StandardGpuResources()
            self._gpu_index = faiss.index_cpu_to_gpu(resources, 0, self.index)
        return self._gpu_index

    def to_bytes(self) -> np.ndarray:
        with self._lock:
            return faiss.serialize_index(self.index)

    @classmethod
    def from_bytes(cls, blob: np.ndarray, *, use_gpu: bool = False) -> VectorIndex:
        index = faiss.deserialize_index(np.ascontiguousarray(blob, dtype=np.uint8))
        return cls(index.d, use_gpu=use_gpu, index=index)


def _as_matrix(vectors: Embeddings, dim: int) -> Embeddings:
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    if matrix.ndim != 2 or matrix.shape[1] != dim:
        raise ValueError(f"expected (n, {dim}) float32 vectors, got shape {matrix.shape}")
    return matrix
