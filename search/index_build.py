"""Build an index in one pass over the catalog: train on a sample, add, measure recall@10.

The owner (IndexSync) feeds it rows from the database; the builder knows nothing of SQL.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass

import numpy as np

from indexer.catalog.types import Embeddings, Ids
from search.index_factory import (
    MAX_RERANK_FACTOR,
    MIN_PQ_TRAIN,
    POINTS_PER_CENTROID,
    TRAIN_MAX,
    IndexConfig,
    build_index,
    start_tuning,
    widen,
)
from search.recall import StreamingTruth, recall_leaving_out_self
from search.rerank import ExactVectors
from search.vector_index import VectorIndex

log = logging.getLogger(__name__)
RECALL_K = 10


@dataclass(frozen=True)
class BuildReport:
    """What a (re)build chose and how well it does against exact search."""

    factory: str
    ntotal: int
    recall_at_10: float | None  # None until measured (an index loaded from an old snapshot)
    seconds: float


class IndexBuilder:
    """Train (when the type needs it) on a catalog sample, then add every row once."""

    def __init__(
        self,
        factory: str,
        dim: int,
        config: IndexConfig,
        *,
        use_gpu: bool = False,
        exact: ExactVectors | None = None,
    ) -> None:
        self.factory, self.dim, self.config = factory, dim, config
        self.use_gpu, self.exact = use_gpu, exact
        self._raw = build_index(factory, dim)  # raises ValueError for a bad factory string
        self._truth: StreamingTruth | None = None
        self._queries = np.zeros((0, dim), dtype=np.float32)
        self._start = time.perf_counter()
        self.index: VectorIndex | None = None

    def sample_size(self, n: int) -> int:
        """How many catalog vectors `train` wants: training points plus recall queries."""
        wanted = self.config.recall_queries
        if not self._raw.is_trained:
            match = re.search(r"IVF(\d+)", self.factory)
            lists = int(match.group(1)) if match else 256
            floor = MIN_PQ_TRAIN if "PQ" in self.factory else 0
            wanted = max(wanted, min(max(POINTS_PER_CENTROID * lists * 2, floor), TRAIN_MAX))
        return min(n, wanted)

    def train(self, sample: Embeddings) -> None:
        """Train on `sample` (m, d); fall back to exact Flat when it is too small to train on."""
        sample = np.ascontiguousarray(sample, dtype=np.float32).reshape(-1, self.dim)
        if not self._raw.is_trained:
            try:
                self._raw.train(sample)
            except RuntimeError as exc:  # fewer points than centroids: catalog still too small
                log.warning(
                    "cannot train %s on %d vectors (%s); using Flat",
                    self.factory,
                    len(sample),
                    str(exc).splitlines()[-1],
                )
                self.factory, self._raw = "Flat", build_index("Flat", self.dim)
        start_tuning(self._raw, nprobe=self.config.nprobe, ef_search=self.config.ef_search)
        rng = np.random.default_rng(0)
        take = min(self.config.recall_queries, len(sample))
        self._queries = sample[rng.choice(len(sample), size=take, replace=False)]
        self._truth = StreamingTruth(self._queries, RECALL_K + 1)  # + the query itself
        self.index = VectorIndex(
            self.dim,
            use_gpu=self.use_gpu,
            index=self._raw,
            factory=self.factory,
            exact=self.exact,
            rerank_factor=self.config.rerank_factor,
        )

    def add(self, ids: Ids, vectors: Embeddings) -> None:
        """Add a batch of rows the index does not hold yet; also feeds the exact oracle."""
        assert self.index is not None and self._truth is not None, "train() first"
        self.index.add_new(ids, vectors)
        self._truth.add(np.ascontiguousarray(ids, dtype=np.int64), vectors)

    def finish(self) -> tuple[VectorIndex, BuildReport]:
        """The built index and its measured recall@10 against exact search."""
        if self.index is None:
            self.train(np.zeros((0, self.dim), dtype=np.float32))
        assert self.index is not None and self._truth is not None
        truth = self._truth.neighbours()
        measured = len(self._queries) > 0
        recall = round(self._tuned_recall(self.index, truth), 4) if measured else None
        report = BuildReport(
            self.factory, self.index.ntotal, recall, time.perf_counter() - self._start
        )
        log.info("built %s over %d vectors: recall@10 %.3f in %.1fs", *_fields(report))
        return self.index, report

    def _tuned_recall(self, index: VectorIndex, truth: tuple[np.ndarray, np.ndarray]) -> float:
        """Measure recall@10 on the sample's other neighbours and tune the automatic knobs to
        the target: the narrowest nprobe / efSearch that reaches it (lossy types searched with
        the deepest re-ranking meanwhile), then the shallowest re-ranking that still does.
        The sample queries are catalog members, so their own entries do not count."""

        def measure() -> float:
            return recall_leaving_out_self(index, truth, self._queries, RECALL_K)

        ivf = index.kind.name == "ivf"
        if not (self.config.nprobe is None if ivf else self.config.ef_search is None):
            return measure()  # configured by hand: report, do not tune
        lossy = not index.kind.exact_scores
        if lossy:
            index.rerank_factor = MAX_RERANK_FACTOR
        recall = measure()
        while recall < self.config.target_recall and widen(index.index):
            recall = measure()
        while lossy and index.rerank_factor > self.config.rerank_factor:
            index.rerank_factor //= 2
            shallower = measure()
            if shallower < self.config.target_recall:
                index.rerank_factor *= 2
                break
            recall = shallower
        return recall


def _fields(report: BuildReport) -> tuple[str, int, float, float]:
    return report.factory, report.ntotal, report.recall_at_10 or 0.0, report.seconds
