"""The catalog commands: index, search, serve, worker, status, demo.

Registering them imports nothing heavy; each command imports what it uses when it runs:
`worker` Celery and the tasks (no Flask, no search runtime), `serve` Flask, `index` the
write path (PyTorch only when the encoder's ONNX export is not cached yet).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from indexer.catalog.errors import ConfigError, LookalikeError
from indexer.catalog.settings import Settings
from indexer.ingest.queues import CPU_QUEUE, EMBED_QUEUE, QUEUE, QUEUES
from web.cli.examples import add_example_options, combined, search_combined

if TYPE_CHECKING:
    from indexer.catalog.jobs import JobProgress
    from indexer.ingest.indexing import IndexRun
    from search.batch import BatchAnswer


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the catalog subcommands to the `lookalike` parser."""
    p = sub.add_parser("index", help="index image files, folders (recursive) and manifests")
    p.add_argument("paths", nargs="+", help="image files, folders or .csv/.jsonl manifests")
    p.add_argument("--chunk-size", type=int, default=64, help="images per Celery task")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(
        handler=lambda a, s: index(s, a.paths, chunk_size=a.chunk_size, progress=not a.no_progress)
    )

    p = sub.add_parser(
        "search", help="find catalog images similar to query images and catalog images"
    )
    p.add_argument("images", nargs="*", help="query image files")
    p.add_argument(
        "--id",
        dest="ids",
        type=int,
        action="append",
        default=[],
        metavar="ID",
        help="a catalog image id to query by (repeatable; the image itself is left out)",
    )
    p.add_argument("-k", type=int, default=10, help="results per query (default 10)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="KEY:VALUE",
        help="only results whose metadata KEY equals VALUE (repeatable: all must match)",
    )
    add_example_options(p)
    p.set_defaults(handler=_search_command)

    p = sub.add_parser("serve", help="serve the page and JSON API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000)
    p.set_defaults(handler=lambda a, s: serve(s, host=a.host, port=a.port))

    p = sub.add_parser("worker", help="run a Celery worker (needs REDIS_URL)")
    p.add_argument("--concurrency", "-c", type=int, default=1)
    p.add_argument("--loglevel", default="INFO")
    p.add_argument(
        "--queues",
        "-Q",
        default=",".join(QUEUES),
        help=f"comma-separated queues to consume (default {','.join(QUEUES)}; "
        f"GPU machines: {EMBED_QUEUE}, CPU-only helpers: {CPU_QUEUE})",
    )
    p.add_argument(
        "--hostname", "-n", default=None, help="unique node name, e.g. gpu1@%%h (default: Celery's)"
    )
    p.set_defaults(handler=_worker_command)

    p = sub.add_parser("status", help="show catalog, index and broker status")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=_status_command)

    p = sub.add_parser(
        "demo", help="index the bundled demo catalog (own home: HOME/demo) and serve it"
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000)
    p.set_defaults(handler=lambda a, s: demo(s, host=a.host, port=a.port))


def demo(settings: Settings, *, host: str, port: int) -> int:
    """Index the demo catalog in its own home with the shipped demo model, then serve it."""
    from indexer.ingest.demo import demo_catalog, demo_settings, use_demo_model

    settings = demo_settings(settings)
    version = use_demo_model(settings)
    print(f"demo catalog in {settings.home}, served by {version}", file=sys.stderr)
    code = index(settings, [str(demo_catalog())], chunk_size=64, progress=True)
    return code or serve(settings, host=host, port=port)


def _status_command(args: argparse.Namespace, settings: Settings) -> int:
    report = status(settings)
    print(json.dumps(report, indent=2) if args.json else format_status(report))
    return 0


