"""Feedback marks through the API become labelled pairs for training."""

from __future__ import annotations

import io
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import select

from indexer.catalog.feedback import FeedbackPair, feedback_pairs
from indexer.catalog.schema import Image
from search.runtime import Runtime


def ids_by_name(runtime: Runtime) -> dict[str, int]:
    with runtime.sessions() as session:
        return {Path(uri).name: i for i, uri in session.execute(select(Image.id, Image.uri))}


def test_marks_on_uploaded_and_catalog_queries(
    client: FlaskClient, runtime: Runtime, image_folder: Path
) -> None:
    ids = ids_by_name(runtime)
    query_file = image_folder / "a" / "img_0001.png"
    upload = client.post(
        "/api/v1/feedback",
        data={
            "image": (io.BytesIO(query_file.read_bytes()), "q.png"),
            "result_id": str(ids["img_0002.png"]),
            "verdict": "wrong",
        },
    )
    assert upload.status_code == 201
    by_id = client.post(
        "/api/v1/feedback",
        data={
            "query_id": ids["img_0003.png"],
            "result_id": ids["img_0004.png"],
            "verdict": "right",
        },
    )
    assert by_id.status_code == 201
    assert client.get("/api/v1/feedback").get_json() == {"right": 1, "wrong": 1}

    with runtime.sessions() as session:
        pairs = feedback_pairs(session)
    stored_query = pairs[0].query_path
    assert Path(stored_query).read_bytes() == query_file.read_bytes()
    assert pairs == [
        FeedbackPair(stored_query, str((image_folder / "a" / "img_0002.png").resolve()), False),
        FeedbackPair(
            str((image_folder / "a" / "img_0003.png").resolve()),
            str((image_folder / "a" / "img_0004.png").resolve()),
            True,
        ),
    ]


def test_bad_feedback_is_rejected(client: FlaskClient, runtime: Runtime) -> None:
    ids = ids_by_name(runtime)
    cases = [
        ({"result_id": ids["img_0002.png"], "verdict": "maybe", "query_id": 1}, 400),
        ({"result_id": ids["img_0002.png"], "verdict": "right"}, 400),  # no query
        ({"result_id": 99999, "verdict": "right", "query_id": ids["img_0003.png"]}, 404),
        (
            {
                "result_id": ids["img_0002.png"],
                "verdict": "right",
                "image": (io.BytesIO(b"not an image"), "x.png"),
            },
            400,
        ),
    ]
    for form, status in cases:
        assert client.post("/api/v1/feedback", data=form).status_code == status
    assert client.get("/api/v1/feedback").get_json() == {"right": 0, "wrong": 0}
