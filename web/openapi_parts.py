"""Parts of the OpenAPI description: the response bodies' JSON Schemas (OpenAPI 3.1 = JSON
Schema 2020-12) and the helpers that build operations, parameters and request bodies.

Each schema lists the fields every response carries (`required`) and leaves objects open, so a
field added to a response keeps the description true; add it here to document it.
"""

from __future__ import annotations

from typing import Any

from indexer.catalog.fields import MAX_ID

Schema = dict[str, Any]

ERRORS = {
    400: "bad input: not an image, a bad parameter or body",
    401: "missing or wrong API key",
    403: "cross-site write, or a source outside the allowed roots",
    404: "no such image, job, gallery or item",
    409: "conflict: image not indexed yet, uri or name taken by a concurrent write",
    413: "upload, image, batch or job too large",
    415: "unsupported image format",
    429: "over the rate limit (see Retry-After)",
    503: "index not ready, or the database busy (see Retry-After)",
    504: "over the request time limit",
    507: "the disk is full; nothing was stored",
}
BINARY: Schema = {"type": "string", "format": "binary"}

NUMBER: Schema = {"type": "number"}
SCORE: Schema = {"type": "number", "minimum": -1, "maximum": 1}  # every score lies in [-1, 1]
INTEGER: Schema = {"type": "integer"}
STRING: Schema = {"type": "string"}
BOOLEAN: Schema = {"type": "boolean"}
TIMESTAMP: Schema = {"type": "string", "format": "date-time"}
METADATA: Schema = {"type": "object", "description": "the image's metadata (a JSON object)"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def obj(properties: dict[str, Schema], *, optional: tuple[str, ...] = ()) -> Schema:
    """An object whose `properties` are all required except those named in `optional`."""
    required = [name for name in properties if name not in optional]
    return {"type": "object", "properties": properties, "required": required}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


HIT = obj(
    {
        "id": INTEGER,
        "uri": STRING,
        "score": {**NUMBER, "description": "higher is closer"},
        "distance": {**NUMBER, "description": "lower is closer"},
        "metadata": METADATA,
        "match": nullable(BOOLEAN),
    }
)
QUERY_ERROR = obj({"code": STRING, "message": STRING})
BATCH_ANSWER: Schema = {
    "type": "object",
    "properties": {
        "image": nullable(STRING),
        "id": INTEGER,
        "results": array(ref("Hit")),
        "error": QUERY_ERROR,
    },
    "oneOf": [{"required": ["results"]}, {"required": ["error"]}],
}
IMAGE = obj(
    {
        "id": INTEGER,
        "uri": STRING,
        "sha256": nullable(STRING),
        "size_bytes": nullable(INTEGER),
        "width": nullable(INTEGER),
        "height": nullable(INTEGER),
        "status": {"enum": ["pending", "indexed", "failed", "duplicate", "cancelled"]},
        "error": nullable(STRING),
        "metadata": METADATA,
        "model_versions": array(STRING),
        "duplicate_of": nullable(INTEGER),
        "created_at": TIMESTAMP,
        "path": nullable(STRING),  # the file on the server: only with the configured API key
    },
    optional=("path",),
)
JOB = obj(
    {
        "id": INTEGER,
        "status": {"enum": ["queued", "running", "done", "failed", "cancelled"]},
        "total": INTEGER,
        "skipped": INTEGER,
        "pending": INTEGER,
        "indexed": INTEGER,
        "duplicates": INTEGER,
        "failed": INTEGER,
        "cancelled": INTEGER,
        "processed": INTEGER,
        "rate": NUMBER,
        "eta_s": nullable(NUMBER),
        "source": STRING,
        "error": nullable(STRING),
        "created_at": TIMESTAMP,
        "finished_at": nullable(TIMESTAMP),
        "failures": array(obj({"uri": STRING, "reason": STRING})),
    }
)
GALLERY = obj(
    {
        "name": STRING,
        "distance": STRING,
        "threshold": nullable(NUMBER),
        "items": INTEGER,
        "labels": {"type": "object", "additionalProperties": INTEGER},
    }
)
GALLERY_ITEM = obj(
    {
        "id": INTEGER,
        "label": STRING,
        "filename": nullable(STRING),
        "sha256": STRING,
        "model_version": nullable(STRING),
        "created_at": TIMESTAMP,
    }
)
THRESHOLDED = {
    "threshold": nullable(NUMBER),
    "threshold_source": STRING,
    "model": STRING,
}
NEIGHBOUR: Schema = {
    "type": "object",
    "properties": {"score": NUMBER, "distance": NUMBER, "id": INTEGER, "uri": STRING},
    "required": ["score", "distance"],
}
MEMBER = obj({"id": INTEGER, "uri": STRING})
NEAR_MEMBER = obj({"id": INTEGER, "uri": STRING, "score": NUMBER})
HEALTH = obj(
    {
        "ok": BOOLEAN,
        "database": obj({"ok": BOOLEAN, "backend": STRING}),
        "index": obj(
            {
                "ready": BOOLEAN,
                "size": INTEGER,
                "model_version": nullable(STRING),
                "recall_at_10": nullable(NUMBER),
            }
        ),
        "broker": obj({"ok": BOOLEAN, "kind": STRING}),
        "calibration": nullable(
            obj(
                {
                    "source": {"enum": ["model", "catalog"]},
                    "distance": STRING,
                    "threshold": NUMBER,
                    "operating_point": STRING,
                    "promised_far": NUMBER,
                    "n_pairs": INTEGER,
                }
            )
        ),
        "model": obj(
            {
                "version": STRING,
                "description": STRING,
                "objective": nullable(STRING),
                "trained_on": nullable(STRING),
            }
        ),
    }
)

SCHEMAS: dict[str, Schema] = {
    "Error": obj({"error": QUERY_ERROR}),
    "Hit": HIT,
    "SearchResult": obj({"results": array(ref("Hit")), "took_ms": NUMBER}),
    "BatchResult": obj({"queries": array(BATCH_ANSWER), "took_ms": NUMBER}),
    "Image": IMAGE,
    "ImageAdded": {"allOf": [ref("Image"), obj({"created": BOOLEAN})]},
    "Deleted": obj({"id": INTEGER, "deleted": {"const": True}}),
    "Job": JOB,
    "JobCancelled": {"allOf": [ref("Job"), obj({"cancelled_now": BOOLEAN})]},
    "JobList": obj({"jobs": array(ref("Job"))}),
    "Comparison": obj(
        {
            "similarity": NUMBER,
            "distance": NUMBER,
            "same": nullable(BOOLEAN),
            "promised_far": nullable(NUMBER),
            "metric": STRING,
            **THRESHOLDED,
        }
    ),
    "Gallery": GALLERY,
    "GalleryList": obj({"galleries": array(ref("Gallery"))}),
    "GalleryDeleted": obj({"name": STRING, "deleted": {"const": True}, "items": INTEGER}),
    "GalleryItem": GALLERY_ITEM,
    "GalleryItemAdded": {"allOf": [ref("GalleryItem"), obj({"gallery": STRING})]},
    "GalleryItems": obj({"name": STRING, "items": array(ref("GalleryItem"))}),
    "Identification": obj(
        {
            "label": nullable(STRING),
            "known": nullable(BOOLEAN),
            "best_label": STRING,
            "score": NUMBER,
            "candidates": array(obj({"label": STRING, "score": NUMBER})),
            **THRESHOLDED,
        }
    ),
    "Novelty": obj(
        {
            "score": NUMBER,
            "is_anomaly": BOOLEAN,
            "threshold": NUMBER,
            "k": INTEGER,
            "percentile": NUMBER,
            "reference": STRING,
            "calibrated_on": INTEGER,
            "neighbours": array(NEIGHBOUR),
            "model": STRING,
        }
    ),
    "Duplicates": obj(
        {
            "near": array(
                obj({"members": array(NEAR_MEMBER), "score": NUMBER, "representative": INTEGER})
            ),
            "exact": array(obj({"members": array(MEMBER)})),
            "threshold": NUMBER,
            "distance": STRING,
            "model": STRING,
            "verified": INTEGER,
            "unreadable": INTEGER,
        }
    ),
    "FeedbackAdded": obj({"id": INTEGER, "result_id": INTEGER, "verdict": STRING}),
    "FeedbackSummary": obj({"right": INTEGER, "wrong": INTEGER}),
    "Health": HEALTH,
}


def op(
    summary: str,
    schema: str | None,
    *,
    errors: tuple[int, ...],
    status: int = 200,
    params: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
    key: bool = False,
    public: bool = False,
    also: dict[int, str] | None = None,
    media: dict[str, Schema] | None = None,
) -> dict[str, Any]:
    """One operation: its success response, the error statuses it can answer, its inputs."""
    if media is not None:
        content = {kind: {"schema": body_schema} for kind, body_schema in media.items()}
    else:
        content = _json(schema or "")
    responses = {str(status): {"description": "success", "content": content}}
    for code, name in (also or {}).items():
        responses[str(code)] = {"description": "success", "content": _json(name)}
    for code in sorted(set(errors)):
        responses.setdefault(str(code), error(code))
    operation: dict[str, Any] = {"summary": summary, "responses": responses}
    if params:
        operation["parameters"] = params
    if body:
        operation["requestBody"] = body
    if key:
        operation["security"] = [{"apiKey": []}]
    elif not public:
        operation["security"] = [{}, {"apiKey": []}]  # with LOOKALIKE_API_KEY_READS
    else:
        operation["security"] = []
    return operation


def error(code: int) -> dict[str, Any]:
    response: dict[str, Any] = {"description": ERRORS[code], "content": _json("Error")}
    if code in (429, 503):
        response["headers"] = {"Retry-After": {"schema": INTEGER}}
    return response


def _json(name: str) -> dict[str, Any]:
    return {"application/json": {"schema": ref(name)}}


def query(name: str, schema: Schema) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


def id_schema() -> Schema:
    return {**INTEGER, "minimum": 1, "maximum": MAX_ID}


def path_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": id_schema(), "example": 1}


def form(
    properties: dict[str, Schema],
    *,
    required: list[str] | None = None,
    one_of: list[list[str]] | None = None,
) -> dict[str, Any]:
    """A multipart body; `one_of`: alternative sets of fields, one of which must be sent."""
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    if one_of:
        schema["anyOf"] = [{"required": names} for names in one_of]
    return {"required": bool(required), "content": {"multipart/form-data": {"schema": schema}}}


def json_body(properties: dict[str, Schema], *, required: list[str]) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": required}
    return {"required": True, "content": {"application/json": {"schema": schema}}}
