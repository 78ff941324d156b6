"""The Celery queues and which task travels on which (no Celery import: the command line
lists them in its help).

Two queues split the work across machines: `lookalike.embed` carries the model work (decode
and embed; give it to GPU workers) and `lookalike.cpu` everything that needs no model
(job bookkeeping). A worker consumes both unless told otherwise.
"""

from __future__ import annotations

EMBED_QUEUE = "lookalike.embed"
CPU_QUEUE = "lookalike.cpu"
QUEUES = (EMBED_QUEUE, CPU_QUEUE)
QUEUE = EMBED_QUEUE  # the queue indexing chunks travel on

# Task name -> queue; unnamed tasks go to the embed queue.
ROUTES: dict[str, dict[str, str]] = {
    "lookalike.embed_images": {"queue": EMBED_QUEUE},
    "lookalike.reindex_images": {"queue": EMBED_QUEUE},
    "lookalike.finish_job": {"queue": CPU_QUEUE},
}
