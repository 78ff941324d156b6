"""Bulk indexing jobs: a job's files registered as its pending rows.

The job rows themselves (open, progress, cancel, fail, finish) are `indexer.catalog.jobs`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.orm import Session

from indexer.catalog.jobs import lock_unfinished, mark_filled, open_job
from indexer.catalog.schema import Job
from indexer.ingest.registration import register_files
from indexer.ingest.sources import SourceFile


def fill_job(
    session: Session,
    job: Job,
    files: Sequence[Path | SourceFile],
    *,
    lease_s: float = 120.0,
    tally: Counter[str] | None = None,
) -> list[int]:
    """Register the job's files and mark it running (done at once when nothing is new).

    Rows that dead jobs left pending join this one (see `register_files`). A job cancelled
    before its files were registered stays cancelled and gets none.
    """
    if not lock_unfinished(session, job):
        return []
    ids, skipped = register_files(session, files, job_id=job.id, lease_s=lease_s, tally=tally)
    mark_filled(session, job, total=len(ids), skipped=skipped)
    return ids


def create_job(
    session: Session,
    source: str,
    files: Sequence[Path | SourceFile],
    *,
    lease_s: float = 120.0,
    tally: Counter[str] | None = None,
) -> tuple[Job, list[int]]:
    """Create a job and its pending rows; return the job and the ids to embed."""
    job = open_job(session, source)
    return job, fill_job(session, job, files, lease_s=lease_s, tally=tally)
