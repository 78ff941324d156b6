"""The record beside a cached ONNX export that lets a later process run it without PyTorch.

Finding a model's export by its file name needs the weights' digest, hence the weights, hence
PyTorch (seconds of start-up). So once an export serves a model, a small JSON record is written
beside it, named after the identity of the model's weights (`ModelSource.identity`: the
checkpoint file's SHA-256, or the off-the-shelf weights file), holding what running it needs:
the version, the embedding width, the preprocessing config and the checkpoint's metadata.

A record is trusted only while everything it names still matches: the same weights identity
and version, the current graph version, and the export file, with the size it had. Otherwise
it is stale: the model is loaded with PyTorch as before and the record rewritten.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexer.encoder.config import EncoderConfig, ModelInfo
from indexer.encoder.onnx_encoder import GRAPH_VERSION

log = logging.getLogger(__name__)
FORMAT = "lookalike-onnx-record/1"


@dataclass(frozen=True)
class CachedExport:
    """A model's FP32 export and what its record says of the model."""

    info: ModelInfo
    path: Path


def record_path(folder: Path, identity: str) -> Path:
    return folder / f"{identity}.json"


def remember(folder: Path, identity: str, info: ModelInfo, export: Path) -> None:
    """Write (atomically) the record of `export`, the FP32 export of the model `info`."""
    record = {
        "format": FORMAT,
        "identity": identity,
        "graph_version": GRAPH_VERSION,
        "export": export.name,
        "export_size": export.stat().st_size,
        "version": info.version,
        "dim": info.dim,
        "config": info.config.to_dict(),
        "metadata": info.metadata,
    }
    path = record_path(folder, identity)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".json.tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(record, handle, indent=1)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def find_export(folder: Path, identity: str, version: str | None) -> CachedExport | None:
    """The export recorded for these weights (and `version`, when given), or None when there
    is none or its record is stale."""
    path = record_path(folder, identity)
    try:
        record: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("ignoring the unreadable export record %s: %s", path, exc)
        return None
    export = folder / str(record.get("export", ""))
    fresh = (
        record.get("format") == FORMAT
        and record.get("identity") == identity
        and record.get("graph_version") == GRAPH_VERSION
        and (version is None or record.get("version") == version)
        and export.parent == folder
        and export.is_file()
        and export.stat().st_size == record.get("export_size")
    )
    if not fresh:
        return None
    try:
        config = EncoderConfig.from_dict(record["config"])
        info = ModelInfo(str(record["version"]), int(record["dim"]), config, record["metadata"])
    except (KeyError, TypeError, ValueError) as exc:
        log.warning("ignoring the malformed export record %s: %s", path, exc)
        return None
    return CachedExport(info, export)
