"""Parsing of a search's examples: uploaded images, catalog ids, and a box on the first.

Multipart fields: `image` (repeatable) and `positive_id` (repeatable) are positive examples,
`negative_image` and `negative_id` (each repeatable) negative ones; `box` is a region of the
first positive example (the first `image`, else the first `positive_id`).
"""

from __future__ import annotations

from typing import Any

from flask import request

from indexer.encoder.region import Box, parse_field
from search.examples import MAX_EXAMPLES, Example, TooManyExamplesError
from web.params import catalog_id


def box_arg(source: Any, field: str = "box") -> Box | None:
    """Field `field` ("left,top,right,bottom" in pixels of the upright image), or None."""
    raw = source.get(field)
    return None if raw in (None, "") else parse_field(raw, field)


def examples_arg() -> list[Example]:
    """The request's examples, positives first, the box on the first positive."""
    form, files = request.form, request.files
    count = sum(len(form.getlist(f)) for f in ("positive_id", "negative_id")) + sum(
        len(files.getlist(f)) for f in ("image", "negative_image")
    )
    if count > MAX_EXAMPLES:  # before reading any file or id
        raise TooManyExamplesError(
            f"at most {MAX_EXAMPLES} examples (positives and negatives) per search, got {count}"
        )
    positives = [Example(data=f.read()) for f in files.getlist("image")]
    positives += [Example(image_id=catalog_id(raw)) for raw in form.getlist("positive_id")]
    negatives = [Example(False, data=f.read()) for f in files.getlist("negative_image")]
    negatives += [Example(False, image_id=catalog_id(raw)) for raw in form.getlist("negative_id")]
    box = box_arg(form)
    if box is not None and positives:
        first = positives[0]
        positives[0] = Example(data=first.data, image_id=first.image_id, box=box)
    return positives + negatives
