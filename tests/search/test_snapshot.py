"""Snapshots are atomic and a corrupt or missing one is reported as unusable, not raised."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from search.snapshot import SnapshotMeta, load_snapshot, save_snapshot
from search.vector_index import VectorIndex


def small_index() -> VectorIndex:
    index = VectorIndex(8)
    vectors = np.eye(8, dtype=np.float32)
    index.upsert(np.arange(10, 18), vectors)
    return index


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "idx" / "snapshot.npz"
    save_snapshot(path, small_index(), SnapshotMeta("v1", 8, 42, 8))
    loaded = load_snapshot(path)
    assert loaded is not None
    index, meta = loaded
    assert meta == SnapshotMeta("v1", 8, 42, 8)
    assert index.search(np.eye(8, dtype=np.float32)[:1], 1)[1][0, 0] == 10
    assert [p.name for p in path.parent.iterdir()] == ["snapshot.npz"]  # no temp files left


@pytest.mark.parametrize("content", [b"", b"garbage", b"PK\x03\x04truncated zip"])
def test_corrupt_snapshot_is_unusable(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "snapshot.npz"
    path.write_bytes(content)
    assert load_snapshot(path) is None


def test_failed_write_keeps_the_old_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "snapshot.npz"
    save_snapshot(path, small_index(), SnapshotMeta("v1", 8, 1, 8))
    before = path.read_bytes()

    def disk_full(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    with pytest.raises(OSError, match="No space"):
        save_snapshot(path, small_index(), SnapshotMeta("v1", 8, 2, 8))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["snapshot.npz"]
