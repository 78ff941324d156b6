"""Read, hash and decode catalog files, in parallel threads so the encoder is not starved.

Pillow releases the GIL while it decodes, so a few threads decode several images at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image as PILImage

from indexer.decode import decode_image, read_bytes
from indexer.errors import ImageError


@dataclass(frozen=True)
class LoadedFile:
    """One file's bytes summary and decoded image, or the reason it could not be decoded."""

    sha256: str | None = None
    size: int | None = None
    mtime_ns: int | None = None
    image: PILImage.Image | None = None
    error: str | None = None


def load_file(path: Path, *, draft_size: int, max_pixels: int) -> LoadedFile:
    """Read and decode one file; permanent problems come back as `error`, never raised."""
    mtime_ns = _mtime_ns(path)  # before reading: a later write shows as a change
    try:
        data = read_bytes(path)
    except ImageError as exc:
        return LoadedFile(mtime_ns=mtime_ns, error=exc.message)
    sha, size = hashlib.sha256(data).hexdigest(), len(data)
    try:
        image = decode_image(data, max_pixels=max_pixels, draft_size=draft_size)
    except ImageError as exc:
        return LoadedFile(sha, size, mtime_ns, error=exc.message)
    return LoadedFile(sha, size, mtime_ns, image)


def load_files(
    paths: Sequence[Path], *, draft_size: int, max_pixels: int, threads: int = 1
) -> list[LoadedFile]:
    """`load_file` for each path, in order, using up to `threads` threads."""
    if threads <= 1 or len(paths) <= 1:
        return [load_file(p, draft_size=draft_size, max_pixels=max_pixels) for p in paths]
    with ThreadPoolExecutor(max_workers=min(threads, len(paths))) as pool:
        return list(
            pool.map(lambda p: load_file(p, draft_size=draft_size, max_pixels=max_pixels), paths)
        )


def _mtime_ns(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None  # read_bytes reports why
