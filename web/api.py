"""JSON API under /api/v1: thin views that parse input and call one core function."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, send_file
from PIL import Image as PILImage

from indexer.catalog import delete_image, embedding_versions, get_image
from indexer.decode import read_bytes
from indexer.errors import ImageError, NotFoundError
from indexer.fields import MAX_URI
from indexer.thumbnail import make_thumbnail
from search.filters import MetadataFilter
from search.runtime import Runtime
from search.uploads import add_image
from web import serialize
from web.auth import require_api_key
from web.health import health_report
from web.params import float_arg, int_arg, metadata_arg, text_arg, upload

__all__ = ["bp", "float_arg", "int_arg", "runtime", "upload"]  # the views' shared helpers

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def runtime() -> Runtime:
    return current_app.extensions["lookalike"]


@bp.post("/search")
def search() -> Response:
    k = int_arg(request.form, "k", 10)
    where = MetadataFilter.parse(request.form.getlist("filter"))
    result = runtime().engine.search_image(upload(), k=k, where=where)
    return jsonify(serialize.search_result(result))


@bp.get("/images/<int:image_id>/similar")
def similar(image_id: int) -> Response:
    k = int_arg(request.args, "k", 10)
    where = MetadataFilter.parse(request.args.getlist("filter"))
    return jsonify(serialize.search_result(runtime().engine.similar(image_id, k=k, where=where)))


@bp.post("/images")
@require_api_key
def add() -> tuple[Response, int]:
    uri = text_arg(request.form, "uri", max_length=MAX_URI)
    result = add_image(runtime(), upload(), uri=uri, metadata=metadata_arg())
    body = _image_json(result.image.id) | {"created": result.created}
    return jsonify(body), 201 if result.created else 200


@bp.get("/images/<int:image_id>")
def show(image_id: int) -> Response:
    return jsonify(_image_json(image_id))


def _image_json(image_id: int) -> dict[str, Any]:
    with runtime().sessions() as session:
        row = get_image(session, image_id)
        return serialize.image(row, embedding_versions(session, image_id))


@bp.delete("/images/<int:image_id>")
@require_api_key
def delete(image_id: int) -> Response:
    rt = runtime()
    with rt.sessions.begin() as session:
        row = delete_image(session, image_id)
        path, uploaded = row.path, row.uri.startswith("upload://")
    if uploaded and path:
        Path(path).unlink(missing_ok=True)
    rt.index_sync.catch_up()
    return jsonify({"id": image_id, "deleted": True})


@bp.get("/images/<int:image_id>/file")
def file(image_id: int) -> Response:
    path = _file_path(image_id)
    return send_file(path, mimetype=_mimetype(path), max_age=3600)


@bp.get("/images/<int:image_id>/thumbnail")
def thumbnail(image_id: int) -> Response:
    size = min(max(int_arg(request.args, "size", 256), 16), 1024)
    settings = runtime().settings
    data = read_bytes(_file_path(image_id))
    body = make_thumbnail(data, size=size, max_pixels=settings.max_pixels)
    response = Response(body, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/health")
def health() -> tuple[Response, int]:
    report = health_report(runtime())
    return jsonify(report), 200 if report["ok"] else 503


def _file_path(image_id: int) -> Path:
    with runtime().sessions() as session:
        row = get_image(session, image_id)
        path = Path(row.path or row.uri)
    if not path.is_file():
        raise NotFoundError(f"the file of image {image_id} is no longer at {path}")
    return path


def _mimetype(path: Path) -> str:
    guessed, _ = mimetypes.guess_type(path.name)
    if guessed:
        return guessed
    try:
        with PILImage.open(path) as image:
            return PILImage.MIME.get(image.format or "", "application/octet-stream")
    except (OSError, ImageError):
        return "application/octet-stream"
