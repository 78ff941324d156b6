"""Exact-duplicate claims: one canonical row per content, in a batch and against a racer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session

from indexer.catalog.content_claim import claim_contents
from indexer.catalog.database import SessionFactory, make_session_factory
from indexer.catalog.schema import Base, Image


@pytest.fixture
def sessions(database_url: str) -> Iterator[SessionFactory]:
    factory = make_session_factory(database_url)
    yield factory
    factory.kw["bind"].dispose()


def rows(session: Session, shas: list[str]) -> list[Image]:
    made = [Image(uri=f"file:///{i}-{sha}.jpg", path=f"/{i}.jpg", sha256=sha)
            for i, sha in enumerate(shas)]  # fmt: skip
    session.add_all(made)
    session.flush()
    return made


def test_one_canonical_row_per_content_within_a_batch_and_across_batches(
    sessions: SessionFactory,
) -> None:
    with sessions.begin() as session:
        a, b, c = rows(session, ["x", "y", "x"])
        first = claim_contents(session, [a, b, c])
        assert first == {a.id: None, b.id: None, c.id: a.id}
        (d,) = rows(session, ["y"])
        assert claim_contents(session, [d, a]) == {d.id: b.id, a.id: None}  # a: already its own
        assert (a.content_key, b.content_key, c.content_key) == ("x", "y", None)


def test_a_racing_writer_makes_the_batch_settle_row_by_row(postgres_url: str) -> None:
    """Another process claims content "x" between our lookup and our flush: the unique key
    refuses our claim and every row of the batch is settled one at a time instead."""
    engine = create_engine(postgres_url)
    Base.metadata.create_all(engine)
    try:
        with Session(engine) as session, session.begin():
            ours, other = rows(session, ["x", "x"])
            raced = []

            @event.listens_for(session, "before_flush")
            def race(*_args: object) -> None:
                if raced:
                    return
                with Session(engine) as rival, rival.begin():
                    winner = Image(uri="file:///rival.jpg", sha256="x", content_key="x")
                    rival.add(winner)
                    rival.flush()
                    raced.append(winner.id)

            result = claim_contents(session, [ours, other])
            assert result == {ours.id: raced[0], other.id: raced[0]}
            assert ours.content_key is None and other.content_key is None
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()
