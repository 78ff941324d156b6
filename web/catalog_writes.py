"""Catalog writes the API answers only once this process's index has followed them, so a
client that adds or deletes an image sees it in its next search."""

from __future__ import annotations

from typing import Any

from indexer.ingest.uploads import AddResult, add_image, remove_image
from search.runtime import Runtime


def add_searchable(rt: Runtime, data: bytes, **options: Any) -> AddResult:
    """Add an upload to the catalog (`add_image`), then bring this process's index up to it."""
    result = add_image(rt.settings, rt.sessions, data, **options)
    if result.created:
        rt.index_sync.catch_up()
    return result


def delete_searchable(rt: Runtime, image_id: int) -> None:
    """Delete an image (`remove_image`), then drop it from this process's index."""
    remove_image(rt.sessions, image_id)
    rt.index_sync.catch_up()
