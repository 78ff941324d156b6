"""POST /api/v1/compare: similarity, distance and a decision for two uploads."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from tests.encoded import png


def post(client: FlaskClient, a: bytes, b: bytes, **form: str) -> dict:
    data = {"image_a": (io.BytesIO(a), "a.png"), "image_b": (io.BytesIO(b), "b.png"), **form}
    response = client.post("/api/v1/compare", data=data)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_an_image_is_the_same_as_itself(client: FlaskClient) -> None:
    body = post(client, png(1), png(1), threshold="0.99")
    assert body["similarity"] == pytest.approx(1.0, abs=1e-5)
    assert body["distance"] == pytest.approx(0.0, abs=1e-5)
    assert body["same"] is True
    assert body["threshold"] == 0.99 and body["threshold_source"] == "request"
    assert body["model"]


def test_the_threshold_decides(client: FlaskClient) -> None:
    loose = post(client, png(1), png(7), threshold="-1")
    strict = post(client, png(1), png(7), threshold="0.9999999")
    assert loose["similarity"] == strict["similarity"] < 0.9999999
    assert loose["same"] is True and strict["same"] is False


def test_an_uncalibrated_model_gives_no_verdict(client: FlaskClient) -> None:
    body = post(client, png(1), png(2))
    assert body["same"] is None and body["threshold"] is None


@pytest.mark.parametrize("metric", ["euclidean", "manhattan"])
def test_other_distances_report_their_own_units(client: FlaskClient, metric: str) -> None:
    same = post(client, png(3), png(3), distance=metric)
    other = post(client, png(3), png(4), distance=metric)
    assert same["distance"] == pytest.approx(0.0, abs=1e-5)
    assert same["similarity"] == pytest.approx(1.0, abs=1e-5)
    assert other["distance"] > 0 and other["similarity"] == pytest.approx(
        1 / (1 + other["distance"]), rel=1e-5
    )
    assert other["metric"] == metric


def test_missing_and_bad_inputs_are_clear(client: FlaskClient, tmp_path: Path) -> None:
    response = client.post("/api/v1/compare", data={"image_a": (io.BytesIO(png(1)), "a.png")})
    assert response.status_code == 400
    assert "image_b" in response.get_json()["error"]["message"]
    data = {"image_a": (io.BytesIO(png(1)), "a.png"), "image_b": (io.BytesIO(b"nope"), "b.png")}
    response = client.post("/api/v1/compare", data=data)
    assert response.status_code in (400, 415)
    data = {"image_a": (io.BytesIO(png(1)), "a"), "image_b": (io.BytesIO(png(2)), "b"),
            "distance": "hamming"}  # fmt: skip
    assert client.post("/api/v1/compare", data=data).status_code == 400
    data = {"image_a": (io.BytesIO(png(1)), "a"), "image_b": (io.BytesIO(png(2)), "b"),
            "threshold": "nan"}  # fmt: skip
    assert client.post("/api/v1/compare", data=data).status_code == 400
