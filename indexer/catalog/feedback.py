"""Users' right/wrong marks on search results, stored as labelled pairs for training."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from indexer.catalog.errors import BadRequestError
from indexer.catalog.images import get_image
from indexer.catalog.schema import Feedback, Image


@dataclass(frozen=True)
class FeedbackPair:
    """Two image files and whether a user said they show the same thing."""

    query_path: str
    result_path: str
    same: bool


def record_feedback(
    session: Session,
    *,
    result_id: int,
    same: bool,
    query_image_id: int | None = None,
    query_path: str | None = None,
    model_version: str | None = None,
) -> Feedback:
    """Store one mark; the query is a catalog image or a stored query file."""
    if (query_image_id is None) == (query_path is None):
        raise BadRequestError("give either the query image id or the query image, not both")
    get_image(session, result_id)
    if query_image_id is not None:
        get_image(session, query_image_id)
    row = Feedback(
        query_image_id=query_image_id,
        query_path=query_path,
        result_image_id=result_id,
        same=same,
        model_version=model_version,
    )
    session.add(row)
    session.flush()
    return row


def feedback_pairs(session: Session) -> list[FeedbackPair]:
    """Every mark as a pair of file paths (the latest mark wins for a repeated pair)."""
    query_image, result_image = aliased(Image), aliased(Image)
    rows = session.execute(
        select(Feedback.query_path, query_image.path, result_image.path, Feedback.same)
        .outerjoin(query_image, query_image.id == Feedback.query_image_id)
        .join(result_image, result_image.id == Feedback.result_image_id)
        .order_by(Feedback.id)
    ).all()
    latest: dict[tuple[str, str], bool] = {}
    for stored_query, catalog_query, result_path, same in rows:
        query = stored_query or catalog_query
        if query and result_path:
            latest[(query, result_path)] = bool(same)
    return [FeedbackPair(q, r, same) for (q, r), same in latest.items()]
