"""Choose and build the FAISS index type for a catalog, the way autofaiss chooses.

Exact `Flat` for small catalogs, `IVF{nlist},Flat` when the float vectors fit the memory
budget, `IVF{nlist},PQ{m}` (re-ranked exactly) when they do not; `HNSW32` on request. Any
FAISS factory string overrides the choice. Inner product on unit vectors (cosine) throughout.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import faiss

from indexer.catalog.settings import Settings

AUTO = "auto"
FLAT_MAX = 50_000  # below this, exact search is fast enough and needs no training
MIN_PQ_TRAIN = 10_000  # a PQ codebook of 256 centroids wants >= ~39 points each
POINTS_PER_CENTROID = 39  # the fewest faiss accepts without warning
TRAIN_MAX = 200_000
ID_BYTES = 8
START_NPROBE = 8  # auto-tuning starts narrow and doubles until recall@10 meets the target
START_EF_SEARCH = 32
MAX_KNOB = 1024
MAX_RERANK_FACTOR = 64


@dataclass(frozen=True)
class IndexConfig:
    """How a search process builds and tunes its index (from `Settings`)."""

    factory: str = AUTO  # "auto" or a FAISS factory string such as "IVF1024,PQ16" or "HNSW32"
    memory_mb: float = 4096.0
    nprobe: int | None = None  # None: tuned at build time (from START_NPROBE up)
    ef_search: int | None = None  # None: tuned at build time (from START_EF_SEARCH up)
    rerank_factor: int = 4  # lossy types fetch k * factor candidates, re-scored exactly
    tombstone_fraction: float = 0.1  # dead entries above this share trigger a rebuild
    recall_queries: int = 100
    target_recall: float = 0.95  # after a build, widen the search until recall@10 reaches it

    @classmethod
    def from_settings(cls, settings: Settings) -> IndexConfig:
        return cls(
            factory=settings.index_factory,
            memory_mb=settings.index_memory_mb,
            nprobe=settings.index_nprobe,
            ef_search=settings.index_ef_search,
            tombstone_fraction=settings.index_tombstone_fraction,
        )


@dataclass(frozen=True)
class IndexKind:
    """What a built index can do, read from its structure."""

    name: str  # "flat", "ivf", "hnsw" or "other"
    exact_scores: bool  # stores full vectors: reported inner products are exact
    removes_in_place: bool  # False: deletes become tombstones until a rebuild


def choose_factory(n: int, dim: int, *, memory_mb: float) -> str:
    """The factory string for `n` vectors of `dim` floats under a memory budget."""
    budget = memory_mb * 2**20
    float_bytes = n * (4 * dim + ID_BYTES)
    if float_bytes > budget and n >= MIN_PQ_TRAIN:
        return f"IVF{nlist_for(n)},PQ{pq_m_for(n, dim, budget)}"
    if n < FLAT_MAX:
        return "Flat"
    return f"IVF{nlist_for(n)},Flat"


def resolve_factory(config: IndexConfig, n: int, dim: int) -> str:
    """The configured override, or the automatic choice for this catalog size."""
    if config.factory.strip().lower() != AUTO:
        return config.factory.strip()
    return choose_factory(n, dim, memory_mb=config.memory_mb)


def nlist_for(n: int) -> int:
    """A power of two near 4 * sqrt(n), with at least 39 training points per list."""
    target = 2 ** round(math.log2(max(4 * math.sqrt(max(n, 1)), 1)))
    return max(1, min(target, n // POINTS_PER_CENTROID))


def pq_m_for(n: int, dim: int, budget_bytes: float) -> int:
    """The most PQ sub-quantisers (bytes per code) that fit the budget; m divides dim."""
    choices = [m for m in range(1, dim // 2 + 1) if dim % m == 0 and m <= 64]
    fitting = [m for m in choices if n * (m + ID_BYTES) <= budget_bytes]
    return max(fitting) if fitting else min(choices)


def build_index(factory: str, dim: int) -> Any:
    """An empty index for `factory` whose ids are catalog keys; raises ValueError if invalid."""
    try:
        inner = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as exc:
        raise ValueError(f"invalid FAISS factory string {factory!r}: {exc}") from exc
    if hasattr(inner, "do_polysemous_training"):
        inner.do_polysemous_training = False  # slow to train, and its codes go unused here
    ivf = _ivf(inner)
    if ivf is not None:  # IVF stores ids itself and removes in place; a hashtable maps them
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
        return inner
    return faiss.IndexIDMap2(inner)


def kind_of(index: Any) -> IndexKind:
    """Classify an index built by `build_index` (or deserialised from one)."""
    ivf = _ivf(index)
    if ivf is not None:
        exact = isinstance(faiss.downcast_index(ivf), faiss.IndexIVFFlat)  # not the base type
        return IndexKind("ivf", exact, True)
    inner = _unwrapped(index)
    if isinstance(inner, faiss.IndexFlat):
        return IndexKind("flat", True, True)
    if isinstance(inner, faiss.IndexHNSW):
        return IndexKind("hnsw", isinstance(inner, faiss.IndexHNSWFlat), False)
    return IndexKind("other", isinstance(inner, faiss.IndexFlat), False)


def tune(index: Any, *, nprobe: int | None, ef_search: int | None) -> None:
    """Set the search-time knobs given; None leaves a knob as it is (e.g. as tuned)."""
    ivf = _ivf(index)
    if ivf is not None:
        if nprobe:
            ivf.nprobe = min(nprobe, int(ivf.nlist))
        return
    inner = _unwrapped(index)
    if isinstance(inner, faiss.IndexHNSW) and ef_search:
        inner.hnsw.efSearch = ef_search


def start_tuning(index: Any, *, nprobe: int | None, ef_search: int | None) -> None:
    """Fresh index: the configured knobs, or the narrow start of automatic tuning."""
    tune(index, nprobe=nprobe or START_NPROBE, ef_search=ef_search or START_EF_SEARCH)


def widen(index: Any, *, max_knob: int = MAX_KNOB) -> bool:
    """Double nprobe (IVF) or efSearch (HNSW), up to a cap; False when nothing can widen."""
    ivf = _ivf(index)
    if ivf is not None:
        wider = min(int(ivf.nprobe) * 2, int(ivf.nlist), max_knob)
        changed = wider > ivf.nprobe
        ivf.nprobe = wider
        return changed
    inner = _unwrapped(index)
    if isinstance(inner, faiss.IndexHNSW) and inner.hnsw.efSearch < max_knob:
        inner.hnsw.efSearch = min(int(inner.hnsw.efSearch) * 2, max_knob)
        return True
    return False


def knobs(index: Any) -> dict[str, int]:
    """The search-time knobs an index carries (nprobe or efSearch), for reports."""
    ivf = _ivf(index)
    if ivf is not None:
        return {"nprobe": int(ivf.nprobe)}
    inner = _unwrapped(index)
    if isinstance(inner, faiss.IndexHNSW):
        return {"ef_search": int(inner.hnsw.efSearch)}
    return {}


def factory_family(factory: str) -> str:
    """The index type without its sizes: "IVF1024,PQ16" -> "IVF,PQ"."""
    return re.sub(r"\d+", "", factory)


def _unwrapped(index: Any) -> Any:
    """The index an `IndexIDMap2` wraps (downcast to its type), or the index itself."""
    return faiss.downcast_index(index.index) if hasattr(index, "id_map") else index


def _ivf(index: Any) -> Any:
    try:
        return faiss.extract_index_ivf(index)
    except RuntimeError:
        return None
