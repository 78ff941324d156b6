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
from typing import Any

import numpy as np
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from indexer.catalog.database import SessionFactory
from indexer.catalog.schema import Embedding, Image, ImageStatus, IndexChange
from indexer.catalog.types import Embeddings, Ids
from search.errors import IndexNotReadyError
from search.index_build import BuildReport, IndexBuilder
from search.index_factory import IndexConfig, factory_family, resolve_factory, tune
from search.snapshot import SnapshotMeta, load_snapshot, save_snapshot
from search.vector_index import VectorIndex

log = logging.getLogger(__name__)
REBUILD_BATCH = 5000
EXACT_SLICE = 10_000  # ids per query: SQLite allows 32,766 bound parameters, PostgreSQL 65,535
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
            last_seq = session.scalar(select(func.coalesce(func.max(IndexChange.seq), 0))) or 0
            builder = self._trained_builder(session)
            query = (
                self._vectors()
                .order_by(Embedding.image_id)
                .execution_options(yield_per=REBUILD_BATCH)
            )
            for part in session.execute(query).partitions(REBUILD_BATCH):
                builder.add(*_unpack(part, self.dim))
        index, report = builder.finish()
        with self._lock:  # the atomic swap; changes logged since last_seq are replayed next
            self.index, self.last_seq, self.report = index, int(last_seq), report
            self.save()

    def _trained_builder(self, session: Session) -> IndexBuilder:
        """Choose the type for the catalog's size and train it on a spread-out sample."""
        n = session.scalar(select(func.count()).select_from(self._vectors().subquery())) or 0
        factory = resolve_factory(self.config, n, self.dim)
        builder = IndexBuilder(
            factory, self.dim, self.config, use_gpu=self.use_gpu, exact=self.exact_vectors
        )
        size = builder.sample_size(n)
        stride = max(1, n // max(size, 1))
        query = self._vectors().where(Embedding.image_id % stride == 0).limit(size)
        builder.train(_unpack(session.execute(query).all(), self.dim)[1])
        return builder

    def exact_vectors(self, ids: Ids) -> tuple[Ids, Embeddings]:
        """The catalog's exact vectors of `ids` (re-ranking for lossy index types), read in
        slices that stay under SQLite's and PostgreSQL's bound-parameter limits."""
        wanted = [int(i) for i in ids]
        rows: list[Any] = []
        with self.sessions() as session:
            for start in range(0, len(wanted), EXACT_SLICE):
                part = wanted[start : start + EXACT_SLICE]
                rows.extend(session.execute(self._vectors().where(Embedding.image_id.in_(part))))
        return _unpack(rows, self.dim)

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
            changes = session.execute(
                select(IndexChange.seq, IndexChange.image_id, IndexChange.model_version)
                .where(or_(IndexChange.seq > self.last_seq, IndexChange.seq.in_(self._gaps)))
                .order_by(IndexChange.seq)
                .limit(CHANGE_BATCH)
            ).all()
            self._track_gaps([seq for seq, _, _ in changes])
            if not changes:
                return 0
            touched = {i for _, i, version in changes if version in (None, self.model_version)}
            rows = session.execute(self._vectors().where(Embedding.image_id.in_(touched))).all()
        index.remove(np.fromiter(touched, dtype=np.int64))
        ids, vectors = _unpack(rows, self.dim)
        index.upsert(ids, vectors)
        self.last_seq = max(self.last_seq, int(changes[-1][0]))
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

    def _vectors(self) -> Select[int, bytes]:
        """(image id, vector) of this model version for every indexed image."""
        return (
            select(Embedding.image_id, Embedding.vector)
            .join(Image, Image.id == Embedding.image_id)
            .where(Embedding.model_version == self.model_version)
            .where(Image.status == ImageStatus.INDEXED)
        )

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


def _unpack(rows: object, dim: int) -> tuple[np.ndarray, np.ndarray]:
    pairs = [(row[0], row[1]) for row in rows if row[1] is not None]  # type: ignore[attr-defined]
    ids = np.fromiter((p[0] for p in pairs), dtype=np.int64, count=len(pairs))
    if not pairs:
        return ids, np.zeros((0, dim), dtype=np.float32)
    vectors = np.frombuffer(b"".join(p[1] for p in pairs), dtype=np.float32).reshape(-1, dim)
    return ids, vectors
