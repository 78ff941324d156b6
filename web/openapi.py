"""The API described by its own OpenAPI 3.1 document, served at GET /api/v1/openapi.json.

The document is built from the running settings (k's upper bound, the upload limit), so it
states what this server accepts. tests/web/test_openapi.py keeps it true: every route is
described, real responses validate against it, and a schemathesis run fuzzes the live server
from it. A new endpoint gets an entry in `paths()`; a new response field a property in
web/openapi_parts.py.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from indexer.catalog.fields import MAX_URI
from indexer.catalog.galleries import MAX_LABEL
from indexer.catalog.settings import Settings
from search.batch import MAX_QUERIES
from web import openapi_explain
from web.api_jobs import MAX_CHUNK, MAX_SOURCE
from web.openapi_examples import BOX, examples_form
from web.openapi_parts import (
    BINARY,
    INTEGER,
    NUMBER,
    SCHEMAS,
    SCORE,
    STRING,
    array,
    form,
    id_schema,
    json_body,
    nullable,
    op,
    path_id,
    query,
)

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")

READ = (400, 401, 503)
WRITE = (400, 401, 403, 409, 413, 503, 507)
UPLOAD = (413, 415)
SEARCH = (*READ, 403, 409, 413, *UPLOAD, 429, 504)


@bp.get("/openapi.json")
def spec() -> Response:
    return jsonify(document(current_app.extensions["lookalike"].settings))


def document(settings: Settings) -> dict[str, Any]:
    """The OpenAPI 3.1 description of this server's JSON API."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Lookalike",
            "version": "1",
            "description": "Content-based image retrieval: search, verify, identify, index.",
        },
        "paths": paths(settings),
        "components": {
            "schemas": SCHEMAS | openapi_explain.SCHEMAS,
            "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
        },
    }


def paths(settings: Settings) -> dict[str, Any]:
    k = query("k", {**INTEGER, "minimum": 1, "maximum": settings.max_k})
    filters = query("filter", array({**STRING, "pattern": ":"}))
    image = {"image": BINARY}
    found = (*SEARCH, 404)
    return {
        "/api/v1/search": {
            "post": op("search by an image, a region of it, or several examples", "SearchResult",
                       errors=(*found, 409), body=examples_form(k["schema"], filters["schema"]))
        },
        "/api/v1/search/batch": {
            "post": op("several query images and catalog ids", "BatchResult", errors=SEARCH,
                       body=form({
                           "image": {**array(BINARY), "maxItems": MAX_QUERIES},
                           "id": {**array(id_schema()), "maxItems": MAX_QUERIES},
                           "k": k["schema"],
                           "filter": filters["schema"],
                       }))
        },
        "/api/v1/images": {
            "post": op("add an image", "ImageAdded", status=201, errors=(*WRITE, *UPLOAD),
                       key=True, also={200: "ImageAdded"}, body=form(image | {
                           "uri": {**STRING, "maxLength": MAX_URI},
                           "metadata": {**STRING, "contentMediaType": "application/json"},
                       }, required=["image"]))
        },
        "/api/v1/images/{image_id}": {
            "parameters": [path_id("image_id")],
            "get": op("a catalog row", "Image", errors=(*READ, 404)),
            "delete": op("delete an image", "Deleted", errors=(*WRITE, 404), key=True),
        },
        "/api/v1/images/{image_id}/similar": {
            "parameters": [path_id("image_id")],
            "get": op("search by a catalog image, or a region of it", "SearchResult",
                      params=[k, filters, query("box", BOX)], errors=(*found, 409)),
        },
        "/api/v1/images/{image_id}/file": {
            "parameters": [path_id("image_id")],
            "get": op("the indexed bytes, verified against their hash", None,
                      errors=(*READ, 404, 409),
                      media={"image/*": BINARY, "application/octet-stream": BINARY}),
        },
        "/api/v1/images/{image_id}/thumbnail": {
            "parameters": [path_id("image_id")],
            "get": op("a JPEG preview", None, errors=(*READ, 404, 409, *UPLOAD),
                      params=[query("size", INTEGER)], media={"image/jpeg": BINARY}),
        },
        "/api/v1/feedback": {
            "post": op("mark a result right or wrong", "FeedbackAdded", status=201,
                       errors=(*WRITE, 404, *UPLOAD), key=True, body=form({
                           "result_id": id_schema(),
                           "verdict": {"enum": ["right", "wrong"]},
                           "query_id": id_schema(),
                           "image": BINARY,
                       }, required=["result_id", "verdict"], one_of=[["query_id"], ["image"]])),
            "get": op("counts of marks", "FeedbackSummary", errors=READ),
        },
        **job_paths(),
        **gallery_paths(),
        **openapi_explain.paths(),
        "/api/v1/compare": {
            "post": op("are two images the same thing?", "Comparison", errors=SEARCH, body=form({
                "image_a": BINARY,
                "image_b": BINARY,
                "threshold": SCORE,
                "distance": {"enum": ["cosine", "euclidean", "manhattan"]},
            }, required=["image_a", "image_b"]))
        },
        "/api/v1/anomaly": {
            "post": op("novelty of an image", "Novelty", errors=(*SEARCH, 404), body=form(image | {
                "gallery": STRING,
                "k": {**INTEGER, "minimum": 1, "maximum": settings.max_k},
                "percentile": {**NUMBER, "exclusiveMinimum": 0, "maximum": 100},
            }, required=["image"]))
        },
        "/api/v1/duplicates": {
            "get": op("groups of near-identical images", "Duplicates", errors=SEARCH, params=[
                query("threshold", SCORE),
                query("neighbours", {**INTEGER, "minimum": 1, "maximum": 1000}),
            ])
        },
        "/api/v1/health": {
            "get": op("health of database, index and broker", "Health", errors=(503,),
                      also={503: "Health"}, public=True)
        },
        "/api/v1/openapi.json": {
            "get": op("this description", None, errors=(), public=True,
                      media={"application/json": {"type": "object"}})
        },
        "/metrics": {
            "get": op("Prometheus metrics", None, errors=(), public=True,
                      media={"text/plain": STRING})
        },
    }  # fmt: skip


