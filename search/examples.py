"""Search by several examples: images and catalog ids that should match (positives) and ones
that should not (negatives), combined into one query vector.

The rule (Rocchio's, measured against scoring by the best positive minus the best negative in
docs/relevance_feedback.md): q = normalise(mean(positives) - NEGATIVE_WEIGHT * mean(negatives)),
searched like any query vector. The examples' own catalog ids are left out of the results.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from indexer.catalog.errors import BadRequestError, LookalikeError
from indexer.catalog.types import Embeddings
from indexer.encoder.region import Box, decode_region
from search.deadline import Deadline
from search.engine import QueryEngine, SearchResult
from search.filters import MetadataFilter
from search.serving import Serving

MAX_EXAMPLES = 64  # positives and negatives together
NEGATIVE_WEIGHT = 0.25  # the best Rocchio weight on signatures-train: docs/relevance_feedback.md


class TooManyExamplesError(LookalikeError):
    status = 413
    code = "too_many_examples"


class NoPositiveExampleError(BadRequestError):
    code = "no_positive_example"


@dataclass(frozen=True)
class Example:
    """One example: the bytes of an image or a catalog image id, optionally a region of it."""

    positive: bool = True
    data: bytes | None = None
    image_id: int | None = None
    box: Box | None = None


def combine(
    positives: Embeddings, negatives: Embeddings, *, negative_weight: float = NEGATIVE_WEIGHT
) -> Embeddings:
    """Rocchio's query (1, D) from unit vectors: positives (p, D), p >= 1; negatives (n, D)."""
    assert positives.ndim == 2 and len(positives) >= 1, positives.shape
    query = positives.mean(axis=0)  # (D,)
    if len(negatives):
        query = query - negative_weight * negatives.mean(axis=0)
    norm = float(np.linalg.norm(query))
    if norm < 1e-6:  # the negatives cancel the positives: fall back to the positives alone
        query, norm = positives.mean(axis=0), float(np.linalg.norm(positives.mean(axis=0)))
    return (query / max(norm, 1e-12)).astype(np.float32)[None, :]  # (1, D)


def search_examples(
    engine: QueryEngine,
    examples: Sequence[Example],
    *,
    k: int = 10,
    where: MetadataFilter | None = None,
) -> SearchResult:
    """The k catalog images nearest to the combined examples, the examples' ids left out."""
    start = time.perf_counter()
    engine.check_k(k)
    check_examples(examples)
    serving = engine.serving.current()  # one model for every example and the index
    vectors = example_vectors(engine, serving, examples)  # (n, D)
    positive = np.array([e.positive for e in examples])
    query = combine(vectors[positive], vectors[~positive])
    own = {e.image_id for e in examples if e.image_id is not None}
    deadline = Deadline(engine.request_timeout_s)
    hits = engine.search_vectors(
        query, k=k + len(own), serving=serving, where=where, deadline=deadline
    )[0]
    kept = [hit for hit in hits if hit.id not in own][:k]
    return SearchResult(kept, (time.perf_counter() - start) * 1000.0)


def check_examples(examples: Sequence[Example]) -> None:
    """At least one positive example and at most MAX_EXAMPLES in all."""
    if len(examples) > MAX_EXAMPLES:
        raise TooManyExamplesError(
            f"at most {MAX_EXAMPLES} examples (positives and negatives) per search, "
            f"got {len(examples)}"
        )
    if not any(e.positive for e in examples):
        raise NoPositiveExampleError(
            "send at least one positive example: the image as multipart form field 'image' "
            "or a catalog id as 'positive_id' (negatives only say what not to find)"
        )


def example_vectors(
    engine: QueryEngine, serving: Serving, examples: Sequence[Example]
) -> Embeddings:
    """Each example's vector, in order (n, D); uploaded images embedded in one batch."""
    rows: dict[int, np.ndarray] = {}
    inputs: dict[int, np.ndarray] = {}  # model inputs: one decoded image in memory at a time
    embedder = serving.embedder
    for position, example in enumerate(examples):
        if example.image_id is not None:
            rows[position] = engine.example_vector(example.image_id, serving, box=example.box)[0]
            continue
        image = decode_region(
            example.data or b"",
            example.box,
            max_pixels=engine.max_pixels,
            draft_size=embedder.draft_size,
            budget=engine.decode_budget,
        )
        inputs[position] = embedder.prepare(image)  # (C, S, S)
    if inputs:
        rows.update(zip(inputs, embedder.embed_arrays(list(inputs.values())), strict=True))
    return np.stack([rows[i] for i in range(len(examples))]).astype(np.float32)  # (n, D)
