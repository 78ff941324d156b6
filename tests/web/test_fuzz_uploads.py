"""Property test of the upload API: no input makes a search answer 5xx or stops the server."""

from __future__ import annotations

import io

from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.indexer.encoder.test_fuzz_decode import SEEDS


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    seed=st.sampled_from([b"", *SEEDS]),
    edits=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
    k=st.one_of(st.integers(-5, 2000).map(str), st.text(max_size=5)),
    filename=st.text(max_size=40),
)
def test_search_never_fails_with_5xx(
    client: FlaskClient, seed: bytes, edits: list[tuple[int, int]], k: str, filename: str
) -> None:
    data = bytearray(seed)
    for position, value in edits:
        if data:
            data[position % len(data)] = value
    form = {"image": (io.BytesIO(bytes(data)), filename or "x"), "k": k}
    response = client.post("/api/v1/search", data=form)
    assert response.status_code in (200, 400, 413, 415), response.get_json()
    body = response.get_json()
    assert ("results" in body) if response.status_code == 200 else body["error"]["message"]
