"""Tell a job whose process died (Ctrl-C, kill -9, a crash, a lost broker) from a live one.

A job records its owner ("host:pid") and a heartbeat, renewed by the process that drives it
and by workers after each chunk. It is dead when it is still queued or running but its owner
is a process of this host that no longer exists, or nothing was heard from it for the lease.
A new run over the same files re-queues the rows such a job left pending.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from indexer.catalog.schema import Job, JobStatus, utcnow

ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


def owner_here() -> str:
    """This process, as a job's owner."""
    return f"{socket.gethostname()}:{os.getpid()}"


def is_alive(job: Job, *, lease_s: float, now: datetime | None = None) -> bool:
    """Whether `job` is unfinished and its process may still be at work."""
    if job.status not in ACTIVE:
        return False
    host, _, pid = (job.owner or "").rpartition(":")
    if host == socket.gethostname() and pid.isdigit() and not _running(int(pid)):
        return False
    last = job.heartbeat_at or job.created_at
    return ((now or utcnow()) - last).total_seconds() < lease_s


def retire_dead_jobs(
    session: Session, job_ids: Iterable[int | None], *, lease_s: float
) -> set[int]:
    """Of `job_ids`, the ones no process works on any more; unfinished ones are marked failed."""
    ids = {job_id for job_id in job_ids if job_id is not None}
    if not ids:
        return set()
    jobs = session.scalars(select(Job).where(Job.id.in_(ids))).all()
    dead = ids - {job.id for job in jobs}  # deleted jobs
    for job in jobs:
        if is_alive(job, lease_s=lease_s):
            continue
        dead.add(job.id)
        if job.status in ACTIVE:
            job.status, job.finished_at = JobStatus.FAILED, utcnow()
            job.error = "interrupted: its process stopped; a later run re-queued its pending images"
    return dead


def beat(session: Session, job_id: int) -> None:
    """Renew the job's heartbeat."""
    job = session.get(Job, job_id)
    if job is not None and job.status in ACTIVE:
        job.heartbeat_at = utcnow()


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True
