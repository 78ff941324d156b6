"""Several queries in one call: uploaded images and catalog ids, embedded and searched together.

The images are decoded one by one (a bad one is reported, the others still answered), embedded
in one batch, and every query vector is searched in one index call; a catalog id's own image is
left out of its results, as in `QueryEngine.similar`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from indexer.catalog.errors import BadRequestError, LookalikeError
from indexer.encoder.region import Box, decode_region
from search.deadline import Deadline
from search.engine import Hit, QueryEngine
from search.filters import MetadataFilter
from search.serving import Serving

MAX_QUERIES = 64


class TooManyQueriesError(LookalikeError):
    status = 413
    code = "too_many_queries"


@dataclass(frozen=True)
class BatchQuery:
    """One query: the bytes of an image (named for the answer), or a catalog image id;
    optionally a region `box` of it."""

    name: str | None = None
    data: bytes | None = None
    image_id: int | None = None
    box: Box | None = None


@dataclass(frozen=True)
class BatchAnswer:
    query: BatchQuery
    hits: list[Hit] | None = None  # None when the query failed
    error: LookalikeError | None = None


@dataclass(frozen=True)
class BatchResult:
    answers: list[BatchAnswer]
    took_ms: float


def search_batch(
    engine: QueryEngine,
    queries: Sequence[BatchQuery],
    *,
    k: int = 10,
    where: MetadataFilter | None = None,
) -> BatchResult:
    """The k nearest catalog images of each query, in the order given; errors per query."""
    start = time.perf_counter()
    engine.check_k(k)
    if not queries:
        raise BadRequestError("send at least one query: an image or a catalog id")
    if len(queries) > MAX_QUERIES:
        raise TooManyQueriesError(f"at most {MAX_QUERIES} queries per call, got {len(queries)}")
    serving = engine.serving.current()  # one model for every query and the index
    vectors, errors = _query_vectors(engine, serving, queries)
    hits = _search(engine, vectors, k=k, where=where, serving=serving)
    answers = [
        BatchAnswer(query, _own_left_out(hits[i], query, k), None)
        if i in hits
        else BatchAnswer(query, None, errors[i])
        for i, query in enumerate(queries)
    ]
    return BatchResult(answers, (time.perf_counter() - start) * 1000.0)


def _query_vectors(
    engine: QueryEngine, serving: Serving, queries: Sequence[BatchQuery]
) -> tuple[dict[int, np.ndarray], dict[int, LookalikeError]]:
    """Each query's vector (D,) by position, or its error; the images embedded in one batch."""
    vectors: dict[int, np.ndarray] = {}
    errors: dict[int, LookalikeError] = {}
    inputs: dict[int, np.ndarray] = {}  # model inputs: one decoded image in memory at a time
    embedder = serving.embedder
    for position, query in enumerate(queries):
        try:
            if query.image_id is not None:
                vectors[position] = engine.example_vector(query.image_id, serving, box=query.box)[0]
            else:
                image = decode_region(
                    query.data or b"",
                    query.box,
                    max_pixels=engine.max_pixels,
                    draft_size=embedder.draft_size,
                )
                inputs[position] = embedder.prepare(image)  # (C, S, S)
        except LookalikeError as exc:
            errors[position] = exc
    if inputs:
        embedded = embedder.embed_arrays(list(inputs.values()))  # (n_images, D)
        vectors.update(zip(inputs, embedded, strict=True))
    return vectors, errors


def _search(
    engine: QueryEngine,
    vectors: dict[int, np.ndarray],
    *,
    k: int,
    where: MetadataFilter | None,
    serving: Serving,
) -> dict[int, list[Hit]]:
    if not vectors:
        return {}
    stacked = np.stack(list(vectors.values())).astype(np.float32)  # (n, D)
    deadline = Deadline(engine.request_timeout_s)
    found = engine.search_vectors(stacked, k=k + 1, serving=serving, where=where, deadline=deadline)
    return dict(zip(vectors, found, strict=True))


def _own_left_out(hits: list[Hit], query: BatchQuery, k: int) -> list[Hit]:
    return [hit for hit in hits if hit.id != query.image_id][:k]
