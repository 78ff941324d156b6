"""Find image files under the paths a user names, reporting every path that is not used.

Each file is resolved once (symlinks followed, loops and dangling links reported per file),
must be a regular file (named pipes, devices and sockets are reported, never opened) and
have a name that is valid UTF-8 (others are reported with their bytes escaped). Files of
types that are not indexed are listed as skipped, so a folder never ends in a silent
"failed 0"; hidden files and folders (a leading dot) are left out on purpose.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from indexer.catalog.reading import display, file_kind
from indexer.encoder.decode import IMAGE_SUFFIXES


@dataclass
class ScanResult:
    files: list[Path] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why not indexed)


def scan_paths(paths: Iterable[str | Path]) -> ScanResult:
    """Expand files and folders (recursively, sorted) into image files."""
    result = ScanResult()
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw).expanduser()
        try:
            mode = path.stat().st_mode
        except (OSError, RuntimeError) as exc:
            result.errors.append((display(raw), _resolve_error(exc, path)))
            continue
        if stat.S_ISDIR(mode):
            _walk(path, result, seen)
        else:
            _add(result, seen, path)
    return result


def _walk(root: Path, result: ScanResult, seen: set[Path]) -> None:
    def unreadable(exc: OSError) -> None:
        result.errors.append((display(exc.filename or root), f"cannot list ({exc.strerror})"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=unreadable):
        folder = Path(dirpath)
        for name in [d for d in dirnames if (folder / d).is_symlink()]:
            result.skipped.append((display(folder / name), "symlinked folder, not followed"))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = folder / name
            if path.suffix.lower() in IMAGE_SUFFIXES:
                _add(result, seen, path)
            else:
                result.skipped.append((display(path), f"unsupported file type {_type(path)}"))


def _add(result: ScanResult, seen: set[Path], path: Path) -> None:
    where = display(path)
    try:
        resolved = path.resolve(strict=True)
        mode = resolved.stat().st_mode
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python 3.11)
        result.errors.append((where, _resolve_error(exc, path)))
        return
    if not stat.S_ISREG(mode):
        result.errors.append((where, f"{file_kind(mode)}, not a regular file; not read"))
    elif display(resolved) != str(resolved):
        result.errors.append((where, "file name is not valid UTF-8; rename the file to index it"))
    elif resolved not in seen:
        seen.add(resolved)
        result.files.append(resolved)


def _resolve_error(exc: OSError | RuntimeError, path: Path) -> str:
    if isinstance(exc, RuntimeError) or exc.errno == errno.ELOOP:
        return "symlink loop"
    if exc.errno == errno.ENOENT:
        return "broken symlink" if path.is_symlink() else "no such file or directory"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return f"cannot resolve ({exc.strerror or exc})"


def _type(path: Path) -> str:
    return display(path.suffix.lower()) or "(no extension)"
