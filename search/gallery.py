"""One-shot recognition: enrol labelled references in a named gallery, identify a query.

A query's score for a label aggregates its scores against that label's references (the
best one by default, or their mean); the best label wins when its score reaches the
gallery's threshold (`search.gallery_threshold`), otherwise the answer is "unknown" (None).
References embedded by an older model are embedded again, once, by the serving one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexer.catalog.errors import BadRequestError
from indexer.catalog.galleries import add_item, ensure_gallery, get_gallery, list_items
from indexer.catalog.schema import Gallery, GalleryItem
from indexer.catalog.types import Embeddings
from indexer.encoder.decode import decode_image
from search.engine import QueryEngine
from search.gallery_threshold import Threshold, gallery_threshold
from search.scores import scores_between
from search.serving import Serving

AGGREGATES = ("max", "mean")


@dataclass(frozen=True)
class Candidate:
    label: str
    score: float


@dataclass(frozen=True)
class Identification:
    label: str | None  # the open-set decision; None: unknown, or no threshold to decide by
    known: bool | None  # best score >= threshold; None: no fitting threshold, not decided
    best_label: str  # the closed-set answer: the best-scoring enrolled label, always given
    score: float  # the best label's score
    threshold: float | None
    threshold_source: str
    candidates: list[Candidate]
    model: str


@dataclass(frozen=True)
class References:
    """A gallery's references under the serving model: vectors (n, D) and labels (n,)."""

    gallery: Gallery
    vectors: Embeddings
    labels: np.ndarray


class GalleryService:
    """Enrols references and identifies queries; one instance per search process."""

    def __init__(self, engine: QueryEngine) -> None:
        self.engine = engine
        self.sessions = engine.sessions

    def enrol(
        self,
        name: str,
        *,
        label: str,
        data: bytes,
        filename: str | None = None,
        distance: str | None = None,
    ) -> GalleryItem:
        """Add a reference image of `label`, creating the gallery on first use."""
        serving = self.engine.serving.current()
        vector = self.engine.embed_bytes(data, serving)  # (1, D); raises on a bad image
        with self.sessions.begin() as session:
            gallery = ensure_gallery(session, name, distance=distance)
            item = add_item(
                session,
                gallery,
                label=label,
                data=data,
                filename=filename,
                vector=vector.tobytes(),
                model_version=serving.version,
            )
            session.expunge(item)
            return item

    def references(self, name: str, serving: Serving) -> References:
        """The gallery's vectors under the serving model, re-embedding stale ones."""
        with self.sessions.begin() as session:
            gallery = get_gallery(session, name)
            items = list_items(session, gallery)
            for item in items:
                if item.model_version != serving.version or item.vector is None:
                    self._re_embed(item, serving)
            vectors = (
                np.stack([np.frombuffer(i.vector or b"", dtype=np.float32) for i in items])
                if items
                else np.zeros((0, serving.embedder.dim), np.float32)
            )
            labels = np.asarray([i.label for i in items])
            session.expunge(gallery)
            return References(gallery, vectors, labels)

    def _re_embed(self, item: GalleryItem, serving: Serving) -> None:
        embedder = serving.embedder
        image = decode_image(
            item.data,
            max_pixels=self.engine.max_pixels,
            draft_size=embedder.draft_size,
            budget=self.engine.decode_budget,
        )
        item.vector = embedder.embed([image]).tobytes()
        item.model_version = serving.version

    def identify(
        self, name: str, data: bytes, *, top: int = 5, aggregate: str = "max"
    ) -> Identification:
        """The enrolled label the query shows, or None (unknown), with the top candidates."""
        if aggregate not in AGGREGATES:
            raise BadRequestError(f"aggregate must be one of {AGGREGATES}, got {aggregate!r}")
        serving = self.engine.serving.current()
        refs = self.references(name, serving)
        if len(refs.labels) == 0:
            raise BadRequestError(f"gallery {name!r} has no references yet")
        query = self.engine.embed_bytes(data, serving)  # (1, D)
        per_label = label_scores(
            scores_between(query, refs.vectors, refs.gallery.distance).score[0],
            refs.labels,
            aggregate,
        )
        threshold = self.threshold(refs, serving)
        best_label, best = per_label[0]
        known = None if threshold.value is None else bool(best >= threshold.value)
        return Identification(
            label=best_label if known else None,
            known=known,
            best_label=best_label,
            score=best,
            threshold=threshold.value,
            threshold_source=threshold.source,
            candidates=[Candidate(label, score) for label, score in per_label[: max(top, 1)]],
            model=serving.version,
        )

    def threshold(self, refs: References, serving: Serving) -> Threshold:
        """The gallery's decision threshold and where it came from."""
        scores = scores_between(refs.vectors, refs.vectors, refs.gallery.distance).score
        return gallery_threshold(
            refs.gallery.threshold,
            scores,
            refs.labels,
            serving.calibrations.get(refs.gallery.distance),
            calibration_source=serving.calibration_source,
        )


def label_scores(scores: np.ndarray, labels: np.ndarray, aggregate: str) -> list[tuple[str, float]]:
    """(label, aggregated score) for each label, best first; scores (n,) against references."""
    result = []
    for label in np.unique(labels):
        mine = scores[labels == label]
        result.append((str(label), float(mine.max() if aggregate == "max" else mine.mean())))
    return sorted(result, key=lambda pair: (-pair[1], pair[0]))
