"""Property test over every API endpoint: whatever the path, query, form, file or JSON body, the
answer is never a 5xx, and its body is standard JSON (no NaN) with the error shape for a 4xx.

The routes come from the app's URL map, so a new endpoint is fuzzed without editing this file.
Values mix the hostile (ids beyond int64, 5,000 digits, NaN, NUL, lone surrogates, deep JSON,
non-object bodies) with the valid (catalog ids, the demo gallery, real images).
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search.runtime import Runtime
from tests.encoded import png
from web import create_app

SKIPPED = {"/api/v1/openapi.json"}  # no input: covered by test_openapi.py
DEEP = '{"a": ' + "[" * 2000 + "]" * 2000 + "}"
WORDS = [
    "", "0", "1", "2", "-1", "1.5", "9223372036854775807", "9223372036854775808", "9" * 25,
    "9" * 5000, "NaN", "Infinity", "-Infinity", "1e400", "nan", "true", "null", "[]", "{}",
    '{"a": NaN}', '{"a": 1e999}', '{"a": "x\\u0000"}', '{"a": "\\ud800"}', DEEP, "\x00",
    "a\x00b", "x" * 3000, "staff", "alice", "right", "wrong", "max", "mean", "cosine",
    "manhattan", "a:b", "category:shoes", ":", "../../etc/passwd", "%00", "done", "shop://1",
]  # fmt: skip
FIELDS = [
    "k", "filter", "uri", "metadata", "label", "distance", "threshold", "verdict", "result_id",
    "query_id", "top", "aggregate", "gallery", "percentile", "id", "size", "status", "limit",
    "neighbours", "source", "chunk_size",
]  # fmt: skip
FILES = ["image", "image_a", "image_b"]


GOOD = png(1)
BLOBS = [b"", GOOD, GOOD[: len(GOOD) // 2], b"GIF89a<script>", b"P6\n1 1\n255\n\0\0\0"]
texts = st.one_of(st.sampled_from(WORDS), st.text(max_size=12))
json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(FIELDS), inner),
    max_leaves=12,
)


def api_routes(app: Flask) -> list[tuple[str, str]]:
    """(method, rule) of every API route but SKIPPED, sorted."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") and rule.rule not in SKIPPED:
            found += [(m, rule.rule) for m in rule.methods or () if m not in ("HEAD", "OPTIONS")]
    return sorted(found)


def url_of(rule: str, data: st.DataObject) -> str:
    def value(match: re.Match[str]) -> str:
        pool = ["1", "2", "5", "0", "9" * 25, "staff", "x.y"]
        return data.draw(st.sampled_from(pool) | st.from_regex(r"\A[A-Za-z0-9._-]{1,8}\Z"))

    return re.sub(r"<(?:\w+:)?\w+>", value, rule)


def request_of(data: st.DataObject, method: str) -> dict[str, Any]:
    """Keyword arguments of one request: a query string, and a form, files or a JSON body."""
    query = data.draw(st.lists(st.tuples(st.sampled_from(FIELDS), texts), max_size=4))
    kwargs: dict[str, Any] = {"query_string": query}
    if method in ("GET", "DELETE"):
        return kwargs
    if data.draw(st.integers(0, 3)) == 0:
        kwargs["json"] = data.draw(json_values)
        return kwargs
    form: dict[str, Any] = {}
    for name, text in data.draw(st.lists(st.tuples(st.sampled_from(FIELDS), texts), max_size=5)):
        form.setdefault(name, []).append(text)
    for name in data.draw(st.lists(st.sampled_from(FILES), max_size=4)):
        blob = data.draw(st.sampled_from(BLOBS))
        form.setdefault(name, []).append((io.BytesIO(blob), data.draw(texts) or "f"))
    kwargs["data"] = form
    return kwargs


@pytest.fixture
def fuzzed(runtime: Runtime, image_folder: Path) -> FlaskClient:
    settings_ = replace(runtime.settings, source_roots=(image_folder,), rate_limit_per_minute=0)
    client = create_app(runtime=replace(runtime, settings=settings_)).test_client()
    for seed, label in ((800, "alice"), (801, "bob")):
        form = {"image": (io.BytesIO(png(seed)), "r.png"), "label": label}
        assert client.post("/api/v1/galleries/staff/items", data=form).status_code == 201
    return client


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data())
def test_no_endpoint_answers_5xx(fuzzed: FlaskClient, data: st.DataObject) -> None:
    routes = api_routes(fuzzed.application)
    assert len(routes) >= 25
    for method, rule in routes:
        url = url_of(rule, data)
        response = fuzzed.open(url, method=method, **request_of(data, method))
        assert response.status_code < 500, (method, url, response.get_data()[:300])
        if response.mimetype == "application/json":
            body = json.loads(response.get_data(as_text=True), parse_constant=_no_constant)
            if response.status_code >= 400:
                assert body["error"]["code"] and body["error"]["message"], body


def _no_constant(name: str) -> None:
    raise AssertionError(f"a response held {name}, which is not JSON")
