"""POST /api/v1/search/batch: several query images and catalog ids answered in one call."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from indexer.catalog.errors import BadRequestError
from indexer.catalog.fields import MAX_ID
from search.batch import BatchQuery, search_batch
from search.filters import MetadataFilter
from web import serialize
from web.api import int_arg, runtime
from web.params import shown

bp = Blueprint("batch", __name__, url_prefix="/api/v1")


@bp.post("/search/batch")
def search() -> Response:
    """Multipart files `image` and/or form fields `id` (each repeatable); `k`, `filter`."""
    queries = [
        BatchQuery(name=file.filename or None, data=file.read())
        for file in request.files.getlist("image")
    ]
    queries += [BatchQuery(image_id=_image_id(raw)) for raw in request.form.getlist("id")]
    result = search_batch(
        runtime().engine,
        queries,
        k=int_arg(request.form, "k", 10),
        where=MetadataFilter.parse(request.form.getlist("filter")),
    )
    return jsonify(serialize.batch_result(result))


def _image_id(raw: str) -> int:
    """A catalog id; one too large for the database stays a per-query "not found"."""
    digits = raw.strip()
    if not (digits.isascii() and digits.isdigit()):
        raise BadRequestError(f"id must be a catalog image id, got {shown(raw)}")
    return int(digits) if len(digits) <= len(str(MAX_ID)) else MAX_ID + 1
