"""The OpenAPI description of a search's examples and region (web/example_params.py)."""

from __future__ import annotations

from typing import Any

from search.examples import MAX_EXAMPLES
from web.openapi_parts import BINARY, STRING, Schema, array, form, id_schema

NUMBER_TEXT = r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*"
BOX: Schema = {
    **STRING,
    "pattern": rf"^{NUMBER_TEXT}(,{NUMBER_TEXT}){{3}}$",
    "description": "left,top,right,bottom in pixels of the upright image (EXIF orientation "
    "applied), left < right, top < bottom, inside the image, each side at least 8 pixels",
    "example": "0,0,64,64",
}


def examples_form(k: Schema, filters: Schema) -> dict[str, Any]:
    """POST /api/v1/search: positive and negative uploads and catalog ids, a box, k, filter."""
    some = {"maxItems": MAX_EXAMPLES}
    return form(
        {
            "image": {**array(BINARY), **some, "description": "positive example images"},
            "positive_id": {**array(id_schema()), **some},
            "negative_image": {**array(BINARY), **some},
            "negative_id": {**array(id_schema()), **some},
            "box": {
                **BOX,
                "description": "a region of the first positive example (the "
                "first image, else the first positive_id): " + BOX["description"],
            },
            "k": k,
            "filter": filters,
        },
        one_of=[["image"], ["positive_id"]],
    )
