"""The serving stack embeds on ONNX Runtime by default on the CPU, and reports it."""

from __future__ import annotations

from flask.testing import FlaskClient


def test_the_product_runs_on_onnx_by_default(client: FlaskClient) -> None:
    encoder = client.get("/api/v1/health").get_json()["encoder"]
    assert encoder == {"runtime": "onnx", "device": "cpu"}
