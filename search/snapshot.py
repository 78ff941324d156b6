"""Atomic on-disk snapshots of the vector index with the change sequence they reflect.

Every index type round-trips (faiss serialises all CPU types); tombstones travel with it so
a deleted id never comes back after a restart.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from search.vector_index import VectorIndex


@dataclass(frozen=True)
class SnapshotMeta:
    model_version: str
    dim: int
    last_seq: int
    ntotal: int  # live vectors; the structure may hold more (dead entries)
    factory: str = "Flat"
    recall_at_10: float | None = None
    rerank_factor: int | None = None  # as tuned at build time (lossy types); None: configured


def save_snapshot(path: Path, index: VectorIndex, meta: SnapshotMeta) -> None:
    """Write to a temp file in the same folder, fsync, then os.replace: readers never see half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".snapshot-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(
                handle,
                index=index.to_bytes(),
                tombstones=np.fromiter(index.tombstones, dtype=np.int64),
                meta=np.array(json.dumps(asdict(meta))),
            )
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_snapshot(path: Path, **options: Any) -> tuple[VectorIndex, SnapshotMeta] | None:
    """Load a snapshot; None when it is missing or unreadable (the caller rebuilds).

    `options` go to `VectorIndex` (use_gpu, exact, rerank_factor).
    """
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = SnapshotMeta(**json.loads(str(data["meta"])))
            blob = data["index"]
            tombstones = data["tombstones"] if "tombstones" in data.files else None
            raw = faiss.deserialize_index(np.ascontiguousarray(blob, dtype=np.uint8))
            dead = int(raw.ntotal) - meta.ntotal
            index = VectorIndex(
                raw.d, index=raw, factory=meta.factory, tombstones=tombstones, dead=dead, **options
            )
    except (OSError, EOFError, ValueError, KeyError, TypeError, RuntimeError, zipfile.BadZipFile):
        return None
    if index.dim != meta.dim:
        return None
    return index, meta
