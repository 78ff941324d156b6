"""The OpenAPI description of POST /api/v1/explain: its request and its Explanation body."""

from __future__ import annotations

from typing import Any

from indexer.encoder.attribution import DEFAULT_GRID, MAX_GRID
from web.openapi_examples import BOX
from web.openapi_parts import (
    BINARY,
    INTEGER,
    NUMBER,
    STRING,
    Schema,
    array,
    form,
    id_schema,
    obj,
    op,
)

ERRORS = (400, 401, 403, 404, 409, 413, 415, 429, 503, 504)
EXPLAINED_IMAGE = obj(
    {
        "heat": {
            **array(array(NUMBER)),
            "description": "grid x grid, row-major from the top left: how much the cosine "
            "similarity drops when that cell of the image is blanked (positive: it made the "
            "two alike)",
        },
        "overlay_png": {**STRING, "contentEncoding": "base64", "contentMediaType": "image/png"},
        "width": INTEGER,
        "height": INTEGER,
    }
)
SCHEMAS: dict[str, Schema] = {
    "ExplainedImage": EXPLAINED_IMAGE,
    "Explanation": obj(
        {
            "similarity": {**NUMBER, "description": "cosine similarity of the two images"},
            "method": {"enum": ["occlusion"]},
            "grid": INTEGER,
            "model": STRING,
            "took_ms": NUMBER,
            "image_a": {"$ref": "#/components/schemas/ExplainedImage"},
            "image_b": {"$ref": "#/components/schemas/ExplainedImage"},
        }
    ),
}


def paths() -> dict[str, Any]:
    body = form(
        {
            "image_a": BINARY,
            "id_a": id_schema(),
            "image_b": BINARY,
            "id_b": id_schema(),
            "grid": {**INTEGER, "minimum": 1, "maximum": MAX_GRID, "default": DEFAULT_GRID},
            "box_a": {
                **BOX,
                "description": "explain this region of image A (the similarity "
                "is then what a search by that region scores): " + BOX["description"],
            },
            "box_b": {
                **BOX,
                "description": "explain this region of image B: " + BOX["description"],
            },
        }
    )
    schema = body["content"]["multipart/form-data"]["schema"]
    schema["allOf"] = [  # each image as a file or a catalog id, not both
        {"oneOf": [{"required": [f"image_{side}"]}, {"required": [f"id_{side}"]}]}
        for side in ("a", "b")
    ]
    body["required"] = True
    summary = "why two images match: similarity and a heatmap of each"
    return {"/api/v1/explain": {"post": op(summary, "Explanation", errors=ERRORS, body=body)}}