def index(settings: Settings, paths: Sequence[str], *, chunk_size: int, progress: bool) -> int:
    """Index files and folders; exit 1 when a path or an image failed (the rest is indexed).

    Rows that an interrupted run left pending are taken over; Ctrl-C leaves the job marked
    interrupted, and running the same command again resumes it.
    """
    from tqdm import tqdm

    from indexer.catalog.database import make_session_factory
    from indexer.catalog.jobs import fail_job
    from indexer.catalog.reading import display
    from indexer.ingest.celery_app import make_celery
    from indexer.ingest.indexing import check_broker, run_index, start_index

    sessions = make_session_factory(settings.database_url)
    app = make_celery(settings)
    check_broker(app)  # before anything is created
    run = start_index(
        sessions,
        paths,
        chunk_size=chunk_size,
        max_files=settings.max_job_files,
        lease_s=settings.job_lease_s,
    )
    for path, reason in run.scan_errors:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    for path, reason in run.skipped:
        print(f"not indexed {path}: {reason}", file=sys.stderr)
    total = sum(len(chunk) for chunk in run.chunks)
    mode = "in-process" if settings.embedded else f"on Redis queue {QUEUE}"
    resumed = (
        f" ({run.known['resumed']} resumed from interrupted runs)" if run.known["resumed"] else ""
    )
    print(f"job {run.job_id}: {total} new images to embed {mode}{resumed}", file=sys.stderr)
    bar = tqdm(total=total, unit="img", disable=not progress or total == 0, file=sys.stderr)

    def on_progress(p: JobProgress) -> None:
        bar.update(p.processed - bar.n)
        eta = "?" if p.eta_s is None else f"{p.eta_s:.0f}s"
        bar.set_postfix(failed=p.failed, dup=p.duplicates, rate=f"{p.rate:.1f}/s", eta=eta)

    try:
        result = run_index(app, sessions, run, on_progress=on_progress)
    except KeyboardInterrupt:
        bar.close()
        with sessions.begin() as session:
            fail_job(session, run.job_id, "interrupted (Ctrl-C); run the same index to resume")
        print(f"interrupted: job {run.job_id}; run the same command again to resume")
        return 130
    bar.close()
    if settings.embedded and total:
        from search.runtime import build_runtime

        build_runtime(settings, load="now").index_sync.save()
    print(summary_line(result, run))
    for uri, reason in result.failures:
        print(f"failed {display(uri)}: {reason}")
    return 1 if result.failed or run.scan_errors else 0


def summary_line(result: JobProgress, run: IndexRun) -> str:
    """What the run added, and what it left as it found it: only searchable rows count as
    "already indexed"."""
    from indexer.catalog.schema import ImageStatus

    known = run.known
    parts = [
        f"added {result.indexed}",
        f"duplicates skipped {result.duplicates}",
        f"already indexed {known[ImageStatus.INDEXED] + known[ImageStatus.DUPLICATE]}",
        f"failed {result.failed}",
    ]
    if known[ImageStatus.FAILED]:
        parts.append(f"failed before and unchanged {known[ImageStatus.FAILED]}")
    if known[ImageStatus.PENDING]:
        parts.append(f"in progress in another running job {known[ImageStatus.PENDING]}")
    if run.skipped:
        parts.append(f"not indexed (unsupported) {len(run.skipped)}")
    return ", ".join(parts)


def _search_command(a: argparse.Namespace, s: Settings) -> int:
    if combined(a):
        return search_combined(a, s)
    return search(s, a.images, ids=a.ids, k=a.k, as_json=a.json, filters=a.filter, box=a.box)


def search(
    settings: Settings,
    images: Sequence[str],
    *,
    ids: Sequence[int] = (),
    k: int,
    as_json: bool,
    filters: Sequence[str] = (),
    box: str | None = None,
) -> int:
    """Answer every query image and catalog id in one batch; a bad query is reported, the
    others still answered (the twin of POST /api/v1/search/batch)."""
    if not images and not ids:
        raise ConfigError("give query image files, --id catalog ids, or both")
    from indexer.encoder.decode import read_bytes
    from indexer.encoder.region import Box
    from search.batch import MAX_QUERIES, BatchQuery, search_batch
    from search.filters import MetadataFilter
    from search.runtime import build_runtime

    where = MetadataFilter.parse(filters)
    region = None if box is None else Box.parse(box)
    engine = build_runtime(settings, load="now").engine
    unread: dict[int, LookalikeError] = {}
    queries: list[BatchQuery] = []
    for position, path in enumerate(images):
        try:
            data = read_bytes(Path(path).expanduser())
            queries.append(BatchQuery(name=path, data=data, box=region))
        except LookalikeError as exc:
            unread[position] = exc
            queries.append(BatchQuery(name=path))
    queries += [BatchQuery(image_id=image_id, box=region) for image_id in ids]
    answers = []
    for start in range(0, len(queries), MAX_QUERIES):
        part = search_batch(engine, queries[start : start + MAX_QUERIES], k=k, where=where)
        answers += [_answer(a, unread.get(start + i)) for i, a in enumerate(part.answers)]
    if as_json:
        print(json.dumps({"queries": answers}, indent=2))
    else:
        for answer in answers:
            _print_answer(answer)
    return 1 if any("error" in answer for answer in answers) else 0


