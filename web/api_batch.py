"""POST /api/v1/search/batch: several query images and catalog ids answered in one call."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from search.batch import BatchQuery, search_batch
from search.filters import MetadataFilter
from web import serialize
from web.api import int_arg, runtime
from web.params import catalog_id

bp = Blueprint("batch", __name__, url_prefix="/api/v1")


@bp.post("/search/batch")
def search() -> Response:
    """Multipart files `image` and/or form fields `id` (each repeatable); `k`, `filter`."""
    queries = [
        BatchQuery(name=file.filename or None, data=file.read())
        for file in request.files.getlist("image")
    ]
    queries += [BatchQuery(image_id=catalog_id(raw)) for raw in request.form.getlist("id")]
    result = search_batch(
        runtime().engine,
        queries,
        k=int_arg(request.form, "k", 10),
        where=MetadataFilter.parse(request.form.getlist("filter")),
    )
    return jsonify(serialize.batch_result(result))
