"""The feedback write path: a user's right/wrong mark on a search result, with the uploaded
query image kept (under the feedback folder) so the pair can train a model later."""

from __future__ import annotations

from indexer.catalog.database import SessionFactory
from indexer.catalog.feedback import record_feedback
from indexer.catalog.schema import Feedback
from indexer.catalog.settings import Settings
from indexer.encoder.decode import decode_image
from indexer.ingest.storage import store_bytes


def add_feedback(
    settings: Settings,
    sessions: SessionFactory,
    *,
    result_id: int,
    same: bool,
    query_id: int | None = None,
    query_image: bytes | None = None,
    model_version: str | None = None,
) -> Feedback:
    """Store one mark; the query is a catalog image (`query_id`) or an uploaded image, which
    must decode (only images are kept)."""
    query_path = None
    if query_image is not None:
        decode_image(query_image, max_pixels=settings.max_pixels)
        query_path = str(store_bytes(settings.feedback_dir, query_image))
    with sessions.begin() as session:
        return record_feedback(
            session,
            result_id=result_id,
            same=same,
            query_image_id=query_id,
            query_path=query_path,
            model_version=model_version,
        )
