"""GET /metrics through the Flask test client, parsed with Prometheus' own text parser."""

from __future__ import annotations

import io

from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from indexer.catalog.schema import Image, ImageStatus, Job, JobStatus
from search.runtime import Runtime
from tests.conftest import make_image
from web import create_app

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: FlaskClient) -> Samples:
    """Every sample of one scrape, keyed by (name, labels)."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    samples: Samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def test_index_model_and_embedding_gauges(client: FlaskClient) -> None:
    samples = scrape(client)

    assert value(samples, "lookalike_index_vectors", model_version="tiny-test-1") == 12
    assert value(samples, "lookalike_index_ready") == 1
    assert value(samples, "lookalike_model_info", version="tiny-test-1") == 1
    assert value(samples, "lookalike_database_up") == 1
    assert value(samples, "lookalike_embeddings", model_version="tiny-test-1") == 12
    assert value(samples, "lookalike_catalog_images", status="indexed") == 12
    # The fixture indexed in-process (no Redis), so this process counted those vectors too.
    embedded = value(samples, "lookalike_images_embedded_total", model_version="tiny-test-1")
    assert embedded is not None and embedded >= 12


def test_request_latency_by_endpoint_and_status(client: FlaskClient) -> None:
    image = io.BytesIO()
    make_image(3).save(image, format="PNG")
    image.seek(0)
    assert client.post("/api/v1/search", data={"image": (image, "q.png")}).status_code == 200
    assert client.get("/api/v1/images/999999").status_code == 404
    client.get("/no/such/page")

    samples = scrape(client)

    search = {"endpoint": "api.search", "method": "POST", "status": "200"}
    assert value(samples, "lookalike_http_request_duration_seconds_count", **search) == 1
    total = value(samples, "lookalike_http_request_duration_seconds_sum", **search)
    assert total is not None and total > 0
    show = {"endpoint": "api.show", "method": "GET", "status": "404"}
    assert value(samples, "lookalike_http_request_duration_seconds_count", **show) == 1
    unmatched = {"endpoint": "unmatched", "method": "GET", "status": "404"}
    assert value(samples, "lookalike_http_request_duration_seconds_count", **unmatched) == 1


def test_progress_of_unfinished_jobs_only(client: FlaskClient, runtime: Runtime) -> None:
    with runtime.sessions.begin() as session:
        job = Job(source="/somewhere", status=JobStatus.RUNNING, total=4)
        session.add(job)
        session.flush()
        states = [ImageStatus.PENDING, ImageStatus.PENDING, ImageStatus.INDEXED, ImageStatus.FAILED]
        for n, state in enumerate(states):
            session.add(Image(uri=f"/somewhere/{n}.png", status=state, job_id=job.id))
        job_id = str(job.id)
        finished = session.scalars(select(Job.id).where(Job.status == JobStatus.DONE)).all()

    samples = scrape(client)

    assert value(samples, "lookalike_job_images", job_id=job_id, state="pending") == 2
    assert value(samples, "lookalike_job_images", job_id=job_id, state="done") == 1
    assert value(samples, "lookalike_job_images", job_id=job_id, state="failed") == 1
    assert value(samples, "lookalike_job_total", job_id=job_id) == 4
    assert finished, "the fixture's own job is done"
    assert all(value(samples, "lookalike_job_total", job_id=str(j)) is None for j in finished)


def test_apps_in_one_process_keep_separate_registries(runtime: Runtime) -> None:
    first, second = create_app(runtime=runtime), create_app(runtime=runtime)
    first.test_client().get("/api/v1/health")

    samples = scrape(second.test_client())

    health = {"endpoint": "api.health", "method": "GET", "status": "200"}
    assert value(samples, "lookalike_http_request_duration_seconds_count", **health) is None
    first_samples = scrape(first.test_client())
    assert value(first_samples, "lookalike_http_request_duration_seconds_count", **health) == 1
