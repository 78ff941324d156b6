"""Content-addressed files under the Lookalike home (uploads, feedback queries)."""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from pathlib import Path

from indexer.catalog.errors import StorageFullError

FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def store_bytes(folder: Path, data: bytes) -> Path:
    """Write `data` as folder/<sha256> atomically; the same content lands on one file.

    A full disk (or quota, or file-size limit) raises StorageFullError and leaves nothing
    behind: the temp file is removed and the final name never appears.
    """
    path = folder / hashlib.sha256(data).hexdigest()
    if path.exists():
        return path
    tmp: str | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if exc.errno in FULL:
            raise StorageFullError(f"no space left to store the file ({exc.strerror})") from exc
        raise
    return path
