"""JSON API under /api/v1: thin views that parse input and call one core function."""

from __future__ import annotations

import io
from pathlib import PurePath
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, send_file

from indexer.catalog.fields import MAX_URI
from indexer.catalog.images import get_image
from indexer.catalog.indexed_file import IndexedFile, read_indexed, stored_file
from indexer.catalog.vectors import embedding_versions
from indexer.encoder.thumbnail import make_thumbnail
from search.examples import search_examples
from search.filters import MetadataFilter
from search.runtime import Runtime
from web import serialize
from web.auth import AuthError, check_key, require_api_key
from web.catalog_writes import add_searchable, delete_searchable
from web.example_params import box_arg, examples_arg
from web.health import health_report
from web.params import float_arg, int_arg, metadata_arg, text_arg, upload

# The views' shared helpers.
__all__ = ["bp", "float_arg", "int_arg", "key_given", "runtime", "upload"]

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def runtime() -> Runtime:
    return current_app.extensions["lookalike"]


@bp.post("/search")
def search() -> Response:
    """Positive and negative examples (web.example_params), `box`, `k`, `filter`."""
    k = int_arg(request.form, "k", 10)
    where = MetadataFilter.parse(request.form.getlist("filter"))
    result = search_examples(runtime().engine, examples_arg(), k=k, where=where)
    return jsonify(serialize.search_result(result))


@bp.get("/images/<int:image_id>/similar")
def similar(image_id: int) -> Response:
    k = int_arg(request.args, "k", 10)
    where = MetadataFilter.parse(request.args.getlist("filter"))
    box = box_arg(request.args)
    result = runtime().engine.similar(image_id, k=k, where=where, box=box)
    return jsonify(serialize.search_result(result))


@bp.post("/images")
@require_api_key
def add() -> tuple[Response, int]:
    uri = text_arg(request.form, "uri", max_length=MAX_URI)
    result = add_searchable(runtime(), upload(), uri=uri, metadata=metadata_arg())
    body = _image_json(result.image.id) | {"created": result.created}
    return jsonify(body), 201 if result.created else 200


@bp.get("/images/<int:image_id>")
def show(image_id: int) -> Response:
    """The image's record; with the configured API key also `path`, its file on the server."""
    return jsonify(_image_json(image_id, owner=key_given()))


def _image_json(image_id: int, *, owner: bool = False) -> dict[str, Any]:
    with runtime().sessions() as session:
        row = get_image(session, image_id)
        return serialize.image(row, embedding_versions(session, image_id), owner=owner)


def key_given() -> bool:
    """Whether an API key is configured and this request carries it."""
    if not runtime().settings.api_key:
        return False
    try:
        check_key()
    except AuthError:
        return False
    return True


@bp.delete("/images/<int:image_id>")
@require_api_key
def delete(image_id: int) -> Response:
    delete_searchable(runtime(), image_id)
    return jsonify({"id": image_id, "deleted": True})


@bp.get("/images/<int:image_id>/file")
def file(image_id: int) -> Response:
    """The indexed bytes, with the decoded format's type; 409 when the file changed since."""
    found = _indexed_file(image_id)
    response = send_file(
        io.BytesIO(found.data),
        mimetype=found.mimetype,
        as_attachment=not found.inline,
        download_name=PurePath(found.name).name or f"image-{image_id}",
        etag=found.sha256,
        max_age=3600,
    )
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.get("/images/<int:image_id>/thumbnail")
def thumbnail(image_id: int) -> Response:
    size = min(max(int_arg(request.args, "size", 256), 16), 1024)
    settings = runtime().settings
    data = _indexed_file(image_id).data
    body = make_thumbnail(data, size=size, max_pixels=settings.max_pixels)
    response = Response(body, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/health")
def health() -> tuple[Response, int]:
    report = health_report(runtime())
    return jsonify(report), 200 if report["ok"] else 503


def _indexed_file(image_id: int) -> IndexedFile:
    with runtime().sessions() as session:
        stored = stored_file(session, image_id)
    return read_indexed(stored)  # no session open while the file is read
