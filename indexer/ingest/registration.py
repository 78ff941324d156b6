"""Register source files as catalog rows: new uris become pending, changed files are requeued."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from indexer.catalog.database import lock_registration
from indexer.catalog.images import requeue
from indexer.catalog.job_liveness import retire_dead_jobs
from indexer.catalog.schema import Image, ImageStatus
from indexer.ingest.sources import SourceFile
from indexer.ingest.updates import needs_embedding


def register_files(
    session: Session,
    files: Sequence[Path | SourceFile],
    *,
    job_id: int | None = None,
    chunk: int = 500,
    lease_s: float = 120.0,
    tally: Counter[str] | None = None,
) -> tuple[list[int], int]:
    """Insert pending rows for new uris and requeue known ones whose file changed, or that
    a dead job left pending (see `job_liveness`; `lease_s` is its silence limit).

    Manifest metadata replaces a known row's. Return (ids to embed, skipped unchanged uris);
    `tally` counts the skipped rows by status and the resumed ones under "resumed".
    """
    lock_registration(session)
    items = [f if isinstance(f, SourceFile) else SourceFile(Path(f)) for f in files]
    ids: list[int] = []
    known: set[int] = set()  # ids of the files' rows that existed before
    tally = Counter() if tally is None else tally
    for start in range(0, len(items), chunk):
        part = {str(item.path): item for item in items[start : start + chunk]}
        ids.extend(_register_chunk(session, part, job_id, known, lease_s, tally))
    return ids, len(known - set(ids))


def _register_chunk(
    session: Session,
    part: dict[str, SourceFile],
    job_id: int | None,
    known_ids: set[int],
    lease_s: float,
    tally: Counter[str],
) -> list[int]:
    query = select(Image).where(Image.uri.in_(list(part)))
    known = {row.uri: row for row in session.scalars(query)}
    known_ids.update(row.id for row in known.values())
    rows = [
        Image(
            uri=uri,
            path=uri,
            name=item.name,
            status=ImageStatus.PENDING,
            job_id=job_id,
            meta=item.metadata or {},
        )
        for uri, item in part.items()
        if uri not in known
    ]
    session.add_all(rows)
    session.flush()
    for uri, row in known.items():
        metadata = part[uri].metadata
        if metadata is not None and metadata != row.meta:
            row.meta = metadata
        if part[uri].name is not None:  # the name under the source it was named from now
            row.name = part[uri].name
    pending = [row for row in known.values() if row.status == ImageStatus.PENDING]
    dead = retire_dead_jobs(session, {row.job_id for row in pending}, lease_s=lease_s)
    stranded = [row for row in pending if row.job_id is None or row.job_id in dead]
    changed = [row for row in known.values() if needs_embedding(row)]
    requeued = requeue(session, changed + stranded, job_id=job_id)
    tally["resumed"] += len(stranded)
    again = set(requeued)
    tally.update(row.status for row in known.values() if row.id not in again)
    return [row.id for row in rows] + requeued
