"""What a user asks to index (files, folders, manifests) as the list of files to register.

Server-side sources named over the API must lie inside the configured roots
(`LOOKALIKE_SOURCE_ROOTS`); every collected file is checked again after symlinks are
resolved, so neither `..` nor a symlink (in a folder or a manifest) escapes a root.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from indexer.catalog.errors import BadRequestError, ForbiddenError, TooManyFilesError
from indexer.catalog.public_names import name_under
from indexer.ingest.manifest import is_manifest, read_manifest
from indexer.ingest.scan import scan_paths


@dataclass(frozen=True)
class SourceFile:
    path: Path  # absolute and resolved; also the catalog uri
    metadata: dict[str, Any] | None = None  # from a manifest; None keeps the catalog's
    name: str | None = None  # under the folder or manifest named; shown instead of the path


@dataclass
class Collected:
    files: list[SourceFile] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path or record, reason)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # not images we index


def collect(
    paths: Iterable[str | Path],
    *,
    roots: Sequence[Path] | None = None,
    max_files: int | None = None,
) -> Collected:
    """Expand files, folders and manifests; with `roots`, drop files outside every root.

    Raises TooManyFilesError when more than `max_files` images are listed.
    """
    collected = Collected()
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw).expanduser()
        if is_manifest(path) and path.is_file():
            manifest = read_manifest(path)
            collected.errors.extend(manifest.errors)
            base = path.resolve().parent
            found = [
                SourceFile(e.path, e.metadata, name_under(base, e.path)) for e in manifest.entries
            ]
        else:
            scan = scan_paths([path])
            collected.errors.extend(scan.errors)
            collected.skipped.extend(scan.skipped)
            root = _name_root(path) if scan.files else path
            found = [SourceFile(p, name=name_under(root, p)) for p in scan.files]
        for item in found:
            if roots is not None and not inside(item.path, roots):
                collected.errors.append((str(item.path), "outside the allowed source roots"))
            elif item.path in seen:  # overlapping folders are fine; a repeated record is not
                if item.metadata is not None:
                    collected.errors.append((str(item.path), "listed more than once"))
            else:
                seen.add(item.path)
                collected.files.append(item)
    if max_files is not None and len(collected.files) > max_files:
        raise TooManyFilesError(
            f"{len(collected.files)} images listed, over the limit of {max_files} per job "
            "(LOOKALIKE_MAX_JOB_FILES); split the source"
        )
    return collected


def check_source(raw: str, roots: Sequence[Path]) -> Path:
    """Resolve a server-side source (symlinks, `..`) and check that it lies inside a root."""
    if not roots:
        raise ForbiddenError(
            "indexing server-side sources over the API is disabled; "
            "set LOOKALIKE_SOURCE_ROOTS to the folders it may read"
        )
    path = Path(raw)
    if not raw.strip() or not path.is_absolute():
        raise BadRequestError(f"source must be an absolute server-side path, got {raw!r}")
    resolved = path.resolve()
    if not inside(resolved, roots):
        raise ForbiddenError(f"source {raw!r} is outside the allowed source roots")
    if not resolved.exists():
        raise BadRequestError(f"source {raw!r} does not exist")
    return resolved


def inside(path: Path, roots: Sequence[Path]) -> bool:
    """Whether the resolved `path` is one of `roots` or lies below one."""
    return any(path == root or path.is_relative_to(root) for root in roots)


def _name_root(path: Path) -> Path:
    """The folder the names of `path`'s files are taken under (itself, or a file's parent)."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):  # a loop: its files are reported by the scan
        return path
    return resolved if resolved.is_dir() else resolved.parent
