"""Groups of near-identical catalog images, and groups of byte-identical files.

Near duplicates: candidate pairs are each indexed image's `neighbours` nearest by embedding
and its SIGNATURE_NEIGHBOURS nearest by thumbnail signature in any of the 8 turns and mirrors
(search.copy_match). Each candidate pair is verified on pixels: its score is the copy score of
search.copy_match (is one a cropped, turned or mirrored, re-toned, re-compressed or captioned
copy of the other?), or the embedding score where a file cannot be read. Pairs scoring at or
above the threshold are linked; groups are stars (search.duplicate_groups): every member
scores at or above the threshold against the group's representative, never chained.
Exact duplicates: files whose bytes hash alike; the catalog keeps one canonical row and
marks the others `duplicate` of it, so they are grouped from that record.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import select

from indexer.catalog.errors import BadRequestError
from indexer.catalog.fields import check_score
from indexer.catalog.images import indexed_ids
from indexer.catalog.public_names import public_uri
from indexer.catalog.schema import Image, ImageStatus
from search.copy_match import (
    SIDE,
    Thumbnails,
    copy_scores,
    read_thumbnails,
    signature_pairs,
)
from search.deadline import NO_DEADLINE, Deadline
from search.duplicate_groups import Links, Star, tight_groups
from search.engine import QueryEngine
from search.serving import Serving

DEFAULT_THRESHOLD = 0.935  # copy score: the best pair F1 on caltech101-7 (README benchmark)
BATCH = 1024  # images searched per step
READ_BATCH = 256  # files read per step
VERIFY_BATCH = 2048  # candidate pairs verified per step
SIGNATURE_NEIGHBOURS = 5  # candidates per image from the thumbnail signatures


@dataclass(frozen=True)
class Member:
    id: int
    uri: str  # as clients may see it: never a server path
    score: float = 1.0  # against the group's representative (1.0 for itself and exact copies)


@dataclass(frozen=True)
class DuplicateGroup:
    members: list[Member]  # the representative first
    score: float  # the lowest member score against the representative (1.0 for exact)
    representative: int


@dataclass(frozen=True)
class DuplicateReport:
    near: list[DuplicateGroup]
    exact: list[DuplicateGroup]
    threshold: float
    distance: str
    model: str
    verified: int  # candidate pairs scored on pixels
    unreadable: int = 0  # images whose file could not be read: their pairs keep embedding scores


def find_duplicates(
    engine: QueryEngine,
    *,
    threshold: float,
    neighbours: int = 10,
    deadline: Deadline = NO_DEADLINE,
) -> DuplicateReport:
    """Near-duplicate groups at copy score >= threshold, and byte-duplicate groups."""
    check_score("threshold", threshold)
    serving = engine.serving.current()
    links, verified, unreadable = duplicate_links(
        engine, serving, neighbours=neighbours, deadline=deadline
    )
    near = _groups(engine, tight_groups(links, threshold))
    return DuplicateReport(
        near, _exact(engine), threshold, engine.distance, serving.version, verified, unreadable
    )


def duplicate_links(
    engine: QueryEngine,
    serving: Serving,
    *,
    neighbours: int,
    deadline: Deadline = NO_DEADLINE,
) -> tuple[Links, int, int]:
    """Every candidate pair with its score (module doc), the number of pairs verified on
    pixels, and the number of images whose file could not be read."""
    if neighbours < 1 or neighbours > engine.max_k:
        raise BadRequestError(f"neighbours must be between 1 and {engine.max_k}")
    ids = _indexed_ids(engine, serving.version)
    embedded = _embedding_links(engine, serving, ids, neighbours, deadline)
    read = _thumbnails(engine, ids, deadline)
    row = {int(i): n for n, i in enumerate(read.ids)}
    pairs = {tuple(sorted((row[a], row[b]))) for a, b in embedded if a in row and b in row}
    pairs.update(map(tuple, signature_pairs(read.thumbs, SIGNATURE_NEIGHBOURS).tolist()))
    candidates = np.asarray(sorted(pairs), dtype=np.int64).reshape(-1, 2)
    links = Links()
    for (a, b), score in embedded.items():  # a file not read keeps the embedding score
        if a not in row or b not in row:
            links.add(a, b, score)
    for start in range(0, len(candidates), VERIFY_BATCH):
        deadline.check("verifying duplicates")
        chunk = candidates[start : start + VERIFY_BATCH]
        for (a, b), score in zip(chunk, copy_scores(read.thumbs, chunk), strict=True):
            links.add(int(read.ids[a]), int(read.ids[b]), float(score))
    return links, len(candidates), len(read.unreadable)


def _thumbnails(engine: QueryEngine, ids: np.ndarray, deadline: Deadline) -> Thumbnails:
    """The thumbnails of the images' files, read READ_BATCH at a time."""
    parts = []
    for start in range(0, len(ids), READ_BATCH):
        deadline.check("reading images for duplicates")
        files = _files(engine, ids[start : start + READ_BATCH])
        parts.append(read_thumbnails(files, max_pixels=engine.max_pixels))
    return Thumbnails(
        np.concatenate([p.ids for p in parts]) if parts else np.zeros(0, np.int64),
        np.concatenate([p.thumbs for p in parts]) if parts else np.zeros((0, SIDE, SIDE)),
        [i for p in parts for i in p.unreadable],
    )


