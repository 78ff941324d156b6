"""A real full disk while writing an index snapshot: the old snapshot stays valid.

The snapshot folder is a 512 KiB tmpfs mounted for the test; a filler file takes the free
space, so the next snapshot write fails in the kernel with ENOSPC. Where mounting is not
permitted, the process's file-size limit (RLIMIT_FSIZE) makes the write fail instead.
"""

from __future__ import annotations

import errno
import os
import resource
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from search.snapshot import SnapshotMeta, load_snapshot, save_snapshot
from search.vector_index import VectorIndex

DIM = 64


def index_of(n: int) -> VectorIndex:
    index = VectorIndex(DIM)
    vectors = np.random.default_rng(n).normal(size=(n, DIM)).astype(np.float32)
    index.upsert(np.arange(n, dtype=np.int64), vectors / np.linalg.norm(vectors, axis=1)[:, None])
    return index


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path | None]:
    """A mounted 512 KiB tmpfs, or None when this machine does not allow mounting."""
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(folder)], capture_output=True
    )
    yield folder if mounted.returncode == 0 else None
    if mounted.returncode == 0:
        subprocess.run(["umount", str(folder)], check=True)


def test_disk_full_keeps_the_old_snapshot(small_disk: Path | None, tmp_path: Path) -> None:
    old = index_of(200)  # ~52 KB of vectors
    big = index_of(4000)  # ~1 MB: cannot fit
    if small_disk is None:
        return _file_size_limit_instead(tmp_path, old, big)
    path = small_disk / "snapshot.npz"
    save_snapshot(path, old, SnapshotMeta("v1", DIM, 1, old.ntotal))
    with pytest.raises(OSError) as info:
        save_snapshot(path, big, SnapshotMeta("v1", DIM, 2, big.ntotal))
    assert info.value.errno == errno.ENOSPC
    loaded = load_snapshot(path)
    assert loaded is not None and loaded[1].last_seq == 1 and loaded[0].ntotal == 200
    assert sorted(p.name for p in small_disk.iterdir()) == ["snapshot.npz"]  # no temp left


def _file_size_limit_instead(tmp_path: Path, old: VectorIndex, big: VectorIndex) -> None:
    path = tmp_path / "snapshot.npz"
    save_snapshot(path, old, SnapshotMeta("v1", DIM, 1, old.ntotal))
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, hard))
    try:
        with pytest.raises(OSError) as info:
            save_snapshot(path, big, SnapshotMeta("v1", DIM, 2, big.ntotal))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)
    assert info.value.errno == errno.EFBIG
    loaded = load_snapshot(path)
    assert loaded is not None and loaded[1].last_seq == 1
    assert [p.name for p in tmp_path.iterdir() if p.name != "disk"] == ["snapshot.npz"]
    assert os.path.getsize(path) < 200_000


def test_a_refused_write_keeps_the_old_snapshot(tmp_path: Path) -> None:
    """The fallback above, run everywhere: the kernel refuses the write (EFBIG)."""
    _file_size_limit_instead(tmp_path, index_of(200), index_of(4000))