def _answer(answer: BatchAnswer, unread: LookalikeError | None) -> dict[str, Any]:
    """The API's answer, with `query` naming the file or `#id` (and a read error kept)."""
    from web import serialize

    body = serialize.batch_answer(answer)
    label = answer.query.name if answer.query.image_id is None else f"#{answer.query.image_id}"
    if unread is not None:
        body = {"error": {"code": unread.code, "message": unread.message}}
    body.pop("image", None)
    return {"query": label} | body


def _print_answer(answer: dict[str, Any]) -> None:
    print(f"== {answer['query']}")
    if "error" in answer:
        print(f"   error: {answer['error']['message']}")
        return
    for rank, hit in enumerate(answer["results"], 1):
        print(f"{rank:4d}  {hit['score']:.4f}  #{hit['id']:<7d} {hit['uri']}")


def serve(settings: Settings, *, host: str, port: int) -> int:
    from web import create_app
    from web.hosts import with_bound_host

    app = create_app(with_bound_host(settings, host))
    print(f"Lookalike serving on http://{host}:{port}", file=sys.stderr)
    app.run(host=host, port=port, threaded=True, use_reloader=False)
    return 0


def _worker_command(args: argparse.Namespace, settings: Settings) -> int:
    queues = [q.strip() for q in args.queues.split(",") if q.strip()]
    return worker(
        settings,
        concurrency=args.concurrency,
        loglevel=args.loglevel,
        queues=queues,
        hostname=args.hostname,
    )


def worker(
    settings: Settings,
    *,
    concurrency: int,
    loglevel: str,
    queues: Sequence[str] = QUEUES,
    hostname: str | None = None,
) -> int:
    """Run a Celery worker consuming `queues` (both by default) until it is stopped.

    It imports Celery and the indexing tasks; never Flask, FAISS or the search runtime.
    """
    if settings.embedded:
        raise ConfigError("set REDIS_URL to run workers; without it indexing runs in-process")
    unknown = sorted(set(queues) - set(QUEUES))
    if unknown or not queues:
        raise ConfigError(f"--queues must name some of {', '.join(QUEUES)}; got {unknown}")
    from indexer.ingest.celery_app import make_celery

    app = make_celery(settings)
    argv = ["worker", f"--loglevel={loglevel}", f"--concurrency={concurrency}"]
    argv += ["-Q", ",".join(queues)] + ([f"--hostname={hostname}"] if hostname else [])
    app.worker_main(argv)
    return 0


def status(settings: Settings) -> dict[str, Any]:
    """Catalog counts, recent jobs, snapshot and live health in one report."""
    from indexer.catalog.database import shown_url
    from indexer.catalog.images import status_counts
    from indexer.catalog.jobs import get_job, recent_job_ids
    from search.runtime import build_runtime
    from search.snapshot import load_snapshot
    from web.health import health_report

    runtime = build_runtime(settings, load="now")
    with runtime.sessions() as session:
        counts = status_counts(session)
        jobs = [get_job(session, job_id) for job_id in recent_job_ids(session, limit=5)]
        recent = [
            {"id": j.id, "status": j.status, "total": j.total, "source": j.source} for j in jobs
        ]
    snapshot_file = runtime.index_sync.snapshot_path
    snapshot = load_snapshot(snapshot_file)
    return {
        "home": str(settings.home),
        "database": shown_url(runtime.sessions),
        "images": counts,
        "recent_jobs": recent,
        "snapshot": {
            "path": str(snapshot_file),
            "size": snapshot[1].ntotal if snapshot else None,
        },
        "health": health_report(runtime),
    }


def format_status(report: dict[str, Any]) -> str:
    health = report["health"]
    index = health["index"]
    recall = "not measured" if index["recall_at_10"] is None else f"{index['recall_at_10']:.3f}"
    dead = f", {index['dead']} dead" if index["dead"] else ""
    busy = ", rebuilding" if index["rebuilding"] else ""
    lines = [
        f"home      {report['home']}",
        f"database  {report['database']} ({'ok' if health['database']['ok'] else 'DOWN'})",
        f"broker    {health['broker']['kind']} ({'ok' if health['broker']['ok'] else 'DOWN'})",
        f"model     {health['index']['model_version']}",
        f"index     {health['index']['size']} vectors (snapshot: {report['snapshot']['size']})",
        f"type      {index['factory']} (recall@10 {recall}{dead}{busy})",
        "images    " + ", ".join(f"{k} {v}" for k, v in sorted(report["images"].items())),
    ]
    for job in report["recent_jobs"]:
        lines.append(
            f"job {job['id']:<5} {job['status']:<8} {job['total']:>7} images  {job['source']}"
        )
    return "\n".join(lines)
