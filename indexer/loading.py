"""Read, hash, decode and prepare catalog files, in parallel threads so the encoder is not
starved.

Pillow releases the GIL while it decodes and resizes, and numpy while it normalises, so a
few threads turn several files into model-ready arrays at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from indexer.decode import decode_with_size, read_bytes
from indexer.errors import ImageError


@dataclass(frozen=True)
class LoadedFile:
    """One file's bytes summary and decoded image, or the reason it could not be decoded."""

    sha256: str | None = None
    size: int | None = None
    mtime_ns: int | None = None
    image: PILImage.Image | None = None
    error: str | None = None
    pixels: tuple[int, int] | None = None  # the file's upright (width, height)
    array: np.ndarray | None = None  # the model input made from `image`, when asked for


Prepare = Callable[[PILImage.Image], np.ndarray]


def load_file(
    path: Path, *, draft_size: int, max_pixels: int, prepare: Prepare | None = None
) -> LoadedFile:
    """Read and decode one file (and `prepare` it); permanent problems come back as `error`,
    never raised."""
    mtime_ns = _mtime_ns(path)  # before reading: a later write shows as a change
    try:
        data = read_bytes(path)
    except ImageError as exc:
        return LoadedFile(mtime_ns=mtime_ns, error=exc.message)
    sha, size = hashlib.sha256(data).hexdigest(), len(data)
    try:
        image, pixels = decode_with_size(data, max_pixels=max_pixels, draft_size=draft_size)
    except ImageError as exc:
        return LoadedFile(sha, size, mtime_ns, error=exc.message)
    array = prepare(image) if prepare is not None else None
    return LoadedFile(sha, size, mtime_ns, image, pixels=pixels, array=array)


def load_files(
    paths: Sequence[Path],
    *,
    draft_size: int,
    max_pixels: int,
    threads: int = 1,
    prepare: Prepare | None = None,
) -> list[LoadedFile]:
    """`load_file` for each path, in order, using up to `threads` threads."""
    return list(
        iter_load_files(
            paths, draft_size=draft_size, max_pixels=max_pixels, threads=threads, prepare=prepare
        )
    )


def iter_load_files(
    paths: Sequence[Path],
    *,
    draft_size: int,
    max_pixels: int,
    threads: int = 1,
    prepare: Prepare | None = None,
) -> Iterator[LoadedFile]:
    """`load_files` yielding each file, in order, as soon as it is ready: the threads keep
    decoding ahead while the caller embeds what has arrived."""

    def one(path: Path) -> LoadedFile:
        return load_file(path, draft_size=draft_size, max_pixels=max_pixels, prepare=prepare)

    if threads <= 1 or len(paths) <= 1:
        yield from (one(p) for p in paths)
        return
    with ThreadPoolExecutor(max_workers=min(threads, len(paths))) as pool:
        yield from pool.map(one, paths)


def _mtime_ns(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None  # read_bytes reports why
