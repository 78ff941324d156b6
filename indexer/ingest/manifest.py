"""Read CSV and JSONL manifests: one catalog item per record, a `uri` plus metadata.

CSV: a header row naming a `uri` column; every other column is metadata (empty cells are
left out). JSONL: one JSON object per line, `{"uri": ..., other keys = metadata}`; blank
lines are ignored. Relative uris resolve against the manifest's folder; `file://` uris are
accepted, other schemes are not (yet).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from indexer.catalog.errors import BadRequestError, InvalidMetadataError
from indexer.catalog.fields import parse_metadata

MANIFEST_SUFFIXES = frozenset({".csv", ".jsonl"})
Record = dict[str, Any]


@dataclass(frozen=True)
class ManifestEntry:
    uri: str  # as written in the manifest
    path: Path  # the local file it names, absolute and resolved
    metadata: Record


@dataclass
class Manifest:
    entries: list[ManifestEntry] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # ("file:line", reason)


def is_manifest(path: Path) -> bool:
    """Whether `path` names a manifest (by its extension) rather than an image or folder."""
    return path.suffix.lower() in MANIFEST_SUFFIXES


def read_manifest(path: Path) -> Manifest:
    """Parse a manifest; bad records are reported in `errors`, a bad file raises."""
    suffix = path.suffix.lower()
    if suffix not in MANIFEST_SUFFIXES:
        raise BadRequestError(f"{path}: a manifest must end in .csv or .jsonl")
    manifest = Manifest()
    base = path.resolve().parent
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            records = _csv_records(handle, path) if suffix == ".csv" else _jsonl_records(handle)
            for line, record in records:
                _add(manifest, base, f"{path}:{line}", record)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise BadRequestError(f"{path}: cannot read the manifest ({exc})") from exc
    return manifest


def _add(manifest: Manifest, base: Path, where: str, record: Record | str) -> None:
    if isinstance(record, str):
        manifest.errors.append((where, record))
        return
    uri = record.pop("uri", None)
    if not isinstance(uri, str) or not uri.strip():
        manifest.errors.append((where, "missing uri"))
        return
    try:
        local = local_path(uri.strip(), base)
    except ValueError as exc:
        manifest.errors.append((where, str(exc)))
        return
    except (RuntimeError, OSError):  # RuntimeError: a symlink loop (Python 3.11)
        manifest.errors.append((where, "symlink loop, or a path that cannot be resolved"))
        return
    manifest.entries.append(ManifestEntry(uri, local, record))


def _csv_records(handle: Any, path: Path) -> Iterator[tuple[int, Record | str]]:
    reader = csv.DictReader(handle)
    if reader.fieldnames is None or "uri" not in reader.fieldnames:
        raise BadRequestError(f"{path}: the CSV header must name a 'uri' column")
    for row in reader:
        if None in row:
            yield reader.line_num, "more cells than header columns"
            continue
        yield reader.line_num, {k: v for k, v in row.items() if v not in (None, "")}


def _jsonl_records(handle: Any) -> Iterator[tuple[int, Record | str]]:
    for line_no, line in enumerate(handle, 1):
        if not line.strip():
            continue
        try:  # finite numbers, bounded depth: what the catalog can store and serve as JSON
            record = parse_metadata(line)
        except InvalidMetadataError as exc:
            yield line_no, exc.message.replace("metadata ", "record ", 1)
            continue
        yield line_no, record


def local_path(uri: str, base: Path) -> Path:
    """The absolute, resolved file a manifest uri names; raise ValueError for other schemes."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise ValueError(f"file uri on another host: {uri}")
        return Path(unquote(parsed.path)).resolve()
    if len(parsed.scheme) > 1:  # one letter is a Windows drive, not a scheme
        raise ValueError(f"unsupported uri scheme {parsed.scheme!r}: {uri}")
    return (base / Path(uri).expanduser()).resolve()
