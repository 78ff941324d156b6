"""Search by several examples: Rocchio's rule against a brute-force oracle over the catalog."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from indexer.catalog.schema import Image
from indexer.catalog.vectors import vectors_of
from search.examples import (
    MAX_EXAMPLES,
    NEGATIVE_WEIGHT,
    Example,
    NoPositiveExampleError,
    TooManyExamplesError,
    combine,
    search_examples,
)
from search.runtime import Runtime


def catalog(runtime: Runtime) -> tuple[np.ndarray, np.ndarray]:
    """Every indexed id (n,) and its vector (n, D)."""
    version = runtime.serving.version
    with runtime.sessions() as session:
        ids = list(session.scalars(select(Image.id).order_by(Image.id)))
        return vectors_of(session, version, runtime.embedder.dim, ids)


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_combine_is_rocchio() -> None:
    rng = np.random.default_rng(0)
    positives, negatives = unit(rng.normal(size=(3, 8))), unit(rng.normal(size=(2, 8)))
    expected = positives.mean(0) - NEGATIVE_WEIGHT * negatives.mean(0)
    np.testing.assert_allclose(
        combine(positives, negatives)[0], expected / np.linalg.norm(expected), rtol=1e-5
    )
    np.testing.assert_allclose(combine(positives[:1], negatives[:0]), positives[:1], rtol=1e-6)


def test_negatives_that_cancel_the_positives_leave_the_positives() -> None:
    positive = unit(np.ones((1, 4)))
    np.testing.assert_allclose(combine(positive, positive, negative_weight=1.0), positive)


def test_search_by_ids_equals_the_brute_force_ranking(runtime: Runtime) -> None:
    ids, vectors = catalog(runtime)
    positives, negatives = [int(ids[0]), int(ids[5])], [int(ids[7])]
    examples = [Example(image_id=i) for i in positives]
    examples += [Example(False, image_id=i) for i in negatives]
    found = search_examples(runtime.engine, examples, k=5)
    row = {int(i): n for n, i in enumerate(ids)}
    query = combine(vectors[[row[i] for i in positives]], vectors[[row[i] for i in negatives]])
    scores = vectors @ query[0]  # (n,)
    own = {*positives, *negatives}
    oracle = [int(ids[n]) for n in np.argsort(-scores) if int(ids[n]) not in own]
    assert [h.id for h in found.hits] == oracle[:5]
    expected = [float(scores[row[i]]) for i in oracle[:5]]
    np.testing.assert_allclose([h.score for h in found.hits], expected, atol=1e-5)


def test_uploads_and_ids_mix(runtime: Runtime, image_folder: Path) -> None:
    data = (image_folder / "a" / "img_0001.png").read_bytes()
    ids, _ = catalog(runtime)
    alone = search_examples(runtime.engine, [Example(data=data)], k=3)
    assert alone.hits[0].score == pytest.approx(1.0, abs=1e-4)  # the image itself
    mixed = search_examples(
        runtime.engine, [Example(data=data), Example(False, image_id=int(ids[2]))], k=12
    )
    assert int(ids[2]) not in [h.id for h in mixed.hits]
    assert len(mixed.hits) == 11


def test_negatives_alone_are_refused(runtime: Runtime) -> None:
    ids, _ = catalog(runtime)
    with pytest.raises(NoPositiveExampleError):
        search_examples(runtime.engine, [Example(False, image_id=int(ids[0]))])
    with pytest.raises(NoPositiveExampleError):
        search_examples(runtime.engine, [])


def test_examples_are_capped(runtime: Runtime) -> None:
    ids, _ = catalog(runtime)
    many = [Example(image_id=int(ids[0]))] * (MAX_EXAMPLES + 1)
    with pytest.raises(TooManyExamplesError):
        search_examples(runtime.engine, many)
