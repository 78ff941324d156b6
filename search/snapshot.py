"""Atomic on-disk snapshots of the vector index with the change sequence they reflect."""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from search.vector_index import VectorIndex


@dataclass(frozen=True)
class SnapshotMeta:
    model_version: str
    dim: int
    last_seq: int
    ntotal: int


def save_snapshot(path: Path, index: VectorIndex, meta: SnapshotMeta) -> None:
    """Write to a temp file in the same folder, fsync, then os.replace: readers never see half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".snapshot-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, index=index.to_bytes(), meta=np.array(json.dumps(asdict(meta))))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_snapshot(path: Path, *, use_gpu: bool = False) -> tuple[VectorIndex, SnapshotMeta] | None:
    """Load a snapshot; None when it is missing or unreadable (the caller rebuilds)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = SnapshotMeta(**json.loads(str(data["meta"])))
            index = VectorIndex.from_bytes(data["index"], use_gpu=use_gpu)
    except (OSError, EOFError, ValueError, KeyError, TypeError, RuntimeError, zipfile.BadZipFile):
        return None
    if index.ntotal != meta.ntotal or index.dim != meta.dim:
        return None
    return index, meta
