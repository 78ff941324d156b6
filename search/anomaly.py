"""Novelty scoring: how far is a query from the nearest "normal" images?

The score is the mean distance from the query to its k nearest normal images (the catalog,
or a gallery's references). The threshold is a percentile of the same score measured on
the normal images themselves, each against the others (leave-one-out): with the 99th
percentile, about 1% of normal images would be flagged.

For the catalog, the leave-one-out neighbour distances of a sample of it are computed once per
index state and kept (one sample per process, bounded by CALIBRATION_SAMPLE rows and the
largest k asked for); any percentile and any k it covers are then read from it, in microseconds.
The sample is taken again when the serving model or distance changes, when a larger k is asked
for, or when the catalog has changed (adds plus deletes) by more than STALE_FRACTION of it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from indexer.catalog.errors import BadRequestError
from indexer.catalog.images import indexed_ids
from search.engine import Hit, QueryEngine
from search.gallery import GalleryService
from search.scores import scores_between
from search.serving import Serving

CALIBRATION_SAMPLE = 2000  # catalog images scored leave-one-out to set the threshold
CALIBRATION_K = 32  # neighbours kept per sampled image at least, so most k reuse one sample
STALE_FRACTION = 0.01  # catalog changes beyond this share of it call for a new sample


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


@dataclass(frozen=True)
class LeaveOneOut:
    """Each sampled catalog image's nearest distances to the other images, at one index state."""

    version: str
    distance: str
    seq: int  # the last catalog change the index held when sampled
    ntotal: int
    sums: np.ndarray  # (n, K) float64: sums[i, j] = sum of image i's j+1 nearest distances
    counts: np.ndarray  # (n,) int: neighbours image i has (K, or fewer in a small catalog)

    @property
    def k(self) -> int:
        return int(self.sums.shape[1])

    def covers(self, version: str, distance: str, seq: int, k: int) -> bool:
        """True when this sample answers for `k` neighbours at index state `seq`."""
        return (
            (version, distance) == (self.version, self.distance)
            and abs(seq - self.seq) <= STALE_FRACTION * self.ntotal
            and (k <= self.k or self.k + 1 >= self.ntotal)  # or: every neighbour is in
        )

    def threshold(self, k: int, percentile: float) -> float:
        """The percentile of the sampled images' mean distance to their k nearest others."""
        used = np.minimum(k, self.counts)  # (n,)
        rows = np.arange(len(used))
        scores = self.sums[rows, used - 1] / used  # (n,)
        return float(np.percentile(scores, percentile))


class AnomalyScorer:
    """Scores queries against the catalog or a gallery; keeps the catalog's leave-one-out sample."""

    def __init__(
        self, engine: QueryEngine, galleries: GalleryService, *, k: int, percentile: float
    ) -> None:
        self.engine = engine
        self.galleries = galleries
        self.k = k
        self.percentile = percentile
        self._sample: LeaveOneOut | None = None
        self._lock = threading.Lock()  # one sampling at a time; the others wait and reuse it

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
        """The percentile of leave-one-out scores of (a sample of) the catalog, and the
        sample's size; the sample is reused while it covers this index state and k."""
        with self._lock:
            sample = self._sample
            seq = serving.index_sync.last_seq
            if sample is None or not sample.covers(serving.version, self.engine.distance, seq, k):
                sample = self._sample = self._leave_one_out(serving, max(k, self.k, CALIBRATION_K))
        return sample.threshold(k, percentile), len(sample.counts)

    def _leave_one_out(self, serving: Serving, k: int) -> LeaveOneOut:
        ntotal = serving.index_sync.require_ready().ntotal
        seq = serving.index_sync.last_seq
        ids = self._sample_ids(serving.version)
        found, vectors = serving.index_sync.exact_vectors(ids)
        if len(found) < 2:
            raise BadRequestError("scoring novelty needs at least 2 indexed catalog images")
        hits = self.engine.search_vectors(vectors, k=k + 1, serving=serving)
        distances = np.full((len(found), k), np.nan)  # (n, k)
        for row, (own, row_hits) in enumerate(zip(found.tolist(), hits, strict=True)):
            nearest = [h.distance for h in row_hits if h.id != own][:k]
            distances[row, : len(nearest)] = nearest
        counts = np.sum(~np.isnan(distances), axis=1)  # (n,)
        sums = np.cumsum(np.nan_to_num(distances, nan=0.0), axis=1)  # (n, k)
        return LeaveOneOut(
            serving.version, self.engine.distance, seq, ntotal, sums, np.maximum(counts, 1)
        )

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
