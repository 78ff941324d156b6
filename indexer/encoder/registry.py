"""Which encoder versions the catalog knows, which one serves, and loading any of them."""

from __future__ import annotations

import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from indexer.catalog.errors import ModelError, NotFoundError
from indexer.catalog.schema import Model, ModelStatus, utcnow
from indexer.catalog.settings import Settings
from indexer.encoder.checkpoint import (
    DEFAULT_VERSION,
    LEGACY_DEFAULT_VERSIONS,
    LoadedModel,
    ModelSource,
    is_default_version,
)
from indexer.encoder.config import ModelInfo
from indexer.encoder.onnx_cache import find_export

log = logging.getLogger(__name__)


def model_cache_path(settings: Settings, version: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", version)
    return settings.home / "models" / f"{safe}.pt"


def register_model(
    session: Session, loaded: LoadedModel | ModelInfo, *, source: str | None, status: ModelStatus
) -> Model:
    """Record a model (with its checkpoint bytes) unless its version is already known."""
    row = session.get(Model, loaded.version)
    if row is not None:
        return row
    blob = Path(source).read_bytes() if source else None
    row = Model(
        version=loaded.version,
        dim=loaded.dim,
        status=status,
        source=source,
        checkpoint=blob,
        meta=dict(loaded.metadata),
        serving_since=utcnow() if status == ModelStatus.SERVING else None,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another process registered it first
        return session.get(Model, loaded.version)  # type: ignore[return-value]
    return row


def all_models(session: Session) -> list[Model]:
    """Every registered model, oldest first."""
    return list(session.scalars(select(Model).order_by(Model.created_at)))


def serving_model(session: Session) -> Model | None:
    return session.scalars(select(Model).where(Model.status == ModelStatus.SERVING)).first()


def ensure_serving_model(session: Session, settings: Settings) -> Model:
    """The serving model; on first use, register the configured one (LOOKALIKE_MODEL)."""
    row = serving_model(session)
    if row is None:
        described = configured_model(settings)
        row = register_model(session, described, source=settings.model, status=ModelStatus.SERVING)
        row.status = ModelStatus.SERVING
    elif row.version in LEGACY_DEFAULT_VERSIONS:
        log.warning(
            "this catalog serves %s, an earlier off-the-shelf model that fed the backbone the "
            "wrong input scaling (less accurate); run `lookalike reindex --default` to re-embed "
            "it with the current one",
            row.version,
        )
    elif settings.model and row.source != settings.model:
        log.warning(
            "serving model %s comes from the catalog; LOOKALIKE_MODEL=%s is not serving "
            "(use `lookalike reindex --model` to switch)",
            row.version,
            settings.model,
        )
    return row


def configured_source(settings: Settings) -> ModelSource:
    """Where the configured model (LOOKALIKE_MODEL, else the off-the-shelf one) is."""
    if settings.model is None:
        return ModelSource(DEFAULT_VERSION)
    return ModelSource(None, Path(settings.model).expanduser())


def configured_model(settings: Settings) -> LoadedModel | ModelInfo:
    """The configured model, described by the record of its cached ONNX export when there is
    one (no PyTorch), else loaded."""
    source = configured_source(settings)
    try:
        export = find_export(settings.onnx_dir, source.identity(), source.version)
    except OSError:  # no such checkpoint: loading it says so
        export = None
    return source.load() if export is None else export.info


def load_version(session: Session, settings: Settings, version: str) -> LoadedModel:
    """Load a registered version, from a local cache of the checkpoint stored in the catalog."""
    return version_source(session, settings, version).load()


def version_source(session: Session, settings: Settings, version: str) -> ModelSource:
    """Where a registered version's weights are: the off-the-shelf model, or a local copy
    (written now when missing) of the checkpoint stored in the catalog."""
    row = session.get(Model, version)
    if row is None:
        raise NotFoundError(f"model {version} is not registered")
    if row.checkpoint is None:
        if not is_default_version(version):
            raise ModelError(f"model {version} has no checkpoint stored")
        return ModelSource(version)
    path = model_cache_path(settings, version)
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(row.checkpoint)
        os.replace(tmp, path)
    return ModelSource(version, path)


def set_serving(session: Session, version: str) -> None:
    """Make `version` the serving model and retire the previous one, in one transaction."""
    target = session.get(Model, version)
    if target is None:
        raise NotFoundError(f"model {version} is not registered")
    for row in session.scalars(select(Model).where(Model.status == ModelStatus.SERVING)):
        if row.version != version:
            row.status = ModelStatus.RETIRED
    target.status, target.serving_since = ModelStatus.SERVING, utcnow()


def active_versions(session: Session) -> list[str]:
    """Versions new images are embedded with: the serving one first, then any being built."""
    rows = session.scalars(
        select(Model).where(Model.status.in_([ModelStatus.SERVING, ModelStatus.BUILDING]))
    ).all()
    return [r.version for r in sorted(rows, key=lambda r: r.status != ModelStatus.SERVING)]


CATALOG_CALIBRATION = "catalog_calibration"  # key in a model row's metadata


def store_calibration(session: Session, version: str, record: dict[str, Any]) -> None:
    """Keep a calibration measured on the catalog owner's images for `version`.

    `record` holds {"calibrations": {distance: Calibration.to_dict()}, "measured_on": {...}};
    it replaces any earlier one. Serving processes pick it up at their next sync check.
    """
    row = session.get(Model, version)
    if row is None:
        raise NotFoundError(f"model {version} is not registered")
    row.meta = {**(row.meta or {}), CATALOG_CALIBRATION: record}  # a new dict: JSON change


def clear_calibration(session: Session, version: str) -> bool:
    """Forget the catalog's calibration of `version`; True when there was one."""
    row = session.get(Model, version)
    if row is None or CATALOG_CALIBRATION not in (row.meta or {}):
        return False
    row.meta = {k: v for k, v in row.meta.items() if k != CATALOG_CALIBRATION}
    return True


def catalog_calibration(session: Session, version: str) -> dict[str, Any] | None:
    """The calibration `lookalike calibrate` stored for `version`, or None."""
    row = session.get(Model, version)
    return None if row is None else (row.meta or {}).get(CATALOG_CALIBRATION)
