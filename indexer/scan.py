"""Find image files under the paths a user names, reporting paths that cannot be used."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".mpo"}
)


@dataclass
class ScanResult:
    files: list[Path] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


def scan_paths(paths: Iterable[str | Path]) -> ScanResult:
    """Expand files and folders (recursively, sorted) into image files."""
    result = ScanResult()
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            result.errors.append((str(raw), "no such file or directory"))
        elif path.is_dir():
            for found in _walk(path):
                _add(result, seen, found)
        elif path.is_file():
            _add(result, seen, path)
        else:
            result.errors.append((str(raw), "not a regular file or directory"))
    return result


def _walk(root: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and Path(name).suffix.lower() in IMAGE_SUFFIXES:
                found.append(Path(dirpath) / name)
    return found


def _add(result: ScanResult, seen: set[Path], path: Path) -> None:
    resolved = path.resolve()
    if resolved not in seen:
        seen.add(resolved)
        result.files.append(resolved)
