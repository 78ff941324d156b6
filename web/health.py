"""Health of the three things search depends on (database, index, broker) and the serving model."""

from __future__ import annotations

from typing import Any

import redis

from indexer.catalog.database import backend_name, ping
from indexer.encoder.model_card import model_card
from search.runtime import Runtime


def health_report(rt: Runtime) -> dict[str, Any]:
    database = _database(rt)
    status = rt.index_sync.status()
    index = {
        "ready": status.ready,
        "size": status.size,
        "model_version": status.model_version,
        "last_seq": status.last_seq,
        "error": status.error,
        "factory": status.factory,
        "recall_at_10": status.recall_at_10,
        "dead": status.dead,
        "rebuilding": status.rebuilding,
    }
    broker = _broker(rt)
    ok = database["ok"] and status.ready and broker["ok"]
    encoder = {"runtime": rt.embedder.runtime, "device": rt.embedder.device_type}
    return {
        "ok": ok,
        "database": database,
        "index": index,
        "broker": broker,
        "encoder": encoder,
        "calibration": calibration_status(rt),
        "model": model_card(rt.embedder.version, rt.embedder.metadata).to_dict(),
    }


def calibration_status(rt: Runtime) -> dict[str, Any] | None:
    """The threshold verdicts use under the serving distance, or None: no verdicts."""
    serving = rt.serving.current()
    calibration = serving.calibrations.get(rt.engine.distance)
    if calibration is None:
        return None
    return {
        "source": serving.calibration_source,  # "model": its own; "catalog": calibrate
        "distance": calibration.distance,
        "threshold": calibration.threshold,
        "operating_point": calibration.decision,
        "promised_far": calibration.promised_far,
        "n_pairs": calibration.n_pairs,
    }


def _database(rt: Runtime) -> dict[str, Any]:
    backend = backend_name(rt.sessions)
    try:
        ping(rt.sessions)
        return {"ok": True, "backend": backend}
    except Exception as exc:
        return {"ok": False, "backend": backend, "error": str(exc)}


def _broker(rt: Runtime) -> dict[str, Any]:
    url = rt.settings.redis_url
    if url is None:
        return {"ok": True, "kind": "embedded"}
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
        return {"ok": True, "kind": "redis"}
    except redis.RedisError as exc:
        return {"ok": False, "kind": "redis", "error": str(exc)}