def job_paths() -> dict[str, Any]:
    job_id = path_id("job_id")
    return {
        "/api/v1/jobs": {
            "post": op("index a server-side folder or manifest", "Job", status=202,
                       errors=(*WRITE, 404), key=True, body=json_body({
                           "source": {**STRING, "maxLength": MAX_SOURCE},
                           "chunk_size": {**INTEGER, "minimum": 1, "maximum": MAX_CHUNK},
                       }, required=["source"])),
            "get": op("recent jobs", "JobList", errors=READ, params=[
                query("status", {"enum": ["queued", "running", "done", "failed", "cancelled"]}),
                query("limit", INTEGER),
            ]),
        },
        "/api/v1/jobs/{job_id}": {
            "parameters": [job_id],
            "get": op("a job's progress", "Job", errors=(*READ, 404)),
        },
        "/api/v1/jobs/{job_id}/cancel": {
            "parameters": [job_id],
            "post": op("cancel a job", "JobCancelled", errors=(*WRITE, 404), key=True),
        },
    }  # fmt: skip


def gallery_paths() -> dict[str, Any]:
    name = {
        "name": "name",
        "in": "path",
        "required": True,
        "schema": {**STRING, "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"},
        "example": "staff",
    }
    threshold = {"threshold": nullable(SCORE)}
    return {
        "/api/v1/galleries": {"get": op("every gallery", "GalleryList", errors=READ)},
        "/api/v1/galleries/{name}": {
            "parameters": [name],
            "get": op("one gallery", "Gallery", errors=(*READ, 404)),
            "patch": op("fix or un-fix the threshold", "Gallery", errors=(*WRITE, 404), key=True,
                        body={"content": {
                            "application/json": {"schema": {"type": "object",
                                                            "properties": threshold}},
                            "application/x-www-form-urlencoded": {"schema": {
                                "type": "object", "properties": {"threshold": SCORE}}},
                        }}),
            "delete": op("delete a gallery", "GalleryDeleted", errors=(*WRITE, 404), key=True),
        },
        "/api/v1/galleries/{name}/items": {
            "parameters": [name],
            "get": op("a gallery's references", "GalleryItems", errors=(*READ, 404)),
            "post": op("enrol a reference image", "GalleryItemAdded", status=201,
                       errors=(*WRITE, *UPLOAD), key=True, body=form({
                           "image": BINARY,
                           "label": {**STRING, "minLength": 1, "maxLength": MAX_LABEL},
                           "distance": {"enum": ["cosine", "euclidean", "manhattan"]},
                       }, required=["image", "label"])),
        },
        "/api/v1/galleries/{name}/items/{item_id}": {
            "parameters": [name, path_id("item_id")],
            "delete": op("delete a reference", "Deleted", errors=(*WRITE, 404), key=True),
        },
        "/api/v1/galleries/{name}/identify": {
            "parameters": [name],
            "post": op("the label an image shows", "Identification", errors=(*SEARCH, 404),
                       body=form({
                           "image": BINARY,
                           "top": {**INTEGER, "minimum": 1},
                           "aggregate": {"enum": ["max", "mean"]},
                       }, required=["image"])),
        },
    }  # fmt: skip
