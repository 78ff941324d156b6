"""Keep a process's vector index in step with the catalog database.

The database is the source of truth. At start the index is loaded from its snapshot (or
rebuilt from the rows when the snapshot is missing, corrupt or of another model), then it
replays the `index_changes` log incrementally, so adds and deletes made by any process reach
every search process without a restart.

The index type comes from `IndexConfig` (chosen from the catalog size, or a factory string);
trained types train on a catalog sample at each (re)build, and every build measures its
recall@10. Types that cannot delete in place keep tombstones; once too many entries are dead,
a background rebuild from the database replaces the index in one assignment.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from indexer.catalog.database import SessionFactory
from indexer.catalog.types import Embeddings, Ids
from indexer.catalog.vectors import (
    changes_after,
    count_vectors,
    last_seq,
    vector_batches,
    vector_sample,
    vectors_of,
)
from search.errors import IndexNotReadyError
from search.index_build import BuildReport, IndexBuilder
from search.index_factory import IndexConfig, factory_family, resolve_factory, tune
from search.snapshot import SnapshotMeta, load_snapshot, save_snapshot
from search.vector_index import VectorIndex

log = logging.getLogger(__name__)
REBUILD_BATCH = 5000
CHANGE_BATCH = 5000
GAP_TTL_S = 120.0  # longer than any indexing transaction is expected to stay open


@dataclass(frozen=True)
class IndexStatus:
    ready: bool
    size: int
    model_version: str
    last_seq: int
    error: str | None
    factory: str = "Flat"
    recall_at_10: float | None = None  # measured at the last (re)build against exact search
    dead: int = 0  # tombstoned or superseded entries awaiting a rebuild
    rebuilding: bool = False


class IndexSync:
    """Owns one VectorIndex for one model version and follows the database."""

    def __init__(
        self,
        sessions: SessionFactory,
        *,
        dim: int,
        model_version: str,
        snapshot_path: Path,
        interval_s: float = 1.0,
        save_every_s: float = 10.0,
        use_gpu: bool = False,
        config: IndexConfig | None = None,
    ) -> None:
        self.sessions = sessions
        self.dim = dim
        self.model_version = model_version
        self.snapshot_path = snapshot_path
        self.interval_s = interval_s
        self.save_every_s = save_every_s
        self.use_gpu = use_gpu
        self.config = config or IndexConfig()
        self.index: VectorIndex | None = None
        self.report: BuildReport | None = None
        self.last_seq = 0
        self.error: str | None = None
        self._last_check = 0.0
        self._last_save = 0.0
        self._dirty = False
        self._gaps: dict[int, float] = {}  # unseen seq -> when first missed
        self._lock = threading.RLock()
        self._rebuilder: threading.Thread | None = None

    def status(self) -> IndexStatus:
        index, report = self.index, self.report
        return IndexStatus(
            ready=index is not None,
            size=index.ntotal if index else 0,
            model_version=self.model_version,
            last_seq=self.last_seq,
            error=self.error,
            factory=index.factory if index else "",
            recall_at_10=report.recall_at_10 if report else None,
            dead=index.dead if index else 0,
            rebuilding=self.rebuilding,
        )

    @property
    def rebuilding(self) -> bool:
        return self._rebuilder is not None and self._rebuilder.is_alive()

    def start_background(self) -> threading.Thread:
        """Load or rebuild in a thread; searches answer 503 until it finishes."""
        thread = threading.Thread(target=self._load_logged, name="index-load", daemon=True)
        thread.start()
        return thread

    def _load_logged(self) -> None:
        try:
            self.ensure_ready()
        except Exception as exc:  # surfaced through status() and 503s
            log.exception("index load failed")
            self.error = f"{type(exc).__name__}: {exc}"

    def ensure_ready(self) -> VectorIndex:
        """Load the snapshot or rebuild, then catch up with the change log."""
        with self._lock:
            if self.index is None:
                self._load_or_rebuild()
        self.catch_up()
        assert self.index is not None
        return self.index

    def require_ready(self) -> VectorIndex:
        """Return the index after a rate-limited sync; raise IndexNotReadyError while loading."""
        if self.index is None:
            detail = f" ({self.error})" if self.error else ""
            raise IndexNotReadyError(f"the index is still loading{detail}")
        if time.monotonic() - self._last_check >= self.interval_s:
            self.catch_up()
        return self.index

    def _load_or_rebuild(self) -> None:
        options = {"use_gpu": self.use_gpu, "exact": self.exact_vectors}
        loaded = load_snapshot(self.snapshot_path, **options)
        if loaded and self._usable(loaded[1]):
            index, meta = loaded
            # the snapshot keeps the knobs tuned at build time; configured ones override them
            tune(index.index, nprobe=self.config.nprobe, ef_search=self.config.ef_search)
            index.rerank_factor = meta.rerank_factor or self.config.rerank_factor
            self.index, self.last_seq = index, meta.last_seq
            self.report = BuildReport(meta.factory, meta.ntotal, meta.recall_at_10, 0.0)
            log.info("loaded %s snapshot with %d vectors", meta.factory, index.ntotal)
            return
        if self.snapshot_path.exists():
            log.warning("snapshot %s unusable; rebuilding from the database", self.snapshot_path)
        self.rebuild()

    def _usable(self, meta: SnapshotMeta) -> bool:
        """Same model and dimension, and the configured factory when one is forced."""
        forced = self.config.factory.strip()
        wanted = forced.lower() == "auto" or forced == meta.factory
        return meta.model_version == self.model_version and meta.dim == self.dim and wanted

    def rebuild(self) -> None:
        """Build a fresh index from every indexed row of this model version, then swap it in."""
        with self.sessions() as session:
            seq = last_seq(session)
            builder = self._trained_builder(session)
            batches = vector_batches(session, self.model_version, self.dim, batch=REBUILD_BATCH)
            for ids, vectors in batches:
                builder.add(ids, vectors)
        index, report = builder.finish()
        with self._lock:  # the atomic swap; changes logged since `seq` are replayed next
            self.index, self.last_seq, self.report = index, int(seq), report
            self.save()

    def _trained_builder(self, session: Session) -> IndexBuilder:
        """Choose the type for the catalog's size and train it on a spread-out sample."""
        n = count_vectors(session, self.model_version)
        factory = resolve_factory(self.config, n, self.dim)
        builder = IndexBuilder(
            factory, self.dim, self.config, use_gpu=self.use_gpu, exact=self.exact_vectors
        )
        size = builder.sample_size(n)
        builder.train(vector_sample(session, self.model_version, self.dim, n=n, size=size))
        return builder

    def exact_vectors(self, ids: Ids) -> tuple[Ids, Embeddings]:
        """The catalog's exact vectors of `ids` (re-ranking for lossy index types)."""
        with self.sessions() as session:
            return vectors_of(session, self.model_version, self.dim, ids)

    def _rebuild_if_worn(self, index: VectorIndex) -> None:
        """Start a background rebuild when dead entries pass the configured fraction, or when
        the catalog has doubled and now calls for another index type."""
        worn = index.dead_fraction > self.config.tombstone_fraction
        if self.rebuilding or not (worn or self._outgrown(index)):
            return
        log.info(
            "rebuilding %s in the background (%d live, %d dead)",
            index.factory,
            index.ntotal,
            index.dead,
        )
        self._rebuilder = threading.Thread(
            target=self._rebuild_logged, name="index-rebuild", daemon=True
        )
        self._rebuilder.start()

    def _outgrown(self, index: VectorIndex) -> bool:
        built = self.report.ntotal if self.report else 0
        if index.ntotal < 2 * max(built, 1000):
            return False
        wanted = resolve_factory(self.config, index.ntotal, self.dim)
        return factory_family(wanted) != factory_family(index.factory)

    def _rebuild_logged(self) -> None:
        try:
            self.rebuild()
        except Exception:  # the worn index keeps serving; the next change retries
            log.exception("background index rebuild failed")

    def catch_up(self) -> int:
        """Apply logged changes newer than the last one seen; return how many were applied."""
        if self.index is None:
            return 0
        applied = 0
        with self._lock:
            self._last_check = time.monotonic()
            while True:
                n = self._apply_batch(self.index)
                applied += n
                if n < CHANGE_BATCH:
                    break
            if applied:
                self._dirty = True
                self._rebuild_if_worn(self.index)
            if self._dirty and time.monotonic() - self._last_save >= self.save_every_s:
                self.save()
        return applied

    def _apply_batch(self, index: VectorIndex) -> int:
        """Re-read every image a change names: a change only says "look at this id again"."""
        with self.sessions() as session:
            changes = changes_after(session, self.last_seq, self._gaps, limit=CHANGE_BATCH)
            self._track_gaps([change.seq for change in changes])
            if not changes:
                return 0
            touched = {c.image_id for c in changes if c.model_version in (None, self.model_version)}
            ids, vectors = vectors_of(session, self.model_version, self.dim, touched)
        index.remove(np.fromiter(touched, dtype=np.int64))
        index.upsert(ids, vectors)
        self.last_seq = max(self.last_seq, changes[-1].seq)
        return len(changes)

    def _track_gaps(self, seqs: list[int]) -> None:
        """Remember skipped sequence numbers: a slower transaction may still commit them."""
        now = time.monotonic()
        for seq in seqs:
            self._gaps.pop(seq, None)
        expected = self.last_seq + 1
        for seq in sorted(s for s in seqs if s > self.last_seq):
            for missing in range(expected, seq):
                self._gaps.setdefault(missing, now)
            expected = seq + 1
        self._gaps = {s: t for s, t in self._gaps.items() if now - t < GAP_TTL_S}

    def save(self) -> None:
        """Write an atomic snapshot of the current index."""
        index = self.index
        if index is None:
            return
        recall = self.report.recall_at_10 if self.report else None
        meta = SnapshotMeta(
            self.model_version,
            self.dim,
            self.last_seq,
            index.ntotal,
            index.factory,
            recall,
            index.rerank_factor,
        )
        save_snapshot(self.snapshot_path, index, meta)
        self._last_save = time.monotonic()
        self._dirty = False
