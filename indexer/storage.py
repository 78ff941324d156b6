"""Content-addressed files under the Lookalike home (uploads, feedback queries)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def store_bytes(folder: Path, data: bytes) -> Path:
    """Write `data` as folder/<sha256> atomically; the same content lands on one file."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / hashlib.sha256(data).hexdigest()
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    return path
