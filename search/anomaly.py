"""Novelty scoring: how far is a query from the nearest "normal" images?

The score is the mean distance from the query to its k nearest normal images (the catalog,
or a gallery's references). The threshold is a percentile of the same score measured on
the normal images themselves, each against the others (leave-one-out): with the 99th
percentile, about 1% of normal images would be flagged.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from indexer.catalog import indexed_ids
from indexer.errors import BadRequestError
from search.engine import Hit, QueryEngine
from search.gallery import GalleryService
from search.metric import scores_between
from search.serving import Serving

CALIBRATION_SAMPLE = 2000  # catalog images scored leave-one-out to set the threshold


@dataclass(frozen=True)
class Neighbour:
    score: float
    distance: float
    id: int | None = None  # a catalog image
    uri: str | None = None  # as clients may see it: never a server path
    label: str | None = None  # a gallery reference


@dataclass(frozen=True)
class AnomalyResult:
    score: float  # mean distance to the k nearest normal images; higher is more novel
    is_anomaly: bool
    threshold: float
    k: int
    percentile: float
    reference: str  # "catalog" or "gallery:<name>"
    calibrated_on: int  # normal images scored leave-one-out for the threshold
    neighbours: list[Neighbour]
    model: str


class AnomalyScorer:
    """Scores queries against the catalog or a gallery; catalog thresholds are cached."""

    def __init__(
        self, engine: QueryEngine, galleries: GalleryService, *, k: int, percentile: float
    ) -> None:
        self.engine = engine
        self.galleries = galleries
        self.k = k
        self.percentile = percentile
        self._cache: dict[tuple[str, int, int, float, str], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def score(
        self,
        data: bytes,
        *,
        gallery: str | None = None,
        k: int | None = None,
        percentile: float | None = None,
    ) -> AnomalyResult:
        """Score one uploaded image; `gallery` names the normal set (default: the catalog)."""
        k = self.engine.check_k(self.k if k is None else k)
        percentile = self.percentile if percentile is None else percentile
        if not 0.0 < percentile <= 100.0:
            raise BadRequestError(f"percentile must be in (0, 100], got {percentile}")
        serving = self.engine.serving.current()
        query = self.engine.embed_bytes(data, serving)  # (1, D)
        if gallery is not None:
            return self._against_gallery(query, gallery, k, percentile, serving)
        hits = self.engine.search_vectors(query, k=k, serving=serving)[0]
        if not hits:
            raise BadRequestError("the catalog is empty: index some images first")
        threshold, n = self.catalog_threshold(serving, k, percentile)
        score = float(np.mean([h.distance for h in hits]))
        return AnomalyResult(
            score, score > threshold, threshold, len(hits), percentile, "catalog", n,
            [_from_hit(h) for h in hits], serving.version,
        )  # fmt: skip

    def catalog_threshold(self, serving: Serving, k: int, percentile: float) -> tuple[float, int]:
        """The percentile of leave-one-out scores of (a sample of) the catalog; cached."""
        ntotal = serving.index_sync.require_ready().ntotal
        key = (serving.version, ntotal, k, percentile, self.engine.distance)
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        ids = self._sample_ids(serving.version)
        found, vectors = serving.index_sync.exact_vectors(ids)
        if len(found) < 2:
            raise BadRequestError("scoring novelty needs at least 2 indexed catalog images")
        hits = self.engine.search_vectors(vectors, k=k + 1, serving=serving)
        scores = [
            np.mean([h.distance for h in row if h.id != own][:k])
            for own, row in zip(found.tolist(), hits, strict=True)
        ]
        result = (float(np.percentile(scores, percentile)), len(scores))
        with self._lock:
            self._cache[key] = result
        return result

    def _sample_ids(self, version: str) -> np.ndarray:
        with self.engine.sessions() as session:
            ids = np.asarray(indexed_ids(session, version), dtype=np.int64)
        if len(ids) > CALIBRATION_SAMPLE:
            ids = np.random.default_rng(0).choice(ids, CALIBRATION_SAMPLE, replace=False)
        return np.sort(ids)

    def _against_gallery(
        self, query: np.ndarray, name: str, k: int, percentile: float, serving: Serving
    ) -> AnomalyResult:
        refs = self.galleries.references(name, serving)
        if len(refs.labels) < 2:
            raise BadRequestError(f"gallery {name!r} needs at least 2 references")
        k = min(k, len(refs.labels) - 1)
        kind = refs.gallery.distance
        mutual = scores_between(refs.vectors, refs.vectors, kind).distance  # (n, n)
        np.fill_diagonal(mutual, np.inf)  # leave each reference out of its own neighbours
        normal = np.sort(mutual, axis=1)[:, :k].mean(axis=1)  # (n,)
        threshold = float(np.percentile(normal, percentile))
        against = scores_between(query, refs.vectors, kind)
        order = np.argsort(against.distance[0], kind="stable")[:k]
        score = float(against.distance[0, order].mean())
        neighbours = [
            Neighbour(float(against.score[0, i]), float(against.distance[0, i]),
                      label=str(refs.labels[i]))
            for i in order
        ]  # fmt: skip
        return AnomalyResult(
            score, score > threshold, threshold, k, percentile, f"gallery:{name}",
            len(normal), neighbours, serving.version,
        )  # fmt: skip


def _from_hit(hit: Hit) -> Neighbour:
    return Neighbour(hit.score, hit.distance, id=hit.id, uri=hit.public_uri)
