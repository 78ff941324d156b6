"""Galleries API: enrol labelled references, identify queries against them (one-shot)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, Response, jsonify, request

from indexer.catalog.galleries import (
    all_galleries,
    delete_gallery,
    delete_item,
    get_gallery,
    list_items,
    set_threshold,
    summarize,
)
from indexer.catalog.schema import Gallery, GalleryItem
from web.api import float_arg, int_arg, runtime, upload
from web.auth import require_api_key
from web.params import fields

bp = Blueprint("galleries", __name__, url_prefix="/api/v1/galleries")


def gallery_json(session: Any, gallery: Gallery) -> dict[str, Any]:
    return asdict(summarize(session, gallery))


def item_json(item: GalleryItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "label": item.label,
        "filename": item.filename,
        "sha256": item.sha256,
        "model_version": item.model_version,
        "created_at": item.created_at.isoformat() + "Z",
    }


@bp.get("")
def index() -> Response:
    with runtime().sessions() as session:
        return jsonify({"galleries": [gallery_json(session, g) for g in all_galleries(session)]})


@bp.get("/<name>")
def show(name: str) -> Response:
    with runtime().sessions() as session:
        return jsonify(gallery_json(session, get_gallery(session, name)))


@bp.patch("/<name>")
@require_api_key
def update(name: str) -> Response:
    """Form or JSON `threshold`: a score, or empty / null to use the calibrated one."""
    source = fields()
    with runtime().sessions.begin() as session:
        gallery = set_threshold(session, name, float_arg(source, "threshold"))
        return jsonify(gallery_json(session, gallery))


@bp.delete("/<name>")
@require_api_key
def remove(name: str) -> Response:
    with runtime().sessions.begin() as session:
        items = delete_gallery(session, name)
    return jsonify({"name": name, "deleted": True, "items": items})


@bp.get("/<name>/items")
def items(name: str) -> Response:
    with runtime().sessions() as session:
        rows = list_items(session, get_gallery(session, name))
        return jsonify({"name": name, "items": [item_json(i) for i in rows]})


@bp.post("/<name>/items")
@require_api_key
def add(name: str) -> tuple[Response, int]:
    """Multipart `image`, form `label`; optional `distance` when this creates the gallery."""
    file = request.files.get("image")
    item = runtime().galleries.enrol(
        name,
        label=request.form.get("label", ""),
        data=upload(),
        filename=file.filename if file is not None else None,
        distance=request.form.get("distance") or None,
    )
    return jsonify(item_json(item) | {"gallery": name}), 201


@bp.delete("/<name>/items/<int:item_id>")
@require_api_key
def remove_item(name: str, item_id: int) -> Response:
    with runtime().sessions.begin() as session:
        delete_item(session, get_gallery(session, name), item_id)
    return jsonify({"id": item_id, "deleted": True})


@bp.post("/<name>/identify")
def identify(name: str) -> Response:
    """Multipart `image`; optional form `top` (candidates, default 5), `aggregate` (max|mean)."""
    result = runtime().galleries.identify(
        name,
        upload(),
        top=int_arg(request.form, "top", 5),
        aggregate=request.form.get("aggregate") or "max",
    )
    return jsonify(asdict(result))
