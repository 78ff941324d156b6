"""Prometheus metrics: `GET /metrics` in the text exposition format.

Each app has its own registry, holding:
- request latency, by endpoint, method and status (measured in this process);
- the serving index (size, readiness) and model version, read at scrape time;
- catalog gauges read from the database at scrape time, so they are right however many
  workers and web processes there are: embeddings per model version (its `rate()` is the
  cluster's embedding rate), images per status, and the progress of unfinished jobs;
- this process's pipeline counters (`indexer.ingest.telemetry`: in-process indexing and uploads).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from indexer.catalog.schema import Embedding, Image, Job, JobStatus
from indexer.ingest import telemetry
from indexer.ingest.jobs import job_progress
from search.runtime import Runtime

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
MAX_JOBS = 50  # unfinished jobs reported, newest first
UNFINISHED = (JobStatus.QUEUED, JobStatus.RUNNING)


def init_app(app: Flask) -> None:
    """Time every request and serve this app's registry at `GET /metrics`."""
    runtime: Runtime = app.extensions["lookalike"]
    registry = CollectorRegistry(auto_describe=True)
    latency = Histogram(
        "lookalike_http_request_duration_seconds",
        "Time to answer an HTTP request, by endpoint, method and status.",
        ["endpoint", "method", "status"],
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    registry.register(RuntimeCollector(runtime))
    registry.register(_Forward(telemetry.REGISTRY))
    app.extensions["lookalike_metrics"] = registry

    @app.before_request
    def _start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.pop("metrics_started", None)
        if started is not None:
            latency.labels(
                endpoint=request.endpoint or "unmatched",
                method=request.method,
                status=str(response.status_code),
            ).observe(time.perf_counter() - started)
        return response

    def metrics() -> Response:
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)

    app.add_url_rule("/metrics", "metrics", metrics, methods=["GET"])


class _Forward(Collector):
    """Expose another registry's metrics through this one (many apps, one process)."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterable[Metric]:
        return self.source.collect()


class RuntimeCollector(Collector):
    """Index, model and catalog gauges, read fresh at every scrape."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def describe(self) -> Iterable[Metric]:
        return []  # the metrics depend on the data; don't query the database at registration

    def collect(self) -> Iterator[Metric]:
        yield from self._index()
        up = GaugeMetricFamily("lookalike_database_up", "1 if the catalog database answered.")
        try:
            with self.runtime.sessions() as session:
                metrics = [*_catalog(session), *_jobs(session)]
        except SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from metrics

    def _index(self) -> Iterator[Metric]:
        status = self.runtime.index_sync.status()
        version = status.model_version or ""
        size = GaugeMetricFamily(
            "lookalike_index_vectors", "Vectors in the serving index.", labels=["model_version"]
        )
        size.add_metric([version], status.size)
        ready = GaugeMetricFamily("lookalike_index_ready", "1 once the serving index answers.")
        ready.add_metric([], 1 if status.ready else 0)
        model = InfoMetricFamily("lookalike_model", "The model version serving searches.")
        model.add_metric([], {"version": version})
        return iter((size, ready, model))


def _catalog(session: Session) -> list[Metric]:
    embeddings = GaugeMetricFamily(
        "lookalike_embeddings",
        "Stored vectors per model version (rate() of it: the embedding rate of all workers).",
        labels=["model_version"],
    )
    for version, count in session.execute(
        select(Embedding.model_version, func.count()).group_by(Embedding.model_version)
    ):
        embeddings.add_metric([version], count)
    images = GaugeMetricFamily(
        "lookalike_catalog_images", "Catalog images per status.", labels=["status"]
    )
    for status, count in session.execute(select(Image.status, func.count()).group_by(Image.status)):
        images.add_metric([str(status)], count)
    return [embeddings, images]


def _jobs(session: Session) -> list[Metric]:
    images = GaugeMetricFamily(
        "lookalike_job_images",
        "Images of each unfinished job by state (pending, done, failed).",
        labels=["job_id", "state"],
    )
    total = GaugeMetricFamily(
        "lookalike_job_total", "Images each unfinished job set out to index.", labels=["job_id"]
    )
    job_ids = session.scalars(
        select(Job.id).where(Job.status.in_(UNFINISHED)).order_by(Job.id.desc()).limit(MAX_JOBS)
    ).all()
    for job_id in job_ids:
        progress = job_progress(session, job_id)
        label = str(job_id)
        images.add_metric([label, "pending"], progress.pending)
        images.add_metric([label, "done"], progress.indexed + progress.duplicates)
        images.add_metric([label, "failed"], progress.failed)
        total.add_metric([label], progress.total)
    return [images, total]
