"""The model and index answering queries now, and the atomic switch to a newly serving model.

The catalog's `models` table names the serving version. Every search process checks it
periodically; when it changes, the new model's index is built in the background from the
catalog while the old one keeps answering, then one assignment swaps them.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlalchemy.orm import Session

from indexer.catalog.database import SessionFactory
from indexer.catalog.settings import Settings
from indexer.encoder.calibration import ALL_KEY, Calibration, calibrations_of
from indexer.encoder.embedder import Embedder
from indexer.encoder.registry import catalog_calibration, ensure_serving_model, serving_model
from indexer.encoder.resources import embedder_for
from search.index_factory import IndexConfig
from search.sync import IndexSync

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Serving:
    embedder: Embedder
    index_sync: IndexSync
    calibrations: dict[str, Calibration] = field(default_factory=dict)  # by distance
    calibration_source: str = "model"  # "model": the checkpoint's own; "catalog": calibrate

    @property
    def version(self) -> str:
        return self.embedder.version


class ServingState:
    """Holds the current `Serving` pair; `current()` also notices a newly serving model."""

    def __init__(self, settings: Settings, sessions: SessionFactory, *, load: str = "now") -> None:
        self.settings = settings
        self.sessions = sessions
        with sessions.begin() as session:
            version = ensure_serving_model(session, settings).version
        self._current = self._prepare(version, load)
        self._switching: str | None = None
        self._last_check = time.monotonic()
        self._lock = threading.Lock()

    def current(self) -> Serving:
        if time.monotonic() - self._last_check >= self.settings.sync_interval_s:
            self.check_for_switch()
        return self._current

    def check_for_switch(self, *, wait: bool = False) -> None:
        """Start (or with `wait`, run) the switch to the catalog's serving model if it changed,
        and take up a calibration stored (or cleared) since the last check."""
        self._last_check = time.monotonic()
        with self.sessions() as session:
            row = serving_model(session)
            current = self._current
            calibrations, source = self._calibrations(session, current.embedder)
        if (calibrations, source) != (current.calibrations, current.calibration_source):
            self._current = replace(current, calibrations=calibrations, calibration_source=source)
        version = row.version if row else self._current.version
        with self._lock:
            if version == self._current.version or version == self._switching:
                return
            self._switching = version
        if wait:
            self._switch(version)
        else:
            threading.Thread(target=self._switch, args=(version,), daemon=True).start()

    def _switch(self, version: str) -> None:
        try:
            serving = self._prepare(version, "now")
            self._current = serving  # the atomic swap: one reference assignment
            log.info("now serving model %s (%d vectors)", version, serving.index_sync.status().size)
        except Exception:
            log.exception("could not switch to model %s; still serving %s", version, self.version)
        finally:
            self._switching = None

    @property
    def version(self) -> str:
        return self._current.version

    def _prepare(self, version: str, load: str) -> Serving:
        embedder = embedder_for(self.settings, self.sessions, version)
        index_sync = IndexSync(
            self.sessions,
            dim=embedder.dim,
            model_version=version,
            snapshot_path=snapshot_path(self.settings, version),
            interval_s=self.settings.sync_interval_s,
            use_gpu=embedder.device_type == "cuda",
            config=IndexConfig.from_settings(self.settings),
        )
        if load == "now":
            index_sync.ensure_ready()
        elif load == "background":
            index_sync.start_background()
        with self.sessions() as session:
            calibrations, source = self._calibrations(session, embedder)
        return Serving(embedder, index_sync, calibrations, source)

    @staticmethod
    def _calibrations(session: Session, embedder: Embedder) -> tuple[dict[str, Calibration], str]:
        """The calibration that fits the catalog: the one measured on the owner's labelled
        images (`lookalike calibrate`), else the model's own (a trained model's, measured on
        labels it did not train on); the off-the-shelf model has none."""
        stored = catalog_calibration(session, embedder.version)
        if stored is not None:
            return calibrations_of({ALL_KEY: stored.get("calibrations", {})}), "catalog"
        return calibrations_of(embedder.metadata), "model"


def snapshot_path(settings: Settings, version: str) -> Path:
    """The snapshot file of one model version's index."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", version)
    return settings.index_dir / f"{safe}.npz"
