"""The jobs API in-process (no Redis): start on a folder or manifest, progress, cancel, roots."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from indexer.catalog.schema import Image, ImageStatus
from indexer.catalog.settings import Settings
from indexer.ingest.jobs import create_job
from indexer.ingest.sources import collect
from search.runtime import Runtime, build_runtime
from tests.conftest import make_image, write_images
from web import create_app

FINISHED = ("done", "failed", "cancelled")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The one folder the API may index from."""
    folder = tmp_path / "srv"
    folder.mkdir()
    return folder.resolve()


@pytest.fixture
def jobs_runtime(settings: Settings, root: Path) -> Iterator[Runtime]:
    rt = build_runtime(replace(settings, source_roots=(root,)), load="now")
    yield rt
    rt.sessions.kw["bind"].dispose()


@pytest.fixture
def client(jobs_runtime: Runtime) -> FlaskClient:
    return create_app(runtime=jobs_runtime).test_client()


def post_job(client: FlaskClient, source: str | Path, **headers: str) -> tuple[int, dict]:
    response = client.post("/api/v1/jobs", json={"source": str(source)}, headers=headers)
    return response.status_code, response.get_json()


def wait_done(client: FlaskClient, job_id: int, timeout_s: float = 180.0) -> dict:
    """Poll the job until it finished; return its last report."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/jobs/{job_id}").get_json()
        if body["status"] in FINISHED:
            return body
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish: {body}")


def test_folder_job_reports_progress_and_failures(
    client: FlaskClient, jobs_runtime: Runtime, root: Path
) -> None:
    write_images(root / "cat", range(12))
    corrupt = root / "cat" / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n not really")

    status, body = post_job(client, root / "cat")

    assert status == 202, body
    assert body["status"] in ("queued", "running", "done")
    job = wait_done(client, body["id"])
    assert job["status"] == "done"
    assert (job["total"], job["pending"], job["indexed"], job["failed"]) == (13, 0, 12, 1)
    assert job["processed"] == 13 and job["duplicates"] == 0 and job["cancelled"] == 0
    assert job["rate"] > 0 and job["eta_s"] == 0
    # No server paths without the key: the source's last name, the files' names under it.
    assert job["finished_at"] and job["source"] == "cat"
    assert [f["uri"] for f in job["failures"]] == ["corrupt.png"]
    assert str(root) not in json.dumps(job)
    assert "not a recognised image" in job["failures"][0]["reason"]
    listed = client.get("/api/v1/jobs").get_json()["jobs"]
    assert [j["id"] for j in listed] == [body["id"]] and listed[0]["status"] == "done"
    assert client.get("/api/v1/jobs?status=running").get_json()["jobs"] == []
    assert client.get("/api/v1/jobs?status=bogus").status_code == 400

    jobs_runtime.index_sync.catch_up()
    query = (root / "cat" / "img_0003.png").read_bytes()
    found = client.post("/api/v1/search", data={"image": (io.BytesIO(query), "q.png"), "k": "1"})
    assert found.get_json()["results"][0]["uri"] == "img_0003.png"  # under the job's folder


def write_manifest(path: Path, records: list[dict]) -> None:
    """Write records as CSV (header = union of keys) or JSONL, by the suffix of `path`."""
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
        return
    keys = ["uri"] + sorted({k for r in records for k in r} - {"uri"})
    lines = [",".join(keys)] + [",".join(str(r.get(k, "")) for k in keys) for r in records]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_manifest_job_stores_metadata_returned_with_results(
    client: FlaskClient, jobs_runtime: Runtime, root: Path, tmp_path: Path, suffix: str
) -> None:
    write_images(root / "shop" / "img", range(6))
    outside = tmp_path / "outside.png"
    make_image(99).save(outside)
    records: list[dict] = [
        {"uri": f"img/img_{i:04d}.png", "category": "shoes" if i % 2 else "bags", "sku": f"s{i}"}
        for i in range(6)
    ]
    records.append({"uri": "../../outside.png", "category": "escape"})
    manifest = root / "shop" / f"manifest{suffix}"
    write_manifest(manifest, records)

    status, body = post_job(client, manifest)
    job = wait_done(client, body["id"])

    assert status == 202 and job["status"] == "done", job
    assert (job["total"], job["indexed"]) == (6, 6)
    assert (
        "1 entries skipped" in job["error"] and "outside the allowed source roots" in job["error"]
    )
    jobs_runtime.index_sync.catch_up()  # searches follow within sync_interval_s; no waiting here
    query = (root / "shop" / "img" / "img_0003.png").read_bytes()
    found = client.post("/api/v1/search", data={"image": (io.BytesIO(query), "q.png"), "k": "6"})
    results = found.get_json()["results"]
    assert results[0]["metadata"] == {"category": "shoes", "sku": "s3"}
    names = {f"img/{p.name}" for p in (root / "shop" / "img").iterdir()}
    assert {r["uri"] for r in results} == names  # under the manifest's folder
    shown = client.get(f"/api/v1/images/{results[0]['id']}").get_json()
    assert shown["metadata"] == {"category": "shoes", "sku": "s3"}


def test_cancel_marks_pending_rows_and_a_rerun_picks_them_up(
    client: FlaskClient, jobs_runtime: Runtime, root: Path
) -> None:
    write_images(root / "cat", range(5))
    with jobs_runtime.sessions.begin() as session:  # a job whose chunks no worker reached yet
        job, ids = create_job(session, "queued", collect([root / "cat"]).files)
        job_id = job.id
    assert len(ids) == 5

    response = client.post(f"/api/v1/jobs/{job_id}/cancel")

    body = response.get_json()
    assert response.status_code == 200 and body["cancelled_now"] is True
    assert (body["status"], body["pending"], body["cancelled"]) == ("cancelled", 0, 5)
    again = client.post(f"/api/v1/jobs/{job_id}/cancel").get_json()
    assert again["cancelled_now"] is False and again["status"] == "cancelled"
    assert client.post("/api/v1/jobs/424242/cancel").status_code == 404

    status, rerun = post_job(client, root / "cat")
    job = wait_done(client, rerun["id"])
    assert status == 202 and (job["status"], job["indexed"], job["skipped"]) == ("done", 5, 0)
    with jobs_runtime.sessions() as session:
        statuses = set(session.scalars(select(Image.status)))
    assert statuses == {ImageStatus.INDEXED}


def test_sources_outside_the_roots_are_refused(
    client: FlaskClient, root: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret"
    write_images(secret, range(2))
    (root / "link").symlink_to(secret, target_is_directory=True)
    (root / "inside").mkdir()
    cases = {
        str(secret): 403,  # plainly outside
        f"{root}/inside/../../secret": 403,  # traversal
        str(root / "link"): 403,  # a symlink inside the root pointing out
        "srv/inside": 400,  # relative
        str(root / "missing"): 400,
        "": 400,
    }
    for source, expected in cases.items():
        status, body = post_job(client, source)
        assert status == expected, (source, body)
        assert body["error"]["message"]
    assert client.post("/api/v1/jobs", data="nope").status_code == 400
    assert client.get("/api/v1/jobs").get_json()["jobs"] == []  # nothing was started


def test_symlinked_files_escaping_the_root_are_skipped(
    client: FlaskClient, root: Path, tmp_path: Path
) -> None:
    write_images(root / "cat", range(3))
    outside = write_images(tmp_path / "secret", [50])[0]
    (root / "cat" / "sneaky.png").symlink_to(outside)

    job = wait_done(client, post_job(client, root / "cat")[1]["id"])

    assert (job["status"], job["total"], job["indexed"]) == ("done", 3, 3)
    assert str(outside) in job["error"]


def test_jobs_api_is_off_without_roots_and_needs_the_key(
    settings: Settings, jobs_runtime: Runtime, root: Path
) -> None:
    unrooted = replace(jobs_runtime, settings=replace(jobs_runtime.settings, source_roots=()))
    status, body = post_job(create_app(runtime=unrooted).test_client(), root)
    assert status == 403 and "LOOKALIKE_SOURCE_ROOTS" in body["error"]["message"]

    keyed = replace(jobs_runtime, settings=replace(jobs_runtime.settings, api_key="k3y"))
    client = create_app(runtime=keyed).test_client()
    assert post_job(client, root)[0] == 401
    assert client.post("/api/v1/jobs/1/cancel").status_code == 401
    status, body = post_job(client, root, **{"X-API-Key": "k3y"})
    assert status == 202
    done = wait_done(client, body["id"])  # an empty folder: nothing to do
    assert done["status"] == "done" and done["source"] == root.name  # no key: a name only
    owner = client.get(f"/api/v1/jobs/{body['id']}", headers={"X-API-Key": "k3y"}).get_json()
    assert owner["source"] == str(root)  # the key holder sees the server path


def test_settings_parse_source_roots(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    raw = f"{tmp_path / 'alias'}:{tmp_path / 'other'}:"
    settings = Settings.from_env({"LOOKALIKE_HOME": str(tmp_path), "LOOKALIKE_SOURCE_ROOTS": raw})
    assert settings.source_roots == ((tmp_path / "real").resolve(), (tmp_path / "other").resolve())
    assert Settings.from_env({"LOOKALIKE_HOME": str(tmp_path)}).source_roots == ()