def _embedding_links(
    engine: QueryEngine, serving: Serving, ids: np.ndarray, neighbours: int, deadline: Deadline
) -> dict[tuple[int, int], float]:
    """Each image's `neighbours` nearest by embedding, whatever their score: (a, b) with
    a < b -> the score."""
    index = serving.index_sync.require_ready()
    k = min(neighbours + 1, max(index.ntotal, 1))
    found: dict[tuple[int, int], float] = {}
    for start in range(0, len(ids), BATCH):
        deadline.check("finding duplicates")
        own, vectors = serving.index_sync.exact_vectors(ids[start : start + BATCH])
        if len(own) == 0:
            continue
        cosine, hits = index.search(vectors, k)
        scores, hits = engine.rescore(vectors, cosine, hits, serving)
        for image, score_row, hit_row in zip(own, scores.score, hits, strict=True):
            for score, other in zip(score_row, hit_row, strict=True):
                if other >= 0 and other != image:
                    key = (int(min(image, other)), int(max(image, other)))
                    found[key] = max(found.get(key, -np.inf), float(score))
    return found


def _indexed_ids(engine: QueryEngine, version: str) -> np.ndarray:
    with engine.sessions() as session:
        return np.asarray(indexed_ids(session, version), dtype=np.int64)


def _files(engine: QueryEngine, ids: np.ndarray) -> list[tuple[int, Path]]:
    with engine.sessions() as session:
        query = select(Image.id, Image.path, Image.uri).where(Image.id.in_(ids.tolist()))
        return [(int(i), Path(path or uri)) for i, path, uri in session.execute(query)]


def _groups(engine: QueryEngine, stars: list[Star]) -> list[DuplicateGroup]:
    uris = _uris(engine, [i for star in stars for i, _ in star.members])
    groups = []
    for star in stars:
        members = [Member(i, uris[i], link.score) for i, link in star.members if i in uris]
        if len(members) > 1 and members[0].id == star.representative:
            groups.append(
                DuplicateGroup(members, min(m.score for m in members), star.representative)
            )
    return sorted(groups, key=lambda g: (-len(g.members), -g.score, g.representative))


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
        DuplicateGroup([Member(c, canon[c]), *sorted(m, key=lambda x: x.id)], 1.0, c)
        for c, m in copies.items()
        if c in canon  # a deleted canonical row leaves its copies unattached
    ]
    return sorted(groups, key=lambda g: (-len(g.members), g.representative))


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
