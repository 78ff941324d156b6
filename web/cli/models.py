"""Model lifecycle commands: `lookalike reindex` and `lookalike models`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from indexer.catalog.errors import BadRequestError
from indexer.catalog.settings import Settings

if TYPE_CHECKING:
    from indexer.ingest.reindex import ReindexProgress


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the model lifecycle subcommands to the `lookalike` parser."""
    p = sub.add_parser("reindex", help="re-embed the catalog with a model, then serve it")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", type=Path, help="a checkpoint written by `lookalike train`")
    which.add_argument("--version", help="a registered version (e.g. to roll back)")
    which.add_argument(
        "--default", action="store_true", help="the current off-the-shelf model (no checkpoint)"
    )
    p.add_argument("--chunk-size", type=int, default=64, help="images per Celery task")
    p.add_argument(
        "--force",
        action="store_true",
        help="serve a model even when its training did not beat the untrained model",
    )
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(handler=reindex_command)

    p = sub.add_parser("models", help="list the models and which one is serving")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=models_command)


def reindex_command(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from indexer.catalog.database import make_session_factory
    from indexer.encoder.checkpoint import default_model, load_checkpoint
    from indexer.encoder.registry import load_version
    from indexer.ingest.celery_app import make_celery
    from indexer.ingest.reindex import check_never_worse, drive_reindex, start_reindex

    sessions = make_session_factory(settings.database_url)
    if args.model is not None:
        loaded, source = load_checkpoint(args.model.expanduser()), args.model.expanduser()
    elif args.default:
        loaded, source = default_model(), None
    else:
        with sessions() as session:
            loaded, source = load_version(session, settings, args.version), None
    warning = check_never_worse(loaded, force=args.force)
    if warning is not None:
        print(f"warning: {warning}; serving it anyway (--force)", file=sys.stderr)
    job_id = start_reindex(sessions, loaded, source=source)
    print(f"job {job_id}: re-embedding the catalog with {loaded.version}", file=sys.stderr)
    bar = tqdm(unit="img", disable=args.no_progress, file=sys.stderr)

    def on_progress(progress: ReindexProgress) -> None:
        bar.total = progress.total
        bar.update(progress.done - bar.n)

    result = drive_reindex(
        make_celery(settings), sessions, job_id, chunk_size=args.chunk_size, on_progress=on_progress
    )
    bar.close()
    print(f"now serving {result.version} ({result.total} images)")
    return 0


def models_command(args: argparse.Namespace, settings: Settings) -> int:
    rows = list_models(settings)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        mark = "*" if row["status"] == "serving" else " "
        print(
            f"{mark} {row['version']:<44} {row['status']:<9} dim {row['dim']:<5} "
            f"vectors {row['vectors']:<8} created {row['created_at']}"
        )
    return 0


def list_models(settings: Settings) -> list[dict[str, Any]]:
    """Every registered model with its vector count; the serving one is marked."""
    from indexer.catalog.database import make_session_factory
    from indexer.catalog.vectors import count_per_version
    from indexer.encoder.registry import all_models

    sessions = make_session_factory(settings.database_url)
    with sessions() as session:
        counts = count_per_version(session)
        models = all_models(session)
        if not models:
            raise BadRequestError("no model registered yet: index something first")
        return [
            {
                "version": m.version,
                "status": m.status,
                "dim": m.dim,
                "vectors": counts.get(m.version, 0),
                "source": m.source,
                "created_at": m.created_at.isoformat(timespec="seconds"),
                "serving_since": m.serving_since.isoformat(timespec="seconds")
                if m.serving_since
                else None,
                "calibration": (m.meta or {}).get("calibration"),
            }
            for m in models
        ]
