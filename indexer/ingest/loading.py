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

from indexer.catalog.errors import ImageError
from indexer.catalog.reading import read_bytes
from indexer.catalog.settings import Settings
from indexer.encoder.decode import decode_with_size
from indexer.encoder.decode_budget import DEFAULT_BUDGET, DecodeBudget


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


@dataclass(frozen=True)
class FileLimits:
    """What reading and decoding one catalog file may cost."""

    max_bytes: int | None = None
    read_timeout_s: float | None = None
    budget: DecodeBudget = DEFAULT_BUDGET

    @classmethod
    def from_settings(cls, settings: Settings) -> FileLimits:
        return cls(settings.max_file_bytes, settings.read_timeout_s, settings.decode_budget)


NO_LIMITS = FileLimits()


def load_file(
    path: Path,
    *,
    draft_size: int,
    max_pixels: int,
    prepare: Prepare | None = None,
    limits: FileLimits = NO_LIMITS,
) -> LoadedFile:
    """Read and decode one file (and `prepare` it); permanent problems come back as `error`,
    never raised.

    Catalog paths are stored resolved, so a last component that is now a symlink was
    swapped in since: it is refused, like anything that is not a regular file.
    """
    mtime_ns = _mtime_ns(path)  # before reading: a later write shows as a change
    try:
        data = read_bytes(
            path,
            max_bytes=limits.max_bytes,
            timeout_s=limits.read_timeout_s,
            follow_symlinks=False,
        )
    except ImageError as exc:
        return LoadedFile(mtime_ns=mtime_ns, error=exc.message)
    sha, size = hashlib.sha256(data).hexdigest(), len(data)
    try:
        image, pixels = decode_with_size(
            data, max_pixels=max_pixels, draft_size=draft_size, budget=limits.budget
        )
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
    limits: FileLimits = NO_LIMITS,
) -> list[LoadedFile]:
    """`load_file` for each path, in order, using up to `threads` threads."""
    return list(
        iter_load_files(
            paths,
            draft_size=draft_size,
            max_pixels=max_pixels,
            threads=threads,
            prepare=prepare,
            limits=limits,
        )
    )


def iter_load_files(
    paths: Sequence[Path],
    *,
    draft_size: int,
    max_pixels: int,
    threads: int = 1,
    prepare: Prepare | None = None,
    limits: FileLimits = NO_LIMITS,
) -> Iterator[LoadedFile]:
    """`load_files` yielding each file, in order, as soon as it is ready: the threads keep
    decoding ahead while the caller embeds what has arrived."""

    def one(path: Path) -> LoadedFile:
        return load_file(
            path, draft_size=draft_size, max_pixels=max_pixels, prepare=prepare, limits=limits
        )

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
