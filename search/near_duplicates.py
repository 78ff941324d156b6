"""Groups of near-identical catalog images, and groups of byte-identical files.

Near duplicates: every indexed image is searched against the index; pairs scoring at or
above the threshold are linked, and linked images form one group (connected components).
Exact duplicates: files whose bytes hash alike; the catalog keeps one canonical row and
marks the others `duplicate` of it, so they are grouped from that record.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select

from indexer.catalog import indexed_ids
from indexer.errors import BadRequestError
from indexer.models import Image, ImageStatus
from indexer.public_names import public_uri
from search.deadline import NO_DEADLINE, Deadline
from search.engine import QueryEngine

BATCH = 1024  # images searched per step


@dataclass(frozen=True)
class Member:
    id: int
    uri: str  # as clients may see it: never a server path


@dataclass(frozen=True)
class DuplicateGroup:
    members: list[Member]
    score: float  # the lowest score of the links that joined the group (1.0 for exact)


@dataclass(frozen=True)
class DuplicateReport:
    near: list[DuplicateGroup]
    exact: list[DuplicateGroup]
    threshold: float
    distance: str
    model: str


def find_duplicates(
    engine: QueryEngine,
    *,
    threshold: float,
    neighbours: int = 10,
    deadline: Deadline = NO_DEADLINE,
) -> DuplicateReport:
    """Near-duplicate groups at score >= threshold, and byte-duplicate groups."""
    if neighbours < 1 or neighbours > engine.max_k:
        raise BadRequestError(f"neighbours must be between 1 and {engine.max_k}")
    serving = engine.serving.current()
    index = serving.index_sync.require_ready()
    ids = _indexed_ids(engine, serving.version)
    links = _Links()
    for start in range(0, len(ids), BATCH):
        deadline.check("finding duplicates")
        found, vectors = serving.index_sync.exact_vectors(ids[start : start + BATCH])
        cosine, hits = index.search(vectors, min(neighbours + 1, max(index.ntotal, 1)))
        scores, hits = engine.rescore(vectors, cosine, hits, serving)
        for own, score_row, hit_row in zip(found, scores.score, hits, strict=True):
            for score, other in zip(score_row, hit_row, strict=True):
                if other >= 0 and other != own and score >= threshold:
                    links.join(int(own), int(other), float(score))
    near = _groups(engine, links)
    return DuplicateReport(near, _exact(engine), threshold, engine.distance, serving.version)


class _Links:
    """Union-find over image ids, remembering the weakest link of each component."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}
        self.weakest: dict[int, float] = {}

    def find(self, i: int) -> int:
        self.parent.setdefault(i, i)
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: int, b: int, score: float) -> None:
        ra, rb = self.find(a), self.find(b)
        weakest = min(score, self.weakest.get(ra, 1.0), self.weakest.get(rb, 1.0))
        if ra != rb:
            self.parent[rb] = ra
        self.weakest[ra] = weakest

    def components(self) -> list[tuple[list[int], float]]:
        members: dict[int, list[int]] = defaultdict(list)
        for i in list(self.parent):
            members[self.find(i)].append(i)
        return [(sorted(m), self.weakest.get(root, 1.0)) for root, m in members.items()]


def _indexed_ids(engine: QueryEngine, version: str) -> np.ndarray:
    with engine.sessions() as session:
        return np.asarray(indexed_ids(session, version), dtype=np.int64)


def _groups(engine: QueryEngine, links: _Links) -> list[DuplicateGroup]:
    components = links.components()
    uris = _uris(engine, [i for members, _ in components for i in members])
    groups = [
        DuplicateGroup([Member(i, uris[i]) for i in members if i in uris], weakest)
        for members, weakest in components
    ]
    groups = [g for g in groups if len(g.members) > 1]
    return sorted(groups, key=lambda g: (-len(g.members), -g.score, g.members[0].id))


def _exact(engine: QueryEngine) -> list[DuplicateGroup]:
    query = select(Image.id, Image.uri, Image.path, Image.name, Image.duplicate_of).where(
        Image.status == ImageStatus.DUPLICATE, Image.duplicate_of.is_not(None)
    )
    with engine.sessions() as session:
        copies: dict[int, list[Member]] = defaultdict(list)
        for row in session.execute(query):
            copies[int(row.duplicate_of or 0)].append(Member(int(row.id), public_uri(row)))
    canon = _uris(engine, list(copies))
    groups = [
        DuplicateGroup([Member(c, canon[c]), *sorted(m, key=lambda x: x.id)], 1.0)
        for c, m in copies.items()
        if c in canon  # a deleted canonical row leaves its copies unattached
    ]
    return sorted(groups, key=lambda g: (-len(g.members), g.members[0].id))


def _uris(engine: QueryEngine, ids: list[int]) -> dict[int, str]:
    """The public uris (never server paths) of `ids` still in the catalog."""
    result: dict[int, str] = {}
    columns = (Image.id, Image.uri, Image.path, Image.name)
    with engine.sessions() as session:
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            rows = session.execute(select(*columns).where(Image.id.in_(chunk)))
            result.update({int(row.id): public_uri(row) for row in rows})
    return result
